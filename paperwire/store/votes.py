"""Votes: local upvotes, imported upvotes (external_votes), and the rows trending scores.

Local votes are one row per user and paper (the primary key makes a second vote impossible).
Imported votes are one row per paper and source, replaced on re-import, never added to.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, insert, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from paperwire.errors import NotFound
from paperwire.models import Candidate, ExternalVote, VoteState
from paperwire.store.counters import bump, counter
from paperwire.store.listings import _in_category, _in_days
from paperwire.store.papers import built, ids_param, in_chunks, row_ids
from paperwire.store.schema import external_votes, hidden_papers, listing_entries, papers, votes


@dataclass
class ExternalWrite:
    """What one import of external votes did."""

    written: int = 0
    unknown: int = 0  # rows naming a paper that is not stored (skipped)


def _paper_row_id(conn: Connection, arxiv_id: str) -> int:
    row_id = conn.execute(select(papers.c.id).where(papers.c.arxiv_id == arxiv_id)
                          ).scalar_one_or_none()
    if row_id is None:
        raise NotFound(f"no paper {arxiv_id} on this instance")
    return int(row_id)


def set_vote(conn: Connection, user_id: int, arxiv_id: str, on: bool | None, now: datetime
             ) -> VoteState:
    """Set (True), clear (False) or toggle (None) a user's vote, inside the caller's write
    transaction; setting what is already set changes nothing."""
    paper_id = _paper_row_id(conn, arxiv_id)
    mine = and_(votes.c.user_id == user_id, votes.c.paper_id == paper_id)
    voted = conn.execute(select(func.count()).select_from(votes).where(mine)).scalar_one() > 0
    wanted = (not voted) if on is None else on
    if wanted and not voted:
        conn.execute(insert(votes).values(user_id=user_id, paper_id=paper_id, created_at=now))
        bump(conn, "votes")
    elif voted and not wanted:
        conn.execute(delete(votes).where(mine))
        bump(conn, "votes")
    return vote_states(conn, [arxiv_id], user_id)[arxiv_id]


@built
def _vote_states_query(for_user: bool) -> Any:
    # One statement of correlated, indexed subqueries: a page reads this on every view.
    local = (select(func.count()).select_from(votes)
             .where(votes.c.paper_id == papers.c.id).scalar_subquery())
    imported = (select(func.coalesce(func.sum(external_votes.c.upvotes), 0))
                .where(external_votes.c.paper_id == papers.c.id).scalar_subquery())
    mine: Any = (select(votes.c.paper_id).where(votes.c.paper_id == papers.c.id,
                                                 votes.c.user_id == bindparam("user_id")
                                                 ).exists()
                 if for_user else literal(False))
    return (select(papers.c.arxiv_id, local, imported, mine)
            .where(papers.c.arxiv_id.in_(ids_param())))


def vote_states(conn: Connection, arxiv_ids: Iterable[str], user_id: int | None
                ) -> dict[str, VoteState]:
    """Votes of each stored paper among ``arxiv_ids`` (unknown ids are left out)."""
    query = _vote_states_query(user_id is not None)
    found: dict[str, VoteState] = {}
    for chunk in in_chunks(arxiv_ids):
        rows = conn.execute(query, {"ids": chunk, "user_id": user_id})
        for arxiv_id, n_local, n_imported, voted in rows:
            found[arxiv_id] = VoteState(arxiv_id, int(n_local), int(n_imported or 0),
                                        bool(voted))
    return found


def upsert_external_votes(conn: Connection, source: str, rows: Sequence[ExternalVote],
                          now: datetime) -> ExternalWrite:
    """Write imported votes inside the caller's write transaction.

    One row per (paper, source): a re-import replaces the upvote count (the newer count is
    the truer one) and keeps the earliest featured day; rows for unknown papers are skipped.
    """
    result = ExternalWrite()
    merged: dict[str, ExternalVote] = {}
    for row in rows:
        seen = merged.get(row.arxiv_id)
        merged[row.arxiv_id] = row if seen is None else ExternalVote(
            row.arxiv_id, row.upvotes, _earliest(seen.featured_on, row.featured_on))
    ids = row_ids(conn, merged)
    result.unknown = len(merged) - len(ids)
    stored: dict[int, date | None] = {}
    for chunk in in_chunks(ids.values()):
        stored.update({r[0]: r[1] for r in conn.execute(
            select(external_votes.c.paper_id, external_votes.c.featured_on).where(
                external_votes.c.source == source, external_votes.c.paper_id.in_(chunk)))})
    values = [{"paper_id": ids[a], "source": source, "upvotes": r.upvotes,
               "featured_on": _earliest(stored.get(ids[a]), r.featured_on), "imported_at": now}
              for a, r in merged.items() if a in ids]
    if values:
        conn.execute(_upsert(conn), values)
        bump(conn, "votes")
    result.written = len(values)
    return result


def _upsert(conn: Connection) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(external_votes)
    return stmt.on_conflict_do_update(
        index_elements=["paper_id", "source"],
        set_={"upvotes": stmt.excluded.upvotes, "featured_on": stmt.excluded.featured_on,
              "imported_at": stmt.excluded.imported_at})


def _earliest(a: date | None, b: date | None) -> date | None:
    return b if a is None else a if b is None else min(a, b)


def votes_version(conn: Connection) -> int:
    """Grows with every vote cast or withdrawn and every import (one primary-key lookup,
    not a count of the votes): a cache key part for views computed from votes."""
    return int(conn.execute(select(counter("votes"))).scalar_one())


def trending_candidates(conn: Connection, since: date, until: date, as_of: datetime,
                        categories: Sequence[str] = (), *, announced: bool = False
                        ) -> list[Candidate]:
    """Papers whose day or featured day lies in [since, until], not hidden, with their local
    votes cast before ``as_of`` and their imported upvotes."""
    featured = select(external_votes.c.paper_id).where(
        external_votes.c.featured_on >= since, external_votes.c.featured_on <= until)
    days: list[Any] = [_in_days(since, until), papers.c.id.in_(featured)]
    if announced:
        days.append(papers.c.id.in_(select(listing_entries.c.paper_id).where(
            listing_entries.c.listed_on >= since, listing_entries.c.listed_on <= until)))
    where: list[Any] = [or_(*days),
                        papers.c.id.not_in(select(hidden_papers.c.paper_id))]
    if categories:
        where.append(or_(*(_in_category(c) for c in categories)))
    wanted = select(papers.c.id).where(*where)
    local = (select(votes.c.paper_id, func.count().label("n"))
             .where(votes.c.paper_id.in_(wanted), votes.c.created_at < as_of)
             .group_by(votes.c.paper_id).subquery())
    imported = (select(external_votes.c.paper_id,
                       func.sum(external_votes.c.upvotes).label("upvotes"),
                       func.min(external_votes.c.featured_on).label("featured_on"))
                .where(external_votes.c.paper_id.in_(wanted))
                .group_by(external_votes.c.paper_id).subquery())
    query = (select(papers.c.id, papers.c.arxiv_id, papers.c.listed_on, papers.c.published,
                    func.coalesce(local.c.n, 0), func.coalesce(imported.c.upvotes, 0),
                    imported.c.featured_on)
             .select_from(papers.outerjoin(local, local.c.paper_id == papers.c.id)
                          .outerjoin(imported, imported.c.paper_id == papers.c.id))
             .where(*where))
    return [Candidate(int(r[0]), r[1], r[2], r[3], int(r[4]), int(r[5]), r[6])
            for r in conn.execute(query)]

