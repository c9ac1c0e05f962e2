"""selfservice.search: grammar, ranking, typos, snippets, bounds, atomic rebuilds, concurrency.

Articles are built directly (no markdown loading) and every index is a real whoosh index in a
temporary folder. Time bounds are generous correctness bounds, not benchmarks.
"""

from __future__ import annotations

import multiprocessing
import random
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from whoosh.reading import IndexReader

from selfservice.content import Article
from selfservice.errors import IndexBusyError, SearchError
from selfservice.markup import Heading
import selfservice.search
from selfservice.search import (
    AnyOf,
    Phrase,
    SearchHit,
    SearchIndex,
    SearchResults,
    Suggestion,
    SyncStats,
    Weights,
    Word,
    load_synonyms,
    parse_query,
)
from selfservice.search.results import FacetCount
from selfservice.search.index import NO_WORDS, ONLY_EXCLUDED, TOO_SLOW, TYPOS_CAPPED
from selfservice.search.query import EXPANSION_BUDGET, MAX_EXPANSIONS, PREFIX_NOTE, PlanBuilder
from selfservice.search.ranking import OutOfTime, Ranker
from selfservice.search.schema import Analyzer
from selfservice.search.spelling import MAX_CORRECTIONS, MAX_WORDS, Speller, Vocabulary


def art(slug: str, title: str, body: str = "", **kw: object) -> Article:
    fields: dict[str, object] = {"summary": "", "category": "general", "toc": (), **kw}
    return Article(slug=slug, title=title, body_html="", body_text=body, **fields)  # type: ignore[arg-type]


BASICS = [
    art("reset-password", "Reset your password", "If you forgot your password, open Settings and choose Reset.",
        summary="Get back into your account.", category="account", tags=("security",)),
    art("billing", "Invoices and receipts", "Download invoices as PDF. Your password is not needed for this.",
        category="billing", tags=("money",)),
    art("sign-in", "Cannot sign in", "Signing in fails when the password is wrong. Resetting it helps.",
        category="account"),
    art("delete-account", "Delete your account", "Deleting an account removes all invoices and orders.",
        category="account", tags=("security", "privacy")),
    art("shipping", "Shipping times", "Parcels ship within two days. Tracking numbers arrive by e-mail.",
        category="orders", locale="de"),
    art("printer", "Printer setup", "Connect the printer over Wi-Fi, then print a test page.",
        category="devices", manual="printer/2.x"),
]  # fmt: skip


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchIndex]:
    ix = SearchIndex(tmp_path_factory.mktemp("ix") / "index")
    ix.rebuild(BASICS)
    yield ix
    ix.close()


def slugs(results: SearchResults) -> list[str]:
    return [h.slug for h in results.hits]


# -- grammar -----------------------------------------------------------------------------------
def test_grammar_words_phrases_exclusions_or_prefix() -> None:
    p = parse_query('"reset your" password -billing -"old plan" invoices OR receipts pass*')
    assert p.include == (
        Phrase(("reset", "your")),
        Word("password"),
        AnyOf((Word("invoices"), Word("receipts"))),
        Word("pass", prefix=True),
    )
    assert p.exclude == (Word("billing"), Phrase(("old", "plan")))
    assert p.notes == ()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("title:foo body:bar", ["title", "foo", "body", "bar"]),  # field syntax is plain words
        ("(a OR) AND NOT b", ["a", "AND", "NOT", "b"]),  # stray operators and parentheses
        ('"unbalanced quote', ["unbalanced", "quote"]),
        ("a* * ** x*", ["a", "x"]),  # a prefix needs two characters; bare stars are dropped
        ("nul\x00byte\x07bell", ["nul", "byte", "bell"]),
        ("emoji 😀 ok", ["emoji", "ok"]),
        ("ＦＵＬＬ width", ["FULL", "width"]),  # NFKC
        ("OR OR word OR", ["word"]),
    ],
)
def test_grammar_never_fails(text: str, words: list[str]) -> None:
    p = parse_query(text)
    assert [w.text for w in p.words] == words


def test_grammar_caps_terms_and_length() -> None:
    p = parse_query(" ".join(f"w{i}" for i in range(700)), max_terms=32, max_length=10_000)
    assert len(p.words) == 32 and p.notes == ("Only the first 32 words were used.",)
    p = parse_query("x" * 5000, max_length=512)
    assert len(p.text) == 512 and "512 characters" in p.notes[0]
    assert parse_query("*").include == () and parse_query("-only").exclude == (Word("only"),)


# -- ranking and matching ----------------------------------------------------------------------
def test_title_match_beats_body_match(index: SearchIndex) -> None:
    r = index.search("password")
    assert slugs(r)[0] == "reset-password"
    assert set(slugs(r)) == {"reset-password", "billing", "sign-in"} and r.total == 3
    assert r.hits[0].score > r.hits[-1].score


def test_stemming(index: SearchIndex) -> None:
    assert slugs(index.search("resetting passwords"))[0] == "reset-password"
    assert "delete-account" in slugs(index.search("deleted accounts"))


def test_phrase(index: SearchIndex) -> None:
    assert slugs(index.search('"forgot your password"')) == ["reset-password"]
    assert slugs(index.search('"password forgot"')) == []  # order matters


def test_exclusion_and_or(index: SearchIndex) -> None:
    assert "billing" not in slugs(index.search("password -invoices"))
    assert set(slugs(index.search("printer OR parcels"))) == {"printer", "shipping"}
    r = index.search("-password")
    assert r.total == 0 and r.message == ONLY_EXCLUDED


