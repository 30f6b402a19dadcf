"""Web hosts as real `paperwire serve` processes, each with a home of its own, for tests of
what several hosts over one database see."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from paperwire.index import embedder as emb
from tests.live_server import free_port

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Host:
    """One serving host: its home, its database and where it listens."""

    home: Path
    database_url: str
    origin: str

    @property
    def cli_args(self) -> list[str]:
        """The global `paperwire` options that act on this host (its home, the database)."""
        return ["--home", str(self.home), "--database-url", self.database_url]

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(self.origin + path, timeout=30, **kwargs)


def default_embedder_missing() -> str:
    """Why the default embedder cannot load here ('' when it can)."""
    missing = emb.missing_packages(emb.DEFAULT_RUNTIME)
    return (f"{emb.DEFAULT_RUNTIME!r} needs {', '.join(missing)} (pip install "
            "'paperwire[embed]')") if missing else ""


def wait_for(check: Callable[[], bool], seconds: float, every: float = 0.2) -> bool:
    """Whether ``check`` came true within ``seconds`` (polled)."""
    deadline = time.monotonic() + seconds
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(every)


@contextmanager
def serve_host(home: Path, database_url: str, sync_seconds: float, embedder: str = "none",
               *, workers: int = 1, startup_seconds: float = 90) -> Iterator[Host]:
    """`paperwire serve` on a free loopback port over ``database_url`` with its own ``home``
    and an index sync every ``sync_seconds``; stopped (and waited for) when the block ends."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = dict(os.environ, PAPERWIRE_HOME=str(home), PAPERWIRE_DATABASE_URL=database_url,
               PAPERWIRE_EMBEDDER=embedder, PAPERWIRE_INDEX_SYNC_SECONDS=str(sync_seconds),
               PAPERWIRE_QUEUE_RUNNER="worker", PAPERWIRE_EMBED_THREADS="1",
               PYTHONPATH=str(ROOT))
    log = (home / "serve.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "paperwire", "serve", "--port", str(port),
                             "--workers", str(workers)], env=env, stdout=log,
                            stderr=subprocess.STDOUT, cwd=ROOT)
    host = Host(home, database_url, f"http://127.0.0.1:{port}")
    try:
        def up() -> bool:
            assert proc.poll() is None, f"serve exited: {(home / 'serve.log').read_text()}"
            try:
                return host.get("/about.json").status_code == 200
            except httpx.TransportError:
                return False

        assert wait_for(up, startup_seconds), f"serve did not start on {host.origin}"
        yield host
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        finally:
            log.close()
