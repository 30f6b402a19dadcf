"""SQL of notifications: who hears of a new comment, readers' choices, pending notices, and
taking a reader's notices into one mail (with its outbox row) in one transaction.

A new comment's transaction queues its notices (``queue``: one row in the jobs table, of
kind ``notices``); the notice pass writes them (``fan_out``, many comments in one
transaction that also removes their rows, so a crash leaves them queued and a rerun writes
each once), dated when the comment was, for each reader it concerns whose choice (or the
default) lets that kind through; the choice is read again when the mail is composed, so
turning a kind off stops what is still pending too. An edit's new mentions are written in
the edit's own transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from paperwire.models import NOTICE_DEFAULTS, NOTICE_KINDS
from paperwire.store import outbox as _outbox
from paperwire.store.author_schema import author_claims, paper_authors
from paperwire.store.comment_schema import comments
from paperwire.store.database import utcnow
from paperwire.store.library_schema import collection_items, collections
from paperwire.store.notice_schema import notice_batches, notice_prefs, notices
from paperwire.store.papers import in_chunks
from paperwire.store.schema import hidden_papers, jobs, papers, users, votes

PENDING, SENT, DROPPED = "pending", "sent", "dropped"
# A comment's notices still to write, in the jobs table: never "queued", so the job runner
# (jobs.claim_due) leaves them to the notice pass.
NOTICE_JOB = "notices"


def readers_who_saved(conn: Connection, paper_id: int) -> list[int]:
    """Readers who keep the paper in one of their own collections (not a deleted one)."""
    return list(conn.execute(
        select(collections.c.owner_id).distinct()
        .join(collection_items, collection_items.c.collection_id == collections.c.id)
        .where(collection_items.c.paper_id == paper_id, collections.c.deleted_at.is_(None))
    ).scalars())


def _voters(conn: Connection, paper_id: int) -> list[int]:
    return list(conn.execute(select(votes.c.user_id).where(votes.c.paper_id == paper_id)
                             ).scalars())


def _claimed_authors(conn: Connection, paper_id: int) -> list[int]:
    """Accounts with a confirmed claim to one of the paper's authors."""
    return list(conn.execute(
        select(author_claims.c.user_id).distinct()
        .join(paper_authors, paper_authors.c.author_id == author_claims.c.author_id)
        .where(paper_authors.c.paper_id == paper_id, author_claims.c.status == "confirmed")
    ).scalars())


def authors_of_paper(conn: Connection, paper_id: int) -> set[int]:
    """The accounts that wear a paper's "author" badge (what the discussion shows)."""
    return set(_claimed_authors(conn, paper_id))


def _wanted(conn: Connection, candidates: dict[str, set[int]]) -> dict[str, set[int]]:
    """``candidates`` less those whose choice (else the default) turns the kind off."""
    everyone = set().union(*candidates.values())
    chosen: dict[tuple[int, str], bool] = {}
    for chunk in in_chunks(sorted(everyone)):
        for user_id, kind, enabled in conn.execute(
                select(notice_prefs.c.user_id, notice_prefs.c.kind, notice_prefs.c.enabled)
                .where(notice_prefs.c.user_id.in_(chunk))):
            chosen[(user_id, kind)] = bool(enabled)
    return {kind: {u for u in ids if chosen.get((u, kind), NOTICE_DEFAULTS[kind])}
            for kind, ids in candidates.items()}


Audience = dict[str, set[int]]  # kind -> accounts, of a paper: authored, saved, voted


def _audience(conn: Connection, paper_id: int) -> Audience:
    return {"authored": set(_claimed_authors(conn, paper_id)),
            "saved": set(readers_who_saved(conn, paper_id)),
            "voted": set(_voters(conn, paper_id))}


