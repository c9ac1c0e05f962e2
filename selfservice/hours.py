"""Business hours: a weekly schedule per channel in one time zone, holidays and closures.

Everything here is pure: functions take the instant to judge (``at``, an aware datetime)
instead of reading the clock, so tests pin any moment — a DST change, Christmas Eve —
without sleeping. The portal reads the clock once per request through ``Settings.clock``.

Wall times are turned into instants day by day with :mod:`zoneinfo`, and every comparison is
made in UTC: Python compares two datetimes that share a ``tzinfo`` by wall time, ignoring
DST, so comparing local times would be wrong for an hour twice a year. A wall time that does
not exist (the skipped hour of a spring-forward day) is read with the offset before the
change (PEP 495 ``fold=0``), and one that happens twice (fall-back) as its first occurrence.

A schedule is built from plain data (``Settings.business_hours``)::

    {"timezone": "Europe/London",
     "channels": {"phone": {"label": "Phone", "contact": "0800 123 4567",
                            "response": "Usually answered within 5 minutes",
                            "hours": {"mon-fri": "09:00-17:30", "sat": "10:00-14:00"}}},
     "closures": [{"date": "2026-12-25", "name": "Christmas Day"},
                  {"date": "2026-12-24", "name": "Christmas Eve", "hours": "09:00-13:00",
                   "channels": ["phone"]}]}

:func:`parse_business_hours` raises :class:`~selfservice.errors.SettingsError` for the
``business_hours`` field with the path of the bad value in the message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import SettingsError

__all__ = [
    "CHANNEL_ORDER",
    "BusinessHours",
    "ChannelHours",
    "ChannelStatus",
    "Closure",
    "Clock",
    "Interval",
    "OpenNow",
    "demo_business_hours",
    "parse_business_hours",
    "system_clock",
]

Clock = Callable[[], datetime]
"""Returns the current instant as an aware datetime; ``Settings.clock`` in tests."""

CHANNEL_ORDER = ("phone", "chat", "email")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_FIELD = "business_hours"
#: How far ahead :meth:`BusinessHours.next_open` looks: longer closures say "closed".
_HORIZON_DAYS = 60


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Interval:
    """Open from ``start`` to ``end`` wall time; ``end <= start`` runs past midnight.

    ``end_minutes`` of 1440 is midnight at the end of the day ("24:00").
    """

    start_minutes: int
    end_minutes: int

    def __str__(self) -> str:
        return f"{_hhmm(self.start_minutes)}–{_hhmm(self.end_minutes)}"

    @property
    def overnight(self) -> bool:
        return self.end_minutes <= self.start_minutes


@dataclass(frozen=True, slots=True)
class ChannelHours:
    """One way to reach people: its weekly hours (Monday = 0) and what to expect."""

    key: str
    label: str
    weekly: tuple[tuple[Interval, ...], ...]
    response: str = ""
    contact: str = ""

    def day(self, weekday: int) -> tuple[Interval, ...]:
        return self.weekly[weekday]


@dataclass(frozen=True, slots=True)
class Closure:
    """A holiday or special day: closed (no ``hours``) or open only during ``hours``.

    ``channels`` empty means every channel.
    """

    day: date
    name: str
    hours: tuple[Interval, ...] = ()
    channels: frozenset[str] = frozenset()

    def applies_to(self, channel: str) -> bool:
        return not self.channels or channel in self.channels


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    """A channel at one instant: open until ``until``, or closed until ``next_open``."""

    channel: ChannelHours
    open: bool
    until: datetime | None
    next_open: datetime | None
    closure: Closure | None = None


@dataclass(frozen=True, slots=True)
class OpenNow:
    """What the "open now" component shows: every channel's status at ``at``."""

    at: datetime
    zone: ZoneInfo
    channels: tuple[ChannelStatus, ...]

    @property
    def any_open(self) -> bool:
        return any(s.open for s in self.channels)

    @property
    def open_channels(self) -> tuple[ChannelStatus, ...]:
        return tuple(s for s in self.channels if s.open)

    @property
    def next_open(self) -> ChannelStatus | None:
        """The closed channel that opens first (None when nothing opens within the horizon)."""
        waiting = [s for s in self.channels if not s.open and s.next_open is not None]
        return min(waiting, key=lambda s: s.next_open or self.at, default=None)

    @property
    def closure(self) -> Closure | None:
        return next((s.closure for s in self.channels if s.closure is not None), None)

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.zone)


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """The whole schedule; ask it about any instant with :meth:`status` or :meth:`now`."""

    timezone: str
    channels: tuple[ChannelHours, ...]
    closures: tuple[Closure, ...] = ()
    _by_day: dict[date, tuple[Closure, ...]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        by_day: dict[date, list[Closure]] = {}
        for c in self.closures:
            by_day.setdefault(c.day, []).append(c)
        self._by_day.update({d: tuple(cs) for d, cs in by_day.items()})

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def channel(self, key: str) -> ChannelHours | None:
        return next((c for c in self.channels if c.key == key), None)

    def closure_on(self, day: date, channel: str) -> Closure | None:
        return next((c for c in self._by_day.get(day, ()) if c.applies_to(channel)), None)

    def intervals_on(self, channel: ChannelHours, day: date) -> tuple[Interval, ...]:
        """The wall-time intervals that *start* on ``day`` (a closure replaces the week's)."""
        closure = self.closure_on(day, channel.key)
        return closure.hours if closure is not None else channel.day(day.weekday())

    def spans(self, channel: ChannelHours, first: date, last: date) -> list[tuple[datetime, datetime]]:
        """Open periods as UTC instants for intervals starting between ``first`` and ``last``."""
        zone = self.zone
        out: list[tuple[datetime, datetime]] = []
        day = first
        while day <= last:
            for iv in self.intervals_on(channel, day):
                start = _instant(day, iv.start_minutes, zone)
                end_day = day + timedelta(days=1) if iv.overnight else day
                end = _instant(end_day, iv.end_minutes, zone)
                if end > start:
                    out.append((start, end))
            day += timedelta(days=1)
        return _merged(out)

    def status(self, channel: ChannelHours, at: datetime) -> ChannelStatus:
        """Is ``channel`` open at ``at``; until when, or when does it open next?"""
        at = _utc(at)
        today = at.astimezone(self.zone).date()
        spans = self.spans(channel, today - timedelta(days=1), today + timedelta(days=_HORIZON_DAYS))
        closure = self.closure_on(today, channel.key)
        for start, end in spans:
            if start <= at < end:
                return ChannelStatus(channel, True, end, None, closure)
            if start > at:
                return ChannelStatus(channel, False, None, start, closure)
        return ChannelStatus(channel, False, None, None, closure)

    def now(self, at: datetime) -> OpenNow:
        return OpenNow(_utc(at), self.zone, tuple(self.status(c, at) for c in self.channels))

    def is_open(self, channel: str, at: datetime) -> bool:
        found = self.channel(channel)
        return found is not None and self.status(found, at).open

    def next_change(self, at: datetime) -> datetime | None:
        """The first instant after ``at`` when any channel opens or closes (cache expiry)."""
        changes = [s.until if s.open else s.next_open for s in self.now(at).channels]
        return min((c for c in changes if c is not None), default=None)

    def upcoming_closures(self, at: datetime, days: int = 60) -> list[Closure]:
        today = _utc(at).astimezone(self.zone).date()
        return sorted((c for c in self.closures if today <= c.day <= today + timedelta(days=days)), key=lambda c: c.day)


# --- wall time → instants ------------------------------------------------------------------


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}: pass an aware datetime, e.g. datetime.now(UTC)")
    return at.astimezone(UTC)


