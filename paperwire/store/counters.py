"""Change counters: one row per kind of change, bumped in the writing transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select, update

from paperwire.store.schema import change_counters


def bump(conn: Connection, name: str) -> None:
    """Add one to ``name`` inside the caller's write transaction (the writer lock makes the
    update-or-insert safe against another writer)."""
    done = conn.execute(update(change_counters).where(change_counters.c.name == name)
                        .values(value=change_counters.c.value + 1))
    if not done.rowcount:
        conn.execute(change_counters.insert().values(name=name, value=1))


def counter(name: str) -> Any:
    """The counter's value as a scalar subquery (0 before the first change)."""
    return func.coalesce(select(change_counters.c.value)
                         .where(change_counters.c.name == name).scalar_subquery(), 0)