def test_prefix(index: SearchIndex) -> None:
    assert set(slugs(index.search("invoi*"))) == {"billing", "delete-account"}
    assert slugs(index.search("prin*"))[0] == "printer"


def test_typos_are_corrected_and_suggested(index: SearchIndex) -> None:
    r = index.search("pasword resett")
    assert slugs(r)[0] == "reset-password"
    assert r.suggestion == "password reset"
    assert index.search("password reset").suggestion is None


def test_synonyms(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path / "ix", synonyms={"login": ["sign in"], "bill": ["invoices"]})
    ix.rebuild(BASICS)
    assert slugs(ix.search("login"))[0] == "sign-in"
    assert slugs(ix.search("bill"))[0] == "billing"


def test_other_language_stems_and_folds_accents(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path / "ix", language="es")
    ix.rebuild([art("clave", "Cambiar la contraseña", "Puede cambiar sus contraseñas en Ajustes.", locale="es")])
    assert slugs(ix.search("contraseñas")) == ["clave"]
    assert slugs(ix.search("contrasena")) == ["clave"]


def test_filters(index: SearchIndex) -> None:
    assert set(slugs(index.search("password", category="account"))) == {"reset-password", "sign-in"}
    assert slugs(index.search("invoices", tag="money")) == ["billing"]
    assert slugs(index.search("invoices", tag="MONEY")) == ["billing"]
    assert slugs(index.search("parcels", locale="de")) == ["shipping"]
    assert slugs(index.search("parcels", locale="en")) == []
    assert slugs(index.search("printer", manual="printer/2.x")) == ["printer"]


def test_paging_and_total(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path / "ix")
    ix.rebuild([art(f"doc-{i:02}", f"Doc {i}", "modem " * (i + 1)) for i in range(25)])
    pages = [ix.search("modem", limit=10, offset=o) for o in (0, 10, 20)]
    assert [p.total for p in pages] == [25, 25, 25]
    assert [len(p.hits) for p in pages] == [10, 10, 5]
    seen = [h.slug for p in pages for h in p.hits]
    assert len(set(seen)) == 25
    scores = [h.score for p in pages for h in p.hits]
    assert scores == sorted(scores, reverse=True)
    assert ix.search("modem", offset=30).hits == []


def test_snippets_escape_html_and_mark_terms(tmp_path: Path) -> None:
    body = "Intro text. " * 40 + "Use <script>alert(1)</script> & reset the router's password here. " + "Tail. " * 40
    ix = SearchIndex(tmp_path / "ix")
    ix.rebuild([art("router", "Router", body), art("other", "Router passwords", "")])
    hit = ix.search("router password").hits
    snippet = {h.slug: h.snippet for h in hit}["router"]
    assert "<script>" not in snippet and "&lt;script&gt;" in snippet and "&amp;" in snippet
    assert "<mark>password</mark>" in snippet and "<mark>router</mark>" in snippet
    assert snippet.startswith("… ") and snippet.endswith(" …")
    assert {h.slug: h.snippet for h in hit}["other"] == ""  # no body, nothing to show


# -- bounds ------------------------------------------------------------------------------------
def _corpus(n: int) -> list[Article]:
    rng = random.Random(7)
    vocab = [f"{a}{b}{c}" for a in "bcdfgkmpst" for b in "aeiou" for c in ("ran", "tor", "lix", "mund", "sel")]
    return [
        art(f"a{i}", " ".join(rng.sample(vocab, 4)), " ".join(rng.choices(vocab, k=120)), category=f"c{i % 5}")
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchIndex]:
    ix = SearchIndex(tmp_path_factory.mktemp("big") / "index")
    ix.rebuild(_corpus(400))
    yield ix
    ix.close()


_TYPOS = [f"{w}{x}" for w in ("barann", "kotorr", "sulixx", "pemundd", "dasell") for x in "qwrtzpsdfg"]  # 50 different
HOSTILE: list[tuple[str, tuple[str, ...]]] = [  # (query, what its message must say)
    (" ".join(f"term{i}" for i in range(700)), ("512 characters", "first 32 words")),
    (" ".join(["baran"] * 700), ("512 characters", "first 32 words")),
    ("*", (NO_WORDS,)),
    (" ".join(f"b{v}*" for v in "aeiou" * 10), ("first 32 words",)),  # 50 prefixes
    (" ".join(_TYPOS), ("first 32 words", TYPOS_CAPPED)),  # 50 fuzzy terms
    ("title:foo body:bar", ("(title:) is not supported",)),
    ("title:baran", ("(title:) is not supported",)),
    ("!@#$%^&*()[]{}:;'\"<>,.?/\\|`~-=+" * 320, ("512 characters",)),  # ~10 KB of punctuation
    ("\x00" * 1000 + "baran", ()),
    ("😀" * 300, (NO_WORDS,)),
    ('"' * 99 + "(" * 99 + "OR " * 99 + "-" * 99, ()),
    ("a" * 10_000, ("512 characters",)),
]


