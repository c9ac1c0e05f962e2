"""Opening hours: the /hours page, the "open now" component on every page, and keeping
cached pages' component current.

Home, category and article pages are cached as bytes (see caching.py), and they include the
component; so :class:`OpenNowRefresh` drops the page cache the moment any channel opens or
closes (:meth:`BusinessHours.next_change`). That costs one clock read per request, and a
few re-renders a day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from babel.dates import format_date, format_time
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ..caching import respond
from ..hours import BusinessHours, ChannelStatus, OpenNow
from ..state import portal_state
from .rendering import PageMeta, render, url_builder

__all__ = ["OpenNowRefresh", "OpenNowView", "hours_page", "open_now_view", "when"]


def _locale(locale: str) -> str:
    return locale.replace("-", "_")


def when(instant: datetime, now: datetime, hours: BusinessHours, locale: str = "en") -> str:
    """"today at 9:00", "tomorrow at 9:00", "Monday at 9:00" or "5 January at 9:00"."""
    zone = hours.zone
    local, today = instant.astimezone(zone), now.astimezone(zone).date()
    loc = _locale(locale)
    clock = str(format_time(local, "short", locale=loc))
    days = (local.date() - today).days
    if days <= 0:
        return f"today at {clock}"
    if days == 1:
        return f"tomorrow at {clock}"
    if days < 7:
        return f"{format_date(local.date(), 'EEEE', locale=loc)} at {clock}"
    return f"{format_date(local.date(), 'd MMMM', locale=loc)} at {clock}"


def until(instant: datetime, hours: BusinessHours, locale: str = "en") -> str:
    return str(format_time(instant.astimezone(hours.zone), "short", locale=_locale(locale)))


@dataclass(frozen=True)
class OpenNowView:
    """What ``_open_now.html`` shows."""

    any_open: bool
    headline: str
    detail: str
    closure: str


def open_now_view(hours: BusinessHours, at: datetime, locale: str = "en") -> OpenNowView:
    now: OpenNow = hours.now(at)
    closure = now.closure.name if now.closure is not None and not now.any_open else ""
    if now.any_open:
        parts = [f"{s.channel.label} until {until(s.until, hours, locale)}" for s in now.open_channels if s.until]
        return OpenNowView(True, "Open now", "; ".join(parts), closure)
    first: ChannelStatus | None = now.next_open
    if first is None or first.next_open is None:
        return OpenNowView(False, "Closed", "", closure)
    return OpenNowView(False, "Closed now", f"{first.channel.label} opens {when(first.next_open, at, hours, locale)}",
                       closure)


def _week_rows(hours: BusinessHours) -> list[tuple[str, list[str]]]:
    names = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    rows = []
    for d, name in enumerate(names):
        cells = [", ".join(str(iv) for iv in c.day(d)) or "Closed" for c in hours.channels]
        rows.append((name, cells))
    return rows


async def hours_page(request: Request) -> Response:
    state = portal_state(request)
    hours: BusinessHours | None = getattr(request.scope.get("app"), "hours", None)
    if hours is None:
        from starlette.exceptions import HTTPException

        raise HTTPException(404, "This help centre has no opening hours set.")
    clock: Callable[[], datetime] = request.scope["app"].clock
    at = clock()
    locale = state.settings.locale
    statuses = hours.now(at).channels
    prepared = render(
        request,
        "hours.html",
        page=PageMeta(f"Opening hours – {state.settings.site_name}",
                      "When you can phone, chat or email us, and how quickly we answer."),
        breadcrumbs=[("Home", url_builder(request)("home")), ("Opening hours", None)],
        hours=hours,
        statuses=[
            (s, until(s.until, hours, locale) if s.open and s.until else "",
             when(s.next_open, at, hours, locale) if not s.open and s.next_open else "")
            for s in statuses
        ],
        week=_week_rows(hours),
        closures=hours.upcoming_closures(at, days=60),
        timezone=hours.timezone,
    )
    response = respond(request, prepared, max_age=0)
    response.headers["cache-control"] = "no-cache"
    return response


class OpenNowRefresh:
    """Clears the page cache whenever a channel opens or closes, so cached pages never show
    a stale "open now" for longer than a browser keeps them (``html_max_age``)."""

    def __init__(self, app: ASGIApp, *, hours: BusinessHours, clock: Callable[[], datetime],
                 clear: Callable[[], None]) -> None:
        self.app = app
        self.hours = hours
        self.clock = clock
        self.clear = clear
        self._expires: datetime | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            now = self.clock()
            if self._expires is None or now >= self._expires:
                if self._expires is not None:
                    self.clear()
                self._expires = self.hours.next_change(now) or now + timedelta(days=1)
        await self.app(scope, receive, send)
