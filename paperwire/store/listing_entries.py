"""Listing entries: the days papers appeared in arXiv's announcement feeds, and how.

A feed entry is written with its paper, in the same transaction (``write_entries``); the
entry is kept apart from the paper, so a replacement announced today never moves the paper's
own day (``papers.listed_on``, the earliest new or cross listing, which the paper upsert
keeps). ``day_kinds`` says how each paper of a day was announced, for the day view's new,
cross and revised sections.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from paperwire.sources.listing import FIRST_LISTINGS, ListingEntry
from paperwire.store.listings import _in_category, _in_days
from paperwire.store.papers import row_ids
from paperwire.store.schema import listing_entries, papers

# When a paper has several entries on one day (read from several feeds), the first of these
# says what the day was for it: a first listing outranks a replacement.
_PRECEDENCE = ("new", "cross", "replace", "replace-cross")


@dataclass(frozen=True)
class DayKind:
    """How a paper appeared on a day: ``announce_type`` and, for a replacement, the version."""

    arxiv_id: str
    announce_type: str
    version: int | None = None


def write_entries(conn: Connection, entries: Sequence[ListingEntry], now: datetime) -> int:
    """Record entries whose papers are already written; an entry seen before is left as it
    is (the unique key is paper, day, type and feed). Returns how many were new."""
    if not entries:
        return 0
    ids = row_ids(conn, (e.paper.arxiv_id for e in entries))
    rows = list({(ids[e.paper.arxiv_id], e.listed_on, e.announce_type, e.feed): {
        "paper_id": ids[e.paper.arxiv_id], "version": e.paper.version,
        "announce_type": e.announce_type, "listed_on": e.listed_on, "feed": e.feed,
        "seen_at": now} for e in entries if e.paper.arxiv_id in ids}.values())
    if not rows:
        return 0
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt: Any = dialect.insert(listing_entries).on_conflict_do_nothing(
        index_elements=["paper_id", "listed_on", "announce_type", "feed"]
    ).returning(listing_entries.c.id)
    # Counted from RETURNING: psycopg reports no rowcount for a batch.
    return len(conn.execute(stmt, rows).all())


def day_kinds(conn: Connection, day: date, category: str | None = None) -> dict[int, DayKind]:
    """How each paper of ``day`` was announced, by row id: the papers whose own day it is
    (new, or cross when their primary category lies outside ``category``) and those a feed
    listed that day (a later cross-list, or a replacement with its version)."""
    entries: dict[int, list[tuple[str, int | None]]] = {}
    for paper_id, kind, version in conn.execute(
            select(listing_entries.c.paper_id, listing_entries.c.announce_type,
                   listing_entries.c.version).where(listing_entries.c.listed_on == day)):
        entries.setdefault(paper_id, []).append((kind, version))
    where: list[Any] = [or_(_in_days(day, day), papers.c.id.in_(
        select(listing_entries.c.paper_id).where(listing_entries.c.listed_on == day)))]
    if category:
        where.append(_in_category(category))
    found: dict[int, DayKind] = {}
    query = select(papers.c.id, papers.c.arxiv_id, papers.c.primary_category,
                   papers.c.listed_on, papers.c.published).where(*where)
    for row in conn.execute(query):
        own = row.listed_on == day or (row.listed_on is None and row.published is not None
                                       and row.published.date() == day)
        seen = sorted(entries.get(row.id, []), key=lambda e: _PRECEDENCE.index(e[0]))
        first = [kind for kind, _ in seen if kind in FIRST_LISTINGS]
        if own or first:
            kind = first[0] if first else "new"
            if category and own:
                kind = "new" if _within(row.primary_category, category) else "cross"
            found[row.id] = DayKind(row.arxiv_id, kind)
        elif seen:
            found[row.id] = DayKind(row.arxiv_id, seen[0][0], seen[0][1])
    return found


def _within(code: str, category: str) -> bool:
    return code == category or ("." not in category and code.startswith(category + "."))


def entries_for(conn: Connection, paper_id: int) -> list[dict[str, Any]]:
    """A paper's listing entries, oldest first (for its page)."""
    rows = conn.execute(select(listing_entries.c.listed_on, listing_entries.c.announce_type,
                               listing_entries.c.version, listing_entries.c.feed)
                        .where(listing_entries.c.paper_id == paper_id)
                        .order_by(listing_entries.c.listed_on, listing_entries.c.id))
    return [{"listed_on": r.listed_on.isoformat(), "announce_type": r.announce_type,
             "version": r.version, "feed": r.feed} for r in rows]