@pytest.mark.parametrize(("query", "says"), HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_queries_answer_with_results_or_a_message(big: SearchIndex, query: str, says: tuple[str, ...]) -> None:
    r = big.search(query, limit=10)
    assert isinstance(r, SearchResults) and r.total >= 0
    assert r.total > 0 or r.message, "no results must come with a reason or be a plain miss"
    for part in says:
        assert r.message and part in r.message, r.message
    assert len(r.hits) <= 10


def test_hostile_query_plans_are_capped(big: SearchIndex) -> None:
    parsed = parse_query(" ".join(_TYPOS) + " " + " ".join(f"b{v}*" for v in "aeiou"), max_terms=60)
    with _reader(big) as reader:
        builder = PlanBuilder(reader, Analyzer("en"))
        plan = builder.build(parsed)
        assert len(plan.clauses) == 55 and len(set(plan.unknown)) > MAX_WORDS
        corrections = Speller(reader, Vocabulary.from_reader(reader)).correct(plan.unknown)
    assert len(corrections) <= MAX_WORDS and all(len(c) <= MAX_CORRECTIONS for c in corrections.values())


@pytest.fixture(scope="module")
def prefixed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchIndex]:
    """Articles using 200 different words that start with ``pre``."""
    ix = SearchIndex(tmp_path_factory.mktemp("prefixed") / "index")
    ix.rebuild([art(f"p{i}", f"Topic {i}", " ".join(f"pre{j:03}x" for j in range(i, 200, 7))) for i in range(40)])
    yield ix
    ix.close()


def test_prefix_expansion_is_capped_with_a_note(prefixed: SearchIndex) -> None:
    r = prefixed.search("pre*")
    assert r.message == PREFIX_NOTE and r.total > 0
    with _reader(prefixed) as reader:
        plan = PlanBuilder(reader, Analyzer("en")).build(parse_query("pre* pre0* pre1* pr* pre00*"))
    assert all(len(c.options) <= MAX_EXPANSIONS for c in plan.clauses)
    assert sum(len(c.options) for c in plan.clauses) <= EXPANSION_BUDGET
    assert plan.notes == [PREFIX_NOTE]
    assert prefixed.search("pre001x").message is None  # a plain word is no prefix


def test_time_limit_inside_one_clause(prefixed: SearchIndex) -> None:
    ix = SearchIndex(prefixed.path, time_limit=1e-9, cache_size=0)
    r = ix.search("pre*")  # one clause of 24 words: the first word is scored, then time is up
    assert r.message is not None and TOO_SLOW in r.message
    assert 0 < r.total < prefixed.search("pre*").total


def test_time_limit_stops_expanding_prefixes_after_the_first(prefixed: SearchIndex) -> None:
    parsed = parse_query("pre0* pre1* pre*")
    with _reader(prefixed) as reader:
        full = PlanBuilder(reader, Analyzer("en")).build(parsed)
        late = PlanBuilder(reader, Analyzer("en"), deadline=0.0).build(parsed)  # the deadline has passed
    assert not full.late and len(full.clauses) == 3
    assert late.late and late.clauses == full.clauses[:1]  # the first prefix still finds something
    ix = SearchIndex(prefixed.path, time_limit=1e-9, cache_size=0)
    r = ix.search("pre0* pre1* pre*")
    assert r.total > 0 and r.message is not None and TOO_SLOW in r.message


def test_an_unfinished_clause_costs_only_what_was_scored(prefixed: SearchIndex) -> None:
    ix = SearchIndex(prefixed.path, time_limit=1e-9, cache_size=0)
    assert TOO_SLOW in (ix.search("pre*").message or "")
    gen = ix._generations.current()
    assert gen is not None
    # Of the clause's 24 words one was scored; the second pass (title coverage) must not
    # compute the other 23 after time ran out.
    assert len([t for t in gen.ranker._terms if t.startswith("pre")]) == 1


def test_planning_scores_no_word_past_the_deadline(prefixed: SearchIndex) -> None:
    ix = SearchIndex(prefixed.path, time_limit=1e-9, cache_size=0)
    r = ix.search(" ".join(f"pre{j:03}x" for j in range(10)))  # ten known words
    assert r.total > 0 and TOO_SLOW in (r.message or "")
    gen = ix._generations.current()
    assert gen is not None
    # Checking that each word exists used to score all ten in full before ranking looked at
    # the time; now only the first word (always scored) is.
    assert len([t for t in gen.ranker._terms if t.startswith("pre")]) == 1


def test_a_term_past_the_deadline_is_dropped_not_kept(prefixed: SearchIndex) -> None:
    ranker = Ranker(40)
    with _reader(prefixed) as reader:
        with pytest.raises(OutOfTime):
            ranker.term(reader, "pre001x", deadline=0.0)  # long past: stops after its first block
        assert "pre001x" not in ranker._terms
        assert len(ranker.term(reader, "pre001x")) > 0  # without a deadline it is computed and kept
    assert "pre001x" in ranker._terms


def test_prefix_completions_count_every_segment(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path / "ix")
    ix.rebuild([art(f"s{i}", f"Topic {i}", f"sprocket{i % 3} sprock") for i in range(9)])
    for i in range(6):  # later segments: "sprocketx" becomes the most used word overall
        ix.update(art(f"t{i}", f"Later {i}", "sprocketx"))
    with _reader(ix) as reader:
        assert len(reader.leaf_readers()) > 1
        words = PlanBuilder(reader, Analyzer("en"), max_expansions=2).prefix_words("sprock")
        everything = [b.decode() for b in reader.expand_prefix("spell", "sprock")]
        freq = {w: reader.doc_frequency("spell", w) for w in everything}
    assert words == sorted(everything, key=lambda w: -freq[w])[:2] and words[0] == "sprock"
    assert freq["sprocketx"] == 6 and words[1] == "sprocketx"


