"""Listing days from arXiv's schedule: hand-checked against info.arxiv.org/help/availability.html.

Each case was worked out by hand from the table "Announcement Schedule" (times US Eastern):
a submission is announced at 20:00 on the evening its window closes, and the listing made
then is dated the next day (Monday evening's announcement is Tuesday's listing).
"""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from paperwire import schedule
from paperwire.schedule import Schedule, eastern
from paperwire.schedule_data import HOLIDAYS


def et(*args: int) -> datetime:
    return datetime(*args, tzinfo=eastern())  # type: ignore[misc, arg-type]


@pytest.mark.parametrize(("submitted", "listed"), [
    # Tuesday 2025-07-15 (EDT): before the deadline → Tuesday evening → Wednesday's listing.
    (et(2025, 7, 15, 13, 59, 59), date(2025, 7, 16)),
    # At 14:00:00 the window has closed: Wednesday evening → Thursday.
    (et(2025, 7, 15, 14, 0), date(2025, 7, 17)),
    # Thursday after the deadline and Friday before it → Sunday evening → Monday.
    (et(2025, 7, 17, 15, 0), date(2025, 7, 21)),
    (et(2025, 7, 18, 13, 0), date(2025, 7, 21)),
    # Friday after 14:00, the weekend, and Monday before 14:00 → Monday evening → Tuesday.
    (et(2025, 7, 18, 14, 30), date(2025, 7, 22)),
    (et(2025, 7, 19, 10, 0), date(2025, 7, 22)),
    (et(2025, 7, 20, 23, 0), date(2025, 7, 22)),
    (et(2025, 7, 21, 13, 0), date(2025, 7, 22)),
    # Monday after 14:00 → Tuesday evening → Wednesday.
    (et(2025, 7, 21, 14, 1), date(2025, 7, 23)),
])
def test_the_weekly_table(submitted: datetime, listed: date) -> None:
    assert schedule.listing_day(submitted) == listed


def test_the_listing_is_dated_the_day_after_the_announcement() -> None:
    announced = schedule.announcement(et(2025, 7, 18, 13, 0))  # Friday before the deadline
    assert announced == et(2025, 7, 20, 20, 0)  # Sunday evening
    assert schedule.listing_day(et(2025, 7, 18, 13, 0)) == date(2025, 7, 21)  # Monday


def test_naive_times_are_utc() -> None:
    # 2025-07-15 17:59 UTC is 13:59 EDT (before the deadline); 18:00 UTC is 14:00 EDT.
    assert schedule.listing_day(datetime(2025, 7, 15, 17, 59)) == date(2025, 7, 16)
    assert schedule.listing_day(datetime(2025, 7, 15, 18, 0)) == date(2025, 7, 17)
    # Any zone is converted: 2025-07-15 19:30 in UTC+05:30 is 14:00 UTC, 10:00 EDT.
    india = timezone(timedelta(hours=5, minutes=30))
    assert schedule.listing_day(datetime(2025, 7, 15, 19, 30, tzinfo=india)) == date(2025, 7, 16)


def test_the_deadline_follows_daylight_saving_time() -> None:
    # In winter (EST, UTC-5) the deadline is 19:00 UTC, in summer (EDT, UTC-4) 18:00 UTC.
    assert schedule.listing_day(datetime(2026, 1, 13, 18, 30)) == date(2026, 1, 14)  # 13:30 EST
    assert schedule.listing_day(datetime(2026, 1, 13, 19, 0)) == date(2026, 1, 15)  # 14:00 EST
    assert schedule.listing_day(datetime(2025, 7, 15, 18, 30)) == date(2025, 7, 17)  # 14:30 EDT
    # DST began on Sunday 2026-03-08: on Monday the 9th 18:30 UTC is already 14:30 EDT.
    assert schedule.listing_day(datetime(2026, 3, 9, 18, 30)) == date(2026, 3, 11)
    # ...while on Friday the 6th 18:30 UTC was 13:30 EST, in time for Sunday evening.
    assert schedule.listing_day(datetime(2026, 3, 6, 18, 30)) == date(2026, 3, 9)
    # DST ended on Sunday 2025-11-02; Monday the 3rd 18:30 UTC is 13:30 EST.
    assert schedule.listing_day(datetime(2025, 11, 3, 18, 30)) == date(2025, 11, 4)
    # The announcement is at 20:00 local on either side of the change.
    assert schedule.announcement(datetime(2026, 3, 6, 18, 30)).utcoffset() == timedelta(hours=-4)
    assert schedule.announcement(datetime(2026, 3, 5, 18, 30)).utcoffset() == timedelta(hours=-5)


