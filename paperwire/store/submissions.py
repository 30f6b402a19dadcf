"""Submissions in the database: who brought a paper here, and their note."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from paperwire.store.counters import bump
from paperwire.store.papers import built, ids_param
from paperwire.store.schema import papers, submissions, users


def add_submission(conn: Connection, paper_id: int, user_id: int, note: str | None,
                   now: datetime) -> tuple[int, bool]:
    """(the submission's id, whether it is new): the first submitter of a paper keeps it."""
    existing = conn.execute(select(submissions.c.id)
                            .where(submissions.c.paper_id == paper_id)).scalar_one_or_none()
    if existing is not None:
        return int(existing), False
    try:
        with conn.begin_nested():
            new_id = conn.execute(submissions.insert().values(
                paper_id=paper_id, user_id=user_id, note=note, submitted_at=now
            ).returning(submissions.c.id)).scalar_one()
    except IntegrityError:
        again = conn.execute(select(submissions.c.id)
                             .where(submissions.c.paper_id == paper_id)).scalar_one()
        return int(again), False
    bump(conn, "votes")  # pages showing "submitted by" are cached on this counter
    return int(new_id), True


@built
def _submissions_query() -> Any:
    return (select(papers.c.arxiv_id, submissions.c.id, submissions.c.note,
                   submissions.c.submitted_at, submissions.c.hidden_at,
                   submissions.c.hidden_reason, users.c.display_name)
            .join(papers, papers.c.id == submissions.c.paper_id)
            .outerjoin(users, users.c.id == submissions.c.user_id)
            .where(papers.c.arxiv_id.in_(ids_param())))


def submissions_for(conn: Connection, arxiv_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Submission facts by arXiv id; a hidden one keeps only its id, hidden flag and reason."""
    wanted = list(dict.fromkeys(arxiv_ids))
    if not wanted:
        return {}
    rows = conn.execute(_submissions_query(), {"ids": wanted})
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        hidden = r.hidden_at is not None
        out[r.arxiv_id] = {
            "id": r.id, "hidden": hidden, "hidden_reason": r.hidden_reason if hidden else None,
            "submitted_by": None if hidden else r.display_name,
            "note": None if hidden else r.note,
            "submitted_at": r.submitted_at.isoformat()}
    return out


def recent_submissions(conn: Connection, limit: int = 50) -> list[dict[str, Any]]:
    """The newest submissions, hidden ones included, for moderators."""
    rows = conn.execute(
        select(papers.c.arxiv_id, papers.c.title, submissions.c.id, submissions.c.note,
               submissions.c.submitted_at, submissions.c.hidden_at,
               submissions.c.hidden_reason, users.c.email, users.c.display_name)
        .join(papers, papers.c.id == submissions.c.paper_id)
        .outerjoin(users, users.c.id == submissions.c.user_id)
        .order_by(submissions.c.submitted_at.desc(), submissions.c.id.desc()).limit(limit))
    return [{"id": r.id, "arxiv_id": r.arxiv_id, "title": r.title, "note": r.note,
             "submitted_by": r.display_name, "email": r.email,
             "submitted_at": r.submitted_at.isoformat(), "hidden": r.hidden_at is not None,
             "hidden_reason": r.hidden_reason} for r in rows]
