"""Trending against the real signal: Hugging Face daily papers 2024–2026 (plus the 75k sample).

Imports both into a fresh SQLite store (``paperwire ingest jsonl`` and ``ingest hf-daily``
code paths), then for every day, week and month in which Hugging Face featured at least
``--min-featured`` papers compares three top-10 lists of the same window's candidates (the
papers listed or featured in it):

  * trending: ``paperwire.trending.rank`` with the given parameters;
  * most upvoted: imported upvotes, highest first (the plain Hugging Face order);
  * newest: the paper's day, then submission time, latest first (the old listing order).

overlap@10 = |trending top 10 ∩ other top 10| / 10. A *fresh* paper is one whose day (or
featured day) is the window's last day or the day before, i.e. at most 48 h old when the
window closes; *few votes* means at most 5 imported upvotes (below the file's median of 6)
and no local vote. "fresh & few" counts such papers in a top 10.

    python bench/trending.py [--home /tmp/pw-trending] [--hf-only] [--no-write]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import write_section  # noqa: E402
from paperwire.ingest import ingest  # noqa: E402
from paperwire.models import Candidate  # noqa: E402
from paperwire.signals import import_hf_daily  # noqa: E402
from paperwire.sources.files import JsonlSource  # noqa: E402
from paperwire.sources.hf_daily import HfDailySource  # noqa: E402
from paperwire.store import Store  # noqa: E402
from paperwire.trending import TrendingParams, born, rank, window, window_end  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
HF = DATA / "hf-daily-papers" / "daily-papers-2024-2026.jsonl.gz"
ARXIV = DATA / "arxiv" / "arxiv-daily-75k.jsonl.gz"
FEW = 5  # imported upvotes at most
FRESH_HOURS = 48
K = 10


INTENDED = """What the differences mean, and which are intended:

- **Day**: trending keeps most of the community's own top 10 (overlap with most upvoted
  about 0.8) and differs where a paper featured today was listed days earlier: it is older,
  so a paper listed today with fewer upvotes can pass it. That is the point of the decay, and
  why a fresh paper with at most 5 upvotes reaches the top 10 on more days than in the plain
  most-upvoted list. Overlap with newest is low on purpose: newest ignores votes entirely.
