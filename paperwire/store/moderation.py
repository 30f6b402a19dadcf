"""Moderation in the database: hidden papers, hidden submissions and the moderation log."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from paperwire.models import Paper
from paperwire.store.papers import PAPER_COLUMNS, built, ids_param, in_chunks, row_to_paper
from paperwire.store.schema import hidden_papers, moderation_log, papers, submissions, users


def _log(conn: Connection, action: str, target: str, reason: str | None,
         actor_id: int | None, actor: str, now: datetime) -> None:
    conn.execute(moderation_log.insert().values(action=action, target=target[:400],
                                                reason=reason, actor_id=actor_id,
                                                actor=actor[:320], at=now))


def log_action(conn: Connection, action: str, target: str, reason: str | None,
               actor_id: int | None, actor: str, now: datetime) -> None:
    _log(conn, action, target, reason, actor_id, actor, now)


def hide_paper(conn: Connection, paper_id: int, arxiv_id: str, reason: str,
               actor_id: int | None, actor: str, now: datetime) -> None:
    """Hide (or re-hide with a new reason) one paper, and log it."""
    exists = conn.execute(select(hidden_papers.c.paper_id)
                          .where(hidden_papers.c.paper_id == paper_id)).first()
    values = {"reason": reason, "hidden_by": actor_id, "hidden_at": now}
    if exists:
        conn.execute(update(hidden_papers).where(hidden_papers.c.paper_id == paper_id)
                     .values(**values))
    else:
        conn.execute(hidden_papers.insert().values(paper_id=paper_id, **values))
    _log(conn, "hide-paper", arxiv_id, reason, actor_id, actor, now)


def unhide_paper(conn: Connection, paper_id: int, arxiv_id: str, actor_id: int | None,
                 actor: str, now: datetime) -> bool:
    """Unhide a paper; False when it was not hidden (nothing is logged then)."""
    gone = conn.execute(delete(hidden_papers).where(hidden_papers.c.paper_id == paper_id))
    if not gone.rowcount:
        return False
    _log(conn, "unhide-paper", arxiv_id, None, actor_id, actor, now)
    return True


def paper_standing(conn: Connection, arxiv_id: str) -> tuple[bool, bool]:
    """(stored, hidden) of a paper, in one statement."""
    row = conn.execute(
        select(papers.c.id, hidden_papers.c.paper_id.label("hidden"))
        .outerjoin(hidden_papers, hidden_papers.c.paper_id == papers.c.id)
        .where(papers.c.arxiv_id == arxiv_id)).first()
    return row is not None, row is not None and row.hidden is not None


def hidden_paper(conn: Connection, arxiv_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        select(hidden_papers.c.reason, hidden_papers.c.hidden_at,
               users.c.display_name.label("hidden_by"))
        .join(papers, papers.c.id == hidden_papers.c.paper_id)
        .outerjoin(users, users.c.id == hidden_papers.c.hidden_by)
        .where(papers.c.arxiv_id == arxiv_id)).first()
    if row is None:
        return None
    return {"arxiv_id": arxiv_id, "reason": row.reason, "hidden_by": row.hidden_by,
            "hidden_at": row.hidden_at.isoformat()}


def hidden_row_ids(conn: Connection) -> frozenset[int]:
    return frozenset(conn.execute(select(hidden_papers.c.paper_id)).scalars())


def hidden_papers_list(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(papers.c.arxiv_id, hidden_papers.c.reason,
                               hidden_papers.c.hidden_at)
                        .join(papers, papers.c.id == hidden_papers.c.paper_id)
                        .order_by(hidden_papers.c.hidden_at.desc()))
    return [{"arxiv_id": r.arxiv_id, "reason": r.reason, "hidden_at": r.hidden_at.isoformat()}
            for r in rows]


def set_submission_hidden(conn: Connection, submission_id: int, reason: str | None,
                          actor_id: int | None, actor: str, now: datetime) -> bool:
    """Hide (reason given) or unhide (None) a submission's note and credit; False if unknown."""
    result = conn.execute(update(submissions).where(submissions.c.id == submission_id).values(
        hidden_at=now if reason is not None else None, hidden_reason=reason))
    if not result.rowcount:
        return False
    action = "hide-submission" if reason is not None else "unhide-submission"
    _log(conn, action, str(submission_id), reason, actor_id, actor, now)
    return True


def moderation_version_query() -> Any:
    return select(func.coalesce(func.max(moderation_log.c.id), 0)).scalar_subquery()


@built
def _moderated_papers_query() -> Any:
    return (select(*PAPER_COLUMNS, moderation_version_query().label("moderated"))
            .where(papers.c.id.in_(ids_param())))


def papers_by_row_moderated(conn: Connection, row_ids: Iterable[int]
                            ) -> tuple[dict[int, Paper], int]:
    """Papers by row id and the moderation version, read in one statement (a page of search
    hits): a caller keeping the hidden rows checks them without a read of its own."""
    found: dict[int, Paper] = {}
    version: int | None = None
    for chunk in in_chunks(row_ids):
        rows = conn.execute(_moderated_papers_query(), {"ids": chunk}).all()
        found.update({row.id: row_to_paper(row) for row in rows})
        if rows and version is None:
            version = int(rows[0].moderated)
    return found, version if version is not None else moderation_version(conn)


def hidden_rows_moderated(conn: Connection) -> tuple[int, frozenset[int]]:
    """The moderation version, then the hidden rows: read in this order, a hide committed in
    between leaves an older version beside the newer rows, which only costs a re-read."""
    return moderation_version(conn), hidden_row_ids(conn)


def moderation_version(conn: Connection) -> int:
    """Grows with every moderation action: part of cache keys of views that hide papers."""
    return int(conn.execute(select(moderation_version_query())).scalar_one())


def moderation_log_entries(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    rows = conn.execute(select(moderation_log).order_by(moderation_log.c.id.desc())
                        .limit(limit))
    return [{"id": r.id, "action": r.action, "target": r.target, "reason": r.reason,
             "actor": r.actor, "at": r.at.isoformat()} for r in rows]
