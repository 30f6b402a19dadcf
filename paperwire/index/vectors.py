"""Nearest-neighbour search over paper embeddings (faiss), keyed by the papers' row ids.

Small collections use an exact inner-product scan; from ``IVF_THRESHOLD`` vectors on, an
inverted-file index with 8-bit scalar quantisation keeps a million papers in ~400 MB and a
query in a few milliseconds (see BENCHMARKS.md for the measured recall and latency).
Filters (category, dates, author) arrive as the set of allowed ids and are applied inside
the scan, so a filtered query still returns its k best matches.

The embeddings table in the database is the source of truth; this index is derived from it,
saved in the data directory, and rebuilt from the database when missing or stale.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

# Below this an exact scan is cheap. It was 100k until bench/web.py showed the exact scan
# (6 ms, memory-bound) capping paper pages, whose "similar papers" run one, at ~90/s on 2
# cores; IVF at 75k answers in ~0.3 ms with recall@10 0.98 (1,095 lists, 64 probed).
IVF_THRESHOLD = 20_000
DEFAULT_NPROBE = 64  # recall@10 0.97 vs exact on real MiniLM vectors at 4,000 lists

FloatArray = npt.NDArray[np.float32]
IdArray = npt.NDArray[np.int64]


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - faiss-cpu is a core dependency
        raise ImportError("semantic search needs faiss: pip install faiss-cpu") from exc
    return faiss


class VectorIndex:
    """Unit vectors by integer id; inner product (= cosine) search with optional filters."""

    def __init__(self, index: Any, dim: int) -> None:
        self._index = index
        self.dim = dim
        self.nprobe = DEFAULT_NPROBE
        self._ivf = _faiss().try_extract_index_ivf(index)

    @classmethod
    def empty(cls, dim: int) -> VectorIndex:
        faiss = _faiss()
        return cls(faiss.IndexIDMap(faiss.IndexFlatIP(dim)), dim)

    @classmethod
    def build(cls, ids: IdArray, vectors: FloatArray, *, threads: int | None = None
              ) -> VectorIndex:
        """A fresh index over all vectors: exact when small, IVF-SQ8 when large."""
        faiss = _faiss()
        faiss.omp_set_num_threads(threads or os.cpu_count() or 1)
        dim = vectors.shape[1]
        if len(ids) < IVF_THRESHOLD:
            index = cls.empty(dim)
            index.add(ids, vectors)
            return index
        # ~4·sqrt(n) lists is faiss' rule of thumb; train on a sample to bound build time.
        nlist = int(4 * math.sqrt(len(ids)))
        inner = faiss.index_factory(dim, f"IVF{nlist},SQ8", faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        sample = vectors[rng.choice(len(vectors), min(len(vectors), nlist * 64), replace=False)]
        inner.train(np.ascontiguousarray(sample, dtype=np.float32))
        index = cls(inner, dim)  # IVF lists store the ids themselves
        index.add(ids, vectors)
        return index

    @classmethod
    def load(cls, path: Path) -> VectorIndex:
        faiss = _faiss()
        # A loaded index answers one query at a time (a web request); OpenMP threads only add
        # hand-over costs there (measured: 75k exact scan 13 → 10 ms). Builds set their own.
        faiss.omp_set_num_threads(1)
        index = faiss.read_index(str(path))
        return cls(index, index.d)

    def save(self, path: Path) -> None:
        """Write atomically: readers (other web processes) never see half a file."""
        faiss = _faiss()
        tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
        faiss.write_index(self._index, str(tmp))
        os.replace(tmp, path)

    @property
    def is_exact(self) -> bool:
        return self._ivf is None

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: IdArray, vectors: FloatArray) -> None:
        """Add or replace vectors (a re-embedded paper keeps its id)."""
        if len(ids) == 0:
            return
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        self.remove(ids)
        self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)

    def remove(self, ids: IdArray) -> None:
        faiss = _faiss()
        self._index.remove_ids(faiss.IDSelectorBatch(np.ascontiguousarray(ids, np.int64)))

    def search(self, query: FloatArray, k: int, allowed: IdArray | None = None
               ) -> tuple[IdArray, FloatArray]:
        """The k nearest ids and their cosine scores, best first; only ``allowed`` ids if given."""
        faiss = _faiss()
        if len(self) == 0 or k <= 0 or (allowed is not None and len(allowed) == 0):
            return np.empty(0, np.int64), np.empty(0, np.float32)
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        selector = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, np.int64))
        if self.is_exact:
            params = faiss.SearchParameters(sel=selector) if selector is not None else None
        else:
            nprobe = self.nprobe
            if allowed is not None:
                # A selective filter leaves few matches in the nearest lists; probe more lists
                # in proportion so k results are still found.
                share = max(len(allowed) / len(self), 1e-6)
                nprobe = int(min(self._ivf.nlist, math.ceil(self.nprobe / share)))
            params = faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)
        scores, ids = self._index.search(q, min(k, len(self)), params=params)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep].astype(np.float32)
