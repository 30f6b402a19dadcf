"""The VectorBackend protocol, and its faiss implementation: nearest papers by embedding.

Search talks only to ``VectorBackend``; ``index.backends.open_backend`` picks the
implementation (these faiss files in the data directory, or pgvector in PostgreSQL).

The faiss index (``VectorIndex``) is keyed by the papers' row ids.

Small collections use an exact inner-product scan; from ``IVF_THRESHOLD`` vectors on, an
inverted-file index with 8-bit scalar quantisation keeps a million papers in ~400 MB and a
query in a few milliseconds (see BENCHMARKS.md for the measured recall and latency).
Filters (category, dates, author) arrive as the set of allowed ids and are applied inside
the scan, so a filtered query still returns its k best matches.

The embeddings table in the database is the source of truth; this index is derived from it,
saved in the data directory, and rebuilt from the database when missing, stale or damaged
(a file faiss cannot read raises IndexDamaged, so search falls back to keywords meanwhile).
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections import OrderedDict
from collections.abc import Hashable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from paperwire.errors import IndexDamaged
from paperwire.index import MISSING, file_stamp
from paperwire.index.halfvectors import HalfVectors
from paperwire.store import Store

# Below this an exact scan is cheap. It was 100k until bench/web.py showed the exact scan
# (6 ms, memory-bound) capping paper pages, whose "similar papers" run one, at ~90/s on 2
# cores; IVF at 75k answers in ~0.3 ms with recall@10 0.98 (1,095 lists, 64 probed).
IVF_THRESHOLD = 20_000
# 128, not 64: on bench/arxiv_scale.py's 50k near-real vectors (894 lists) recall@10 against
# exact went 0.954 -> 0.978 unfiltered and 0.906 -> 0.960 inside a broad filter (cs.CV, 54 %
# of papers), for +0.5 ms and +1.3 ms; 256 gave 0.990 / 0.988 at +1.2 / +2.0 ms.
DEFAULT_NPROBE = 128
# From this many allowed ids a bitmap (n_max / 8 bytes, 350 KB at 2.8M papers) beats faiss'
# hash set of the ids, and it is kept per allowed array (which the keyword index keeps).
BITMAP_FROM = 50_000
SELECTORS_KEPT = 8

FloatArray = npt.NDArray[np.float32]
IdArray = npt.NDArray[np.int64]


@runtime_checkable
class VectorBackend(Protocol):
    """Unit vectors of one embedding model by paper row id; inner-product (cosine) search.

    The store's embeddings table is the source of truth; a backend is derived from it and
    brought up to date by ``sync``. Writes are visible to other processes after ``refresh``.
    """

    model: str
    dim: int
    # True when an allowed set of any size costs the scan little (faiss: a bitmap kept per
    # set), so search passes even a broad filter's rows; False (pgvector, where each id
    # travels in the statement) keeps broad filters to a wider search filtered after.
    scans_allowed: bool

    def __len__(self) -> int:
        """How many papers have a vector."""
        ...

    def add(self, ids: IdArray, vectors: FloatArray) -> None:
        """Add or replace (upsert) the vectors of these row ids."""
        ...

    def remove(self, ids: IdArray) -> None:
        """Drop these row ids (absent ones are ignored)."""
        ...

    def search(self, query: FloatArray, k: int, allowed: IdArray | None = None
               ) -> tuple[IdArray, FloatArray]:
        """The k nearest row ids and their cosine scores, best first; only ``allowed`` ids
        if given (the Searcher resolves category/date/author filters into that set)."""
        ...

    def vectors_of(self, ids: IdArray) -> tuple[IdArray, FloatArray] | None:
        """The stored vectors (exactly as the store holds them) of those ``ids`` that have
        one, in the given order; None when this backend keeps no copy and the caller should
        read the store. Hybrid search scores its keyword-only candidates with these."""
        ...

    def version(self) -> Hashable:
        """A cheap value that changes whenever the content changes (a cache key part)."""
        ...

    def refresh(self) -> None:
        """Pick up changes another process committed."""
        ...

    def sync(self, store: Store) -> bool:
        """Bring the backend up to date with the store's embeddings; True if rebuilt."""
        ...

    def reset(self) -> None:
        """Forget everything derived, so the next ``sync`` rebuilds from the store."""
        ...


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
        # id(allowed) -> (allowed, its bitmap, the selector over it); the arrays are held so
        # their ids stay theirs, the bitmap because faiss' selector only points at it
        self._selectors: OrderedDict[int, tuple[IdArray, npt.NDArray[np.uint8], Any]] = \
            OrderedDict()
        self._selectors_lock = threading.Lock()

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

    def _selector(self, allowed: IdArray) -> Any:
        """faiss' selector for ``allowed``: a hash set of a few ids, or for many a bitmap,
        kept while the same (read-only) array recurs, as a broad filter's does."""
        faiss = _faiss()
        if len(allowed) < BITMAP_FROM or allowed.flags.writeable:
            return faiss.IDSelectorBatch(np.ascontiguousarray(allowed, np.int64))
        with self._selectors_lock:
            kept = self._selectors.get(id(allowed))
            if kept is not None and kept[0] is allowed:
                self._selectors.move_to_end(id(allowed))
                return kept[2]
        bits = np.zeros(int(allowed.max()) + 1, dtype=bool)
        bits[allowed] = True
        bitmap = np.packbits(bits, bitorder="little")  # faiss: bit i & 7 of byte i >> 3
        selector = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))
        with self._selectors_lock:
            self._selectors[id(allowed)] = (allowed, bitmap, selector)
            while len(self._selectors) > SELECTORS_KEPT:
                self._selectors.popitem(last=False)
        return selector

    def search(self, query: FloatArray, k: int, allowed: IdArray | None = None
               ) -> tuple[IdArray, FloatArray]:
        """The k nearest ids and their cosine scores, best first; only ``allowed`` ids if given."""
        faiss = _faiss()
        # OpenMP's thread count is per calling thread, and a web worker searches from its
        # thread pool's threads, which start at all cores, not at the 1 set in ``load``.
        faiss.omp_set_num_threads(1)
        if len(self) == 0 or k <= 0 or (allowed is not None and len(allowed) == 0):
            return np.empty(0, np.int64), np.empty(0, np.float32)
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        selector = None if allowed is None else self._selector(allowed)
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


