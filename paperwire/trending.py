"""The trending score: votes with a time decay, computed for a day, week or month window.

    score = (votes + weight × imported + prior) / (age_hours + offset) ^ gravity

- ``votes``: local upvotes cast before the window's end;
- ``imported``: upvotes imported from another community (``paperwire ingest hf-daily``),
  counted as ``weight`` local votes each (PAPERWIRE_TRENDING_EXTERNAL_WEIGHT);
- ``prior``: votes every paper starts with, so papers nobody voted on yet still rank,
  freshest first (PAPERWIRE_TRENDING_PRIOR);
- ``age_hours``: from the paper's day (the day arXiv listed it, else the day it was
  submitted, or the day it was featured elsewhere when that is earlier) to the end of the
  window being viewed, never to "now", so a past day, week or month always ranks the same;
- ``offset`` and ``gravity``: how fast the score decays (PAPERWIRE_TRENDING_AGE_OFFSET_HOURS,
  PAPERWIRE_TRENDING_GRAVITY). Gravity 0 ranks by votes alone. The offset is given for a day
  and grows with the window (× 7 for a week, × the month's days for a month), so the decay is
  relative to the window: at the defaults a paper from the first day of a week or month needs
  about twice the votes of one from its last day, where a fixed offset made it ten times and
  a month view was little more than its last week (bench/trending.py).

Candidates are the papers whose day or featured day lies in the window (hidden ones never).
Ages count whole days; equal scores keep the newest-first order of the plain listing, so
with no votes at all a window lists exactly as it did before votes existed.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from paperwire.errors import ConfigError
from paperwire.models import Candidate, Paper, check_day
from paperwire.settings import Settings
from paperwire.store import Store

__all__ = ["PERIODS", "Scored", "TrendingPage", "TrendingParams", "rank", "score", "section",
           "window"]

PERIODS = ("day", "week", "month")
_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class TrendingParams:
    """The formula's knobs (see the module docstring); build with ``from_settings``."""

    gravity: float = 0.8
    prior: float = 1.0
    external_weight: float = 0.5
    age_offset_hours: float = 12.0

    def __post_init__(self) -> None:
        for name in ("gravity", "prior", "external_weight"):
            if getattr(self, name) < 0:
                raise ConfigError(f"trending {name} must be 0 or more "
                                  f"(got {getattr(self, name)})")
        if self.age_offset_hours <= 0:
            raise ConfigError("trending age offset must be more than 0 hours "
                              f"(got {self.age_offset_hours})")

    @classmethod
    def from_settings(cls, settings: Settings) -> TrendingParams:
        return cls(gravity=settings.trending_gravity, prior=settings.trending_prior,
                   external_weight=settings.trending_external_weight,
                   age_offset_hours=settings.trending_age_offset_hours)

    @property
    def formula(self) -> str:
        return ("score = (votes + external_weight × imported + prior) / "
                "(age_hours + age_offset_hours × window_days) ^ gravity")


@dataclass(frozen=True)
class Scored:
    """One ranked paper, with what its score was computed from."""

    paper: Paper
    score: float
    votes: int
    external: int
    age_hours: float
    explanation: str


@dataclass(frozen=True)
class TrendingPage:
    """A page of a window's ranking; ``total`` counts every candidate of the window."""

    items: list[Scored]
    total: int
    since: date
    until: date


def window(day: date, period: str) -> tuple[date, date]:
    """The first and last day of the day, week (Monday to Sunday) or month holding ``day``;
    ValueError for a day outside models.FIRST_DAY..LAST_DAY or an unknown period."""
    check_day(day)
    if period == "week":
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=6)
    if period == "month":
        last = calendar.monthrange(day.year, day.month)[1]
        return day.replace(day=1), day.replace(day=last)
    if period == "day":
        return day, day
    raise ValueError(f"unknown period {period!r} (choose {', '.join(PERIODS)})")


def window_end(until: date) -> datetime:
    """The first moment after the window's last day (naive UTC): the "as of" of a window."""
    return datetime.combine(until + timedelta(days=1), time.min)


