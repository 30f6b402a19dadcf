"""Opening the database: engine creation, SQLite pragmas, and applying migrations."""

from __future__ import annotations

import fcntl
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from paperwire.errors import Busy, StoreError

MIGRATIONS = Path(__file__).parent / "migrations"
# Key of the PostgreSQL advisory lock that writers hold; any constant will do ("paper").
_WRITE_LOCK = 0x7061706572
_SQLITE_BEGIN = "paperwire_sqlite_begin"  # execution option: the BEGIN statement to emit


def create_store_engine(url: str) -> Engine:
    """An engine for ``url`` with the settings paperwire relies on (WAL, foreign keys)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"bad database URL {url!r}: {exc}") from None
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # Writers wait on each other instead of failing with "database is locked".
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        hint = " (install paperwire[postgres])" if "postgres" in parsed.drivername else ""
        raise StoreError(f"cannot open {parsed.drivername} database: {exc}{hint}") from None
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # sqlite3 on its own begins a transaction only at the first INSERT/UPDATE/DELETE, so a
    # batch's SELECTs ran outside it and DDL was never transactional; _sqlite_begin takes over.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers (the web app) read while the worker writes; NORMAL sync is durable at
    # checkpoints and safe against corruption, which is what an ingest batch needs.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql(conn.get_execution_options().get(_SQLITE_BEGIN, "BEGIN"))


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction holding the database's single writer lock from its first statement.

    Writers read before they write (the upsert compares versions, migrations check the
    revision), so two must not interleave: a second writer waits here for the first to
    commit, then reads what it wrote. Readers are never blocked (WAL on SQLite, MVCC on
    PostgreSQL).
    """
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.execution_options(**{_SQLITE_BEGIN: "BEGIN IMMEDIATE"})
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(select(func.pg_advisory_xact_lock(_WRITE_LOCK)))
            yield conn


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine) -> None:
    """Bring the schema up to the newest migration (a no-op when it already is)."""
    try:
        if current_revision(engine) == head_revision():
            return
        with write_transaction(engine) as connection:
            # Processes started together (web + worker) wait here; the first one migrates.
            if MigrationContext.configure(connection).get_current_revision() == head_revision():
                return
            config = _alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except OperationalError as exc:
        raise StoreError(f"cannot open or migrate the database: {exc.orig}") from None


@contextmanager
def exclusive(engine: Engine, name: str) -> Iterator[None]:
    """Hold the lock ``name`` for the block, or raise Busy at once if another process holds it.

    The lock dies with its holder (a PostgreSQL session advisory lock on a connection kept for
    the block; an flock on a file beside the SQLite database), so a killed job never leaves a
    stale lock behind and its rerun can start straight away.
    """
    if engine.dialect.name == "postgresql":
        key = zlib.crc32(f"paperwire:{name}".encode())
        with engine.connect() as conn:
            if not conn.execute(select(func.pg_try_advisory_lock(key))).scalar_one():
                raise Busy(f"{name} is already running in another process")
            conn.commit()
            try:
                yield
            finally:
                conn.execute(select(func.pg_advisory_unlock(key)))
                conn.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield  # one process only
        return
    path = Path(f"{database}.{name.replace(':', '-').replace('/', '-')}.lock")
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(f"{name} is already running in another process") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def utcnow() -> datetime:
    """Naive UTC, which both backends store the same way."""
    return datetime.now(UTC).replace(tzinfo=None)


def next_stamp(conn: Connection, column: Any) -> datetime:
    """Now, or just after the newest stamp already written: taken under the writer lock, so
    stamps strictly increase in commit order and "everything after stamp X" is exact."""
    now = utcnow()
    newest = conn.execute(select(func.max(column))).scalar_one()
    return max(now, newest + timedelta(microseconds=1)) if newest else now
