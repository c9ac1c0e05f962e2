"""Feedback: "Was this helpful?" (forms and JSON), CSAT/NPS surveys and survey links, the group
commit under them, retention and export — storage on SQLite and real PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.testclient import TestClient

from selfservice import Portal, Settings, create_portal
from selfservice.cli import main
from selfservice.hooks import hookimpl
from selfservice.settings import demo_content_dir
from selfservice.store import Store, tables
from selfservice.store.batch import GroupCommit
from selfservice.store.desk import Desk
from selfservice.store.feedback import purge_before, rows, votes_many
from tests.conftest import SECRET

SAME_ORIGIN = {"origin": "http://testserver"}


# -- shared by test_requests.py and test_mail.py -----------------------------------------------------


@pytest.fixture(scope="module")
def env_portal(tmp_path_factory: pytest.TempPathFactory) -> Portal:
    """A portal whose Jinja environment the store-level tests borrow (never started)."""
    return create_portal(Settings(content_dirs=[demo_content_dir()], secret_key=SECRET,
                                  data_dir=tmp_path_factory.mktemp("env")))


@contextlib.asynccontextmanager
async def desk_over(store: Store, env_portal: Portal, *, worker: bool = False, **settings: Any) -> AsyncIterator[Desk]:
    """A desk over an already open test store (both backends). Its outbox worker runs only
    with ``worker=True``; otherwise tests call ``desk.worker.run_once()`` themselves."""
    url = store.url.render_as_string(hide_password=False)
    s = Settings(content_dirs=[demo_content_dir()], secret_key=SECRET, database_url=url, **settings)

    async def get_store() -> Store:
        return store

    desk = Desk(s.validate(), env_portal.ss.env, get_store=get_store)
    desk.app = env_portal
    await desk.store()
    if not worker:
        await desk.worker.stop()
    try:
        yield desk
    finally:
        await desk.close()


@pytest.fixture
def db_settings(backend: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings fields for a portal on ``backend``: SQLite in data_dir, or a migrated, emptied PostgreSQL."""
    if backend == "sqlite":
        return {}
    server = request.getfixturevalue("postgres_server")

    async def prepare() -> str:
        store = await server.migrated_store()
        url = store.url.render_as_string(hide_password=False)
        await store.close()
        return str(url)

    return {"database_url": asyncio.run(prepare())}


def portal_for(tmp_path: Path, db: dict[str, Any], **extra: Any) -> Portal:
    fields: dict[str, Any] = {"content_dirs": [demo_content_dir()], "secret_key": SECRET, "data_dir": tmp_path,
                              "site_name": "Larkspur Help", **db}
    fields.update(extra)
    return create_portal(Settings(**fields))


def token_in(html: str, name: str = "csrf_token") -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert found, f"no {name} in the page"
    return found.group(1)


def count(client: TestClient, portal: Portal, table: Any) -> int:
    async def run() -> int:
        store = await portal.desk.store()
        async with store.read() as conn:
            return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())

    return int(client.portal.call(run))  # type: ignore[union-attr]


@pytest.fixture
def served(tmp_path: Path, db_settings: dict[str, Any]) -> Iterator[tuple[Portal, TestClient]]:
    portal = portal_for(tmp_path, db_settings)
    with TestClient(portal) as client:
        yield portal, client


def _slug(portal: Portal) -> str:
    return sorted(portal.ss.library.articles)[0]


# -- the vote, without JavaScript -----------------------------------------------------------------


def test_article_and_chapter_pages_carry_the_vote_form_and_nothing_per_visitor(served: tuple[Portal, TestClient]) -> None:
    portal, client = served
    slug = _slug(portal)
    first = client.get(f"/a/{slug}")
    assert 'action="/feedback/vote"' in first.text and f'value="article:{slug}"' in first.text
    assert "Was this page helpful?" in first.text and "csrf_token" not in first.text
    script = re.search(r'<script src="([^"]+feedback[^"]+\.js)" defer></script>', first.text)
    assert script and client.get(script.group(1)).status_code == 200
    client.post("/feedback/vote", data={"page": f"article:{slug}", "helpful": "yes"}, headers=SAME_ORIGIN)
    again = client.get(f"/a/{slug}")
    assert again.content == first.content, "the cached page is the same for everyone, before and after voting"
    chapter = next(iter(portal.ss.library.chapters.values()))
    page = client.get(chapter.url_path)
    assert f'value="chapter:{chapter.slug}"' in page.text