def record(conn: Connection, comment_id: int, paper_id: int, author_id: int,
           reply_to: Sequence[int], mentioned: Iterable[int], now: datetime, *,
           mentions_only: bool = False, audience: Audience | None = None) -> int:
    """Write the notices of a comment (an edit's new mentions only, with
    ``mentions_only``; ``audience``: the paper's, when read already); the commenter hears
    nothing of their own comment. How many."""
    candidates: dict[str, set[int]] = {"mention": set(mentioned)}
    if not mentions_only:
        candidates["reply"] = set(conn.execute(select(comments.c.user_id).where(
            comments.c.id.in_(list(reply_to)))).scalars()) if reply_to else set()
        for kind, ids in (audience or _audience(conn, paper_id)).items():
            candidates[kind] = set(ids)
    for ids in candidates.values():
        ids.discard(author_id)
    seen = {(r.user_id, r.kind) for r in conn.execute(
        select(notices.c.user_id, notices.c.kind).where(notices.c.comment_id == comment_id))}
    rows = [{"user_id": u, "comment_id": comment_id, "kind": kind, "state": PENDING,
             "created_at": now}
            for kind, ids in _wanted(conn, candidates).items() for u in sorted(ids)
            if (u, kind) not in seen]
    if rows:
        conn.execute(insert(notices), rows)
    return len(rows)


def queue(conn: Connection, comment_id: int, paper_id: int, author_id: int,
          reply_to: Sequence[int], mentioned: Iterable[int], now: datetime) -> None:
    """Queue the notices of a new comment for ``fan_out``: one statement."""
    conn.execute(insert(jobs).values(
        kind=NOTICE_JOB, key=str(comment_id), user_id=None, status=PENDING, attempts=0,
        next_attempt_at=now, created_at=now, payload={
            "comment_id": comment_id, "paper_id": paper_id, "author_id": author_id,
            "reply_to": sorted(set(reply_to)), "mentioned": sorted(set(mentioned))}))


def fan_out(conn: Connection, limit: int) -> int:
    """Write the notices of up to ``limit`` queued comments, oldest first, and drop them
    from the queue; how many comments. A paper's audience is read once per batch."""
    queued = conn.execute(
        select(jobs.c.id, jobs.c.payload, jobs.c.created_at)
        .where(jobs.c.status == PENDING, jobs.c.kind == NOTICE_JOB)
        .order_by(jobs.c.id).limit(limit)).all()
    audiences: dict[int, Audience] = {}
    # A comment gone since (none is removed today) must not stop the rest of the queue.
    present = set(conn.execute(select(comments.c.id).where(comments.c.id.in_(
        [int(r.payload["comment_id"]) for r in queued]))).scalars()) if queued else set()
    for row in queued:
        p = row.payload
        if int(p["comment_id"]) not in present:
            continue
        paper_id = int(p["paper_id"])
        if paper_id not in audiences:
            audiences[paper_id] = _audience(conn, paper_id)
        record(conn, int(p["comment_id"]), paper_id, int(p["author_id"]), p["reply_to"],
               p["mentioned"], row.created_at, audience=audiences[paper_id])
    if queued:
        conn.execute(delete(jobs).where(jobs.c.id.in_([r.id for r in queued])))
    return len(queued)


def prefs(conn: Connection, user_id: int) -> dict[str, bool]:
    """The reader's choice of each kind, defaults filled in, in NOTICE_KINDS order."""
    chosen = {r.kind: r.enabled for r in conn.execute(
        select(notice_prefs.c.kind, notice_prefs.c.enabled)
        .where(notice_prefs.c.user_id == user_id))}
    return {k: bool(chosen.get(k, NOTICE_DEFAULTS[k])) for k in NOTICE_KINDS}


def set_prefs(conn: Connection, user_id: int, changes: Mapping[str, bool]) -> None:
    # A choice counts from when it is made: the comments queued before it are written
    # first, under the choices they were posted under.
    while fan_out(conn, 500):
        pass
    for kind, enabled in changes.items():
        done = conn.execute(update(notice_prefs).where(
            notice_prefs.c.user_id == user_id, notice_prefs.c.kind == kind
        ).values(enabled=enabled))
        if not done.rowcount:
            conn.execute(insert(notice_prefs).values(user_id=user_id, kind=kind,
                                                     enabled=enabled))


def _not_waiting() -> Any:
    """Notices a mail can settle now: on a comment that no longer waits for approval (or
    that a moderator hid while it waited)."""
    return or_(comments.c.status != "held", comments.c.hidden_at.is_not(None))