def born(listed_on: date | None, published: datetime | None, featured_on: date | None
         ) -> datetime | None:
    """When a paper's age starts: the start of its day (listed, else submitted) or of the
    day it was featured elsewhere, whichever is earlier. Whole days, so the papers of one
    day are equally old and votes alone order them."""
    own = listed_on or (published.date() if published else None)
    days = [d for d in (own, featured_on) if d is not None]
    return datetime.combine(min(days), time.min) if days else None


def score(votes: int, external: int, age_hours: float, params: TrendingParams,
          window_days: int = 1) -> float:
    points = votes + params.external_weight * external + params.prior
    offset = params.age_offset_hours * window_days
    return float(points / (age_hours + offset) ** params.gravity)


def explain(votes: int, external: int, age_hours: float, value: float,
            params: TrendingParams) -> str:
    """"12 votes + 40 imported × 0.5 + 1 prior, 9 h old → 3.41"."""
    parts = [f"{votes} vote{'' if votes == 1 else 's'}"]
    if external:
        parts.append(f"{external} imported × {params.external_weight:g}")
    if params.prior:
        parts.append(f"{params.prior:g} prior")
    return f"{' + '.join(parts)}, {_age(age_hours)} old → {value:.3g}"


def _age(hours: float) -> str:
    return f"{hours:.0f} h" if hours < 72 else f"{hours / 24:.0f} days"


def _scored(c: Candidate, as_of: datetime, params: TrendingParams, window_days: int
            ) -> tuple[float, float, Candidate]:
    start = born(c.listed_on, c.published, c.featured_on) or as_of
    age = max(0.0, (as_of - start).total_seconds() / 3600)
    return score(c.votes, c.external, age, params, window_days), age, c


def _order(s: tuple[float, float, Candidate]) -> tuple[float | bool, ...]:
    # Ties (papers nobody voted on yet, of one day) fall back to the newest-first listing
    # order: listed before unlisted, later days and submissions first (then the id, by the
    # stable sort in rank), so the order is total and pages never overlap or skip a paper.
    value, _, c = s
    listed = -c.listed_on.toordinal() if c.listed_on else 0.0
    published = -(c.published - _EPOCH).total_seconds() if c.published else 0.0
    return (-value, c.listed_on is None, listed, c.published is None, published)


def section(kind: str | None) -> int:
    """Where an announce type goes on a day's listing, as on arXiv's /new page: new
    submissions (and papers with no listing that day, featured elsewhere), cross-lists,
    then replacements."""
    return {"cross": 1, "replace": 2, "replace-cross": 2}.get(kind or "new", 0)


def rank(store: Store, params: TrendingParams, period: str, day: date, *,
         categories: Sequence[str] = (), limit: int = 30, offset: int = 0,
         kinds: Mapping[int, str] | None = None,
         types: Collection[str] | None = None) -> TrendingPage:
    """A page of the papers of the window holding ``day``, highest score first.

    With ``kinds`` (row id → announce type, from ``Store.day_kinds``) the papers a feed
    announced in the window join the candidates, and the ranking is split into sections
    (``section``), trending order kept within each; ``types`` keeps only those types."""
    since, until = window(day, period)
    as_of = window_end(until)
    candidates = store.trending_candidates(since, until, as_of, categories,
                                           announced=kinds is not None)
    if kinds is not None and types is not None:
        candidates = [c for c in candidates if (kinds.get(c.row_id) or "new") in types]
    days = (until - since).days + 1
    scored = sorted((_scored(c, as_of, params, days) for c in candidates),
                    key=lambda s: s[2].arxiv_id, reverse=True)
    scored.sort(key=_order)
    if kinds is not None:
        scored.sort(key=lambda s: section(kinds.get(s[2].row_id)))  # stable: keeps the order
    page = scored[offset:offset + limit]
    papers = store.get_papers_by_row(c.row_id for _, _, c in page)
    items = [Scored(papers[c.row_id], value, c.votes, c.external, round(age, 1),
                    explain(c.votes, c.external, age, value, params))
             for value, age, c in page if c.row_id in papers]
    return TrendingPage(items, len(scored), since, until)