def faiss_files(root: Path, model: str) -> tuple[Path, Path]:
    """The index file and its JSON state (watermark, training size) for ``model``."""
    return root / f"vectors-{model}.faiss", root / f"vectors-{model}.json"


def half_file(root: Path, model: str) -> Path:
    """The memory-mapped float16 copy of the stored vectors (index/halfvectors.py)."""
    return root / f"vectors-{model}.f16.npy"


class FaissBackend:
    """A VectorBackend in a faiss file, reloaded when another process replaced it.

    The file's JSON state holds the newest embedding stamp it contains (``watermark``), so a
    sync adds only embeddings written since; it is rebuilt from the store when missing, when
    it outgrows an exact scan, or when it grew past 4x the vectors its IVF lists learnt from.
    Beside it, the same sync keeps the stored float16 vectors (``HalfVectors``), which answer
    ``vectors_of`` from memory.
    """

    name = "faiss"
    scans_allowed = True

    def __init__(self, root: Path, model: str, dim: int) -> None:
        self.model, self.dim = model, dim
        self.path, self.state_path = faiss_files(root, model)
        self._index: VectorIndex | None = None
        self._stamp = MISSING
        self.half = HalfVectors(half_file(root, model), dim)

    def _current(self) -> VectorIndex | None:
        stamp = file_stamp(self.path)
        if stamp == MISSING:
            self._index = None
        elif self._index is None or stamp != self._stamp:
            try:
                self._index = VectorIndex.load(self.path)
            except (RuntimeError, OSError) as exc:  # faiss reports a bad file as RuntimeError
                self._index = None
                detail = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else ""
                raise IndexDamaged(f"the vector index {self.path} is damaged ({detail}); run "
                                   "`paperwire index` to rebuild it from the store",
                                   "meaning") from None
        self._stamp = stamp
        return self._index

    def __len__(self) -> int:
        index = self._current()
        return len(index) if index is not None else 0

    @property
    def is_exact(self) -> bool:
        index = self._current()
        return index is None or index.is_exact

    def version(self) -> Hashable:
        return file_stamp(self.path)

    def refresh(self) -> None:
        self._current()

    def search(self, query: FloatArray, k: int, allowed: IdArray | None = None
               ) -> tuple[IdArray, FloatArray]:
        index = self._current()
        if index is None:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        return index.search(query, k, allowed)

    def vectors_of(self, ids: IdArray) -> tuple[IdArray, FloatArray] | None:
        return self.half.lookup(ids)

    def add(self, ids: IdArray, vectors: FloatArray) -> None:
        index = self._current() or VectorIndex.empty(self.dim)
        if self.half.exists():
            self.half.upsert(ids, vectors)
        elif len(index) == 0:
            self.half.write(ids, vectors)
        index.add(ids, vectors)
        self._save(index)

    def remove(self, ids: IdArray) -> None:
        index = self._current()
        if index is not None:
            self.half.remove(ids)
            index.remove(ids)
            self._save(index)

    def reset(self) -> None:
        self.half.reset()
        self.path.unlink(missing_ok=True)
        self._current()

    def sync(self, store: Store) -> bool:
        state = _read_json(self.state_path)
        try:
            index = self._current() if state else None
        except IndexDamaged:
            index = None  # rebuilt below from the store
        stored = store.count_embeddings(self.model)
        grown = bool(index and not index.is_exact and stored > 4 * state.get("trained_on", 0))
        outgrew = bool(index and index.is_exact and stored >= IVF_THRESHOLD)
        if index is None or grown or outgrew:
            # The watermark is read before the vectors: anything written meanwhile is picked
            # up (again) by the next sync rather than lost.
            newest = store.newest_embedding(self.model)
            index = self._build(store)
            self._save(index, {"watermark": newest.isoformat() if newest else None,
                               "trained_on": stored})
            return True
        if not self.half.exists():
            # A home indexed before the float16 copy existed: made once, from the store up to
            # the watermark read below (what comes after is added to both just after).
            self._stored(store, write_half=True)
        since = datetime.fromisoformat(state["watermark"]) if state.get("watermark") else None
        added: list[tuple[IdArray, npt.NDArray[np.float16]]] = []
        for ids, vectors, newest in store.embeddings_since(self.model, since, self.dim):
            index.add(ids, vectors)
            added.append((ids, vectors.astype(np.float16)))  # as stored: exact, half the size
            state["watermark"] = newest.isoformat()
        if added:
            self.half.upsert(np.concatenate([a[0] for a in added]),
                             np.concatenate([a[1] for a in added]))
            self._save(index, state)
        return False

    def _stored(self, store: Store, *, write_half: bool) -> tuple[IdArray, FloatArray]:
        chunks = list(store.iter_embeddings(self.model, self.dim))
        ids = (np.concatenate([c[0] for c in chunks]) if chunks
               else np.empty(0, np.int64))
        vectors = (np.concatenate([c[1] for c in chunks]) if chunks
                   else np.empty((0, self.dim), np.float32))
        if write_half:
            self.half.write(ids, vectors)
        return ids, vectors

    def _build(self, store: Store) -> VectorIndex:
        ids, vectors = self._stored(store, write_half=True)
        if not len(ids):
            return VectorIndex.empty(self.dim)
        return VectorIndex.build(ids, vectors)

    def _save(self, index: VectorIndex, state: dict[str, Any] | None = None) -> None:
        # The index first, then its watermark: a crash between them re-adds a few vectors (a
        # replace) rather than skipping any.
        index.save(self.path)
        self._index, self._stamp = index, file_stamp(self.path)
        if state is not None:
            tmp = self.state_path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(json.dumps(state))
            os.replace(tmp, self.state_path)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}
