"""A throwaway PostgreSQL server for the test session: initdb in a temp dir, serve on loopback.

The binaries come from the ``pgserver`` wheel (PostgreSQL 16 with pgvector, installed with
the ``test`` extra) or, failing that, from Debian's ``postgresql`` package. PostgreSQL refuses
to run as root, so as root the server runs as ``nobody`` (override with
PAPERWIRE_TEST_PG_OS_USER). A pgserver install that user cannot reach (a checkout in a
mode-0700 folder, as ``mktemp -d`` makes) is copied once to a temp folder it can reach, so
the tests keep pgvector instead of falling back to a server without it; any other bin
directory that user cannot reach is passed over for the next.
PAPERWIRE_TEST_PG_BINDIR names a bin directory to use instead of looking.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

SUPERUSER = "postgres"
# Durability buys nothing for a server that is deleted after the run, and costs seconds.
_FAST = ("-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
         "-c max_connections=50")


class PostgresUnavailable(RuntimeError):
    """No usable PostgreSQL; ``str()`` says what was tried and why each failed."""


@dataclass
class PostgresServer:
    bindir: Path
    root: Path  # temp dir: data/ and the log
    port: int
    os_user: str | None  # None: runs as the current user
    startup_seconds: float = 0.0

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    @property
    def version(self) -> str:
        return (self.root / "data" / "PG_VERSION").read_text().strip()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        pg_ctl = [str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-w"]
        try:
            # "fast" disconnects clients and shuts down cleanly; "immediate" if that stalls.
            for mode in ("fast", "immediate"):
                with contextlib.suppress(subprocess.TimeoutExpired):
                    if _run(self, [*pg_ctl, "-t", "20", "-m", mode, "stop"],
                            timeout=30).returncode == 0:
                        break
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start() -> PostgresServer:
    """Start a fresh server, trying each candidate bin directory until one works."""
    reasons = []
    for bindir in candidate_bindirs():
        try:
            return _start(bindir)
        except PostgresUnavailable as exc:
            reasons.append(f"{bindir}: {exc}")
    if not reasons:
        reasons.append("no PostgreSQL binaries found (pip install -e '.[test]' for pgserver, "
                       "or apt-get install postgresql)")
    raise PostgresUnavailable("; ".join(reasons))


def candidate_bindirs() -> list[Path]:
    if os.environ.get("PAPERWIRE_TEST_PG_BINDIR"):
        return [Path(os.environ["PAPERWIRE_TEST_PG_BINDIR"])]
    found = []
    spec = find_spec("pgserver")  # located, not imported: importing it has side effects
    if spec and spec.submodule_search_locations:
        bindir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
        if _os_user() is not None and bindir.is_dir() and not _reachable(bindir):
            with contextlib.suppress(OSError):
                bindir = _reachable_copy(bindir.parent) / "bin"
        found.append(bindir)
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        found += sorted(debian.glob("*/bin"), key=lambda p: _major(p.parent.name), reverse=True)
    return [d for d in found if (d / "postgres").is_file()]


def _reachable(path: Path) -> bool:
    """Whether users other than its owner can reach ``path``: every folder on the way is
    searchable by others."""
    try:
        return all(folder.stat().st_mode & stat.S_IXOTH for folder in [path, *path.parents])
    except OSError:
        return False


def _reachable_copy(install: Path) -> Path:
    """``install`` (pgserver's relocatable PostgreSQL) copied where any user can reach it,
    once per install: later sessions reuse the copy. Its binaries find their libraries by a
    relative rpath (``$ORIGIN/../../../pgserver.libs``), so the wheel's layout is kept:
    ``<copy>/pgserver/pginstall`` beside ``<copy>/pgserver.libs``."""
    site = install.parent.parent  # site-packages: pgserver/ and pgserver.libs/
    key = hashlib.sha256(str(install.resolve()).encode()).hexdigest()[:12]
    target = Path(tempfile.gettempdir()) / f"paperwire-pginstall-{key}"
    copied = target / "pgserver" / "pginstall"
    if (copied / "bin" / "postgres").is_file():
        return copied
    staging = Path(tempfile.mkdtemp(prefix="paperwire-pginstall-"))
    try:
        staging.chmod(0o755)
        shutil.copytree(install, staging / "pgserver" / "pginstall", symlinks=True)
        if (site / "pgserver.libs").is_dir():
            shutil.copytree(site / "pgserver.libs", staging / "pgserver.libs", symlinks=True)
        for folder in (staging / "pgserver", staging):
            folder.chmod(0o755)
        try:
            staging.rename(target)  # atomic: a concurrent copy may have won
        except OSError:
            if not (copied / "bin" / "postgres").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return copied


def _major(name: str) -> int:
    return int(name) if name.isdigit() else 0


def _os_user() -> str | None:
    if os.geteuid() != 0:
        return None
    return os.environ.get("PAPERWIRE_TEST_PG_OS_USER", "nobody")


def _start(bindir: Path) -> PostgresServer:
    began = time.monotonic()
    os_user = _os_user()
    root = Path(tempfile.mkdtemp(prefix="paperwire-pg-"))
    server = PostgresServer(bindir=bindir, root=root, port=0, os_user=os_user)
    try:
        if os_user is not None:
            entry = pwd.getpwnam(os_user)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        initdb = _run(server, [str(bindir / "initdb"), "-D", str(root / "data"), "-U",
                               SUPERUSER, "--auth=trust", "--encoding=UTF8", "--locale=C",
                               "--no-sync", "--no-instructions"], timeout=120)
        if initdb.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {initdb.stdout.strip()}")
        for _attempt in range(3):  # another process may take the port between pick and bind
            server.port = _free_port()
            started = _run(server, [str(bindir / "pg_ctl"), "-D", str(root / "data"),
                                    "-l", str(server.log), "-w", "-t", "60", "-o",
                                    f"-c listen_addresses=127.0.0.1 -p {server.port} "
                                    f"-c unix_socket_directories='' {_FAST}", "start"],
                           timeout=90)
            if started.returncode == 0:
                server.startup_seconds = time.monotonic() - began
                return server
            if "Address already in use" not in _tail(server.log):
                break
        raise PostgresUnavailable(f"pg_ctl start failed: {started.stdout.strip()}\n"
                                  f"{_tail(server.log)}")
    except (OSError, KeyError, subprocess.SubprocessError) as exc:
        _discard(server)
        hint = (f" (PostgreSQL runs as {os_user!r} here, which needs to reach {bindir})"
                if os_user and isinstance(exc, PermissionError) else "")
        raise PostgresUnavailable(f"{type(exc).__name__}: {exc}{hint}") from None
    except PostgresUnavailable:
        _discard(server)
        raise


def _discard(server: PostgresServer) -> None:
    """Stop whatever a failed start left running (pg_ctl may time out after starting it)."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        server.stop()
    shutil.rmtree(server.root, ignore_errors=True)


def _run(server: PostgresServer, args: list[str], *, timeout: float
         ) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL program as the server's OS user; output in ``stdout``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    user = server.os_user
    # Output goes to a file, not a pipe: the daemonised postmaster would hold a pipe open.
    with tempfile.TemporaryFile("w+") as out:
        result = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, text=True, env=env, cwd=server.root,
                                timeout=timeout, user=user,
                                group=pwd.getpwnam(user).pw_gid if user else None,
                                extra_groups=[] if user else None)
        out.seek(0)
        output = out.read()
    return subprocess.CompletedProcess(args, result.returncode, output)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def create_database(server: PostgresServer, name: str) -> str:
    """Create database ``name`` on ``server`` and return its SQLAlchemy URL."""
    import psycopg
    from psycopg import sql

    conninfo = f"host=127.0.0.1 port={server.port} user={SUPERUSER} dbname=postgres"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return server.url(name)
