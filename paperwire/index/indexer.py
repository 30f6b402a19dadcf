"""`paperwire index`: bring the lexical index, the embeddings and the vector index up to date.

Three steps, each incremental and safe to interrupt:
  1. lexical: tantivy picks up every paper changed since its watermark (seconds for 75k);
  2. embeddings: papers without a current embedding are embedded in batches, each batch
     committed to the store (a rerun continues with the papers still missing);
  3. vectors: the faiss index picks up embeddings written since its watermark, and is rebuilt
     from the store when missing, when it outgrows an exact scan, or on ``--rebuild``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from paperwire.index.embedder import Embedder
from paperwire.index.lexical import LexicalIndex, SyncReport
from paperwire.index.vectors import IVF_THRESHOLD, VectorIndex
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
        return self.root / f"vectors-{model}.faiss"

    def vector_state(self, model: str) -> Path:
        return self.root / f"vectors-{model}.json"


@dataclass
class IndexReport:
    lexical: SyncReport = field(default_factory=SyncReport)
    embedded: int = 0
    embed_seconds: float = 0.0
    vectors: int = 0
    vectors_rebuilt: bool = False
    interrupted: bool = False
    embedding: bool = True  # False with --no-embed / PAPERWIRE_EMBEDDER=none

    def summary(self) -> str:
        rate = self.embedded / self.embed_seconds if self.embed_seconds else 0.0
        text = f"lexical: {self.lexical.added:,} added, {self.lexical.updated:,} updated"
        if self.embedding:
            text += (f"; embedded {self.embedded:,} papers ({rate:,.0f}/s); vector index "
                     f"{'rebuilt, ' if self.vectors_rebuilt else ''}{self.vectors:,} papers")
        if self.interrupted:
            text += " — interrupted; run `paperwire index` again to continue"
        return text


def update_index(store: Store, paths: IndexPaths, embedder: Embedder | None, *,
                 rebuild: bool = False, progress: bool = True) -> IndexReport:
    report = IndexReport()
    paths.root.mkdir(parents=True, exist_ok=True)
    show = progress and sys.stderr.isatty()
    try:
        lexical = LexicalIndex(paths.lexical)
        with tqdm(desc="keyword index", unit=" papers", disable=not show,
                  file=sys.stderr) as bar:
            sync = lexical.rebuild if rebuild else lexical.sync
            report.lexical = sync(store, progress=bar.update)
        if embedder is None:
            report.embedding = False
            return report
        if rebuild:
            paths.vectors(embedder.model).unlink(missing_ok=True)
        _embed_missing(store, embedder, report, show)
        vectors, rebuilt = sync_vectors(store, paths, embedder.model, embedder.dim)
        report.vectors, report.vectors_rebuilt = len(vectors), rebuilt
    except KeyboardInterrupt:
        report.interrupted = True
    return report


def _embed_missing(store: Store, embedder: Embedder, report: IndexReport, show: bool) -> None:
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


def sync_vectors(store: Store, paths: IndexPaths, model: str, dim: int,
                 on_rebuild: Callable[[], None] | None = None) -> tuple[VectorIndex, bool]:
    """The vector index for ``model`` brought up to date with the store; (index, rebuilt)."""
    path, state_path = paths.vectors(model), paths.vector_state(model)
    state = _read_json(state_path)
    index = VectorIndex.load(path) if path.exists() and state else None
    stored = store.count_embeddings(model)
    grown = bool(index and not index.is_exact and stored > 4 * state.get("trained_on", 0))
    outgrew = bool(index and index.is_exact and stored >= IVF_THRESHOLD)
    if index is None or grown or outgrew:
        if on_rebuild:
            on_rebuild()
        # The watermark is read before the vectors: anything written meanwhile is picked up
        # (again) by the next sync rather than lost.
        newest = store.newest_embedding(model)
        index = _build(store, model, dim)
        state = {"watermark": newest.isoformat() if newest else None, "trained_on": stored}
        _save(index, path, state_path, state)
        return index, True
    since = datetime.fromisoformat(state["watermark"]) if state.get("watermark") else None
    changed = False
    for ids, vectors, newest in store.embeddings_since(model, since, dim):
        index.add(ids, vectors)
        state["watermark"] = newest.isoformat()
        changed = True
    if changed:
        _save(index, path, state_path, state)
    return index, False


def _build(store: Store, model: str, dim: int) -> VectorIndex:
    chunks = list(store.iter_embeddings(model, dim))
    if not chunks:
        return VectorIndex.empty(dim)
    ids = np.concatenate([c[0] for c in chunks])
    vectors = np.concatenate([c[1] for c in chunks])
    return VectorIndex.build(ids, vectors)


def _save(index: VectorIndex, path: Path, state_path: Path, state: dict[str, Any]) -> None:
    # The index first, then its watermark: a crash between them re-adds a few vectors (a
    # replace) rather than skipping any.
    index.save(path)
    tmp = state_path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(state))
    os.replace(tmp, state_path)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}
