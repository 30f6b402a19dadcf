"""Harvest state rows: where each source stopped, read and written by key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from paperwire.models import HarvestState
from paperwire.store.schema import harvest_state


def load_state(conn: Connection, key: str) -> HarvestState | None:
    row = conn.execute(select(harvest_state).where(harvest_state.c.key == key)).first()
    if row is None:
        return None
    return HarvestState(key=row.key, source=row.source, position=row.position,
                        resumption_token=row.resumption_token, datestamp=row.datestamp,
                        params=dict(row.params or {}), done=row.done)


def save_state(conn: Connection, state: HarvestState, now: datetime) -> None:
    values = {"key": state.key, "source": state.source, "position": state.position,
              "resumption_token": state.resumption_token, "datestamp": state.datestamp,
              "params": state.params, "done": state.done, "updated_at": now}
    exists = conn.execute(select(harvest_state.c.key)
                          .where(harvest_state.c.key == state.key)).first()
    if exists:
        conn.execute(update(harvest_state).where(harvest_state.c.key == state.key)
                     .values(values))
        return
    stmt = (postgresql.insert(harvest_state) if conn.dialect.name == "postgresql"
            else sqlite.insert(harvest_state))
    conn.execute(stmt.values(values).on_conflict_do_nothing())


def list_states(conn: Connection) -> list[HarvestState]:
    keys = conn.execute(select(harvest_state.c.key).order_by(harvest_state.c.key)).scalars()
    return [s for s in (load_state(conn, k) for k in list(keys)) if s is not None]


def forget_state(conn: Connection, key: str) -> None:
    conn.execute(delete(harvest_state).where(harvest_state.c.key == key))
