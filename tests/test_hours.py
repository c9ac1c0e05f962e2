"""Business hours: schedules in a time zone, DST changes, holidays, the open-now component."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from selfservice import Settings, SettingsError, create_portal
from selfservice.hours import BusinessHours, demo_business_hours, parse_business_hours
from selfservice.views.hours import open_now_view, when
from tests.conftest import SECRET

LONDON: dict[str, object] = {
    "timezone": "Europe/London",
    "channels": {
        "phone": {"label": "Phone", "hours": {"mon-fri": "09:00-17:30", "sat": "10:00-14:00"},
                  "response": "Within 5 minutes", "contact": "0800 000"},
        "chat": {"label": "Chat", "hours": {"mon-sun": "22:00-06:00"}},
    },
    "closures": [
        {"date": "2026-12-25", "name": "Christmas Day"},
        {"date": "2026-12-24", "name": "Christmas Eve", "hours": "09:00-13:00", "channels": ["phone"]},
    ],
}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.fixture(scope="module")
def hours() -> BusinessHours:
    return parse_business_hours(LONDON)


def test_open_and_closed_inside_a_normal_week(hours: BusinessHours) -> None:
    assert hours.is_open("phone", utc(2026, 1, 14, 9, 0))  # Wednesday, GMT
    assert not hours.is_open("phone", utc(2026, 1, 14, 17, 30))  # closing time is exclusive
    assert hours.is_open("phone", utc(2026, 1, 17, 13, 59))  # Saturday
    assert not hours.is_open("phone", utc(2026, 1, 18, 12, 0))  # Sunday
    assert not hours.is_open("fax", utc(2026, 1, 14, 12, 0))  # unknown channel


def test_summer_time_shifts_the_utc_instants(hours: BusinessHours) -> None:
    # 08:30 UTC is 08:30 in winter (closed) but 09:30 in summer (open).
    assert not hours.is_open("phone", utc(2026, 3, 27, 8, 30))  # Friday before the change, GMT
    assert hours.is_open("phone", utc(2026, 3, 30, 8, 30))  # Monday after, BST
    assert not hours.is_open("phone", utc(2026, 3, 30, 16, 45))  # 17:45 BST


def test_opens_monday_9_across_the_spring_forward_weekend(hours: BusinessHours) -> None:
    saturday_evening = utc(2026, 3, 28, 18, 0)  # GMT; clocks go forward on Sunday 29 March
    phone = hours.channel("phone")
    assert phone is not None
    status = hours.status(phone, saturday_evening)
    assert not status.open
    assert status.next_open == utc(2026, 3, 30, 8, 0)  # 09:00 BST
    assert when(status.next_open, saturday_evening, hours) == "Monday at 9:00\u202fAM"
    assert when(status.next_open, saturday_evening, hours, "en_GB") == "Monday at 09:00"


def test_overnight_chat_is_an_hour_shorter_on_the_spring_forward_night(hours: BusinessHours) -> None:
    chat = hours.channel("chat")
    assert chat is not None
    spring = hours.spans(chat, date(2026, 3, 28), date(2026, 3, 28))
    autumn = hours.spans(chat, date(2026, 10, 24), date(2026, 10, 24))
    assert spring == [(utc(2026, 3, 28, 22, 0), utc(2026, 3, 29, 5, 0))]  # 22:00 GMT to 06:00 BST: 7 h
    assert autumn == [(utc(2026, 10, 24, 21, 0), utc(2026, 10, 25, 6, 0))]  # 22:00 BST to 06:00 GMT: 9 h
    assert hours.is_open("chat", utc(2026, 3, 29, 4, 59)) and not hours.is_open("chat", utc(2026, 3, 29, 5, 0))


def test_a_wall_time_inside_the_skipped_hour_is_read_with_the_old_offset() -> None:
    h = parse_business_hours({"timezone": "Europe/London", "channels": {"phone": {"hours": {"sun": "01:30-03:00"}}}})
    phone = h.channel("phone")
    assert phone is not None
    # 01:30 does not exist on 29 March 2026; fold=0 reads it as GMT: 01:30 UTC (= 02:30 BST).
    assert h.spans(phone, date(2026, 3, 29), date(2026, 3, 29)) == [(utc(2026, 3, 29, 1, 30), utc(2026, 3, 29, 2, 0))]


def test_holidays_close_and_special_days_shorten(hours: BusinessHours) -> None:
    assert not hours.is_open("phone", utc(2026, 12, 25, 12, 0))  # Christmas Day, a Friday
    assert not hours.is_open("chat", utc(2026, 12, 25, 23, 0))  # closure without channels: all of them
    assert hours.is_open("phone", utc(2026, 12, 24, 12, 30))  # Christmas Eve, 09:00-13:00
    assert not hours.is_open("phone", utc(2026, 12, 24, 13, 30))
    phone = hours.channel("phone")
    assert phone is not None
    status = hours.status(phone, utc(2026, 12, 24, 14, 0))
    assert status.next_open == utc(2026, 12, 26, 10, 0)  # Boxing Day is a Saturday: 10:00
    assert status.closure is not None and status.closure.name == "Christmas Eve"
    assert [c.name for c in hours.upcoming_closures(utc(2026, 12, 1, 0, 0))] == ["Christmas Eve", "Christmas Day"]


def test_next_change_is_the_first_open_or_close_of_any_channel(hours: BusinessHours) -> None:
    assert hours.next_change(utc(2026, 1, 14, 12, 0)) == utc(2026, 1, 14, 17, 30)
    assert hours.next_change(utc(2026, 1, 14, 18, 0)) == utc(2026, 1, 14, 22, 0)


def test_open_now_view_texts(hours: BusinessHours) -> None:
    view = open_now_view(hours, utc(2026, 1, 14, 10, 0), "en_GB")
    assert view.any_open and view.headline == "Open now" and view.detail == "Phone until 17:30"
    closed = open_now_view(hours, utc(2026, 1, 18, 12, 0), "en_GB")  # Sunday noon
    assert not closed.any_open and closed.detail == "Chat opens today at 22:00"
    xmas = open_now_view(hours, utc(2026, 12, 25, 12, 0), "en_GB")
    assert xmas.closure == "Christmas Day" and xmas.detail == "Phone opens tomorrow at 10:00"


def test_naive_datetimes_are_refused(hours: BusinessHours) -> None:
    with pytest.raises(ValueError, match="naive"):
        hours.is_open("phone", datetime(2026, 1, 14, 12, 0))


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({**LONDON, "timezone": "Mars/Olympus"}, "timezone"),
        ({**LONDON, "channels": {}}, "channels"),
        ({**LONDON, "channels": {"phone": {"hours": {"mon-fri": "9-5"}}}}, "channels.phone.hours.mon-fri"),
        ({**LONDON, "channels": {"phone": {"hours": {"funday": "09:00-17:00"}}}}, "channels.phone.hours.funday"),
        ({**LONDON, "channels": {"phone": {"hours": {"mon": "25:00-26:00"}}}}, "channels.phone.hours.mon"),
        ({**LONDON, "closures": [{"date": "2026-02-30", "name": "x"}]}, "closures[0].date"),
        ({**LONDON, "closures": [{"date": "2026-02-03", "channels": ["fax"]}]}, "closures[0].channels"),
        ({**LONDON, "holidays": []}, "holidays"),
    ],
)
def test_bad_schedules_name_the_field_and_the_place(tmp_path: Path, data: dict[str, object], where: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings(content_dirs=[tmp_path], secret_key=SECRET, business_hours=data).validate()
    assert info.value.field == "business_hours"
    assert f"Settings.business_hours: {where}:" in str(info.value)


def test_the_demo_schedule_is_valid_and_covers_three_channels() -> None:
    demo = demo_business_hours()
    assert [c.key for c in demo.channels] == ["phone", "chat", "email"]
    assert demo.is_open("chat", utc(2026, 6, 7, 12, 0))  # a Sunday in summer


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def portal_with(tmp_path: Path, demo_dir: Path, clock: Callable[[], datetime]) -> TestClient:
    app = create_portal(Settings(content_dirs=[demo_dir], secret_key=SECRET, data_dir=tmp_path, business_hours=LONDON,
                                 clock=clock, locale="en_GB"))
    # No lifespan: these pages never touch the store, so the test doesn't open one.
    return TestClient(app)


def test_every_page_shows_open_now_and_cached_pages_follow_the_clock(tmp_path: Path, demo_dir: Path) -> None:
    clock = Clock(utc(2026, 1, 14, 17, 0))  # Wednesday, 30 minutes before the phones close
    c = portal_with(tmp_path, demo_dir, clock)
    home = c.get("/")
    assert "Open now" in home.text and "Phone until 17:30" in home.text
    assert 'href="/hours"' in home.text and "You can still get help now" not in home.text
    clock.now = utc(2026, 1, 14, 17, 45)
    later = c.get("/")  # the cached home page is dropped when the phones close
    assert "Closed now" in later.text and "Chat opens today at 22:00" in later.text
    assert "You can still get help now" in later.text and 'href="/search"' in later.text


def test_the_hours_page_lists_channels_week_and_closures(tmp_path: Path, demo_dir: Path) -> None:
    clock = Clock(utc(2026, 12, 20, 12, 0))
    c = portal_with(tmp_path, demo_dir, clock)
    page = c.get("/hours")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-cache"
    text = page.text
    assert "Within 5 minutes" in text and "0800 000" in text
    assert '<th scope="row">Saturday</th><td>10:00–14:00</td>' in text
    assert "Christmas Eve" in text and "Christmas Day" in text
    assert "Europe/London" in text
    assert "<style" not in text and "style=" not in text and "<script" not in text


def test_portals_without_hours_have_no_component_and_no_page(tmp_path: Path, demo_dir: Path) -> None:
    app = create_portal(Settings(content_dirs=[demo_dir], secret_key=SECRET, data_dir=tmp_path))
    c = TestClient(app)
    assert "ss-open-now" not in c.get("/").text
    assert c.get("/hours").status_code == 404


def test_clock_must_be_callable(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        Settings(content_dirs=[tmp_path], secret_key=SECRET, clock="noon").validate()  # type: ignore[arg-type]
    assert info.value.field == "clock"


def test_closing_soon_is_not_stale_across_a_day_boundary(hours: BusinessHours) -> None:
    # Friday 23:00 GMT: chat is open until 06:00 Saturday.
    status = hours.now(utc(2026, 1, 16, 23, 0))
    assert status.any_open and status.open_channels[0].until == utc(2026, 1, 17, 6, 0)
    assert hours.next_change(utc(2026, 1, 16, 23, 0)) == utc(2026, 1, 17, 6, 0)
    assert timedelta(0) < utc(2026, 1, 17, 6, 0) - utc(2026, 1, 16, 23, 0)
