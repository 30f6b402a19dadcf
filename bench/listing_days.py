"""Computed listing days against real ones: the 75k arXiv sample joined with the HF signal.

The 75k sample's ``first_seen`` is the first listing day a crawler saw a paper on; the Hugging
Face item's ``paper.publishedAt`` is the paper's v1 submission time. For the papers in both
(less those submitted after they were first seen, where one of the two is wrong), compare
``first_seen`` with

  * the plain rule: 14:00 US Eastern cutoff, listed on the next business day (Mon–Fri);
  * paperwire.schedule.listing_day: arXiv's published schedule with its holiday closures;

and sort every disagreement of the schedule into one kind (see KINDS). The crawler's days are
measured from the sample itself: a listing day with fewer than ``MISSED_SHARE`` of a normal
day's papers in the sample is one the crawler missed (or caught only partly).

    python bench/listing_days.py [--no-write]
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import write_section  # noqa: E402
from paperwire import schedule  # noqa: E402
from paperwire.schedule_data import HOLIDAYS  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SAMPLE = Path("arxiv") / "arxiv-daily-75k.jsonl.gz"
HF = Path("hf-daily-papers") / "daily-papers-2024-2026.jsonl.gz"
MISSED_SHARE = 0.25  # of the median papers per listing day in the sample
MORE_THAN = 5  # listing days late: beyond this, a hold rather than a late announcement

KINDS = {
    "no-listing": "first_seen is a date arXiv publishes no listing for (a Saturday, Sunday, or "
                  "the day after a holiday evening): the crawler dated the listing then current "
                  "by the day it ran",
    "missed": "the computed listing is (nearly) absent from the sample: the crawler missed "
              "that day, and saw the paper on a later listing (a cross-list or replacement)",
    "date-only": "publishedAt has no time of day (00:00:00Z: every HF item from April 2026 "
                 "on), so the computed day assumes a submission before that day's deadline; "
                 "the paper came one listing later (submitted after 14:00 ET) or earlier (the "
                 "date is not a UTC date: first_seen on the date itself is otherwise impossible)",
    "late-1": "the computed listing is in the sample, but the paper came one listing later: "
              "held in moderation past one announcement, or the submission time is not the "
              "one arXiv counted (e.g. a reclassification or an unfinished submission)",
    "late-n": f"2 to {MORE_THAN} listings late: a moderation hold",
    "hold": f"more than {MORE_THAN} listings late: a long hold (\"on hold\" papers)",
    "early": "listed before the computed day",
}


@dataclass(frozen=True)
class Joined:
    arxiv_id: str
    submitted: datetime  # v1 submission time, aware UTC
    first_seen: date


def _lines(path: Path) -> Iterator[dict[str, object]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


def load(data: Path) -> tuple[list[Joined], Counter[date], int]:
    """The joined papers, papers per first_seen day in the whole sample, and how many were
    excluded for a submission after first_seen."""
    first_seen = {str(r["id"]): date.fromisoformat(str(r["first_seen"]))
                  for r in _lines(data / SAMPLE)}
    per_day = Counter(first_seen.values())
    submitted: dict[str, datetime] = {}
    for row in _lines(data / HF):
        paper = row["item"]["paper"]  # type: ignore[index]
        if paper["id"] in first_seen and paper.get("publishedAt"):
            when = datetime.fromisoformat(str(paper["publishedAt"]).replace("Z", "+00:00"))
            submitted.setdefault(paper["id"], when)
    joined, excluded = [], 0
    for arxiv_id, when in sorted(submitted.items()):
        seen = first_seen[arxiv_id]
        if schedule._as_eastern(when).date() > seen:
            excluded += 1
            continue
        joined.append(Joined(arxiv_id, when, seen))
    return joined, per_day, excluded


def plain_rule(submitted: datetime) -> date:
    """14:00 Eastern cutoff, then the next business day: no announcement table, no holidays."""
    local = schedule._as_eastern(submitted)
    day = local.date()
    if local.weekday() >= 5 or local.time() >= schedule.ARXIV.deadline:
        day = _next_business_day(day)
    return _next_business_day(day)


def _next_business_day(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def listings_between(start: date, end: date) -> int:
    """How many listing days after ``start`` up to and including ``end``."""
    return len(schedule.listing_days(start + timedelta(days=1), end))


def kind_of(paper: Joined, computed: date, missed: set[date]) -> str:
    seen = paper.first_seen
    if not schedule.is_listing_day(seen):
        return "no-listing"
    if computed in missed:
        return "missed"
    late = listings_between(computed, seen) if seen > computed else -1
    if date_only(paper.submitted) and (late <= 1 or listings_between(seen, computed) <= 1):
        return "date-only"
    if seen < computed:
        return "early"
    if late <= 1:
        return "late-1"
    return "late-n" if late <= MORE_THAN else "hold"


def date_only(submitted: datetime) -> bool:
    return submitted.time() == datetime.min.time()


def as_listing(seen: date) -> date:
    """A first_seen date read as the newest listing dated on or before it."""
    for back in range(8):
        if schedule.is_listing_day(seen - timedelta(days=back)):
            return seen - timedelta(days=back)
    return seen


def crawler_missed(per_day: Counter[date]) -> set[date]:
    """Listing days in the sample's span that hold under MISSED_SHARE of a normal day."""
    start, end = min(per_day), max(per_day)
    days = schedule.listing_days(start, end)
    normal = statistics.median(per_day[d] for d in days)
    return {d for d in days if per_day[d] < MISSED_SHARE * normal}