def due_readers(conn: Connection, ready_before: datetime, quiet_since: datetime,
                limit: int) -> list[int]:
    """Readers with a notice older than ``ready_before`` and no notice mail since
    ``quiet_since`` (at most one mail per interval)."""
    recent = select(notice_batches.c.user_id).where(notice_batches.c.created_at > quiet_since)
    query = (select(notices.c.user_id).distinct()
             .join(comments, comments.c.id == notices.c.comment_id)
             .where(notices.c.state == PENDING, notices.c.created_at <= ready_before,
                    _not_waiting(), notices.c.user_id.not_in(recent))
             .order_by(notices.c.user_id).limit(limit))
    return list(conn.execute(query).scalars())


def pending_for(conn: Connection, user_id: int, ready_before: datetime
                ) -> list[dict[str, Any]]:
    """The reader's settleable notices, oldest first, each with its comment (and whether it
    or its paper is hidden, held or deleted), the comment's author and the paper."""
    hidden = select(hidden_papers.c.paper_id).where(hidden_papers.c.paper_id == papers.c.id)
    query = (select(notices.c.id, notices.c.kind, notices.c.comment_id, comments.c.parent_id,
                    comments.c.body, comments.c.html, comments.c.status,
                    comments.c.created_at, (comments.c.hidden_at.is_not(None)).label("hidden"),
                    (comments.c.deleted_at.is_not(None)).label("deleted"),
                    hidden.exists().label("paper_hidden"), papers.c.arxiv_id, papers.c.title,
                    users.c.display_name.label("author"))
             .join(comments, comments.c.id == notices.c.comment_id)
             .join(papers, papers.c.id == comments.c.paper_id)
             .join(users, users.c.id == comments.c.user_id)
             .where(notices.c.user_id == user_id, notices.c.state == PENDING,
                    notices.c.created_at <= ready_before, _not_waiting())
             .order_by(notices.c.id))
    return [dict(r._mapping) for r in conn.execute(query)]


def reader(conn: Connection, user_id: int) -> dict[str, Any] | None:
    """Where a reader's notices go, and whether they may get any (verified, not disabled)."""
    row = conn.execute(select(users.c.email, users.c.display_name,
                              users.c.email_verified_at, users.c.disabled_at)
                       .where(users.c.id == user_id)).first()
    if row is None:
        return None
    return {"email": row.email, "display_name": row.display_name,
            "active": row.email_verified_at is not None and row.disabled_at is None}


def drop(conn: Connection, ids: Sequence[int]) -> None:
    for chunk in in_chunks(ids):
        conn.execute(update(notices).where(notices.c.id.in_(chunk),
                                           notices.c.state == PENDING).values(state=DROPPED))


def take(conn: Connection, user_id: int, sent: Sequence[int], dropped: Sequence[int],
         message: EmailMessage, now: datetime, quiet_since: datetime) -> int | None:
    """Settle the reader's notices into ``message``, queued in the outbox: the batch id,
    or None (and nothing changed: the caller's transaction must roll back) when another
    sender took any of them, or mailed this reader since ``quiet_since``, meanwhile."""
    recent = conn.execute(select(func.count()).select_from(notice_batches).where(
        notice_batches.c.user_id == user_id, notice_batches.c.created_at > quiet_since)
    ).scalar_one()
    if recent:
        return None
    batch_id = int(conn.execute(insert(notice_batches).values(
        user_id=user_id, message_id=str(message["Message-ID"]), notices=len(sent),
        created_at=now).returning(notice_batches.c.id)).scalar_one())
    taken = 0
    for chunk in in_chunks(sent):
        taken += conn.execute(update(notices).where(
            and_(notices.c.id.in_(chunk), notices.c.state == PENDING,
                 notices.c.user_id == user_id)).values(state=SENT, batch_id=batch_id)).rowcount
    if taken != len(sent):
        return None
    drop(conn, dropped)
    # Due for delivery now by the clock the senders read (``now`` is the batching clock).
    _outbox.record_mail(conn, message, "notice", utcnow(), _outbox.QUEUED)
    return batch_id


def counts(conn: Connection, user_id: int | None = None) -> dict[str, int]:
    """How many notices are in each state (of one reader, or of all)."""
    query = select(notices.c.state, func.count()).group_by(notices.c.state)
    if user_id is not None:
        query = query.where(notices.c.user_id == user_id)
    return {state: int(n) for state, n in conn.execute(query)}
