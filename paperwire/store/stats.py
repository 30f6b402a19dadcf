"""The aggregates behind the stats page and `paperwire stats --by`: papers per day and per
category, votes over time, subscribers and digests sent.

A paper's day is its listing day, else its publication day (``models.paper_day``), as in
listings.py. Grouping needs that day as a value: ``date()`` of a timestamp is spelled the same
in SQLite (text ``YYYY-MM-DD``) and PostgreSQL (a date), and every answer is turned into
ISO text here. Hidden papers are left out of every count, as they are out of every listing.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from paperwire.store.listings import _in_days, _midnight
from paperwire.store.schema import (
    digest_sends,
    external_votes,
    hidden_papers,
    paper_categories,
    papers,
    subscriptions,
    votes,
)

OTHER = "other"


def _iso(value: Any) -> str:
    # SQLite answers date() as text, PostgreSQL as a date.
    return value.isoformat() if isinstance(value, date) else str(value)[:10]


def _visible() -> Any:
    return papers.c.id.not_in(select(hidden_papers.c.paper_id))


def _within(stamp: Any, since: date, until: date) -> Any:
    """A timestamp column within the days [since, until] (a range, so its index serves)."""
    return (stamp >= _midnight(since)) & (stamp < _midnight(until + timedelta(days=1)))


def _paper_day() -> Any:
    return func.coalesce(func.date(papers.c.listed_on), func.date(papers.c.published))


def papers_per_day(conn: Connection, since: date, until: date, top: int = 5
                   ) -> dict[str, Any]:
    """Papers of each day in [since, until] by primary category: the ``top`` categories of
    the range by name and the rest as "other" (days without papers are left out)."""
    day, count = _paper_day().label("day"), func.count().label("n")
    rows = conn.execute(
        select(day, papers.c.primary_category, count)
        .where(_in_days(since, until), _visible())
        .group_by(day, papers.c.primary_category)).all()
    totals: dict[str, int] = defaultdict(int)
    for _, category, n in rows:
        totals[category] += n
    leaders = sorted(totals, key=lambda c: (-totals[c], c))[:top]
    days: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for raw_day, category, n in rows:
        days[_iso(raw_day)][category if category in leaders else OTHER] += n
    series = leaders + ([OTHER] if len(totals) > len(leaders) else [])
    ordered = sorted(days)
    return {"days": ordered, "categories": series,
            "counts": {c: [days[d].get(c, 0) for d in ordered] for c in series},
            "totals": [sum(days[d].values()) for d in ordered]}


def papers_per_category(conn: Connection, limit: int = 15, since: date | None = None,
                        until: date | None = None) -> dict[str, int]:
    """Papers filed under each category (cross-lists included), most first."""
    count = func.count().label("n")
    query = (select(paper_categories.c.category, count)
             .join(papers, papers.c.id == paper_categories.c.paper_id).where(_visible()))
    if since is not None or until is not None:
        query = query.where(_in_days(since, until))
    rows = conn.execute(query.group_by(paper_categories.c.category)
                        .order_by(count.desc(), paper_categories.c.category).limit(limit))
    return {c: int(n) for c, n in rows}


def votes_per_day(conn: Connection, since: date, until: date) -> dict[str, Any]:
    """Local votes cast on each day and imported upvotes by the day their paper was featured,
    in [since, until] (each vote is counted on the day it was cast)."""
    cast_on = func.date(votes.c.created_at).label("day")
    local = conn.execute(
        select(cast_on, func.count())
        .where(_within(votes.c.created_at, since, until),
               votes.c.paper_id.not_in(select(hidden_papers.c.paper_id)))
        .group_by(cast_on)).all()
    imported = conn.execute(
        select(external_votes.c.featured_on, func.sum(external_votes.c.upvotes))
        .where(external_votes.c.featured_on >= since, external_votes.c.featured_on <= until,
               external_votes.c.paper_id.not_in(select(hidden_papers.c.paper_id)))
        .group_by(external_votes.c.featured_on)).all()
    local_by = {_iso(d): int(n) for d, n in local}
    imported_by = {_iso(d): int(n or 0) for d, n in imported}
    days = sorted(set(local_by) | set(imported_by))
    return {"days": days, "local": [local_by.get(d, 0) for d in days],
            "imported": [imported_by.get(d, 0) for d in days]}


def paper_votes(conn: Connection, arxiv_id: str) -> list[tuple[str, int]]:
    """A paper's local votes as (day, votes cast that day), oldest first."""
    cast_on = func.date(votes.c.created_at).label("day")
    rows = conn.execute(
        select(cast_on, func.count()).join(papers, papers.c.id == votes.c.paper_id)
        .where(papers.c.arxiv_id == arxiv_id).group_by(cast_on).order_by(cast_on)).all()
    return [(_iso(d), int(n)) for d, n in rows]


def mail_stats(conn: Connection, since: date, until: date) -> dict[str, Any]:
    """Subscriptions by status, and digests sent on each day in [since, until]."""
    by_status = {str(status): int(n) for status, n in conn.execute(
        select(subscriptions.c.status, func.count()).group_by(subscriptions.c.status))}
    sent_on = func.date(digest_sends.c.sent_at).label("day")
    sent = conn.execute(
        select(sent_on, func.count())
        .where(digest_sends.c.status == "sent",
               _within(digest_sends.c.sent_at, since, until))
        .group_by(sent_on)).all()
    sent_by = {_iso(d): int(n) for d, n in sent}
    days = sorted(sent_by)
    return {"subscribers": by_status,
            "digests": {"days": days, "sent": [sent_by[d] for d in days],
                        "total": sum(sent_by.values())}}


class StatsMethods:
    """Mixed into ``Store`` (import that, not this)."""

    engine: Engine

    def papers_per_day(self, since: date, until: date, top: int = 5) -> dict[str, Any]:
        """Papers per day in [since, until], stacked by the top categories (see above)."""
        with self.engine.connect() as conn:
            return papers_per_day(conn, since, until, top)

    def papers_per_category(self, limit: int = 15, since: date | None = None,
                            until: date | None = None) -> dict[str, int]:
        with self.engine.connect() as conn:
            return papers_per_category(conn, limit, since, until)

    def votes_per_day(self, since: date, until: date) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return votes_per_day(conn, since, until)

    def paper_votes(self, arxiv_id: str) -> list[tuple[str, int]]:
        with self.engine.connect() as conn:
            return paper_votes(conn, arxiv_id)

    def mail_stats(self, since: date, until: date) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return mail_stats(conn, since, until)
