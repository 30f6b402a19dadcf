"""The day arXiv lists a paper, computed from its submission time and arXiv's published schedule.

A submission is announced at 20:00 US Eastern on the evening its deadline belongs to
(schedule_data.DEADLINE_TO_ANNOUNCEMENT), or on the next announcement evening when that one is
a holiday closure. The listing that announcement makes is dated the next day, the date arXiv's
/new pages and feeds carry: Monday evening's announcement is Tuesday's listing, Sunday
evening's is Monday's. So listings are dated Monday to Friday. All of it is computed in
America/New_York, so the deadline moves with daylight saving time as arXiv's does.

Times without a zone are taken as UTC, as ``Paper.published`` keeps them. Nothing here reads
a file or the clock at import; the time zone is loaded on first use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from paperwire import schedule_data

__all__ = ["ARXIV", "MAX_RANGE_DAYS", "Schedule", "announcement", "eastern", "first_listing",
           "is_listing_day",
           "latest_listing_day", "listing_day", "listing_days", "next_announcement"]

MAX_RANGE_DAYS = 3_700  # about ten years: the most listing_days will enumerate at once
_DAY = timedelta(days=1)
# A week of days has at least one announcement evening unless a holiday list closes a whole
# week; more than this many skipped days in a row means the table is wrong, not a real closure.
_MAX_SKIP = 21


@cache
def eastern() -> ZoneInfo:
    """US Eastern time, where arXiv's deadlines and announcements are set."""
    return ZoneInfo(schedule_data.TIMEZONE)


def _as_eastern(moment: datetime) -> datetime:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(eastern())


@dataclass(frozen=True)
class Schedule:
    """A weekly deadline → announcement table and the evenings without an announcement."""

    deadline: time = schedule_data.DEADLINE
    announce_at: time = schedule_data.ANNOUNCE_AT
    deadline_to_announcement: Mapping[int, int] = field(
        default_factory=lambda: dict(schedule_data.DEADLINE_TO_ANNOUNCEMENT))
    holidays: frozenset[date] = frozenset(schedule_data.HOLIDAYS)

    def announces_on(self, day: date) -> bool:
        """Whether arXiv makes an announcement on the evening of ``day``."""
        return (day.weekday() in self.deadline_to_announcement.values()
                and day not in self.holidays)

    def announcement(self, submitted: datetime) -> datetime:
        """When a submission received at ``submitted`` is announced (US Eastern, aware)."""
        local = _as_eastern(submitted)
        # A submission at 14:00:00 has missed the deadline: the window closes at 14:00.
        day = local.date() if local.time() < self.deadline else local.date() + _DAY
        while day.weekday() not in self.deadline_to_announcement:  # no deadline at weekends
            day += _DAY
        weekday = day.weekday()
        evening = day + timedelta(days=(self.deadline_to_announcement[weekday] - weekday) % 7)
        return self._at(self._first_announcing(evening))

    def listing_day(self, submitted: datetime) -> date:
        """The date of the listing a submission received at ``submitted`` first appears in."""
        return self.announcement(submitted).date() + _DAY

    def next_announcement(self, after: datetime) -> datetime:
        """The first announcement strictly after ``after`` (US Eastern, aware)."""
        local = _as_eastern(after)
        evening = local.date()
        if local >= self._at(evening):
            evening += _DAY
        return self._at(self._first_announcing(evening))

    def latest_listing_day(self, now: datetime) -> date:
        """The date of the newest listing already announced at ``now``."""
        local = _as_eastern(now)
        evening = local.date() if local >= self._at(local.date()) else local.date() - _DAY
        for _ in range(_MAX_SKIP):
            if self.announces_on(evening):
                return evening + _DAY
            evening -= _DAY
        raise ValueError(f"no announcement in the {_MAX_SKIP} days before {now.isoformat()}: "
                         "the holiday table closes too many days in a row")

    def is_listing_day(self, day: date) -> bool:
        """Whether arXiv publishes a listing dated ``day``."""
        return self.announces_on(day - _DAY)

    def listing_days(self, start: date, end: date) -> list[date]:
        """The dates of the listings from ``start`` to ``end``, both included."""
        span = (end - start).days
        if span > MAX_RANGE_DAYS:
            raise ValueError(f"{start} … {end} spans {span:,} days "
                             f"(at most {MAX_RANGE_DAYS:,} at once)")
        days = (start + timedelta(days=n) for n in range(span + 1))
        return [day for day in days if self.is_listing_day(day)]

    def _first_announcing(self, evening: date) -> date:
        """``evening`` or the first evening after it with an announcement."""
        for _ in range(_MAX_SKIP):
            if self.announces_on(evening):
                return evening
            evening += _DAY
        raise ValueError(f"no announcement in the {_MAX_SKIP} days from {evening}: the holiday "
                         "table closes too many days in a row")

    def _at(self, evening: date) -> datetime:
        return datetime.combine(evening, self.announce_at, tzinfo=eastern())


ARXIV = Schedule()


def announcement(submitted: datetime) -> datetime:
    """When arXiv announces a submission received at ``submitted`` (US Eastern, aware)."""
    return ARXIV.announcement(submitted)


def listing_day(submitted: datetime) -> date:
    """The date of arXiv's listing a paper submitted (v1) at ``submitted`` first appears in."""
    return ARXIV.listing_day(submitted)


def first_listing(submitted: datetime | None) -> date | None:
    """The computed listing day of a paper whose v1 was submitted at ``submitted`` (None
    when that is unknown): what sources that see no listing (OAI-PMH, the API, the
    snapshot, JSONL without first_seen) record as its day."""
    return ARXIV.listing_day(submitted) if submitted is not None else None


def next_announcement(after: datetime) -> datetime:
    """arXiv's first announcement strictly after ``after``: when the worker reads the feeds."""
    return ARXIV.next_announcement(after)


def latest_listing_day(now: datetime) -> date:
    """The date of arXiv's newest listing already out at ``now``."""
    return ARXIV.latest_listing_day(now)


def is_listing_day(day: date) -> bool:
    """Whether arXiv publishes a listing dated ``day``."""
    return ARXIV.is_listing_day(day)


def listing_days(start: date, end: date) -> list[date]:
    """arXiv's listing dates from ``start`` to ``end``, both included."""
    return ARXIV.listing_days(start, end)