def test_vote_redirects_to_thanks_and_can_be_changed_and_explained(served: tuple[Portal, TestClient]) -> None:
    portal, client = served
    slug = _slug(portal)
    r = client.post("/feedback/vote", data={"page": f"article:{slug}", "helpful": "no"}, headers=SAME_ORIGIN,
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/feedback/thanks?page=article%3A{slug}"
    thanks = client.get(r.headers["location"])
    assert thanks.status_code == 200 and "not helpful" in thanks.text and thanks.headers["cache-control"] == "no-store"
    assert "It was hard to understand" in thanks.text, "the reasons for a No"
    # Details: a comment over the limit comes back as 422 with the comment kept.
    long = "Too long " * 300
    bad = client.post("/feedback/details", data={"page": f"article:{slug}", "reason": "unclear", "comment": long,
                                                 "csrf_token": token_in(thanks.text)})
    assert bad.status_code == 422 and "There is a problem" in bad.text and 'aria-invalid="true"' in bad.text
    assert "Too long Too long" in bad.text and 'value="unclear" checked' in bad.text
    good = client.post("/feedback/details", data={"page": f"article:{slug}", "reason": "unclear", "comment": "Step 3?",
                                                  "csrf_token": token_in(bad.text)}, follow_redirects=False)
    assert good.status_code == 303 and good.headers["location"].endswith("&sent=1")
    assert "we have your comments" in client.get(good.headers["location"]).text
    # Changing the vote: still one row, now Yes, and the No reason is gone with it.
    client.post("/feedback/vote", data={"page": f"article:{slug}", "helpful": "yes"}, headers=SAME_ORIGIN)
    assert count(client, portal, tables.votes) == 1
    mine = client.portal.call(portal.desk.feedback.summary, "article", slug)  # type: ignore[union-attr]
    assert mine == {"yes": 1, "no": 0}
    assert "It solved my problem" in client.get(f"/feedback/thanks?page=article:{slug}").text


def test_each_visitor_has_one_vote_per_page(served: tuple[Portal, TestClient]) -> None:
    portal, client = served
    slug = _slug(portal)
    for answer in ("yes", "yes", "no"):
        client.post("/feedback/vote", data={"page": f"article:{slug}", "helpful": answer}, headers=SAME_ORIGIN)
    first_visitor = client.cookies["ss_visitor"]
    client.cookies.clear()  # another visitor
    client.post("/feedback/vote", data={"page": f"article:{slug}", "helpful": "yes"}, headers=SAME_ORIGIN)
    assert client.portal.call(portal.desk.feedback.summary, "article", slug) == {"yes": 1, "no": 1}  # type: ignore[union-attr]
    client.cookies.clear()
    client.cookies.set("ss_visitor", first_visitor + "x")
    client.post("/feedback/vote", data={"page": f"article:{slug}", "helpful": "yes"}, headers=SAME_ORIGIN)
    assert count(client, portal, tables.votes) == 3, "a tampered cookie is a new visitor, not someone else's vote"


@pytest.mark.parametrize(
    ("data", "headers", "status"),
    [
        ({"page": "article:SLUG", "helpful": "yes"}, {"origin": "https://evil.example"}, 403),
        ({"page": "article:SLUG", "helpful": "yes"}, {}, 403),
        ({"page": "article:SLUG", "helpful": "yes"}, {"sec-fetch-site": "cross-site"}, 403),
        ({"page": "article:no-such-page", "helpful": "yes"}, SAME_ORIGIN, 404),
        ({"page": "article:SLUG", "helpful": "maybe"}, SAME_ORIGIN, 422),
    ],
)
def test_votes_from_other_sites_and_bad_votes_are_refused(
    tmp_path: Path, data: dict[str, str], headers: dict[str, str], status: int
) -> None:
    portal = portal_for(tmp_path, {})
    with TestClient(portal) as client:
        data = {k: v.replace("SLUG", _slug(portal)) for k, v in data.items()}
        r = client.post("/feedback/vote", data=data, headers=headers)
        assert r.status_code == status and "text/html" in r.headers["content-type"]
        assert count(client, portal, tables.votes) == 0


def test_details_need_a_csrf_token_and_ignore_bots(served: tuple[Portal, TestClient]) -> None:
    portal, client = served
    slug = _slug(portal)
    client.post("/feedback/vote", data={"page": f"article:{slug}", "helpful": "no"}, headers=SAME_ORIGIN)
    refused = client.post("/feedback/details", data={"page": f"article:{slug}", "comment": "kept for retyping"})
    assert refused.status_code == 403 and "kept for retyping" in refused.text and "expired" in refused.text
    bot = client.post("/feedback/details", data={"page": f"article:{slug}", "comment": "buy pills", "website": "x",
                                                 "csrf_token": token_in(refused.text)}, follow_redirects=False)
    assert bot.status_code == 303
    vote = client.portal.call(portal.desk.feedback.my_vote, "article", slug,  # type: ignore[union-attr]
                              portal.desk.id_signer("visitor").loads(client.cookies["ss_visitor"]))
    assert vote is not None and vote.comment is None


def test_a_visitor_cookie_in_the_earlier_format_still_names_its_visitor(served: tuple[Portal, TestClient]) -> None:
    portal, client = served
    slug = _slug(portal)
    client.cookies.set("ss_visitor", portal.desk.signer("visitor").dumps("v" * 24))  # an itsdangerous timed token
    r = client.post("/api/feedback", json={"page": f"article:{slug}", "helpful": True})
    assert r.status_code == 201 and portal.desk.id_signer("visitor").loads(r.cookies["ss_visitor"]) == "v" * 24
    mine = client.portal.call(portal.desk.feedback.my_vote, "article", slug, "v" * 24)  # type: ignore[union-attr]
    assert mine is not None and mine.id == r.json()["receipt"]


# -- the vote, with JavaScript (JSON) -------------------------------------------------------------


def test_json_vote_with_details_and_its_errors(served: tuple[Portal, TestClient]) -> None:
    portal, client = served
    slug = _slug(portal)
    r = client.post("/api/feedback", json={"page": f"article:{slug}", "helpful": False})
    assert r.status_code == 201 and r.json()["receipt"] >= 1 and "ss_visitor" in r.cookies
    r2 = client.post("/api/feedback", json={"page": f"article:{slug}", "helpful": False, "reason": "wrong",
                                            "comment": "The price is old"})
    assert r2.json()["receipt"] == r.json()["receipt"], "the same visitor's vote, updated"
    bad = client.post("/api/feedback", json={"page": "article:nope", "helpful": "yes", "reason": "solved"})
    assert bad.status_code == 422 and set(bad.json()["errors"]) == {"page", "helpful"}
    wrong_reason = client.post("/api/feedback", json={"page": f"article:{slug}", "helpful": True, "reason": "wrong"})
    assert wrong_reason.status_code == 422 and "reason" in wrong_reason.json()["errors"]
    assert client.post("/api/feedback", content=b"page=x", headers={"content-type": "text/plain"}).status_code == 415
    cross = client.post("/api/feedback", json={"page": f"article:{slug}", "helpful": True},
                        headers={"origin": "https://evil.example"})
    assert cross.status_code == 403
    assert count(client, portal, tables.votes) == 1


# -- surveys --------------------------------------------------------------------------------------


def test_survey_link_carries_its_context_and_counts_once(served: tuple[Portal, TestClient]) -> None:
    portal, client = served
    link = portal.survey_link("csat", {"order": "ORD-42", "agent": "grace"})
    assert link.startswith("/survey/csat?t=")
    form = client.get(link)
    assert form.status_code == 200 and "How satisfied" in form.text and "<legend" in form.text
    token = link.split("t=", 1)[1]
    data = {"t": token, "score": "", "comment": "Quick and kind", "csrf_token": token_in(form.text),
            "idempotency_key": token_in(form.text, "idempotency_key")}
    missing = client.post("/survey/csat", data=data)
    assert missing.status_code == 422 and "Quick and kind" in missing.text and "Score: choose a number" not in missing.text
    assert "Enter score" in missing.text
    data["score"] = "5"
    for _ in range(2):  # a double submit stores one answer
        done = client.post("/survey/csat", data=data, follow_redirects=False)
        assert done.status_code == 303
    answers = client.portal.call(_surveys, portal)  # type: ignore[union-attr]
    assert [(a["kind"], a["score"], a["comment"], a["context"]) for a in answers] == [
        ("csat", 5, "Quick and kind", {"order": "ORD-42", "agent": "grace"})]


async def _surveys(portal: Portal) -> list[dict[str, Any]]:
    return [row async for row in rows(await portal.desk.store(), "surveys")]


def test_expired_or_forged_survey_links_say_so(served: tuple[Portal, TestClient]) -> None:
    portal, client = served
    expired = portal.survey_link("nps", {"x": 1}, max_age=timedelta(seconds=-1))
    assert client.get(expired).status_code == 410
    wrong_kind = portal.survey_link("nps").replace("/survey/nps", "/survey/csat")
    page = client.get(wrong_kind)
    assert page.status_code == 410 and "expired" in page.text
    with pytest.raises(ValueError):
        portal.survey_link("ces")


def test_json_survey_answers_and_idempotency_keys(served: tuple[Portal, TestClient]) -> None:
    portal, client = served
    headers = {"idempotency-key": "retry-safe-123"}
    first = client.post("/api/surveys/nps", json={"score": 9, "comment": "Great"}, headers=headers)
    again = client.post("/api/surveys/nps", json={"score": 9, "comment": "Great"}, headers=headers)
    assert first.status_code == 201 and again.status_code == 200 and first.json()["id"] == again.json()["id"]
    other_form = client.post("/api/surveys/csat", json={"score": 4}, headers=headers)
    assert other_form.status_code == 201, "a key is scoped to its form"
    assert client.post("/api/surveys/nps", json={"score": "9"}).status_code == 422, "a string is not a score"
    assert client.post("/api/surveys/csat", json={"score": 0}).status_code == 422
    assert client.post("/api/surveys/nps", json={"score": 5}, headers={"idempotency-key": "x"}).status_code == 400
    link = portal.survey_link("nps", {"campaign": "winter"})
    token = link.split("t=", 1)[1]
    assert client.post("/api/surveys/nps", json={"score": 3, "token": token}).status_code == 201
    assert client.post("/api/surveys/nps", json={"score": 10, "token": token}).json()["created"] is False
    assert client.post("/api/surveys/nps", json={"score": 3, "token": "forged"}).status_code == 410
    answers = client.portal.call(_surveys, portal)  # type: ignore[union-attr]
    assert len(answers) == 3 and answers[-1]["context"] == {"campaign": "winter"} and answers[-1]["score"] == 3


# -- rate limits ----------------------------------------------------------------------------------


def test_votes_are_rate_limited_per_ip_with_a_clear_answer(tmp_path: Path) -> None:
    portal = portal_for(tmp_path, {}, rate_limit_feedback="3/minute")
    slug = _slug(portal)
    with TestClient(portal) as client:
        for _ in range(3):
            assert client.post("/api/feedback", json={"page": f"article:{slug}", "helpful": True}).status_code == 201
        limited = client.post("/api/feedback", json={"page": f"article:{slug}", "helpful": True})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
        assert "wait" in limited.json()["error"]
        page = client.post("/feedback/vote", data={"page": f"article:{slug}", "helpful": "yes"}, headers=SAME_ORIGIN)
        assert page.status_code == 429 and "Too many" in page.text and page.headers["retry-after"]


# -- hooks ----------------------------------------------------------------------------------------


def test_feedback_created_hook_runs_after_the_commit(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []

    class Recorder:
        @hookimpl
        def feedback_created(self, feedback: dict[str, Any]) -> None:
            seen.append(feedback)

    class Broken:
        @hookimpl
        def feedback_created(self, feedback: dict[str, Any]) -> None:
            raise RuntimeError("a plugin bug")

    portal = portal_for(tmp_path, {}, plugins=[Recorder(), Broken()])
    slug = _slug(portal)
    with TestClient(portal) as client:
        r = client.post("/api/feedback", json={"page": f"article:{slug}", "helpful": True})
        assert r.status_code == 201, "a failing plugin does not fail the customer"
        client.post("/api/surveys/csat", json={"score": 2})
    assert [f["type"] for f in seen] == ["vote", "survey"]
    assert seen[0] == {"type": "vote", "page_kind": "article", "page_slug": slug, "helpful": True, "id": r.json()["receipt"]}


# -- the store under it: group commit, retention, export (both backends) -------------------------------


@pytest.mark.anyio
async def test_concurrent_votes_share_commits_and_none_is_lost(store: Store, env_portal: Portal) -> None:
    receipts: list[int] = []
    async with desk_over(store, env_portal) as desk:

        async def vote(i: int) -> None:
            receipts.append(await desk.feedback.vote("article", f"page-{i % 7}", f"visitor-{i}", i % 3 == 0))

        async with anyio.create_task_group() as tg:
            for i in range(300):
                tg.start_soon(vote, i)
        assert desk._group is not None and desk._group.commits < 300, "votes arriving together share a commit"
    async with store.read() as conn:
        stored = set((await conn.execute(select(tables.votes.c.id))).scalars())
    assert stored == set(receipts) and len(stored) == 300


@pytest.mark.anyio
async def test_one_visitor_voting_twice_in_one_batch_is_applied_in_order(store: Store) -> None:
    items = [("article", "a", "v1", True), ("article", "b", "v1", True), ("article", "a", "v1", False),
             ("article", "a", "v2", True), ("article", "a", "v1", False)]
    ids = await store.run_write(lambda conn: votes_many(conn, items))
    assert ids[0] == ids[2] == ids[4] and len(set(ids)) == 3
    async with store.read() as conn:
        rows = (await conn.execute(select(tables.votes.c.page_slug, tables.votes.c.visitor_hash, tables.votes.c.helpful)
                                   .order_by(tables.votes.c.id))).all()
    assert [tuple(r) for r in rows] == [("a", "v1", False), ("b", "v1", True), ("a", "v2", True)]


@pytest.mark.anyio
async def test_one_failing_write_in_a_batch_fails_alone(store: Store) -> None:
    group = GroupCommit(store)

    def audit(n: int, fail: bool = False) -> Any:
        async def work(conn: AsyncConnection) -> int:
            await conn.execute(tables.audit_log.insert().values(actor="t", action="a", target=str(n), outcome="ok",
                                                                 details={}))
            if fail:
                raise ValueError("bad item")
            return n

        return work

    results = await asyncio.gather(*(group.run(audit(n, fail=n == 3)) for n in range(6)), return_exceptions=True)
    assert [r if not isinstance(r, Exception) else "error" for r in results] == [0, 1, 2, "error", 4, 5]
    async with store.read() as conn:
        targets = sorted((await conn.execute(select(tables.audit_log.c.target))).scalars())
    assert targets == ["0", "1", "2", "4", "5"]


@pytest.mark.anyio
async def test_retention_removes_old_feedback_only(store: Store, env_portal: Portal) -> None:
    async with desk_over(store, env_portal) as desk:
        await desk.feedback.vote("article", "a", "v1", True)
        await desk.feedback.answer_survey("csat", 4, None, {})
    removed = await purge_before(store, datetime.now(UTC) - timedelta(days=1))
    assert removed == {"votes": 0, "surveys": 0, "deflections": 0}
    removed = await purge_before(store, datetime.now(UTC) + timedelta(seconds=1))
    assert removed == {"votes": 1, "surveys": 1, "deflections": 0}


def test_export_feedback_as_csv_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    portal = portal_for(tmp_path, {})
    slug = _slug(portal)
    with TestClient(portal) as client:
        client.post("/api/feedback", json={"page": f"article:{slug}", "helpful": False, "comment": 'He said "no", ok'})
        client.post("/api/surveys/nps", json={"score": 7})
    assert main(["export", "feedback", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr()
    exported = list(csv.DictReader(io.StringIO(out.out)))
    assert len(exported) == 1 and exported[0]["comment"] == 'He said "no", ok' and "visitor_hash" not in exported[0]
    assert "exported 1 feedback row(s)" in out.err
    target = tmp_path / "surveys.json"
    assert main(["export", "surveys", "--format", "json", "--output", str(target), "--data-dir", str(tmp_path)]) == 0
    surveys = json.loads(target.read_text())
    assert surveys[0]["score"] == 7 and surveys[0]["context"] == {"source": "api"}
    with pytest.raises(SystemExit) as info:
        main(["export", "feedback", "--data-dir", str(tmp_path / "empty")])
    assert info.value.code == 2 and "selfservice db upgrade" in capsys.readouterr().err


def test_an_empty_embedded_database_file_is_created_on_first_use(tmp_path: Path) -> None:
    """A first run stopped mid-way leaves an empty SQLite file (the upgrade is one transaction):
    the next start creates the tables instead of refusing to start."""
    (tmp_path / "selfservice.sqlite3").touch()
    portal = portal_for(tmp_path, {})
    with TestClient(portal) as client:
        r = client.post("/api/feedback", json={"page": f"article:{_slug(portal)}", "helpful": True})
        assert r.status_code == 201
        assert count(client, portal, tables.votes) == 1
