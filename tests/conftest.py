"""Shared fixtures: a fresh database on each backend (SQLite, PostgreSQL) and a Store on it.

PostgreSQL is a real server the session starts itself (see pg.py), or an existing one named
by PAPERWIRE_TEST_POSTGRES_URL (a superuser URL; each test gets its own database on it).
Without one the PostgreSQL tests skip, saying why; PAPERWIRE_TEST_REQUIRE_POSTGRES=1 (CI)
makes that an error instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from paperwire.store import Store
from tests import pg

_PG_SUMMARY = pytest.StashKey[str]()


@pytest.fixture(scope="session")
def postgres_admin_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A superuser URL to a PostgreSQL server that lives for the whole session."""
    existing = os.environ.get("PAPERWIRE_TEST_POSTGRES_URL")
    if existing:
        request.config.stash[_PG_SUMMARY] = "postgresql: PAPERWIRE_TEST_POSTGRES_URL"
        yield existing
        return
    try:
        import psycopg  # noqa: F401  (the driver the store's URLs name)

        server = pg.start()
    except (ImportError, pg.PostgresUnavailable) as exc:
        message = f"PostgreSQL tests need a server and none could be started: {exc}"
        if os.environ.get("PAPERWIRE_TEST_REQUIRE_POSTGRES"):
            pytest.fail(message)
        pytest.skip(message)
    request.config.stash[_PG_SUMMARY] = (
        f"postgresql: {server.version} from {server.bindir} on 127.0.0.1:{server.port}"
        f"{f' as {server.os_user}' if server.os_user else ''}, started in "
        f"{server.startup_seconds:.2f}s")
    try:
        yield server.url()
    finally:
        server.stop()


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextmanager
def _fresh_database(request: pytest.FixtureRequest, backend: str, folder: Path) -> Iterator[str]:
    """A URL to a new, empty database, dropped afterwards: a SQLite file in ``folder``, or a
    database of its own on the session's PostgreSQL server."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'paperwire.db'}"
        return
    import psycopg
    from psycopg import sql

    admin = make_url(request.getfixturevalue("postgres_admin_url"))
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"paperwire_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield admin.set(drivername="postgresql+psycopg", database=name).render_as_string(
            hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                         .format(sql.Identifier(name)))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to a new, empty database: a SQLite file, or a database on the session's server."""
    with _fresh_database(request, request.param, tmp_path) as url:
        yield url


@pytest.fixture(scope="module", params=BACKENDS)
def module_database_url(request: pytest.FixtureRequest,
                        tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """As ``database_url``, shared by a module's tests: for a corpus too slow to load per test."""
    with _fresh_database(request, request.param, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    with Store.from_url(database_url) as opened:
        yield opened


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    line = config.stash.get(_PG_SUMMARY, None)
    if line:
        terminalreporter.write_line(line)


@pytest.fixture
def sleep() -> Any:
    """A sleep that records the waits a client asked for instead of waiting (network tests)."""
    from tests.replay_server import RecordingSleep

    return RecordingSleep()


@pytest.fixture(scope="session")
def onnx_embedder() -> Any:
    """The default (int8 ONNX) embedder on 2 threads, loaded once for every test that
    embeds; skipped with the missing packages named where it is not installed."""
    from paperwire.index.embedder import load_embedder, missing_packages

    if missing_packages("onnx-int8"):
        pytest.skip(f"default embedder not installed: {missing_packages('onnx-int8')}")
    return load_embedder("onnx-int8", threads=2)
