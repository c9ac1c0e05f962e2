"""selfservice.search.semantic: the WordLlama re-ranker (skipped without the ``semantic`` extra).

It must load with the network unreachable (its weights ship in the wheel), leave the host's
logging alone, embed as WordLlama itself does, and rank titles by meaning: these are real
embeddings, no stand-ins.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from selfservice.content import Article
from selfservice.errors import SearchError
from selfservice.search import Reranker, SearchIndex, SemanticReranker
from selfservice.search.semantic import model_files

pytest.importorskip("wordllama")


@pytest.fixture(scope="module")
def reranker() -> SemanticReranker:
    return SemanticReranker()


def test_loads_without_network_and_leaves_logging_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network is not reachable in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in [m for m in sys.modules if m == "wordllama" or m.startswith("wordllama.")]:
        monkeypatch.delitem(sys.modules, name)  # its import would configure logging: not imported
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    r = SemanticReranker(depth=5, weight=2.0)
    assert (r.depth, r.weight) == (5, 2.0)
    assert isinstance(r, Reranker)
    assert root.handlers == handlers and root.level == level
    assert len(r.similarities("delete my account", ["Delete your account"])) == 1
    assert "wordllama" not in sys.modules


def test_imports_nothing_that_could_fetch_a_model() -> None:
    # in a fresh interpreter: the test session itself has imported requests (via plugins)
    code = ("import sys; from selfservice.search import SemanticReranker; "
            "SemanticReranker().similarities('a', ['b']); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'wordllama', 'huggingface_hub', 'requests'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})  # fmt: skip
    assert out.stdout.strip() == "[]"


def test_embeds_as_wordllama_does(reranker: SemanticReranker) -> None:
    from safetensors import safe_open
    from tokenizers import Tokenizer

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        from wordllama import WordLlamaInference  # its import calls logging.basicConfig(level=INFO)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)

    weights, tokenizer = model_files()
    with safe_open(str(weights), framework="np") as f:
        model = WordLlamaInference(f.get_tensor("embedding.weight"), Tokenizer.from_file(str(tokenizer)))
    texts = ["How do I strikethrough text in Gmail?", "Multiple Dropbox accounts on one PC", "x"]
    assert reranker.embed(texts) == pytest.approx(model.embed(texts, norm=True), abs=1e-5)
    for one in texts:
        assert reranker.embed([one]) == pytest.approx(model.embed([one], norm=True), abs=1e-5)
    # texts without tokens are zeros, wherever they are, and leave the others alone
    mixed = reranker.embed(["", texts[0], "", texts[1], ""])
    assert mixed[[1, 3]] == pytest.approx(reranker.embed(texts[:2]), abs=1e-6)
    assert not mixed[[0, 2, 4]].any()


def test_words_tokenise_as_the_whole(reranker: SemanticReranker) -> None:
    """Titles are tokenised word by word, each word's ids kept: that must give exactly the
    ids of tokenising the title whole, for every bundled title, the GNOME Help sample in four
    languages, and awkward ones."""
    from selfservice.content import load_library

    root = Path(__file__).resolve().parent.parent
    titles = [a.title for a in load_library([root / "kb_articles"]).searchable()]
    titles += [a.title for a in load_library([root / "tests" / "corpora" / "gnome-help"]).indexable()]  # en/de/es/fr
    titles += ["Use Ctrl+Shift+Esc (Windows) / ⌘-Option-Esc", "e-mail, E-Mail & “quotes”: ok?", "naïve café Œuvre",
               "tab\there", "new\nline", "MS16-004 KB3114379 v2.0.1", "日本語のタイトル", "a", "", " lead", "trail ",
               "two  spaces", "🙂 emoji 👍🏽 mixed"]  # fmt: skip
    assert len(titles) > 40
    encode = reranker._tokenizer.encode
    for title in titles:
        whole = encode(title, add_special_tokens=False).ids
        assert [i for ids in reranker._tokens(title) for i in ids] == whole, title
    assert reranker._tokens("Reset your password") == reranker._tokens("Reset your password")  # kept ids
    assert "password" in reranker._words


def test_table_is_mapped_from_the_wheel_and_reads_as_loaded(reranker: SemanticReranker, tmp_path: Path) -> None:
    """Mapped, the table's pages are shared by every worker process (16 MB each when loaded);
    its values are the ones safetensors reads. A file of another layout is loaded instead."""
    import numpy as np
    from safetensors import safe_open

    from selfservice.search.semantic import _mapped_table

    weights, _ = model_files()
    assert isinstance(reranker._table, np.memmap)
    with safe_open(str(weights), framework="np") as f:
        loaded = f.get_tensor("embedding.weight")
    assert reranker._table.shape == loaded.shape and reranker._table.dtype == loaded.dtype
    rows = [0, 1, 4242, loaded.shape[0] - 1]
    assert np.array_equal(reranker._table[rows], loaded[rows])
    other = tmp_path / "other.safetensors"
    other.write_bytes((2).to_bytes(8, "little") + b"{}")
    assert _mapped_table(np, other) is None
    other.write_bytes(b"\x01")
    assert _mapped_table(np, other) is None


def test_similar_meaning_scores_higher(reranker: SemanticReranker) -> None:
    titles = ["How do I strikethrough text in Gmail?", "How do I delete my Facebook account?",
              "Multiple Dropbox accounts on one PC"]  # fmt: skip
    sims = reranker.similarities("make letters crossed out in an email", titles)
    assert sims[0] == max(sims)
    sims = reranker.similarities("remove my fb profile for good", titles)
    assert sims[1] == max(sims)
    assert all(-1.0 <= s <= 1.0 for s in sims)
    # cached titles give the same answer; an empty title is no error
    assert reranker.similarities("remove my fb profile for good", titles) == pytest.approx(sims)
    assert reranker.similarities("anything", [""]) == [0.0]
    assert reranker.similarities("", ["Delete your account"]) == [0.0]
    assert reranker.similarities("anything", []) == []


def test_reranks_search_results(tmp_path: Path, reranker: SemanticReranker) -> None:
    def art(slug: str, title: str, body: str) -> Article:
        return Article(slug=slug, title=title, body_html="", body_text=body, summary="", category="c", toc=())

    articles = [
        art("autosave", "How to turn off auto-save in Google Docs?",
            "Docs saves every change as you type; saving cannot be turned off. Work on a copy offline."),
        art("backup", "How can I back up all emails stored in my Gmail account?",
            "Use the export tool to download an archive of everything."),
    ]
    query = "saving my gmail mails offline"
    plain = SearchIndex(tmp_path / "ix")
    plain.rebuild(articles)
    assert [h.slug for h in plain.search(query).hits] == ["autosave", "backup"]
    semantic = SearchIndex(tmp_path / "ix", reranker=reranker)
    assert [h.slug for h in semantic.search(query).hits] == ["backup", "autosave"]
    plain.close()
    semantic.close()


def test_title_vectors_from_the_index_score_as_embedded_titles(tmp_path: Path, reranker: SemanticReranker) -> None:
    """An index built with the re-ranker holds each title's vector; searches read them
    instead of embedding titles, and score exactly as from an index without them."""
    import numpy as np

    root = Path(__file__).resolve().parent.parent
    from selfservice.content import load_library

    articles = load_library([root / "kb_articles"]).searchable()
    queries = ["I forgot my login", "money back", "where is my parcel", "talk to a person", "pasword resett"]
    with_vectors = SearchIndex(tmp_path / "with", reranker=SemanticReranker())
    with_vectors.rebuild(articles)
    reading = SemanticReranker()
    searched = SearchIndex(tmp_path / "with", reranker=reading)
    plain = SearchIndex(tmp_path / "without")
    plain.rebuild(articles)
    embedding = SemanticReranker()
    fallback = SearchIndex(tmp_path / "without", reranker=embedding)
    for q in queries:
        a, b = searched.search(q).hits, fallback.search(q).hits
        assert [h.slug for h in a] == [h.slug for h in b] and [h.score for h in a] == pytest.approx([h.score for h in b])
    assert not reading._titles and len(embedding._titles) > 10  # read from the index, not embedded
    # the bytes: a tag naming the model, then the float16 vector embed() gives
    title = articles[0].title
    raw = reranker.title_vector(title)
    assert len(raw) == 4 + 512 and raw[:4] == reranker._tag
    assert np.frombuffer(raw[4:], dtype="<f2") == pytest.approx(reranker.embed([title])[0], abs=1e-3)
    # bytes missing or from another model are embedded instead, wherever they are
    titles = [a.title for a in articles[:4]]
    other = b"\0\0\0\0" + raw[4:]
    vectors = [reranker.title_vector(titles[0]), b"", other, reranker.title_vector(titles[3])]
    want = reranker.similarities("reset my password", titles)
    assert reranker.similarities_with("reset my password", titles, vectors) == pytest.approx(want, abs=1e-6)
    assert reranker.similarities_with("reset my password", titles, [b""] * 4) == pytest.approx(want, abs=1e-6)
    for ix in (with_vectors, searched, plain, fallback):
        ix.close()


def test_prepare_embeds_new_titles_once_and_changes_nothing() -> None:
    fresh = SemanticReranker()
    titles = ["How do I strikethrough text in Gmail?", "How do I delete my Facebook account?", ""]
    before = fresh.similarities("crossed out letters", titles)
    again = SemanticReranker()
    assert again.prepare([*titles, titles[0]]) == 3 and again.prepare(titles) == 0
    assert again.similarities("crossed out letters", titles) == pytest.approx(before)
    many = [f"Article number {i} about {w}" for i in range(1200) for w in ("mail",)]
    assert again.prepare(many) == 1200  # more than one batch


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        SemanticReranker(depth=0)


def test_missing_extra_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wordllama" else real(name, *a))
    with pytest.raises(SearchError, match=r"selfservice\[semantic\]"):
        SemanticReranker()


def test_semantic_by_name_in_settings_and_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """``search_reranker="semantic"`` (what ``serve --semantic`` and JSON settings give) makes
    the portal's own SemanticReranker; ``index --semantic`` writes its title vectors. Without
    the extra both say how to install it."""
    import importlib.util

    from selfservice import Settings, SettingsError, create_portal
    from selfservice.cli import _parser, _settings_from_args, main
    from selfservice.settings import demo_content_dir

    portal = create_portal(Settings(content_dirs=[demo_content_dir()], secret_key="s" * 32, data_dir=tmp_path / "data",
                                    search_reranker="semantic"))  # fmt: skip
    index = portal.ss.index
    assert isinstance(index.reranker, SemanticReranker)
    hits = index.search("I forgot my login").hits
    assert hits and not index.reranker._titles  # titles' vectors came from the index synced at start-up
    args = _parser().parse_args(["serve", "--semantic", "--data-dir", str(tmp_path / "d")])
    assert _settings_from_args(args).search_reranker == "semantic"
    assert main(["index", str(demo_content_dir()), "--index-dir", str(tmp_path / "ix"), "--semantic"]) == 0
    reading = SemanticReranker()
    ix = SearchIndex(tmp_path / "ix", reranker=reading)
    assert ix.search("money back").hits and not reading._titles
    ix.close()

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wordllama" else real(name, *a))
    with pytest.raises(SettingsError, match=r"search_reranker.*selfservice\[semantic\]"):
        Settings(secret_key="s" * 32, search_reranker="semantic").validate()
    with pytest.raises(SystemExit) as exit_:
        main(["index", str(demo_content_dir()), "--index-dir", str(tmp_path / "ix2"), "--semantic"])
    assert exit_.value.code == 2 and "selfservice[semantic]" in capsys.readouterr().err