@contextmanager
def _reader(ix: SearchIndex) -> Iterator[IndexReader]:
    from whoosh import index as whoosh_index

    folder = ix._generations.folder()
    assert folder is not None
    wix = whoosh_index.open_dir(str(folder))
    try:
        with wix.reader() as reader:
            yield reader
    finally:
        wix.close()


def test_term_cap_message(big: SearchIndex) -> None:
    r = big.search(" ".join(["baran", "kotor"] * 40))
    assert r.message == "Only the first 32 words were used."
    assert r.total > 0


def test_time_limit_returns_partial_results(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path / "ix", time_limit=1e-9)
    ix.rebuild([art(f"d{i}", f"Doc {i}", "common" if i % 2 else "word") for i in range(200)])
    r = ix.search("common word")
    assert r.message == TOO_SLOW
    assert r.total == 100  # the first word's matches; the second was not reached
    assert ix.search("common word").message == TOO_SLOW  # a partial answer is not cached


def test_bad_paging_arguments(index: SearchIndex) -> None:
    with pytest.raises(ValueError):
        index.search("x", limit=-1)
    assert index.search("password", limit=0).hits == []


def test_no_index_yet(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path / "missing")
    assert ix.search("anything").total == 0 and not ix.exists and len(ix) == 0


# -- writes ------------------------------------------------------------------------------------
class FailingArticles:
    """Reports a length (so rebuild streams it) and fails halfway through."""

    def __init__(self, articles: list[Article], fail_at: int, during: object = None) -> None:
        self.articles, self.fail_at, self.during = articles, fail_at, during

    def __len__(self) -> int:
        return len(self.articles)

    def __iter__(self) -> Iterator[Article]:
        for i, a in enumerate(self.articles):
            if i == self.fail_at:
                if callable(self.during):
                    self.during()
                raise RuntimeError("disk on fire")
            yield a


