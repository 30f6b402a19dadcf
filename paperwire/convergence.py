"""Hosts converge on their own: a web process keeps its home's indexes in step with the database.

A paper ingested anywhere (another host, the worker, a submission) is searchable here by
keywords within ``index_sync_seconds`` plus the duration of one sync pass, with nobody
running `paperwire index` on this host and no restart:

- An ``IndexSync`` thread, started in the web app's lifespan, makes a pass every
  ``index_sync_seconds`` (counted from the end of the previous pass). A pass tries the home's
  index writer lock (``paperwire.index.writer_lock``) without waiting: the process that holds
  it writes the files; every other process of the host (the other web workers, a
  `paperwire index` run, which takes the same lock) leaves them alone, and its readers reload
  them (``Searcher.refresh``, per request) once their version has changed.
- What a pass does is found by the store's watermarks: the keyword index's (papers changed
  since its last sync: ``LexicalIndex.behind``, then ``sync``) and the vector backend's
  (embeddings written since its last sync: ``VectorBackend.sync``). A pass with nothing new
  costs two small queries and writes nothing.
- Vectors come from the embeddings table: the worker or `paperwire index` embeds, and the
  pass copies their vectors into this host's faiss file. The web loads no embedding model for
  this, unless ``index_sync_embed`` asks it to embed what is missing itself.
- Readers are never blocked: tantivy commits and faiss files are replaced atomically, and a
  reader keeps what it opened until it reloads. The files' stamps are the index part of the
  cache keys (``Site.index_version``), so cached pages show the new papers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable
from dataclasses import dataclass, field

from paperwire.errors import IndexDamaged
from paperwire.index import writer_lock
from paperwire.index.embedder import Embedder
from paperwire.index.indexer import IndexPaths, IndexReport, embed_missing
from paperwire.index.lexical import LexicalIndex, SyncReport
from paperwire.search import Searcher, embedder_factory
from paperwire.settings import Settings
from paperwire.store import Store

log = logging.getLogger(__name__)


@dataclass
class SyncPass:
    """What one pass did. ``held`` is False when another process of this host holds the
    writer lock: then this one did nothing (that process syncs)."""

    held: bool
    lexical: SyncReport | None = None  # None: nothing had changed
    embedded: int = 0
    vectors: bool = False  # the vector backend was synced
    repaired: list[str] = field(default_factory=list)


class IndexSync:
    """A daemon thread syncing this home's indexes with the store until stopped."""

    def __init__(self, settings: Settings, store: Store, *,
                 interval: float | None = None) -> None:
        self.settings = settings
        self.store = store
        self.interval = settings.index_sync_seconds if interval is None else interval
        self.paths = IndexPaths.for_home(settings.home)
        self._vectors_mark: Hashable = None  # (newest embedding, file version) last synced
        self._embedder: Embedder | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> SyncPass:
        """One pass in this thread (the loop, tests): sync what changed, if this process may
        write the files."""
        with writer_lock(self.paths.root, blocking=False) as held:
            if not held:
                return SyncPass(held=False)
            done = SyncPass(held=True)
            self._sync_lexical(done)
            if not self._stop.is_set():
                self._sync_vectors(done)
            return done

    def _sync_lexical(self, done: SyncPass) -> None:
        # Opened per pass: a `paperwire index --rebuild` or repair in between replaces the
        # files under a long-lived handle.
        try:
            lexical = LexicalIndex(self.paths.lexical)
            if lexical.behind(self.store):
                done.lexical = lexical.sync(self.store)
        except IndexDamaged as exc:
            log.warning("%s; rebuilding it from the store", exc)
            done.repaired.append("keyword")
            done.lexical = LexicalIndex.repaired(self.paths.lexical).rebuild(self.store)

    def _sync_vectors(self, done: SyncPass) -> None:
        # A fresh Searcher names the backend this instance reads (faiss or another), without
        # loading the model; None when search by meaning is off.
        vectors = Searcher.from_settings(self.settings, self.store).vectors
        if vectors is None:
            return
        if self.settings.index_sync_embed:
            report = IndexReport()
            embed_missing(self.store, self._load_embedder(), report)
            done.embedded = report.embedded
        # Read before the sync: what is written meanwhile moves it on, so the next pass looks.
        mark = (self.store.newest_embedding(vectors.model), vectors.version())
        if mark == self._vectors_mark:
            return
        try:
            vectors.refresh()
        except IndexDamaged as exc:
            log.warning("%s; rebuilding it from the store", exc)
            done.repaired.append("vector")
            vectors.reset()
        vectors.sync(self.store)
        done.vectors = True
        self._vectors_mark = (mark[0], vectors.version())

    def _load_embedder(self) -> Embedder:
        if self._embedder is None:
            load = embedder_factory(self.settings.embedder, self.settings.embed_threads)
            assert load is not None  # vectors exist only when an embedder is configured
            self._embedder = load()
        return self._embedder

    # --- the thread ----------------------------------------------------------------------
    def start(self) -> None:
        """Start the loop (nothing when the interval is 0: syncing is off)."""
        if self.interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name="paperwire-index-sync")
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """End the loop after the current step; a pass stuck longer is abandoned (a daemon:
        tantivy and faiss commit atomically, so nothing is left half-written)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 (a database hiccup must not end the thread)
                log.exception("index sync pass failed; trying again in %s s", self.interval)
            self._stop.wait(self.interval)
