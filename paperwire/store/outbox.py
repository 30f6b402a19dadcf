"""The outbox table: every message the site composed, and its delivery queue.

A row is ``queued`` when composed, ``sending`` while a sender holds it, then ``sent`` or
``failed``; ``kept`` rows are records that no sender delivers. Senders claim a row by
compare-and-set on ``attempts`` (every claim raises it by one), so of two senders reading the
same row — two threads, processes or hosts, on SQLite or PostgreSQL — only one update
matches; the loser moves on. A claim older than ``stale_after`` is taken over: its sender is
presumed dead. Marking checks the claim's ``attempts`` too, so a sender whose claim was taken
over cannot overwrite the new owner's outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from paperwire.store.schema import outbox

QUEUED, SENDING, SENT, FAILED, KEPT = "queued", "sending", "sent", "failed", "kept"


@dataclass(frozen=True)
class Claimed:
    """A queued message this sender now holds (``attempts`` counts this try)."""

    id: int
    message_id: str
    kind: str
    message: str
    attempts: int
    created_at: datetime


def record_mail(conn: Connection, message: EmailMessage, kind: str, now: datetime,
                status: str, note: str | None = None) -> int:
    """Insert the message with ``status``; the same Message-ID again is the same row (its
    status is left alone unless it becomes ``sent``)."""
    message_id = str(message["Message-ID"])
    existing = conn.execute(select(outbox.c.id).where(outbox.c.message_id == message_id)
                            ).scalar_one_or_none()
    if existing is not None:
        if status == SENT:
            conn.execute(outbox.update().where(outbox.c.id == existing)
                         .values(status=SENT, sent_at=now))
        return int(existing)
    return int(conn.execute(outbox.insert().values(
        message_id=message_id, to_addr=str(message["To"]).lower(),
        subject=str(message["Subject"]), kind=kind, message=message.as_string(),
        created_at=now, sent_at=now if status == SENT else None, status=status,
        attempts=0, next_attempt_at=now if status == QUEUED else None, last_error=note,
    ).returning(outbox.c.id)).scalar_one())


def _due(now: datetime, stale_after: timedelta) -> Any:
    return or_(and_(outbox.c.status == QUEUED, outbox.c.next_attempt_at <= now),
               and_(outbox.c.status == SENDING, outbox.c.claimed_at < now - stale_after))


def claim_due(conn: Connection, now: datetime, stale_after: timedelta, limit: int
              ) -> list[Claimed]:
    """Claim up to ``limit`` due messages (queued and due, or held by a stale claim)."""
    seen = conn.execute(select(outbox.c.id, outbox.c.attempts, outbox.c.status)
                        .where(_due(now, stale_after)).order_by(outbox.c.id).limit(limit)).all()
    claimed = []
    for row in seen:
        won = conn.execute(outbox.update().where(
            outbox.c.id == row.id, outbox.c.attempts == row.attempts,
            outbox.c.status == row.status,
        ).values(status=SENDING, claimed_at=now, attempts=row.attempts + 1)).rowcount
        if won == 1:
            full = conn.execute(select(outbox).where(outbox.c.id == row.id)).one()
            claimed.append(Claimed(full.id, full.message_id, full.kind, full.message,
                                   full.attempts, full.created_at))
    return claimed


def mark(conn: Connection, claim: Claimed, status: str, now: datetime, *,
         error: str | None = None, retry_at: datetime | None = None) -> bool:
    """Settle a claimed message: sent, failed, or (with ``retry_at``) queued again. False
    when the claim was taken over meanwhile (the new holder settles it)."""
    values: dict[str, Any] = {"status": status, "last_error": error, "claimed_at": None,
                              "next_attempt_at": retry_at}
    if status == SENT:
        values["sent_at"] = now
    return conn.execute(outbox.update().where(
        outbox.c.id == claim.id, outbox.c.status == SENDING,
        outbox.c.attempts == claim.attempts).values(**values)).rowcount == 1


def outbox_messages(conn: Connection, to: str | None = None, kind: str | None = None,
                    limit: int = 50, status: str | None = None) -> list[dict[str, Any]]:
    """Newest first; each with id, message_id, to, subject, kind, message, status, …"""
    query = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
    if to is not None:
        query = query.where(outbox.c.to_addr == to.lower())
    if kind is not None:
        query = query.where(outbox.c.kind == kind)
    if status is not None:
        query = query.where(outbox.c.status == status)
    return [dict(row._mapping) for row in conn.execute(query)]


def queue_counts(conn: Connection) -> dict[str, int]:
    """How many messages are in each status."""
    rows = conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status))
    return {status: int(n) for status, n in rows}