def test_rebuild_is_atomic(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    writer, reader = SearchIndex(path), SearchIndex(path)
    writer.rebuild(BASICS)
    assert slugs(reader.search("printer")) == ["printer"]
    new = [art(f"n{i}", f"Brand new {i}", "modem") for i in range(20)]
    seen_during: list[list[str]] = []
    with pytest.raises(RuntimeError, match="disk on fire"):
        writer.rebuild(FailingArticles(new, 10, during=lambda: seen_during.append(slugs(reader.search("printer")))))
    assert seen_during == [["printer"]]  # mid-build, readers see the old index
    assert slugs(reader.search("printer")) == ["printer"] and reader.search("modem").total == 0
    assert not [p for p in path.iterdir() if p.name.startswith(".build-")]
    writer.rebuild(new)
    assert reader.search("printer").total == 0 and reader.search("modem").total == 20
    assert len([p for p in path.iterdir() if p.name.startswith("ix-")]) <= 2


def test_stale_build_folder_from_a_crash_is_removed(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path / "ix")
    ix.rebuild(BASICS)
    (tmp_path / "ix" / ".build-deadbeef").mkdir()
    ix.rebuild(BASICS[:2])
    assert not (tmp_path / "ix" / ".build-deadbeef").exists() and len(ix) == 2


def test_rebuild_progress(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    SearchIndex(tmp_path / "ix").rebuild(iter(BASICS), progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (len(BASICS), len(BASICS))


def test_sync_adds_updates_deletes(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path / "ix")
    first = ix.sync(BASICS)
    assert first.rebuilt and first.added == len(BASICS)
    again = ix.sync(BASICS)
    assert not again.changed and again.unchanged == len(BASICS)
    changed = [art("reset-password", "Reset your passphrase", "Choose a passphrase."), *BASICS[1:4]]
    changed.append(art("new-one", "Gift cards", "Redeem a gift card."))
    stats = ix.sync(changed)
    assert (stats.added, stats.updated, stats.deleted, stats.unchanged) == (1, 1, 2, 3)
    assert slugs(ix.search("passphrase")) == ["reset-password"]
    assert slugs(ix.search("gift")) == ["new-one"]
    assert ix.search("printer").total == 0 and len(ix) == 5


def test_unchanged_sync_does_not_write(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path / "ix")
    ix.sync(BASICS)
    before = (tmp_path / "ix" / "CURRENT").stat().st_mtime_ns, sorted(p.name for p in (tmp_path / "ix").rglob("*"))
    assert not SearchIndex(tmp_path / "ix").sync(list(reversed(BASICS))).changed
    assert before == ((tmp_path / "ix" / "CURRENT").stat().st_mtime_ns, sorted(p.name for p in (tmp_path / "ix").rglob("*")))


def test_update_and_delete(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path / "ix")
    ix.update(art("one", "Modem lights", "Blinking lights."))
    assert slugs(ix.search("modem")) == ["one"]
    ix.update(art("one", "Router lights", "Blinking lights."))
    assert ix.search("modem").total == 0 and slugs(ix.search("router")) == ["one"]
    ix.delete("one")
    ix.delete("never-there")
    assert ix.search("router").total == 0 and len(ix) == 0


@pytest.mark.parametrize("small", [0, 256], ids=["looked-up", "listed"])
def test_saved_articles_and_deleted_copies_across_segments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small: int
) -> None:
    """Each save adds a segment and deletes the old copy in another; both ways of reading a
    segment (words looked up, or a small segment's words listed once) give the same answers."""
    monkeypatch.setattr(selfservice.search.postings, "SMALL_SEGMENT", small)
    ix = SearchIndex(tmp_path / "ix")
    ix.sync(BASICS)
    ix.update(art("reset-password", "Reset your passphrase", "Choose a new passphrase in Settings."))
    ix.update(art("gift", "Gift cards", "Redeem a gift card in Settings."))
    ix.update(art("printer", "Printer setup", "Connect the printer by cable."))
    assert slugs(ix.search("passphrase")) == ["reset-password"]
    assert slugs(ix.search("forgot")) == []  # only in the deleted copy
    assert slugs(ix.search("wi-fi")) == [] and slugs(ix.search("cable printer")) == ["printer"]
    assert sorted(slugs(ix.search("settings"))) == ["gift", "reset-password"]
    assert sorted(slugs(ix.search("password"))) == ["billing", "sign-in"]  # the saved one no longer says it


def test_a_replaced_generation_is_freed_at_once(tmp_path: Path) -> None:
    """A generation holds its cached word scores (up to 24 MB at 30k articles): once a save
    replaced it and its searches ended, it must go at once, not when Python's cycle collector
    next runs (a reference cycle kept two or three alive through a run of saves)."""
    import gc
    import weakref

    ix = SearchIndex(tmp_path / "ix")
    ix.sync(BASICS)
    assert slugs(ix.search("printer")) == ["printer"] and ix.suggest("prin")
    first = weakref.ref(ix._generations.current())  # type: ignore[arg-type]
    gc.disable()
    try:
        ix.update(art("gift", "Gift cards", "Redeem a gift card."))
        assert slugs(ix.search("gift")) == ["gift"]  # opens the new generation, retires the old
        assert first() is None
    finally:
        gc.enable()


def test_small_segments_are_not_asked_for_words_they_lack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lookup of a word in a segment costs 15-50 µs found or not; five fields × every small
    segment a save left behind doubled a new word's cost. Small segments' words are listed."""
    from whoosh.reading import SegmentReader, TermNotFound

    ix = SearchIndex(tmp_path / "ix")
    ix.sync(BASICS)
    ix.update(art("gift", "Gift cards", "Redeem a gift card."))
    ix.update(art("card", "Lost card", "Block a lost card."))
    missed: list[tuple[str, str]] = []
    looked_up = SegmentReader.postings

    def postings(self: SegmentReader, field: str, text: str, *args: object, **kw: object) -> object:
        try:
            return looked_up(self, field, text, *args, **kw)
        except TermNotFound:
            missed.append((field, text))
            raise

    monkeypatch.setattr(SegmentReader, "postings", postings)
    assert slugs(ix.search("printer")) == ["printer"]
    assert sorted(slugs(ix.search("card"))) == ["card", "gift"]
    assert missed == []


def test_schema_or_language_change_rebuilds_on_sync(tmp_path: Path) -> None:
    SearchIndex(tmp_path / "ix", language="en").sync(BASICS)
    de = SearchIndex(tmp_path / "ix", language="de")
    assert not de.exists and de.search("printer").total == 0
    assert de.sync(BASICS).rebuilt and slugs(de.search("printer")) == ["printer"]


def test_damaged_pointer_is_a_search_error(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path / "ix")
    ix.sync(BASICS)
    (tmp_path / "ix" / "CURRENT").write_text("{not json", encoding="utf-8")
    with pytest.raises(SearchError, match="selfservice index"):
        SearchIndex(tmp_path / "ix").search("printer")


# -- several instances and processes ------------------------------------------------------------
def test_reader_sees_commits_of_another_instance(tmp_path: Path) -> None:
    writer, reader = SearchIndex(tmp_path / "ix"), SearchIndex(tmp_path / "ix")
    writer.sync(BASICS)
    assert reader.search("gift").total == 0  # cached searcher and result cache from here on
    writer.update(art("gift", "Gift cards", "Redeem a gift card."))
    assert slugs(reader.search("gift")) == ["gift"]
    writer.delete("gift")
    assert reader.search("gift").total == 0


def _hold_writer_lock(path: str, started: object, release: object) -> None:
    """Child process: a rebuild that stalls halfway (holding the writer lock) until released."""

    def stalled() -> Iterator[Article]:
        yield BASICS[0]
        started.set()  # type: ignore[attr-defined]
        release.wait(30)  # type: ignore[attr-defined]
        yield from BASICS[1:]

    SearchIndex(Path(path)).rebuild(_Sized(stalled(), len(BASICS)))


class _Sized:
    def __init__(self, it: Iterator[Article], n: int) -> None:
        self.it, self.n = it, n

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[Article]:
        return self.it


def test_second_writer_gets_index_busy_error(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    SearchIndex(path).sync(BASICS[:1])
    ctx = multiprocessing.get_context("spawn")
    started, release = ctx.Event(), ctx.Event()
    child = ctx.Process(target=_hold_writer_lock, args=(str(path), started, release))
    child.start()
    try:
        while not started.wait(0.05):
            assert child.is_alive(), "the writer process died"
        other = SearchIndex(path, lock_timeout=0.2)
        with pytest.raises(IndexBusyError, match="try again"):
            other.update(BASICS[1])
        assert slugs(other.search("password"))[:1] == ["reset-password"]  # reading is never blocked
    finally:
        release.set()
        child.join(60)
    assert child.exitcode == 0
    other.update(BASICS[1])  # the lock is free again
    assert len(other) == len(BASICS)


def _writing_process(path: str, worker: int, go: object, out: object) -> None:
    """Child process: five updates of its own articles, each waiting for the writer lock."""
    ix = SearchIndex(Path(path), lock_timeout=60)
    go.wait(60)  # type: ignore[attr-defined]
    try:
        for i in range(5):
            ix.update(art(f"w{worker}-{i}", f"Worker {worker} note {i}", "concurrent sharedword"))
        out.put((worker, "ok"))  # type: ignore[attr-defined]
    except Exception:  # reported to the test, which fails on it
        out.put((worker, traceback.format_exc()))  # type: ignore[attr-defined]


def _searching_process(path: str, go: object, writers_done: object, out: object) -> None:
    """Child process: searches while the writers commit; reports every total it saw."""
    ix = SearchIndex(Path(path))
    go.wait(60)  # type: ignore[attr-defined]
    seen: list[int] = []
    try:
        while True:
            finished = writers_done.is_set()  # type: ignore[attr-defined]
            seen.append(ix.search("sharedword").total)
            assert ix.search("printer").total == 1  # the old articles never disappear
            if finished:
                break
        out.put(("reader", seen))  # type: ignore[attr-defined]
    except Exception:
        out.put(("reader", traceback.format_exc()))  # type: ignore[attr-defined]


def test_processes_write_one_at_a_time_and_readers_follow(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    SearchIndex(path).rebuild(BASICS)
    ctx = multiprocessing.get_context("spawn")
    go, writers_done, out = ctx.Event(), ctx.Event(), ctx.Queue()
    writers = [ctx.Process(target=_writing_process, args=(str(path), w, go, out)) for w in range(3)]
    reader = ctx.Process(target=_searching_process, args=(str(path), go, writers_done, out))
    for p in (*writers, reader):
        p.start()
    go.set()
    for p in writers:
        p.join(120)
    writers_done.set()
    reader.join(120)
    reports = dict(out.get(timeout=30) for _ in range(4))
    assert [reports[w] for w in range(3)] == ["ok", "ok", "ok"]  # nobody got a lock error
    seen = reports["reader"]
    assert isinstance(seen, list), seen
    assert seen == sorted(seen) and seen[-1] == 15  # commits appear in order, and all of them
    ix = SearchIndex(path)
    assert ix.search("sharedword").total == 15 and len(ix) == len(BASICS) + 15


def _rebuilding_process(path: str, go: object, out: object) -> None:
    go.wait(60)  # type: ignore[attr-defined]
    for n in (3, 9, 5):
        SearchIndex(Path(path)).rebuild([art(f"r{i}", f"Rebuilt {i}", "generation") for i in range(n)])
    out.put("done")  # type: ignore[attr-defined]


def test_readers_see_whole_rebuilds_only(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    SearchIndex(path).rebuild([art(f"r{i}", f"Rebuilt {i}", "generation") for i in range(7)])
    ctx = multiprocessing.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    child = ctx.Process(target=_rebuilding_process, args=(str(path), go, out))
    child.start()
    reader = SearchIndex(path)
    totals = {reader.search("generation").total}
    go.set()
    while child.is_alive():
        totals.add(reader.search("generation").total)
    child.join(60)
    assert out.get(timeout=30) == "done" and child.exitcode == 0
    totals.add(reader.search("generation").total)
    assert totals <= {7, 3, 9, 5} and reader.search("generation").total == 5


# -- suggestions, answers, facets -----------------------------------------------------------------
def test_suggest_completes_any_title_word(index: SearchIndex) -> None:
    got = index.suggest("pass")
    assert got == [Suggestion("Reset your password", "reset-password")] and str(got[0]) == "Reset your password"
    assert [s.slug for s in index.suggest("acc")] == ["delete-account"]
    assert {s.slug for s in index.suggest("reset your p")} == {"reset-password"}
    assert [s.title for s in index.suggest("ship")] == ["Shipping times"]
    assert index.suggest("") == [] and index.suggest("zzzz") == [] and index.suggest("pass", limit=0) == []


def test_suggest_is_typo_light_and_bounded(index: SearchIndex) -> None:
    assert [s.slug for s in index.suggest("pasw")] == ["reset-password"]  # one typo in the prefix
    assert [s.slug for s in index.suggest("printr set")] == ["printer"]  # and in a whole word
    assert index.suggest("x" * 100_000) == []
    assert len(index.suggest("s", limit=3)) <= 3


def test_suggest_follows_commits(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path / "ix")
    ix.rebuild(BASICS)
    assert ix.suggest("gift") == []
    ix.update(art("gift", "Gift cards", "Redeem a gift card."))
    assert [s.title for s in ix.suggest("gif")] == ["Gift cards"]
    ix.delete("gift")
    assert ix.suggest("gif") == []


ROUTER = art(
    "router", "Router troubleshooting",
    "Start here.\n\nLights\n\nA blinking orange light means the firmware is updating; wait ten minutes.\n\n"
    "Factory reset\n\nHold the pinhole button for thirty seconds to restore factory settings.",
    toc=(Heading(2, "lights", "Lights"), Heading(2, "factory-reset", "Factory reset")),
)  # fmt: skip


def test_answer_gives_the_section_when_confident(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path / "ix")
    ix.rebuild([ROUTER, *BASICS])
    a = ix.answer("router blinking orange light")
    assert a is not None and a.slug == "router" and a.anchor == "lights" and a.heading == "Lights"
    assert a.text.startswith("A blinking orange light") and a.coverage >= 0.75
    b = ix.answer("how do I restore factory settings")
    assert b is not None and b.anchor == "factory-reset"


def test_no_answer_when_unsure(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path / "ix")
    ix.rebuild([ROUTER, *BASICS, art("router-2", "Router troubleshooting", "Blinking lights on the router.")])
    assert ix.answer("router") is None  # two articles match about as well: no clear winner
    assert ix.answer("password") is None  # the best article has no paragraph beyond its title words
    assert ix.answer("") is None and ix.answer("*") is None


def test_facets_count_every_match(index: SearchIndex) -> None:
    r = index.search("password OR invoices", limit=1, facets=True)
    assert r.facets is not None and len(r.hits) == 1
    assert [(f.value, f.count) for f in r.facets.category] == [("account", 3), ("billing", 1)]
    assert [(f.value, f.count) for f in r.facets.tag] == [("security", 2), ("money", 1), ("privacy", 1)]
    assert index.facets("printer").manual[0].value == "printer/2.x"
    assert index.facets("password", category="billing").category == [FacetCount("billing", 1)]
    assert index.search("password").facets is None


# -- ranking knobs, synonyms file -----------------------------------------------------------------
def test_articles_sharing_a_title_are_spread_out(tmp_path: Path) -> None:
    same = [art(f"answer-{i}", "Export your mail", f"Export mail {'export ' * (5 - i)}") for i in range(3)]
    other = art("other", "Mail backups", "Export mail to a backup file. Export export.")
    ix = SearchIndex(tmp_path / "ix")
    ix.rebuild([*same, other])
    first, second = slugs(ix.search("export mail"))[:2]
    assert first.startswith("answer-") and second == "other"  # not three answers of one question first
    plain = SearchIndex(tmp_path / "ix", weights=Weights(same_title=1.0))
    assert sorted(slugs(plain.search("export mail"))[:3]) == ["answer-0", "answer-1", "answer-2"]


def test_spreading_looks_as_far_down_as_a_crowded_title_needs(tmp_path: Path) -> None:
    """A question with 40 answers sharing its title fills the best 40 raw scores; spread out,
    only its first stays above the other question's answer, which must then come second
    (a fixed window of the best k + 20 never saw it), however many results are asked for."""
    same = [art(f"answer-{i:02}", "Export your mail", f"Export mail. {'Export. ' * (3 + i % 3)}") for i in range(40)]
    other = art("other", "Mail backups", "Export mail to a backup file. Export export.")
    ix = SearchIndex(tmp_path / "ix")
    ix.rebuild([*same, other])
    raw = slugs(SearchIndex(tmp_path / "ix", weights=Weights(same_title=1.0)).search("export mail", limit=50))
    assert raw.index("other") == 40  # below every answer before spreading
    for limit in (2, 10, 30):
        found = slugs(ix.search("export mail", limit=limit))
        assert found[0].startswith("answer-") and found[1] == "other", (limit, found)
    ix.close()


def test_title_coverage_favours_titles_naming_the_query(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path / "ix")
    ix.rebuild([
        art("mentions", "Account settings", "Change the printer driver. " * 3 + "Printer driver updates."),
        art("named", "Printer driver", "How to get it."),
    ])  # fmt: skip
    assert slugs(ix.search("printer driver"))[0] == "named"


def test_load_synonyms(tmp_path: Path) -> None:
    f = tmp_path / "synonyms.txt"
    f.write_text("# comment\ndelete, remove,  get rid of\nfb => facebook\n\nsign in, log in  # trailing\n")
    syn = load_synonyms(f)
    assert syn["delete"] == ["remove", "get rid of"] and syn["get rid of"] == ["delete", "remove"]
    assert syn["fb"] == ["facebook"] and "facebook" not in syn and syn["log in"] == ["sign in"]
    ix = SearchIndex(tmp_path / "ix", synonyms=syn)
    ix.rebuild(BASICS)
    assert slugs(ix.search("remove account"))[0] == "delete-account"
    f.write_text("a, b\n => nothing\n")
    with pytest.raises(SearchError, match=r"synonyms.txt:2"):
        load_synonyms(f)


def test_shipped_english_synonyms_load() -> None:
    syn = load_synonyms(Path(selfservice.search.__file__).parent / "data" / "synonyms-en.txt")
    assert "remove" in syn["delete"] and syn["pw"] == ["password"]


def test_snippets_are_made_on_first_use() -> None:
    made: list[int] = []
    hit = SearchHit("s", "T", "", "c", 1.0, lambda: made.append(1) or "<mark>x</mark>")
    assert made == []
    assert hit.snippet == "<mark>x</mark>" and hit.snippet == "<mark>x</mark>" and made == [1]
    assert hit == SearchHit("s", "T", "", "c", 1.0, "<mark>x</mark>")


# -- per-language search (GNOME Help sample in tests/corpora/gnome-help, CC BY-SA 3.0) ---------

GNOME = Path(__file__).parent / "corpora" / "gnome-help"


@pytest.fixture(scope="module")
def multilingual(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchIndex]:
    from selfservice.content import load_library

    lib = load_library([GNOME])
    assert set(lib.translations["printing-paperjam"]) == {"de", "es", "fr"}
    assert "color-calibrationtargets" not in lib.translations
    ix = SearchIndex(tmp_path_factory.mktemp("ml") / "index")
    ix.rebuild(lib.indexable())
    yield ix
    ix.close()


def titles(results: SearchResults) -> list[str]:
    return [h.title for h in results.hits]


def test_each_language_version_is_searched_with_its_own_analyzer(multilingual: SearchIndex) -> None:
    ix = multilingual
    assert len(ix) == 13  # 4 originals + 3 × 3 translations
    # Inflected forms the texts do not contain: found only through that language's stemmer.
    found = ix.search("Sicherungen wiederherstellen", language="de")
    assert slugs(found) == ["backup-restore"] and titles(found) == ["Eine Sicherung wiederherstellen"]
    assert titles(ix.search("Papierstaus", language="de")) == ["Einen Papierstau beheben"]
    assert slugs(ix.search("atascos", language="es")) == ["printing-paperjam"]
    assert titles(ix.search("bourrages", language="fr")) == ["Résolution d’un problème de bourrage du papier"]
    # The English site (the index's default) finds English versions only, with English stems.
    assert slugs(ix.search("Sicherungen")) == []
    assert titles(ix.search("jammed printers")) == ["Clearing a paper jam"]
    assert ix.search("jammed printers").hits[0].snippet.count("<mark>") >= 1


def test_a_language_falls_back_to_originals_it_has_no_version_of(multilingual: SearchIndex) -> None:
    ix = multilingual
    # No German version: the English original is found on the German site ...
    assert titles(ix.search("calibration targets", language="de")) == ["Which target types are supported?"]
    # ... but an article that has a German version is only found in German there.
    for q in ("Drucker", "Maus", "Taste", "Papier"):
        found = ix.search(q, language="de")
        assert found.hits, q
        for hit in found.hits:
            assert hit.title in {"Einen Papierstau beheben", "Die Maus mit der linken Hand verwenden"}, (q, hit.title)
    # de_CH searches German.
    assert slugs(ix.search("Papierstaus", language="de_CH")) == ["printing-paperjam"]


def test_a_default_language_query_on_another_site_falls_back_to_the_default_language(multilingual: SearchIndex) -> None:
    ix = multilingual
    # English words on the German site: nothing German matches, so the English articles are searched.
    found = ix.search("backup restore lost files", language="de")
    assert slugs(found)[:1] == ["backup-restore"]
    assert ix.search("backup restore lost files").hits[0].slug == "backup-restore"
    # A German query on the English site finds nothing English, and does not fall back.
    assert slugs(ix.search("Papierstaus")) == []


def test_suggestions_are_titles_in_the_language(multilingual: SearchIndex) -> None:
    ix = multilingual
    assert [s.title for s in ix.suggest("Papiers", language="de")] == ["Einen Papierstau beheben"]
    assert [s.title for s in ix.suggest("atasco", language="es")] == ["Arreglar un atasco de papel"]
    assert [s.title for s in ix.suggest("clearing")] == ["Clearing a paper jam"]
    assert ix.suggest("clearing", language="de") == []  # the article has a German title there
    assert [s.title for s in ix.suggest("which target", language="de")] == ["Which target types are supported?"]


def test_sync_keeps_one_document_per_language_version(tmp_path: Path) -> None:
    from dataclasses import replace

    from selfservice.content import load_library

    lib = load_library([GNOME])
    ix = SearchIndex(tmp_path / "ix")
    ix.sync(lib.indexable())
    german = lib.translations["backup-restore"]["de"]
    others = [a for a in lib.indexable() if a is not german]
    changed = replace(german, title="Eine Datensicherung zurückspielen")
    assert ix.sync([*others, changed]) == SyncStats(updated=1, unchanged=12)
    assert titles(ix.search("zurückspielen", language="de")) == ["Eine Datensicherung zurückspielen"]
    assert ix.sync(others) == SyncStats(deleted=1, unchanged=12)
    # Without its German version, the English original is what the German site finds.
    assert titles(ix.search("backup", language="de")) == ["Restore a backup"]
    ix.delete("printing-paperjam")  # an article goes with all its translations
    assert len(ix) == 8
    ix.close()


def test_cached_answers_only_what_this_generation_already_searched(tmp_path: Path) -> None:
    ix = SearchIndex(tmp_path / "ix")
    ix.rebuild(BASICS)
    assert ix.cached("password") is None and ix.cached_answer("password") == (False, None)
    found = ix.search("password", limit=2, language="en")
    again = ix.cached("password", limit=2, language="en")
    assert again is not None and slugs(again) == slugs(found) and again.total == found.total
    assert ix.cached("password", limit=3) is None  # another page size: another search
    answer = ix.answer("forgot password")
    assert ix.cached_answer("forgot password") == (True, answer)
    ix.update(art("new", "New article about passwords"))  # a commit: the caches are of the old generation
    assert ix.cached("password", limit=2, language="en") is None
    assert ix.cached_answer("forgot password") == (False, None)
    assert ix.cached("") is not None and ix.cached("").total == 0  # nothing to search: no cache needed
    ix.close()


def test_translations_of_unpublished_articles_are_not_indexed(tmp_path: Path) -> None:
    from selfservice.content import load_library

    content = tmp_path / "content"
    content.mkdir()
    (content / "secret.md").write_text("---\ntitle: Secret plans\ndraft: true\n---\nNot yet.\n", encoding="utf-8")
    (content / "secret.de.md").write_text("---\ntitle: Geheime Pläne\n---\nNoch nicht.\n", encoding="utf-8")
    (content / "open.md").write_text("---\ntitle: Open plans\n---\nNow.\n", encoding="utf-8")
    (content / "open.de.md").write_text("---\ntitle: Offene Pläne\n---\nJetzt.\n", encoding="utf-8")
    lib = load_library([content])
    assert {(a.slug, a.locale) for a in lib.indexable()} == {("open", "en"), ("open", "de")}
