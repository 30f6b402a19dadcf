"""Opening the database: engine creation, SQLite pragmas, and applying migrations."""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import threading
import weakref
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
# One per SQLite engine: writers of one process queue here (see write_transaction).
_WRITERS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()


def create_store_engine(url: str) -> Engine:
    """An engine for ``url`` with the settings paperwire relies on (WAL, foreign keys)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"bad database URL {url!r}: {exc}") from None
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            # Only the default home is created (Store.open); a directory named in a URL
            # that does not exist is far more often a typo than a wish.
            folder = Path(parsed.database).parent
            if not folder.is_dir():
                raise StoreError(f"cannot open the SQLite database {parsed.database}: the "
                                 f"directory {folder} does not exist (create it first)")
            _create_private(Path(parsed.database))
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
        _WRITERS[engine] = threading.RLock()
    return engine


def _create_private(path: Path) -> None:
    # It holds password hashes: owner-only from the first byte. SQLite gives its -wal and
    # -shm files the database file's mode, so they are owner-only too.
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def tighten_permissions(engine: Engine) -> list[Path]:
    """Make a SQLite database and its -wal/-shm files owner-only; the files it changed."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    changed = []
    if database and database != ":memory:":
        for path in (Path(database), Path(f"{database}-wal"), Path(f"{database}-shm")):
            try:
                mode = stat.S_IMODE(path.stat().st_mode)
            except FileNotFoundError:
                continue
            if mode & 0o077:
                path.chmod(mode & 0o700)
                changed.append(path)
    return changed


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
    # On SQLite, the threads of one process take turns at a lock of their own first: one
    # waiting in BEGIN IMMEDIATE sleeps in SQLite's busy handler, 25-100 ms at a time once
    # it has waited a little, however soon the writer before it commits (a web worker
    # taking comments from many clients spent most of its time asleep there). Another
    # process's writers still wait in the busy handler.
    with _WRITERS.get(engine) or contextlib.nullcontext(), engine.connect() as conn:
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


def _known_revisions() -> set[str]:
    return {script.revision for script in
            ScriptDirectory.from_config(_alembic_config()).walk_revisions()}


def migrate(engine: Engine) -> None:
    """Bring the schema up to the newest migration (a no-op when it already is)."""
    try:
        found = current_revision(engine)
        if found == head_revision():
            return
        if found is not None and found not in _known_revisions():
            # Written by a newer paperwire (or a branch never released): upgrading over it
            # would fail half-way inside alembic; say what to do instead.
            raise StoreError(
                f"the database is at schema revision {found}, which this paperwire "
                f"({head_revision()} is the newest it knows) does not have: run the "
                "paperwire version that wrote it, or a newer one")
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
    with _locked_file(path, name):
        yield


@contextmanager
def _locked_file(path: Path, name: str) -> Iterator[None]:
    # The file is removed by its holder on the way out, so none are left behind. Another
    # process may have opened it just before: once locked, it checks that the path still
    # names the file it holds, and starts over on a fresh one if not.
    while True:
        with open(path, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise Busy(f"{name} is already running in another process") from None
            try:
                current = os.stat(path).st_ino
            except FileNotFoundError:
                current = None
            if current != os.fstat(handle.fileno()).st_ino:
                continue  # the holder removed it as we opened it: lock the new one
            try:
                yield
            finally:
                path.unlink(missing_ok=True)
            return


def utcnow() -> datetime:
    """Naive UTC, which both backends store the same way."""
    return datetime.now(UTC).replace(tzinfo=None)


def next_stamp(conn: Connection, column: Any) -> datetime:
    """Now, or just after the newest stamp already written: taken under the writer lock, so
    stamps strictly increase in commit order and "everything after stamp X" is exact."""
    now = utcnow()
    newest = conn.execute(select(func.max(column))).scalar_one()
    return max(now, newest + timedelta(microseconds=1)) if newest else now
