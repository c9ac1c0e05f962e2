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

from babel.dates import format_date, format_skeleton, format_time, get_day_names
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ..caching import respond
from ..hours import BusinessHours, ChannelStatus, OpenNow
from ..i18n import N_, request_locale, translations
from ..state import portal_state
from .rendering import PageMeta, render, url_builder

__all__ = ["OpenNowRefresh", "OpenNowView", "hours_page", "open_now_view", "when"]


def _locale(locale: str) -> str:
    return locale.replace("-", "_")


def when(instant: datetime, now: datetime, hours: BusinessHours, locale: str = "en") -> str:
    """"today at 9:00", "tomorrow at 9:00", "Monday at 9:00" or "5 January at 9:00" (Babel's
    day and month names and clock, in ``locale``'s language)."""
    zone = hours.zone
    local, today = instant.astimezone(zone), now.astimezone(zone).date()
    loc = _locale(locale)
    _ = translations(loc).gettext
    clock = str(format_time(local, "short", locale=loc))
    days = (local.date() - today).days
    if days <= 0:
        return _("today at %(time)s") % {"time": clock}
    if days == 1:
        return _("tomorrow at %(time)s") % {"time": clock}
    # Translators: %(day)s is a weekday ("Monday") or a day and month ("5 January").
    day = (format_date(local.date(), "EEEE", locale=loc) if days < 7
           else format_skeleton("MMMMd", local.date(), locale=loc))  # "5 January", "5. Januar", "January 5"
    return _("%(day)s at %(time)s") % {"day": day, "time": clock}


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
    _ = translations(_locale(locale)).gettext
    closure = now.closure.name if now.closure is not None and not now.any_open else ""
    if now.any_open:
        # Translators: e.g. "Phone until 17:00"; the parts are joined with "; ".
        parts = [_("%(channel)s until %(time)s") % {"channel": s.channel.label, "time": until(s.until, hours, locale)}
                 for s in now.open_channels if s.until]
        return OpenNowView(True, _("Open now"), "; ".join(parts), closure)
    first: ChannelStatus | None = now.next_open
    if first is None or first.next_open is None:
        return OpenNowView(False, _("Closed"), "", closure)
    # Translators: e.g. "Phone opens tomorrow at 9:00".
    detail = _("%(channel)s opens %(when)s") % {"channel": first.channel.label, "when": when(first.next_open, at, hours, locale)}
    return OpenNowView(False, _("Closed now"), detail, closure)


def _week_rows(hours: BusinessHours, locale: str = "en") -> list[tuple[str, list[str]]]:
    """One row per weekday, Monday first, named by Babel in ``locale``'s language."""
    names = get_day_names("wide", "format", locale=_locale(locale))  # 0 = Monday
    closed = translations(_locale(locale)).gettext("Closed")
    rows = []
    for d in range(7):
        cells = [", ".join(str(iv) for iv in c.day(d)) or closed for c in hours.channels]
        rows.append((str(names[d]), cells))
    return rows


async def hours_page(request: Request) -> Response:
    state = portal_state(request)
    hours: BusinessHours | None = getattr(request.scope.get("app"), "hours", None)
    if hours is None:
        from starlette.exceptions import HTTPException

        raise HTTPException(404, N_("This help centre has no opening hours set."))
    clock: Callable[[], datetime] = request.scope["app"].clock
    at = clock()
    locale = request_locale(request)
    _ = translations(locale).gettext
    statuses = hours.now(at).channels
    prepared = render(
        request,
        "hours.html",
        page=PageMeta(_("Opening hours – %(site)s") % {"site": state.settings.site_name},
                      _("When you can phone, chat or email us, and how quickly we answer.")),
        breadcrumbs=[(_("Home"), url_builder(request)("home")), (_("Opening hours"), None)],
        hours=hours,
        statuses=[
            (s, until(s.until, hours, locale) if s.open and s.until else "",
             when(s.next_open, at, hours, locale) if not s.open and s.next_open else "")
            for s in statuses
        ],
        week=_week_rows(hours, locale),
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
