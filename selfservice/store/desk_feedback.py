"""Votes, survey answers and article suggestions as a Python API (``portal.desk.feedback``).

The views call these; a host may too (its own survey form, a chat bot's thumbs-up). Each
write is group-committed (:mod:`.batch`) and returns once durable; the
``feedback_created`` hook and webhook follow (the webhook is queued in the outbox in the
same transaction as the write, and sent after it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.ext.asyncio import AsyncConnection

    from .desk import Desk, Effect
    from .feedback import Vote

__all__ = ["Feedback"]

REASONS = {
    "yes": {"clear": "It was clear", "solved": "It solved my problem", "quick": "I found it quickly", "other": "Something else"},
    "no": {"unclear": "It was hard to understand", "wrong": "The information is wrong or out of date",
           "missing": "It did not cover my question", "other": "Something else"},
}
"""The reasons offered after a vote, by answer; keys are what is stored."""


class Feedback:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def visitor_hash(self, visitor_id: str) -> str:
        return self.desk.hash(f"visitor:{visitor_id}")

    async def _write(self, work: Callable[[AsyncConnection], Awaitable[Any]],
                     event: Callable[[Any], Mapping[str, Any] | None] | None) -> Any:
        """Run ``work``; ``event(result)`` says what ``feedback_created`` reports (None: nothing)."""
        desk = self.desk

        async def with_event(conn: AsyncConnection) -> tuple[Any, list[Effect]]:
            result = await work(conn)
            effects = []
            data = event(result) if event is not None else None
            if data is not None:
                effects.append(await desk.emit(conn, "feedback_created", feedback=dict(data)))
            return result, effects

        result, effects = await desk.write(with_event)
        if effects:
            desk.fire(effects)
        return result

    async def vote(self, page_kind: str, page_slug: str, visitor_id: str, helpful: bool) -> int:
        """Record or change a vote; returns its id (the receipt)."""
        from .batch import Bulk
        from .feedback import votes_many

        desk = self.desk

        def many(conn: Connection, items: list[Any]) -> list[tuple[int, Effect]]:
            ids = votes_many(conn, items)  # the whole batch's votes in one statement
            return [(vote_id, desk.emit_sync(conn, "feedback_created", feedback={
                "type": "vote", "page_kind": kind, "page_slug": slug, "helpful": helpful, "id": vote_id}))
                for vote_id, (kind, slug, _, helpful) in zip(ids, items, strict=True)]

        vote_id, effect = await desk.write(Bulk("vote", (page_kind, page_slug, self.visitor_hash(visitor_id), helpful), many))
        desk.fire([effect])
        return int(vote_id)

    async def vote_details(self, page_kind: str, page_slug: str, visitor_id: str, reason: str | None,
                           comment: str | None) -> int | None:
        """Add a reason and comment to the visitor's vote; None when they have not voted."""
        from .feedback import vote_details_work

        event = {"type": "vote_details", "page_kind": page_kind, "page_slug": page_slug, "reason": reason,
                 "comment": comment}
        work = vote_details_work(page_kind, page_slug, self.visitor_hash(visitor_id), reason, comment)
        found = await self._write(work, lambda vote_id: None if vote_id is None else {**event, "id": vote_id})
        return int(found) if found is not None else None

    async def my_vote(self, page_kind: str, page_slug: str, visitor_id: str) -> Vote | None:
        from .feedback import vote_of

        return await vote_of(await self.desk.store(), page_kind, page_slug, self.visitor_hash(visitor_id))

    async def summary(self, page_kind: str, page_slug: str) -> dict[str, int]:
        from .feedback import page_summary

        return await page_summary(await self.desk.store(), page_kind, page_slug)

    async def answer_survey(self, kind: str, score: int, comment: str | None, context: Mapping[str, Any],
                            key: str | None = None) -> tuple[int, bool]:
        """Store a CSAT/NPS answer; returns (id, created). ``key`` makes repeats one answer."""
        from .feedback import survey_work

        event = {"type": "survey", "kind": kind, "score": score, "comment": comment, "context": dict(context)}
        work = survey_work(kind, score, comment, context, key)
        survey_id, created = await self._write(work, lambda result: {**event, "id": result[0]} if result[1] else None)
        return int(survey_id), bool(created)

    async def suggestion_shown(self, form: str, query: str, slugs: list[str], session_hash: str | None) -> int:
        from .feedback import deflection_work

        return int(await self._write(deflection_work(form, query, slugs, session_hash), None))

    async def suggestion_clicked(self, event_id: int, slug: str) -> bool:
        from .feedback import deflection_click_work

        return bool(await self._write(deflection_click_work(event_id, slug), None))
