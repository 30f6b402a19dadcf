"""`paperwire index`: bring the lexical index, the embeddings and the vector index up to date.

Three steps, each incremental and safe to interrupt:
  1. lexical: tantivy picks up every paper changed since its watermark (seconds for 75k);
  2. embeddings: papers without a current embedding are embedded in batches, each batch
     committed to the store (a rerun continues with the papers still missing);
  3. vectors: the vector backend picks up embeddings written since its last sync (faiss: since
     its watermark; rebuilt from the store when missing, when it outgrows an exact scan, or
     on ``--rebuild``).

One run at a time per home: a second waits on ``run_lock`` (calling ``waiting``) instead of
embedding the same papers. Files are written only under ``writer_lock``, which the web's index
sync (convergence.py) takes too, so neither races the other (tantivy segments merged away
under it, half-written faiss files); it is not held while embedding, so a long embedding run
does not hold up the sync of new papers' keywords.

A damaged keyword or vector index (truncated, unreadable) is rebuilt from the store, which
holds everything both are made of; the summary says so.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from tqdm import tqdm

from paperwire.errors import ConfigError, IndexDamaged
from paperwire.index import run_lock, writer_lock
from paperwire.index.backends import open_backend
from paperwire.index.embedder import Embedder
from paperwire.index.lexical import LexicalIndex, SyncReport
from paperwire.index.vectors import VectorBackend, faiss_files
from paperwire.store import Store

EMBED_BATCH = 256


def document_text(title: str, abstract: str) -> str:
    """What a paper's embedding is computed from (the model reads its first 256 tokens)."""
    return f"{title}. {abstract}"


@dataclass(frozen=True)
class IndexPaths:
    """Where the derived indexes live inside the data directory."""

    root: Path

    @classmethod
    def for_home(cls, home: Path) -> IndexPaths:
        return cls(home / "index")

    @property
    def lexical(self) -> Path:
        return self.root / "lexical"

    def vectors(self, model: str) -> Path:
        """The faiss file of ``model``'s vectors."""
        return faiss_files(self.root, model)[0]


@dataclass
class IndexReport:
    lexical: SyncReport = field(default_factory=SyncReport)
    embedded: int = 0
    embed_seconds: float = 0.0
    vectors: int = 0
    vectors_rebuilt: bool = False
    interrupted: bool = False
    repaired: list[str] = field(default_factory=list)  # damaged indexes rebuilt
    embedding: bool = True  # False with --no-embed / PAPERWIRE_EMBEDDER=none

    def summary(self) -> str:
        rate = self.embedded / self.embed_seconds if self.embed_seconds else 0.0
        text = "".join(f"{name} index was damaged: rebuilt from the store; "
                       for name in self.repaired)
        text += f"lexical: {self.lexical.added:,} added, {self.lexical.updated:,} updated"
        if self.embedding:
            text += (f"; embedded {self.embedded:,} papers ({rate:,.0f}/s); vector index "
                     f"{'rebuilt, ' if self.vectors_rebuilt else ''}{self.vectors:,} papers")
        if self.interrupted:
            text += " — interrupted; run `paperwire index` again to continue"
        return text


class EmbedStep(Protocol):
    """Embeds the papers lacking a current embedding, writing them through the store batch by
    batch and counting them in ``report``: ``embed_missing`` here, or ``RayBackfill``."""

    def __call__(self, store: Store, embedder: Embedder, report: IndexReport, *,
                 show: bool = False) -> None: ...


def update_index(store: Store, paths: IndexPaths, embedder: Embedder | None, *,
                 rebuild: bool = False, progress: bool = True,
                 vectors: VectorBackend | None = None,
                 waiting: Callable[[], object] | None = None,
                 embed: EmbedStep | None = None) -> IndexReport:
    """Sync the keyword index, embed what is missing and sync the vector backend (the one
    given, or the default one for the embedder's model under ``paths``). Waits for another
    process updating the same indexes (``waiting`` is called once when it must). ``embed``
    does the embedding (default: ``embed_missing``, in this process).

    The home's writer lock is held while files are written, not while embedding (which
    writes only to the store): the web's index sync keeps the keyword index fresh meanwhile.
    The run lock keeps a second run from embedding the same papers."""
    said: list[bool] = []

    def wait_once() -> None:
        if waiting is not None and not said:
            said.append(True)
            waiting()

    with run_lock(paths.root, waiting=wait_once):
        return _update(store, paths, embedder, rebuild, progress, vectors, wait_once,
                       embed or embed_missing)


def _update(store: Store, paths: IndexPaths, embedder: Embedder | None, rebuild: bool,
            progress: bool, vectors: VectorBackend | None,
            waiting: Callable[[], object], embed: EmbedStep) -> IndexReport:
    report = IndexReport()
    show = progress and sys.stderr.isatty()
    try:
        with writer_lock(paths.root, waiting=waiting):
            _update_lexical(store, paths, rebuild, report, show)
        if embedder is None:
            report.embedding = False
            return report
        if vectors is None:
            vectors = open_backend(paths.root, embedder.model, embedder.dim)
        if vectors.model != embedder.model:
            raise ConfigError(f"the vector index holds {vectors.model} vectors, but the "
                              f"embedder computes {embedder.model}")
        embed(store, embedder, report, show=show)
        with writer_lock(paths.root, waiting=waiting):
            if rebuild:
                vectors.reset()
            try:
                vectors.refresh()
            except IndexDamaged:
                report.repaired.append("vector")
                vectors.reset()
            report.vectors_rebuilt = vectors.sync(store)
            report.vectors = len(vectors)
    except KeyboardInterrupt:
        report.interrupted = True
    return report


def _update_lexical(store: Store, paths: IndexPaths, rebuild: bool, report: IndexReport,
                    show: bool) -> None:
    try:
        lexical = LexicalIndex(paths.lexical)
    except IndexDamaged:
        lexical, rebuild = LexicalIndex.repaired(paths.lexical), True
        report.repaired.append("keyword")
    with tqdm(desc="keyword index", unit=" papers", disable=not show,
              file=sys.stderr) as bar:
        sync = lexical.rebuild if rebuild else lexical.sync
        report.lexical = sync(store, progress=bar.update)


def embed_missing(store: Store, embedder: Embedder, report: IndexReport, *,
                  show: bool = False) -> None:
    """Embed the papers that lack a current embedding, committing batch by batch (counted
    in ``report``)."""
    total = store.count_to_embed(embedder.model)
    started = time.perf_counter()
    after = 0
    with tqdm(total=total, desc=f"embed ({embedder.model})", unit=" papers",
              disable=not show, file=sys.stderr) as bar:
        while rows := store.papers_to_embed(embedder.model, after, EMBED_BATCH):
            vectors = embedder.embed([document_text(r[2], r[3]) for r in rows])
            store.write_embeddings(embedder.model, [r[0] for r in rows], [r[1] for r in rows],
                                   vectors)
            after = rows[-1][0]
            report.embedded += len(rows)
            report.embed_seconds = time.perf_counter() - started
            bar.update(len(rows))
