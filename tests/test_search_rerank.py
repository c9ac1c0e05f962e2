"""selfservice.search.rerank: the blend of keyword scores and similarities, and its use in search.

The re-rankers here are real ones, not stand-ins for the ranking: ``Overlap`` scores titles by
the share of the query's words they hold, ``Prefer`` by whether they name one word, so which
result wins is known in advance.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from selfservice import Settings, SettingsError
from selfservice.content import Article
from selfservice.search import Reranker, SearchIndex
from selfservice.search.rerank import blend


class Overlap:
    """Similarity = the share of the query's words that are in the title."""

    def __init__(self, depth: int = 10, weight: float = 1.0) -> None:
        self.depth, self.weight = depth, weight
        self.calls: list[tuple[str, list[str]]] = []

    def similarities(self, query: str, titles: Sequence[str]) -> Sequence[float]:
        self.calls.append((query, list(titles)))
        words = set(re.findall(r"\w+", query.lower()))
        return [len(words & set(re.findall(r"\w+", t.lower()))) / max(1, len(words)) for t in titles]


class Prefer(Overlap):
    """Similarity 1 for titles holding ``word``, else 0 (what a model knowing a synonym does)."""

    def __init__(self, word: str, depth: int = 10, weight: float = 1.0) -> None:
        super().__init__(depth, weight)
        self.word = word

    def similarities(self, query: str, titles: Sequence[str]) -> Sequence[float]:
        self.calls.append((query, list(titles)))
        return [float(self.word in t.lower().split()) for t in titles]


class Broken(Overlap):
    def similarities(self, query: str, titles: Sequence[str]) -> Sequence[float]:
        raise RuntimeError("model file missing")


def art(slug: str, title: str, body: str) -> Article:
    return Article(slug=slug, title=title, body_html="", body_text=body, summary="", category="general", toc=())


# "refund" is in the title of the first, once in the body of the second.
ARTICLES = [
    art("returns", "Refunds", "A refund arrives when the parcel is back."),
    art("card", "Money back on your card", "Ask the shop for a refund; it pays within five days."),
    art("shipping", "Shipping times", "Parcels ship within two days."),
]


def test_blend_moves_only_the_first_depth_and_keeps_the_rest() -> None:
    top = [(1, 10.0), (2, 9.0), (3, 8.0), (4, 7.0)]
    titles = ["a", "b c", "b", "b c"]
    r = Overlap(depth=3, weight=1.0)
    out = blend(r, "b c", top, titles)
    # 2: 9 + 10·1 = 19; 3: 8 + 10·0.5 = 13; 1: 10 + 0 = 10; then 4 in keyword order, unscored
    assert out == [(2, 19.0), (3, 13.0), (1, 10.0), (4, 7.0)]
    assert r.calls == [("b c", ["a", "b c", "b"])]


def test_blend_spreads_out_articles_sharing_a_title() -> None:
    top = [(1, 10.0), (2, 9.0), (3, 8.0), (4, 7.0)]
    titles = ["b", "b", "b", "a"]
    r = Overlap(depth=4, weight=1.0)
    # blended: 20, 19, 18, 7; the 2nd and 3rd "b" × 0.5 and × 0.25
    assert blend(r, "b", top, titles, ["b", "b", "b", "a"], 0.5) == [(1, 20.0), (2, 9.5), (4, 7.0), (3, 4.5)]
    assert blend(r, "b", top, titles, ["b", "b", "b", "a"], 1.0) == [(1, 20.0), (2, 19.0), (3, 18.0), (4, 7.0)]


def test_blend_leaves_alone_what_it_cannot_rank() -> None:
    r = Overlap()
    assert blend(r, "q", [(1, 3.0)], ["q"]) == [(1, 3.0)]  # one result
    assert blend(r, "q", [], []) == []
    assert blend(Overlap(weight=0.0), "b", [(1, 2.0), (2, 1.0)], ["a", "b"]) == [(1, 2.0), (2, 1.0)]
    assert r.calls == []


