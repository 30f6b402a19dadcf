"""The outbox table: every message the site composed, with whether it was handed to SMTP."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy import Connection, select

from paperwire.store.schema import outbox


def record_mail(conn: Connection, message: EmailMessage, kind: str, now: datetime,
                sent: bool) -> None:
    """Insert the message, or (same Message-ID again) mark it sent: a retry is one row."""
    message_id = str(message["Message-ID"])
    existing = conn.execute(select(outbox.c.id).where(outbox.c.message_id == message_id)
                            ).scalar_one_or_none()
    if existing is not None:
        if sent:
            conn.execute(outbox.update().where(outbox.c.id == existing).values(sent_at=now))
        return
    conn.execute(outbox.insert().values(
        message_id=message_id, to_addr=str(message["To"]).lower(),
        subject=str(message["Subject"]), kind=kind, message=message.as_string(),
        created_at=now, sent_at=now if sent else None))


def outbox_messages(conn: Connection, to: str | None = None, kind: str | None = None,
                    limit: int = 50) -> list[dict[str, Any]]:
    """Newest first; each with id, message_id, to, subject, kind, message, created/sent."""
    query = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
    if to is not None:
        query = query.where(outbox.c.to_addr == to.lower())
    if kind is not None:
        query = query.where(outbox.c.kind == kind)
    return [dict(row._mapping) for row in conn.execute(query)]
