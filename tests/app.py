"""One way to build the web app for a test, like datasette's make_app_client: settings on a
temporary home, a Store on the database a test names (SQLite or PostgreSQL), an optional small
corpus loaded the one shared way, and clients that talk to the app in-process.

    def test_home(tmp_path: Path, database_url: str) -> None:  # database_url: conftest's
        with make_app(tmp_path, database_url, papers=[paper("2501.00001")]) as site:
            assert site.client().get("/index.json").json()["total"] == 1

Only ``paperwire.web.create_app`` is used of the web package, so the tests keep working while
its inside is rearranged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from starlette.testclient import TestClient

from paperwire.index.indexer import IndexPaths, update_index
from paperwire.ingest import ingest
from paperwire.models import Paper
from paperwire.settings import Settings
from paperwire.sources.files import JsonlSource
from paperwire.store import Store
from paperwire.web import create_app
from tests.helpers import BASE, make_user, sign_in

if TYPE_CHECKING:
    from paperwire.index.embedder import Embedder


def make_settings(home: Path, database_url: str = "", **changes: Any) -> Settings:
    """Settings for a test site: a temporary home, no embedder (keyword search only, no model
    to load), no progress bars, the loopback base URL, no background runner in the app
    (tests drain the queues with helpers.run_queues, so what ran is known when they look) and
    no background index sync (tests index when they mean to); ``changes`` override any of
    them."""
    values: dict[str, Any] = {"home": home, "database_url": database_url, "embedder": "none",
                              "progress": False, "base_url": BASE, "queue_runner": "worker",
                              "index_sync_seconds": 0,
                              **changes}
    return Settings(**values)


def load_corpus(store: Store, home: Path, *, papers: Iterable[Paper] = (),
                lines: Sequence[str] = (), index: bool = False,
                embedder: Embedder | None = None) -> None:
    """Put a corpus in ``store``: ``papers`` written as they are, ``lines`` (JSONL records as
    in the shared sample) ingested through the file source, every one accepted; ``index``
    builds the keyword index under ``home``, and the vectors too given an ``embedder``."""
    written = list(papers)
    if written:
        store.write_batch(written)
    if lines:
        source = home / "papers.jsonl"
        source.write_text("".join(lines), encoding="utf-8")
        report = ingest(JsonlSource(source), store, progress=False)
        assert report.rejected == 0, report
    if index:
        update_index(store, IndexPaths.for_home(home), embedder, progress=False)


@dataclass
class WebApp:
    """A built app with the store and settings it was built from."""

    app: FastAPI
    store: Store
    settings: Settings
    clients: list[TestClient] = field(default_factory=list)

    def client(self, *, signed_in: str | None = None, base_url: str | None = None,
               **kwargs: Any) -> TestClient:
        """A browser of its own (its own cookies), signed in as ``signed_in`` through the form.
        Use it in a ``with`` block to run the app's lifespan; it is closed with the app."""
        client = TestClient(self.app, base_url=base_url or self.settings.base_url or BASE,
                            **kwargs)
        self.clients.append(client)
        if signed_in is not None:
            sign_in(client, signed_in)
        return client


@contextmanager
def make_app(home: Path, database_url: str = "", *, papers: Iterable[Paper] = (),
             lines: Sequence[str] = (), index: bool = False,
             users: Iterable[tuple[str, str, str]] = (), **settings: Any) -> Iterator[WebApp]:
    """Build the app on ``database_url`` (empty: SQLite inside ``home``) with a corpus (see
    load_corpus) and ``users`` as (address, role, display name), verified, with the
    password PASSWORD;
    ``settings`` override make_settings' defaults. The store closes on leaving."""
    configured = make_settings(home, database_url, **settings)
    with Store.open(configured) as store:
        load_corpus(store, home, papers=papers, lines=lines, index=index)
        for address, role, name in users:
            make_user(store, address, role=role, name=name)
        built = WebApp(create_app(configured, store), store, configured)
        try:
            yield built
        finally:
            for client in built.clients:
                client.close()