def test_protocol() -> None:
    assert isinstance(Overlap(), Reranker)
    assert not isinstance(object(), Reranker)


def test_search_reorders_by_title_similarity(tmp_path: Path) -> None:
    plain = SearchIndex(tmp_path / "ix")
    plain.rebuild(ARTICLES)
    assert [h.slug for h in plain.search("refund").hits] == ["returns", "card"]
    reranked = SearchIndex(tmp_path / "ix", reranker=Prefer("card", weight=2.0))
    hits = reranked.search("refund").hits
    assert [h.slug for h in hits] == ["card", "returns"]
    assert hits[0].score >= hits[1].score
    # paging over re-ranked results: the same order, cut into pages
    assert [h.slug for h in reranked.search("refund", limit=1, offset=1).hits] == ["returns"]
    assert reranked.search("refund", limit=0).total == 2
    # a weight too small to overcome the keyword scores changes nothing
    small = SearchIndex(tmp_path / "ix", reranker=Prefer("card", weight=0.01))
    assert [h.slug for h in small.search("refund").hits] == ["returns", "card"]
    small.close()
    plain.close()
    reranked.close()


def test_search_reranks_the_corrected_query(tmp_path: Path) -> None:
    r = Prefer("card", weight=2.0)
    ix = SearchIndex(tmp_path / "ix", reranker=r)
    ix.rebuild(ARTICLES)
    found = ix.search("refnud")
    assert found.suggestion == "refund"
    assert r.calls[-1] == ("refund", ["Refunds", "Money back on your card"])
    assert found.hits[0].slug == "card"
    ix.close()


class Recording(Overlap):
    """Records every title it is shown, and any call of a ``prepare`` method."""

    def __init__(self) -> None:
        super().__init__(depth=2)
        self.shown: list[list[str]] = []
        self.prepared: list[object] = []

    def similarities(self, query: str, titles: Sequence[str]) -> Sequence[float]:
        self.shown.append(list(titles))
        return super().similarities(query, titles)

    def prepare(self, titles: Sequence[str]) -> None:
        self.prepared.append(titles)


def test_the_reranker_sees_only_each_searchs_candidates(tmp_path: Path) -> None:
    """No thread of the index's own hands it every title of a new version (at 30k articles
    such a thread's embedding slowed the searches next to it more than it saved them)."""
    r = Recording()
    ix = SearchIndex(tmp_path / "ix", reranker=r)
    ix.rebuild(ARTICLES)
    threads = threading.active_count()
    ix.search("refund")
    ix.update(art("gift", "Gift cards", "A refund on a gift card goes back to the card."))
    ix.search("refund card")
    assert threading.active_count() == threads
    assert r.prepared == [] and r.shown and all(0 < len(titles) <= 2 for titles in r.shown)
    ix.close()


def test_answer_is_not_reranked(tmp_path: Path) -> None:
    r = Overlap(weight=5.0)
    ix = SearchIndex(tmp_path / "ix", reranker=r)
    ix.rebuild(ARTICLES)
    ix.answer("refund parcel")
    assert r.calls == []
    ix.close()


