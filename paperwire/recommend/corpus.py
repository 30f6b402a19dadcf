"""The Corpus a ranker reads on an instance: papers from the store, vectors from the index.

The corpus-wide feature space (paperwire.recommend.features) is built once per store and kept
in this process (``features()``), so every profile's training and ranking only slices rows.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Sequence
from datetime import date, datetime

import numpy as np
from numpy.typing import NDArray

from paperwire.index.indexer import document_text
from paperwire.index.minilm import DIM, MODEL
from paperwire.models import Paper
from paperwire.recommend.features import FeatureSpace, posix
from paperwire.recommend.fusion import SLATE_PAPERS
from paperwire.search import Searcher
from paperwire.store import Store

__all__ = ["StoreCorpus", "drop_features"]

# One feature space per Store object (with vectors or without), shared by every StoreCorpus
# over it (the web builds a corpus per request); dropped with the store.
_SPACES: weakref.WeakKeyDictionary[Store, dict[bool, FeatureSpace]] = \
    weakref.WeakKeyDictionary()
_BUILDING = threading.Lock()
_REFITTING: set[tuple[int, bool]] = set()


def drop_features(store: Store) -> None:
    """Forget the store's feature spaces: the next ``features()`` refits the vocabulary."""
    _SPACES.pop(store, None)


class StoreCorpus:
    """Reads one store (and, when given, the Searcher's vector backend and embedder).
    Without a Searcher there are no vectors: rankers then work from text alone."""

    def __init__(self, store: Store, searcher: Searcher | None = None) -> None:
        self.store = store
        self.searcher = searcher

    def _papers(self, ids: Sequence[str]) -> dict[str, Paper]:
        return self.store.get_papers(ids)

    def published(self, ids: Sequence[str]) -> dict[str, datetime | None]:
        return {i: p.published for i, p in self._papers(ids).items()}

    def features(self) -> FeatureSpace:
        """The store's feature space: built on first use (seconds per 10k papers; see
        rankers.warm), then reused. Papers added later are featurised when first asked for;
        once the space has grown by a quarter it is refitted in a background thread while
        the old one keeps answering."""
        key = self.searcher is not None
        space = _SPACES.get(self.store, {}).get(key)
        if space is not None:
            if space.stale:
                self._refit_later(key)
            return space
        with _BUILDING:
            space = _SPACES.get(self.store, {}).get(key)
            if space is None:
                space = self._build_features()
                _SPACES.setdefault(self.store, {})[key] = space
        return space

    def _refit_later(self, key: bool) -> None:
        token = (id(self.store), key)
        with _BUILDING:
            if token in _REFITTING:
                return
            _REFITTING.add(token)

        def refit() -> None:
            try:
                _SPACES.setdefault(self.store, {})[key] = self._build_features()
            finally:
                _REFITTING.discard(token)

        threading.Thread(target=refit, name="recommend-features", daemon=True).start()

    def _build_features(self) -> FeatureSpace:
        return FeatureSpace.fit(*self.columns())

    def columns(self) -> tuple[list[str], list[str], dict[str, tuple[str, ...]],
                               NDArray[np.float64], NDArray[np.float16] | None]:
        """Every stored paper's id, text, authors, publication time and vector (None when
        no paper has one): what a feature space is built from."""
        ids: list[str] = []
        texts: list[str] = []
        authors: dict[str, tuple[str, ...]] = {}
        published: list[float] = []
        for _row, paper in self.store.iter_papers():
            ids.append(paper.arxiv_id)
            texts.append(document_text(paper.title, paper.abstract))
            authors[paper.arxiv_id] = paper.authors
            published.append(posix(paper.published) if paper.published else math.nan)
        got, vecs = self.vectors(ids)
        vectors = None
        if got:
            vectors = np.zeros((len(ids), vecs.shape[1]), dtype=np.float16)
            where = {pid: k for k, pid in enumerate(ids)}
            vectors[[where[g] for g in got]] = vecs.astype(np.float16)
        return ids, texts, authors, np.asarray(published), vectors

    def texts(self, ids: Sequence[str]) -> dict[str, str]:
        return {i: document_text(p.title, p.abstract) for i, p in self._papers(ids).items()}

    def titles(self, ids: Sequence[str]) -> dict[str, str]:
        return {i: p.title for i, p in self._papers(ids).items()}

    def authors(self, ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        return {i: p.authors for i, p in self._papers(ids).items()}

    def vectors(self, ids: Sequence[str]) -> tuple[list[str], NDArray[np.float32]]:
        empty = np.zeros((0, DIM), dtype=np.float32)
        if self.searcher is None or not ids:
            return [], empty
        rows = self.store.row_ids(ids)
        wanted = np.asarray([rows[i] for i in ids if i in rows], dtype=np.int64)
        backend = self.searcher.vectors
        found = backend.vectors_of(wanted) if backend is not None else None
        if found is None:
            found = self.store.get_embeddings(MODEL, [int(r) for r in wanted], DIM)
        got, vecs = found
        by_row = {int(r): k for k, r in enumerate(got)}
        back = {r: i for i, r in rows.items()}
        order = [by_row[int(r)] for r in wanted if int(r) in by_row]
        out = np.asarray(vecs, dtype=np.float32)[order] if order else empty
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out = out / np.maximum(norms, 1e-12)
        return [back[int(got[k])] for k in order], out

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32] | None:
        embedder = self.searcher.embedder if self.searcher is not None else None
        if embedder is None or not texts:
            return None
        vecs = np.asarray(embedder.embed(list(texts)), dtype=np.float32)
        unit: NDArray[np.float32] = vecs / np.maximum(
            np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        return unit

    def background(self, n: int, *, before: datetime | None = None, seed: int = 0
                   ) -> list[str]:
        return self.store.sample_ids(n, before=before, seed=seed)

    def day_slates(self, days: Sequence[date]) -> dict[date, list[str]]:
        """The papers listed on each of ``days`` (a fusion's habits: paperwire.recommend.fusion)."""
        return self.store.rec_day_slates(days, SLATE_PAPERS)

    def popularity(self, ids: Sequence[str], *, at: datetime | None = None
                   ) -> dict[str, float]:
        # Votes on a log scale against the best-voted candidate: one viral paper should
        # not flatten every other one to zero.
        states = self.store.vote_states(ids)
        raw = {i: math.log1p(s.votes + s.external) for i, s in states.items()}
        top = max(raw.values(), default=0.0)
        return {i: (v / top if top else 0.0) for i, v in raw.items()}
