from pathlib import Path

from selfservice.bodies import ORPHAN_GRACE_SECONDS, Body, BodyStore, body_key
from selfservice.markup import Heading


def test_bodies_round_trip_by_content_key(tmp_path: Path) -> None:
    body = Body("<p>Hï \ud83d</p>", "Hï", (Heading(2, "a", "A"),), (("x.md", 3),))
    store = BodyStore(tmp_path / "b.sqlite3", max_cached=2)
    key = store.add(body)
    assert key == body_key(body) and store.get(key) == body  # readable before the batch is written
    store.flush()
    again = BodyStore(tmp_path / "b.sqlite3")
    assert again.get(key) == body and again.id == store.id and len(again) == 1
    assert store.add(body) == key  # the same content is one row


def test_unused_bodies_go_after_the_grace_period(tmp_path: Path) -> None:
    store = BodyStore(tmp_path / "b.sqlite3", max_cached=0)
    old, new = store.add(Body("old", "old")), store.add(Body("new", "new"))
    store.keep_only([new], now=1000.0)
    assert store.get(old).text == "old"  # still there for workers that have not reloaded
    store.keep_only([new], now=1000.0 + ORPHAN_GRACE_SECONDS + 1)
    assert len(store) == 1 and store.get(old).text == "" and store.get(new).text == "new"
    back = store.add(Body("old", "old"))  # an edit undone: the body is stored again
    store.keep_only([new, back], now=1e9)
    assert len(store) == 2


def test_a_missing_body_is_empty_and_not_remembered(tmp_path: Path) -> None:
    store = BodyStore(tmp_path / "b.sqlite3")
    key = body_key(Body("later", "later"))
    assert store.get(key).html == ""
    assert store.add(Body("later", "later")) == key and store.get(key).html == "later"