def test_a_broken_reranker_leaves_keyword_order(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    plain = SearchIndex(tmp_path / "ix")
    plain.rebuild(ARTICLES)
    expected = [h.slug for h in plain.search("refund").hits]
    broken = SearchIndex(tmp_path / "ix", reranker=Broken())
    with caplog.at_level(logging.ERROR, logger="selfservice.search.index"):
        assert [h.slug for h in broken.search("refund").hits] == expected
    assert "re-ranker failed" in caplog.text
    plain.close()
    broken.close()


@pytest.mark.parametrize("bad", [object(), Overlap(depth=0), Overlap(weight=-1.0)])
def test_settings_reject_a_bad_reranker(bad: object) -> None:
    with pytest.raises(SettingsError, match="search_reranker"):
        Settings(secret_key="x" * 32, search_reranker=bad).validate()  # type: ignore[arg-type]


def test_settings_accept_a_reranker() -> None:
    Settings(secret_key="x" * 32, search_reranker=Overlap()).validate()


class Stored(Prefer):
    """A :class:`TitleVectors` re-ranker: its "vector" is the title's words, written at
    indexing time, and it prefers titles holding "card"; it records what it is asked for,
    and fails on titles holding ``broken``."""

    model = "words/1"

    def __init__(self, weight: float = 5.0, broken: str = "\0") -> None:
        super().__init__("card", weight=weight)
        self.written: list[str] = []
        self.given: list[list[bytes]] = []
        self.broken = broken

    def title_vector(self, title: str) -> bytes:
        if self.broken in title:
            raise RuntimeError("cannot embed this one")
        self.written.append(title)
        return b"w1:" + title.lower().encode()

    def similarities_with(self, query: str, titles: Sequence[str], vectors: Sequence[bytes]) -> Sequence[float]:
        self.given.append(list(vectors))
        words = [v[3:].decode().split() if v.startswith(b"w1:") else t.lower().split() for t, v in zip(titles, vectors)]
        return [float(self.word in w) for w in words]


def test_title_vectors_are_written_when_indexed_and_handed_back(tmp_path: Path) -> None:
    from selfservice.search.rerank import TitleVectors

    r = Stored()
    assert isinstance(r, TitleVectors) and not isinstance(Overlap(), TitleVectors)
    ix = SearchIndex(tmp_path / "ix", reranker=r)
    ix.rebuild(ARTICLES)
    assert sorted(r.written) == sorted(a.title for a in ARTICLES)
    assert [h.slug for h in ix.search("refund").hits] == ["card", "returns"]
    assert r.calls == []  # similarities() was not needed: every candidate had its bytes
    assert r.given == [[b"w1:refunds", b"w1:money back on your card"]]
    ix.update(art("gift", "Gift cards", "A refund on a gift card goes back to the card."))
    assert r.written[-1] == "Gift cards"
    ix.search("refund gift")
    assert b"w1:gift cards" in r.given[-1]
    # a handle without the re-ranker on the same index: keyword order, vectors ignored
    plain = SearchIndex(tmp_path / "ix")
    assert [h.slug for h in plain.search("refund").hits][:2] == ["returns", "card"]
    for handle in (plain, ix):
        handle.close()


def test_turning_title_vectors_on_reindexes_and_a_failing_one_is_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    plain = SearchIndex(tmp_path / "ix")
    assert plain.sync(ARTICLES).added == len(ARTICLES)
    assert plain.sync(ARTICLES).unchanged == len(ARTICLES)
    # with the re-ranker every article is indexed again, now with its vector
    flaky = Stored(broken="Money")
    ix = SearchIndex(tmp_path / "ix", reranker=flaky)
    with caplog.at_level(logging.ERROR, logger="selfservice.search.index"):
        assert ix.sync(ARTICLES).updated == len(ARTICLES)
    assert "could not work out a title vector" in caplog.text
    assert [h.slug for h in ix.search("refund").hits] == ["card", "returns"]  # re-ranked all the same
    assert flaky.given[-1] == [b"w1:refunds", b""]  # the one that failed has no bytes
    # it was stamped without the model, so the next sync (with a working re-ranker) retries it
    fixed = Stored()
    again = SearchIndex(tmp_path / "ix", reranker=fixed)
    assert again.sync(ARTICLES).updated == 1 and fixed.written == ["Money back on your card"]
    again.search("refund")
    assert fixed.given[-1] == [b"w1:refunds", b"w1:money back on your card"]
    # a handle without the re-ranker indexes them once more, without vectors
    assert plain.sync(ARTICLES).updated == len(ARTICLES)
    for handle in (plain, ix, again):
        handle.close()
