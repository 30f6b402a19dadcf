"""Comments in the database: the discussion's rows, their votes, reports, mentions and locks.

Every write bumps the ``comments`` change counter in its transaction, so the view version
(Store.view_version) moves with the discussion on every process at once. A comment anyone
may see is visible, not hidden, and on a paper that is not hidden (``public``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    delete,
    exists,
    func,
    insert,
    select,
    update,
)

from paperwire.store.comment_schema import (
    comment_mentions,
    comment_reports,
    comment_votes,
    comments,
    discussion_locks,
)
from paperwire.store.counters import bump
from paperwire.store.papers import built, ids_param, in_chunks
from paperwire.store.schema import hidden_papers, papers, users

_VOTES = (select(func.count()).select_from(comment_votes)
          .where(comment_votes.c.comment_id == comments.c.id).scalar_subquery())
_COLUMNS = (comments, papers.c.arxiv_id, users.c.display_name.label("author"),
            _VOTES.label("votes"))


def public() -> Any:
    """What may be shown to anyone: visible, not hidden, its paper not hidden."""
    return and_(comments.c.status == "visible", comments.c.hidden_at.is_(None),
                comments.c.paper_id.not_in(select(hidden_papers.c.paper_id)))


def _row(r: Any) -> dict[str, Any]:
    found = dict(r._mapping)
    for key in ("created_at", "edited_at", "deleted_at", "hidden_at"):
        found[key] = found[key].isoformat() if found[key] else None
    found.pop("body_hash", None)
    return found


def _query() -> Any:
    return (select(*_COLUMNS).join(papers, papers.c.id == comments.c.paper_id)
            .join(users, users.c.id == comments.c.user_id))


def add(conn: Connection, values: dict[str, Any], mention_ids: Iterable[int]) -> int:
    inserted = conn.execute(insert(comments).values(**values)).inserted_primary_key
    assert inserted is not None
    new_id = int(inserted[0])
    _mentions(conn, new_id, mention_ids, new=True)
    bump(conn, "comments")
    return new_id


def _mentions(conn: Connection, comment_id: int, user_ids: Iterable[int], *,
              new: bool = False) -> None:
    if not new:  # a new comment has none to replace
        conn.execute(delete(comment_mentions).where(
            comment_mentions.c.comment_id == comment_id))
    rows = [{"comment_id": comment_id, "user_id": u} for u in dict.fromkeys(user_ids)]
    if rows:
        conn.execute(insert(comment_mentions), rows)


def edit(conn: Connection, comment_id: int, values: dict[str, Any],
         mention_ids: Iterable[int] | None = None) -> None:
    conn.execute(update(comments).where(comments.c.id == comment_id).values(**values))
    if mention_ids is not None:
        _mentions(conn, comment_id, mention_ids)
    bump(conn, "comments")


def get(conn: Connection, comment_id: int) -> dict[str, Any] | None:
    row = conn.execute(_query().where(comments.c.id == comment_id)).first()
    return _row(row) if row else None


def for_paper(conn: Connection, paper_id: int, *, everything: bool = False
              ) -> list[dict[str, Any]]:
    """A paper's comments, oldest first: the public ones (deleted ones too, for "[deleted]"
    where they have replies), or every one (``everything``: a moderator's view)."""
    query = _query().where(comments.c.paper_id == paper_id)
    if not everything:
        query = query.where(public())
    return [_row(r) for r in conn.execute(query.order_by(comments.c.id))]


def held_of(conn: Connection, paper_id: int, user_id: int) -> list[dict[str, Any]]:
    """One author's comments on a paper still waiting for approval (only they see them)."""
    query = _query().where(comments.c.paper_id == paper_id, comments.c.user_id == user_id,
                           comments.c.status == "held", comments.c.hidden_at.is_(None))
    return [_row(r) for r in conn.execute(query.order_by(comments.c.id))]


def voted_by(conn: Connection, comment_ids: Sequence[int], user_id: int) -> set[int]:
    found: set[int] = set()
    for chunk in in_chunks(comment_ids):
        found |= set(conn.execute(select(comment_votes.c.comment_id).where(
            comment_votes.c.user_id == user_id,
            comment_votes.c.comment_id.in_(chunk))).scalars())
    return found


def set_vote(conn: Connection, comment_id: int, user_id: int, on: bool, now: datetime
             ) -> None:
    mine = and_(comment_votes.c.comment_id == comment_id, comment_votes.c.user_id == user_id)
    voted = conn.execute(select(func.count()).select_from(comment_votes).where(mine)
                         ).scalar_one() > 0
    if on and not voted:
        conn.execute(insert(comment_votes).values(comment_id=comment_id, user_id=user_id,
                                                  created_at=now))
    elif voted and not on:
        conn.execute(delete(comment_votes).where(mine))
    else:
        return
    bump(conn, "comments")


def votes_of(conn: Connection, comment_id: int) -> int:
    return int(conn.execute(select(func.count()).select_from(comment_votes)
                            .where(comment_votes.c.comment_id == comment_id)).scalar_one())


@built
def _counts_query() -> Any:
    return (select(papers.c.arxiv_id, func.count())
            .join(comments, comments.c.paper_id == papers.c.id)
            .where(papers.c.arxiv_id.in_(ids_param()), public(), comments.c.deleted_at.is_(None))
            .group_by(papers.c.arxiv_id))


def counts(conn: Connection, arxiv_ids: Iterable[str]) -> dict[str, int]:
    """Public, undeleted comments of each paper among ``arxiv_ids`` that has any."""
    found: dict[str, int] = {}
    for chunk in in_chunks(arxiv_ids):
        rows = conn.execute(_counts_query(), {"ids": chunk})
        found.update({a: int(n) for a, n in rows})
    return found


def discussed(conn: Connection, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Papers by their latest public comment, newest first, and how many have any."""
    where = (public(), comments.c.deleted_at.is_(None))
    latest = (select(comments.c.paper_id, func.max(comments.c.created_at).label("last_at"),
                     func.count().label("n")).where(*where)
              .group_by(comments.c.paper_id).subquery())
    rows = conn.execute(select(papers.c.arxiv_id, latest.c.last_at, latest.c.n)
                        .join(latest, latest.c.paper_id == papers.c.id)
                        .order_by(latest.c.last_at.desc(), papers.c.id.desc())
                        .limit(limit).offset(offset))
    total = conn.execute(select(func.count(func.distinct(comments.c.paper_id))).where(*where)
                         ).scalar_one()
    return ([{"arxiv_id": r.arxiv_id, "last_comment_at": r.last_at.isoformat(),
              "comment_count": int(r.n)} for r in rows], int(total))


def author_facts(conn: Connection, user_id: int, body_hash: str, since: datetime
                 ) -> tuple[datetime, int, bool]:
    """When the account was made, how many of its comments were approved (visible), and
    whether it wrote the same text since ``since`` (what the spam rules read)."""
    # One statement, as it is read inside the posting transaction (the writer's lock).
    mine = comments.c.user_id == user_id
    approved = select(func.count()).select_from(comments).where(
        mine, comments.c.status == "visible").scalar_subquery()
    repeated = exists().where(
        mine, comments.c.body_hash == body_hash, comments.c.created_at >= since,
        comments.c.deleted_at.is_(None))
    row = conn.execute(select(users.c.created_at, approved.label("approved"),
                              repeated.label("repeated")).where(users.c.id == user_id)).one()
    return row.created_at, int(row.approved), bool(row.repeated)


def users_named(conn: Connection, names: Sequence[str]) -> list[int]:
    """Accounts whose display name is one of ``names`` (ignoring case), for mentions."""
    if not names:
        return []
    lowered = [n.lower() for n in names]
    return [int(i) for i in conn.execute(select(users.c.id).where(
        func.lower(users.c.display_name).in_(lowered))).scalars()]


def report(conn: Connection, comment_id: int, user_id: int, reason: str, now: datetime
           ) -> bool:
    """Record a report (one per reader and comment; a second keeps the first); True if new."""
    seen = conn.execute(select(comment_reports.c.id).where(
        comment_reports.c.comment_id == comment_id, comment_reports.c.user_id == user_id)
    ).first()
    if seen is not None:
        return False
    conn.execute(insert(comment_reports).values(comment_id=comment_id, user_id=user_id,
                                                reason=reason, created_at=now))
    return True


def resolve_reports(conn: Connection, comment_id: int, now: datetime) -> None:
    conn.execute(update(comment_reports).where(comment_reports.c.comment_id == comment_id,
                                               comment_reports.c.resolved_at.is_(None))
                 .values(resolved_at=now))


def queue(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    """Comments a moderator should look at: held ones, and ones with open reports (with the
    reasons), oldest first."""
    reported = select(comment_reports.c.comment_id).where(comment_reports.c.resolved_at.is_(None))
    query = _query().where(comments.c.deleted_at.is_(None), (comments.c.status == "held")
                           | (comments.c.id.in_(reported) & comments.c.hidden_at.is_(None)))
    found = [_row(r) for r in conn.execute(query.order_by(comments.c.id).limit(limit))]
    reasons: dict[int, list[str]] = {}
    ids = [c["id"] for c in found]
    for chunk in in_chunks(ids):
        for cid, reason in conn.execute(
                select(comment_reports.c.comment_id, comment_reports.c.reason).where(
                    comment_reports.c.comment_id.in_(chunk),
                    comment_reports.c.resolved_at.is_(None)).order_by(comment_reports.c.id)):
            reasons.setdefault(cid, []).append(reason)
    return [{**c, "reports": reasons.get(c["id"], [])} for c in found]


def lock(conn: Connection, paper_id: int, reason: str | None, actor_id: int | None,
         now: datetime) -> None:
    conn.execute(delete(discussion_locks).where(discussion_locks.c.paper_id == paper_id))
    conn.execute(insert(discussion_locks).values(paper_id=paper_id, reason=reason,
                                                 locked_by=actor_id, locked_at=now))
    bump(conn, "comments")


def unlock(conn: Connection, paper_id: int) -> bool:
    gone = conn.execute(delete(discussion_locks).where(discussion_locks.c.paper_id == paper_id))
    bump(conn, "comments")
    return bool(gone.rowcount)


def lock_of(conn: Connection, paper_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(discussion_locks.c.reason, discussion_locks.c.locked_at)
                       .where(discussion_locks.c.paper_id == paper_id)).first()
    return {"reason": row.reason, "locked_at": row.locked_at.isoformat()} if row else None


def recent_for_feed(conn: Connection, paper_id: int, limit: int) -> list[dict[str, Any]]:
    query = (_query().where(comments.c.paper_id == paper_id, public(),
                            comments.c.deleted_at.is_(None))
             .order_by(comments.c.id.desc()).limit(limit))
    return [_row(r) for r in conn.execute(query)]