- **Week and month**: the age offset grows with the window (12 h × 7 for a week, × the
  month's days for a month), so within a week or month a paper from its first day needs
  about twice the votes of one from its last day. Trending keeps most of the period's top 10
  (overlap with most upvoted about 0.8 for a week, 0.7 for a month) and lets a later paper
  with a somewhat lower count pass an earlier one: "this week" is not frozen by Monday's
  winners, yet a month view is still the month's best rather than its last few days. With a
  fixed 12 h offset (the first version) the same gravity gave overlaps of 0.70 (week) and
  0.35 (month): a month view was little more than its last week. A fresh paper with few
  votes rarely enters a week or month top 10, and is not meant to: those views answer
  "what mattered this week/month", the day view answers "what is new and liked".
  Gravity 1.8, the Hacker News value, halves the month overlap again.
- Gravity 0 is not exactly most upvoted (overlap 0.97) only because of ties at equal
  counts, which trending breaks newest first.
"""


@dataclass
class Window:
    period: str
    day: date
    overlap_upvoted: float
    overlap_newest: float
    fresh_few_trending: int
    fresh_few_upvoted: int


def load(home: Path, hf_only: bool) -> tuple[Store, str]:
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    store = Store.from_url(f"sqlite:///{home / 'paperwire.db'}")
    notes = []
    if not hf_only:
        started = time.perf_counter()
        report = ingest(JsonlSource(ARXIV), store, progress=False)
        notes.append(f"75k arXiv sample: {report.written.inserted:,} papers in "
                     f"{time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    hf = import_hf_daily(HfDailySource(HF), store, progress=False)
    notes.append(f"hf-daily: {hf.written.inserted:,} papers created, "
                 f"{hf.written.unchanged:,} already held, {hf.votes:,} imported votes, "
                 f"{hf.rejected} rejected, in {time.perf_counter() - started:.1f} s "
                 f"({len(hf.rejections)} rejections kept)")
    return store, "; ".join(notes)


def featured_days(store: Store) -> dict[date, int]:
    """Days Hugging Face featured papers on, and how many (read from the store)."""
    counts: dict[date, int] = {}
    first, last = date(2024, 5, 27), date(2026, 8, 21)
    day = first
    while day <= last:
        n = sum(1 for c in store.trending_candidates(day, day, window_end(day))
                if c.featured_on == day)
        if n:
            counts[day] = n
        day += timedelta(days=1)
    return counts


def windows(counts: dict[date, int], period: str, minimum: int) -> list[date]:
    totals: dict[tuple[date, date], int] = {}
    for day, n in counts.items():
        key = window(day, period)
        totals[key] = totals.get(key, 0) + n
    return sorted(since for (since, _), n in totals.items() if n >= minimum)


def top(candidates: Iterable[Candidate], key: Callable[[Candidate], tuple[object, ...]]
        ) -> list[str]:
    return [c.arxiv_id for c in sorted(candidates, key=key)[:K]]


def fresh_few(c: Candidate, until: date) -> bool:
    start = born(c.listed_on, c.published, c.featured_on)
    if start is None:
        return False
    age = (window_end(until) - start).total_seconds() / 3600
    return age <= FRESH_HOURS and c.external <= FEW and c.votes == 0


def measure(store: Store, params: TrendingParams, period: str, day: date) -> Window:
    since, until = window(day, period)
    candidates = store.trending_candidates(since, until, window_end(until))
    by_id = {c.arxiv_id: c for c in candidates}
    trending = [s.paper.arxiv_id for s in rank(store, params, period, day, limit=K).items]
    upvoted = top(candidates, lambda c: (-c.external, c.arxiv_id))
    newest = top(candidates, lambda c: (
        -(born(c.listed_on, c.published, None) or window_end(until)).toordinal(),
        -(c.published.timestamp() if c.published else 0), c.arxiv_id))
    return Window(period, day, len(set(trending) & set(upvoted)) / K,
                  len(set(trending) & set(newest)) / K,
                  sum(fresh_few(by_id[a], until) for a in trending),
                  sum(fresh_few(by_id[a], until) for a in upvoted))


def summary(label: str, results: list[Window]) -> str:
    def stat(values: list[float]) -> str:
        return f"{statistics.median(values):.2f} / {statistics.fmean(values):.2f}"

    surfaced = sum(1 for r in results if r.fresh_few_trending) / len(results)
    surfaced_up = sum(1 for r in results if r.fresh_few_upvoted) / len(results)
    return (f"| {label} | {results[0].period} | {len(results)} | "
            f"{stat([r.overlap_upvoted for r in results])} | "
            f"{stat([r.overlap_newest for r in results])} | {surfaced:.0%} | "
            f"{statistics.fmean(r.fresh_few_trending for r in results):.2f} | "
            f"{surfaced_up:.0%} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--home", type=Path, default=Path("/tmp/pw-trending"))
    ap.add_argument("--hf-only", action="store_true", help="skip the 75k arXiv sample")
    ap.add_argument("--min-featured", type=int, default=10,
                    help="windows with at least this many featured papers")
    ap.add_argument("--no-write", action="store_true", help="print, don't touch BENCHMARKS.md")
    args = ap.parse_args()
    store, loaded = load(args.home, args.hf_only)
    counts = featured_days(store)
    default = TrendingParams()
    variants = {f"default (gravity {default.gravity:g})": default,
                "gravity 0 (votes only)": TrendingParams(gravity=0),
                "gravity 0.5": TrendingParams(gravity=0.5),
                "gravity 1.8 (Hacker News)": TrendingParams(gravity=1.8)}
    rows = []
    started = time.perf_counter()
    for period in ("day", "week", "month"):
        days = windows(counts, period, args.min_featured)
        for label, params in variants.items():
            rows.append(summary(label, [measure(store, params, period, d) for d in days]))
    took = time.perf_counter() - started
    body = "\n".join([
        "| parameters | period | windows | overlap@10 with most upvoted (median / mean) "
        "| overlap@10 with newest (median / mean) | windows whose trending top 10 has a "
        "fresh & few paper | fresh & few per trending top 10 (mean) | same, most-upvoted "
        "top 10 |",
        "|---|---|---|---|---|---|---|---|", *rows])
    body += (f"\n\nData: {loaded}. Windows: every day, week (Monday–Sunday) and month in "
             f"which Hugging Face featured ≥ {args.min_featured} papers; the lists are top 10s "
             f"of the same window's candidates. Fresh = at most {FRESH_HOURS} h old when the "
             f"window closes; few = at most {FEW} imported upvotes and no local vote. No "
             f"local votes exist in this import, so trending here is imported upvotes × "
             f"0.5 + 1, decayed by age. {len(rows)} rows in {took:.0f} s.\n\n"
             + INTENDED)
    print(body)
    if not args.no_write:
        write_section("Trending against Hugging Face daily papers", body)


if __name__ == "__main__":
    main()
