"""Throttle attempts in the database: one row per attempt under a key (the policy is in
paperwire/throttle.py)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, select

from paperwire.store.schema import throttle_attempts as attempts

KEEP = timedelta(days=1)  # no window is longer, so older rows are never counted again
MAX_KEY = 400


def record(conn: Connection, key: str, now: datetime) -> int:
    """Add one attempt under ``key``; its row id."""
    conn.execute(delete(attempts).where(attempts.c.attempted_at < now - KEEP))
    return int(conn.execute(attempts.insert().values(key=key[:MAX_KEY], attempted_at=now)
                            .returning(attempts.c.id)).scalar_one())


def count(conn: Connection, key: str, since: datetime) -> tuple[int, datetime | None]:
    """How many attempts under ``key`` since then, and the oldest of them."""
    row = conn.execute(select(func.count(), func.min(attempts.c.attempted_at))
                       .where(attempts.c.key == key[:MAX_KEY],
                              attempts.c.attempted_at >= since)).one()
    return int(row[0]), row[1]


def release(conn: Connection, ids: Collection[int]) -> None:
    if ids:
        conn.execute(delete(attempts).where(attempts.c.id.in_(list(ids))))


def clear(conn: Connection, key: str) -> None:
    conn.execute(delete(attempts).where(attempts.c.key == key[:MAX_KEY]))