def _instant(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    if minutes >= 1440:
        day, minutes = day + timedelta(days=1), minutes - 1440
    wall = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone)
    return wall.astimezone(UTC)


def _merged(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Sort and join touching periods, so 22:00–24:00 + 00:00–06:00 is one night shift."""
    out: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# --- parsing -------------------------------------------------------------------------------


def _bad(where: str, message: str) -> SettingsError:
    return SettingsError(_FIELD, f"{where}: {message}")


def _intervals(value: object, where: str) -> tuple[Interval, ...]:
    if value is None or value == "" or value == "closed":
        return ()
    if isinstance(value, str):
        items: list[object] = list(value.split(","))
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise _bad(where, f"{value!r} is not a time range such as '09:00-17:00'")
    out = []
    for item in items:
        m = _RANGE_RE.match(item) if isinstance(item, str) else None
        if m is None:
            raise _bad(where, f"{item!r} is not a time range such as '09:00-17:00'")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
            raise _bad(where, f"{item!r} has an impossible time")
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if start == end:
            raise _bad(where, f"{item!r} opens and closes at the same time")
        out.append(Interval(start, end))
    return tuple(out)


def _day_keys(spec: str, where: str) -> list[int]:
    days: list[int] = []
    for part in spec.lower().replace(" ", "").split(","):
        if "-" in part:
            a, _, b = part.partition("-")
            if a not in _DAYS or b not in _DAYS:
                raise _bad(where, f"{spec!r} is not a day or range such as 'mon-fri'")
            i, j = _DAYS.index(a), _DAYS.index(b)
            days.extend(range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)])
        elif part in _DAYS:
            days.append(_DAYS.index(part))
        else:
            raise _bad(where, f"{spec!r} is not a day or range such as 'mon-fri'")
    return days


def _weekly(value: object, where: str) -> tuple[tuple[Interval, ...], ...]:
    if not isinstance(value, Mapping):
        raise _bad(where, "must map days ('mon-fri', 'sat') to time ranges ('09:00-17:00')")
    week: list[tuple[Interval, ...]] = [()] * 7
    for spec, ranges in value.items():
        if not isinstance(spec, str):
            raise _bad(where, f"{spec!r} is not a day")
        for d in _day_keys(spec, f"{where}.{spec}"):
            week[d] = week[d] + _intervals(ranges, f"{where}.{spec}")
    return tuple(week)


def _text(value: object, where: str, limit: int = 200) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise _bad(where, f"must be text of at most {limit} characters")
    return value.strip()


def parse_business_hours(data: BusinessHours | Mapping[str, Any]) -> BusinessHours:
    """Build (and check) a schedule from plain data; see the module docstring for the shape."""
    if isinstance(data, BusinessHours):
        return data
    if not isinstance(data, Mapping):
        raise _bad("business_hours", "must be a mapping with 'timezone' and 'channels' (or a BusinessHours)")
    tz = data.get("timezone")
    try:
        if not isinstance(tz, str):
            raise ZoneInfoNotFoundError
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise _bad("timezone", f"{tz!r} is not an IANA time zone such as 'Europe/London'") from None
    raw_channels = data.get("channels")
    if not isinstance(raw_channels, Mapping) or not raw_channels:
        raise _bad("channels", "must map at least one channel ('phone', 'chat', 'email') to its hours")
    channels = []
    for key, spec in raw_channels.items():
        where = f"channels.{key}"
        if not isinstance(key, str) or not _KEY_RE.match(key):
            raise _bad(where, "a channel key is a short lower-case word such as 'phone'")
        if not isinstance(spec, Mapping):
            raise _bad(where, "must be a mapping with 'hours'")
        channels.append(
            ChannelHours(
                key=key,
                label=_text(spec.get("label"), f"{where}.label", 60) or key.capitalize(),
                weekly=_weekly(spec.get("hours", {}), f"{where}.hours"),
                response=_text(spec.get("response"), f"{where}.response"),
                contact=_text(spec.get("contact"), f"{where}.contact"),
            )
        )
    channels.sort(key=lambda c: (CHANNEL_ORDER.index(c.key) if c.key in CHANNEL_ORDER else 99, c.key))
    closures = []
    raw_closures = data.get("closures", ())
    if not isinstance(raw_closures, Sequence) or isinstance(raw_closures, str):
        raise _bad("closures", "must be a list of {'date': 'YYYY-MM-DD', 'name': ...}")
    for i, item in enumerate(raw_closures):
        where = f"closures[{i}]"
        if not isinstance(item, Mapping):
            raise _bad(where, "must be a mapping with 'date' and 'name'")
        try:
            raw_day = item.get("date")
            day = raw_day if isinstance(raw_day, date) else date.fromisoformat(str(raw_day))
        except ValueError:
            raise _bad(f"{where}.date", f"{item.get('date')!r} is not a date such as '2026-12-25'") from None
        names = item.get("channels", ())
        if isinstance(names, str) or not isinstance(names, Sequence) or any(n not in raw_channels for n in names):
            raise _bad(f"{where}.channels", f"{names!r} must list configured channels, e.g. ['phone']")
        closures.append(
            Closure(
                day=day,
                name=_text(item.get("name"), f"{where}.name", 80) or "Closed",
                hours=_intervals(item.get("hours"), f"{where}.hours"),
                channels=frozenset(names),
            )
        )
    unknown = set(data) - {"timezone", "channels", "closures"}
    if unknown:
        raise _bad(sorted(unknown)[0], "is not a business_hours key (timezone, channels, closures)")
    return BusinessHours(tz, tuple(channels), tuple(closures))


def demo_business_hours() -> BusinessHours:
    """The demo portal's schedule: UK hours, chat into the evening, Christmas closures."""
    closures = []
    for year in (2025, 2026, 2027):
        closures += [
            {"date": f"{year}-12-24", "name": "Christmas Eve", "hours": "09:00-13:00", "channels": ["phone", "chat"]},
            {"date": f"{year}-12-25", "name": "Christmas Day"},
            {"date": f"{year}-12-26", "name": "Boxing Day"},
            {"date": f"{year}-01-01", "name": "New Year's Day"},
        ]
    return parse_business_hours(
        {
            "timezone": "Europe/London",
            "channels": {
                "phone": {
                    "label": "Phone",
                    "contact": "0800 046 1234",
                    "response": "Usually answered within 5 minutes",
                    "hours": {"mon-fri": "09:00-17:30", "sat": "10:00-14:00"},
                },
                "chat": {
                    "label": "Live chat",
                    "response": "Usually answered within 2 minutes",
                    "hours": {"mon-fri": "08:00-20:00", "sat-sun": "10:00-16:00"},
                },
                "email": {
                    "label": "Email",
                    "contact": "help@larkspur.example",
                    "response": "Replies within one working day",
                    "hours": {"mon-fri": "09:00-17:00"},
                },
            },
            "closures": closures,
        }
    )