def share(hits: int, total: int) -> str:
    return f"{100 * hits / total:.1f} %" if total else "n/a"


def table(rows: Iterable[tuple[str, ...]], header: tuple[str, ...]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def report(joined: list[Joined], per_day: Counter[date], excluded: int) -> str:
    missed = crawler_missed(per_day)
    computed = {p.arxiv_id: schedule.listing_day(p.submitted) for p in joined}
    plain = sum(plain_rule(p.submitted) == p.first_seen for p in joined)
    agree = [p for p in joined if computed[p.arxiv_id] == p.first_seen]
    evening = sum(schedule.announcement(p.submitted).date() == p.first_seen for p in joined)
    kinds = Counter(kind_of(p, computed[p.arxiv_id], missed)
                    for p in joined if computed[p.arxiv_id] != p.first_seen)
    read = sum(computed[p.arxiv_id] == as_listing(p.first_seen) for p in joined)
    plain_read = sum(plain_rule(p.submitted) == as_listing(p.first_seen) for p in joined)
    timed = [p for p in joined if not date_only(p.submitted)]
    timed_agree = sum(computed[p.arxiv_id] == p.first_seen for p in timed)
    timed_plain = sum(plain_rule(p.submitted) == p.first_seen for p in timed)
    moved = [p for p in joined if plain_rule(p.submitted) != computed[p.arxiv_id]]
    weekend_submitted = [p for p in joined if schedule._as_eastern(p.submitted).weekday() >= 5]
    counted = [p for p in joined if computed[p.arxiv_id] not in missed
               and schedule.is_listing_day(p.first_seen)]
    n = len(joined)
    lines = [
        f"Papers in both the 75k sample and the HF signal: {n + excluded:,}; excluded "
        f"{excluded} submitted (US Eastern date) after their first_seen; compared: {n:,}.",
        "",
        table([
            ("plain: 14:00 ET cutoff, next business day", f"{plain:,}", share(plain, n)),
            ("arXiv's schedule and holidays (paperwire.schedule)", f"{len(agree):,}",
             share(len(agree), n)),
            ("the same, if first_seen were the announcement evening's date", f"{evening:,}",
             share(evening, n)),
            ("plain, first_seen on a date without a listing read as the listing then current",
             f"{plain_read:,}", share(plain_read, n)),
            ("schedule, first_seen read the same way", f"{read:,}", share(read, n)),
            (f"plain, only the {len(timed):,} papers whose publishedAt has a time of day",
             f"{timed_plain:,}", share(timed_plain, len(timed))),
            ("schedule, the same papers", f"{timed_agree:,}", share(timed_agree, len(timed))),
        ], ("rule", "agree", "share")),
        "",
        f"Holidays moved {len(moved)} papers' computed day; the schedule gets "
        f"{sum(computed[p.arxiv_id] == p.first_seen for p in moved)} of them right, the plain "
        f"rule {sum(plain_rule(p.submitted) == p.first_seen for p in moved)}. Weekend "
        f"submissions (US Eastern): {len(weekend_submitted)}, of which "
        f"{share(sum(computed[p.arxiv_id] == p.first_seen for p in weekend_submitted), len(weekend_submitted))} "  # noqa: E501
        "agree. Leaving out the papers whose computed listing the crawler missed or dated on "
        f"a day without a listing, the schedule agrees on "
        f"{share(sum(computed[p.arxiv_id] == p.first_seen for p in counted), len(counted))} "
        f"of {len(counted):,}.",
        "",
        f"Listing days the crawler missed (under {MISSED_SHARE:.0%} of the median day in the "
        f"whole sample): {', '.join(str(d) for d in sorted(missed))}.",
        "",
        "Disagreements of the schedule, by kind:",
        "",
        table([(k, str(kinds[k]), share(kinds[k], n), KINDS[k]) for k in KINDS],
              ("kind", "papers", "of all", "what it is")),
        "",
        "Holidays in the table over the sample's span: " + ", ".join(
            f"{d} ({d:%a})" for d in sorted(HOLIDAYS) if min(per_day) <= d <= max(per_day)) + ".",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA,
                        help="the shared data folder (default: ../shared/data)")
    parser.add_argument("--no-write", action="store_true", help="print, do not write")
    args = parser.parse_args(argv)
    for path in (args.data / SAMPLE, args.data / HF):
        if not path.exists():
            sys.exit(f"shared data not found: {path} (see ../shared/data/README.md)")
    joined, per_day, excluded = load(args.data)
    body = report(joined, per_day, excluded)
    print(body)
    if not args.no_write:
        write_section("Listing days: computed vs. first seen", body)


if __name__ == "__main__":
    main()
