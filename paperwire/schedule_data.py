"""arXiv's published announcement schedule and holiday closures, as data (see docs/listing-days.md).

Source: arXiv's "Availability of submissions" page, info.arxiv.org/help/availability.html,
kept in the public repository arXiv/arxiv-docs as source/help/availability.md. Each holiday
list below names the commit of that file it was copied from. Update this table when arXiv
publishes a new year's list (usually in December or January, with additions during the year).
"""

from __future__ import annotations

from datetime import date, time

__all__ = ["ANNOUNCE_AT", "DEADLINE", "DEADLINE_TO_ANNOUNCEMENT", "HOLIDAYS",
           "HOLIDAYS_KNOWN_THROUGH", "TIMEZONE"]

TIMEZONE = "America/New_York"  # "all times Eastern US", daylight saving time included
DEADLINE = time(14, 0)  # the daily submission deadline
ANNOUNCE_AT = time(20, 0)  # when an announcement is made public

# The table "Announcement Schedule" as weekday numbers (Monday 0 … Sunday 6): submissions
# received before a deadline on this weekday (since the previous deadline) are announced on
# that weekday's evening; Friday's are held over to Sunday evening. There is no deadline on
# Saturday or Sunday, and no announcement on Friday or Saturday.
#   Monday 14:00 – Tuesday 14:00    → Tuesday 20:00
#   Tuesday 14:00 – Wednesday 14:00 → Wednesday 20:00
#   Wednesday 14:00 – Thursday 14:00 → Thursday 20:00
#   Thursday 14:00 – Friday 14:00   → Sunday 20:00
#   Friday 14:00 – Monday 14:00     → Monday 20:00
DEADLINE_TO_ANNOUNCEMENT = {0: 0, 1: 1, 2: 2, 3: 3, 4: 6}
# The date on a listing (the /new page, the feeds, and the crawled sample's first_seen) is the
# day after the announcement evening: Monday 20:00 ET is listed as Tuesday's. Kept in code
# (schedule.listing_date) rather than here because it follows from the time of day, not a table.

# "On Deferred Mailings": days on whose evening arXiv makes no announcement; what was due goes
# out with the next announcement. A date on a Friday or Saturday changes nothing here (there is
# no announcement that evening anyway): arXiv lists them because its staff are off.
HOLIDAYS: dict[date, str] = {
    # 2024, from availability.md @ 20e652c581c6248077c25b80bcc54fadbb30c09b (2024-08-28)
    date(2024, 1, 15): "Martin Luther King Jr. Day",
    date(2024, 5, 22): "arXiv holiday",
    date(2024, 6, 19): "Juneteenth",
    date(2024, 7, 4): "Independence Day",
    date(2024, 9, 2): "Labor Day",
    date(2024, 10, 8): "arXiv holiday",
    date(2024, 11, 28): "Thanksgiving",
    date(2024, 12, 25): "Christmas",
    date(2024, 12, 26): "December holidays",
    date(2024, 12, 31): "New Year's Eve",
    # 2025, from availability.md @ 95c71658adbaa987dc2ba1105ef9c5201ecde4ce (2025-08-06)
    date(2025, 1, 1): "New Year's Day",
    date(2025, 1, 20): "Martin Luther King Jr. Day",
    date(2025, 6, 19): "Juneteenth",
    date(2025, 7, 6): "Independence Day (observed)",
    date(2025, 9, 1): "Labor Day",
    date(2025, 11, 27): "Thanksgiving",
    date(2025, 12, 25): "Christmas",
    date(2025, 12, 30): "December holidays",
    # 2026, from availability.md @ 574c5a444ee79a5f2a851467fca2e07fd4ff76ec (2026-01-08),
    # unchanged at 1268da990bd72f2e025038da3efe9b48fed1d1ae (2026-05-13)
    date(2026, 1, 1): "New Year's Day",
    date(2026, 1, 19): "Martin Luther King Jr. Day",
    date(2026, 6, 19): "Juneteenth",
    date(2026, 7, 3): "Independence Day (observed)",
    date(2026, 9, 7): "Labor Day",
    date(2026, 11, 26): "Thanksgiving",
    date(2026, 12, 25): "Christmas",
    date(2026, 12, 29): "December holidays",
    date(2026, 12, 31): "New Year's Eve",
}
# The last day the holiday list is known to be complete for; later days are computed with the
# weekly schedule alone (arXiv has not published them yet).
HOLIDAYS_KNOWN_THROUGH = date(2026, 12, 31)