def test_a_holiday_evening_defers_to_the_next_announcement() -> None:
    # Labor Day, Monday 2025-09-01: no announcement that evening, so the weekend's
    # submissions and Monday's go out on Tuesday evening, listed Wednesday 2025-09-03.
    assert schedule.listing_day(et(2025, 8, 29, 15, 0)) == date(2025, 9, 3)
    assert schedule.listing_day(et(2025, 9, 1, 13, 0)) == date(2025, 9, 3)
    assert schedule.listing_day(et(2025, 9, 2, 13, 0)) == date(2025, 9, 3)
    assert not schedule.is_listing_day(date(2025, 9, 2))
    # Thanksgiving, Thursday 2025-11-27: Wednesday's after-deadline submissions wait for
    # Sunday evening with Thursday's, listed Monday 2025-12-01.
    assert schedule.listing_day(et(2025, 11, 26, 15, 0)) == date(2025, 12, 1)
    # Sunday 2025-07-06: Thursday and Friday's submissions go out on Monday evening.
    assert schedule.listing_day(et(2025, 7, 4, 10, 0)) == date(2025, 7, 8)


def test_a_friday_holiday_changes_nothing() -> None:
    # Juneteenth on Friday 2026-06-19: there is no Friday announcement to skip, and the real
    # listing of that Friday (Thursday evening's) exists in the 75k sample.
    assert schedule.listing_day(et(2026, 6, 18, 10, 0)) == date(2026, 6, 19)
    assert schedule.is_listing_day(date(2026, 6, 19))


def test_holidays_are_taken_from_the_schedule_given() -> None:
    no_holidays = Schedule(holidays=frozenset())
    assert no_holidays.listing_day(et(2025, 9, 1, 13, 0)) == date(2025, 9, 2)
    assert schedule.listing_day(et(2025, 9, 1, 13, 0)) == date(2025, 9, 3)


def test_listing_days_are_monday_to_friday_less_those_after_a_holiday() -> None:
    days = schedule.listing_days(date(2025, 12, 22), date(2026, 1, 4))
    assert days == [date(2025, 12, 22), date(2025, 12, 23), date(2025, 12, 24),
                    date(2025, 12, 25), date(2025, 12, 29), date(2025, 12, 30),
                    date(2026, 1, 1)]
    assert schedule.listing_days(date(2026, 1, 5), date(2026, 1, 4)) == []
    with pytest.raises(ValueError, match="at most"):
        schedule.listing_days(date(2000, 1, 1), date(2030, 1, 1))


def test_next_announcement_and_latest_listing() -> None:
    # Friday afternoon: the next announcement is Sunday 20:00; the newest listing Friday's.
    friday = et(2025, 7, 18, 15, 0)
    assert schedule.next_announcement(friday) == et(2025, 7, 20, 20, 0)
    assert schedule.latest_listing_day(friday) == date(2025, 7, 18)
    # At 20:00 exactly the announcement is out: the next one is tomorrow's.
    tuesday = et(2025, 7, 15, 20, 0)
    assert schedule.latest_listing_day(tuesday) == date(2025, 7, 16)
    assert schedule.next_announcement(tuesday) == et(2025, 7, 16, 20, 0)
    # Around Labor Day Monday 2025-09-01 the next announcement after Sunday's is Tuesday's.
    assert schedule.next_announcement(et(2025, 8, 31, 21, 0)) == et(2025, 9, 2, 20, 0)
    assert schedule.latest_listing_day(et(2025, 9, 2, 12, 0)) == date(2025, 9, 1)
    assert schedule.next_announcement(datetime(2025, 7, 19, tzinfo=UTC)) == et(2025, 7, 20, 20)


def test_a_table_that_closes_every_evening_is_an_error() -> None:
    start = date(2025, 1, 1)
    closed = Schedule(holidays=frozenset(start + timedelta(days=n) for n in range(60)))
    with pytest.raises(ValueError, match="holiday table"):
        closed.listing_day(et(2025, 1, 2, 10, 0))


def test_the_holiday_table_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "listing-days.md").read_text()
    for day in HOLIDAYS:
        assert day.isoformat() in doc, f"docs/listing-days.md does not list {day}"


def test_importing_the_schedule_does_no_io() -> None:
    # The module body defines functions, classes and constants only; the time zone is
    # loaded by eastern() on first use.
    source = Path(schedule.__file__).read_text()
    calls = [node for node in ast.parse(source).body
             if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)]
    assert not calls
    assert "ZoneInfo(" not in source.split("def eastern")[0]
