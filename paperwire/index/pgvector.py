"""PgvectorBackend: the VectorBackend whose vectors live in PostgreSQL (pgvector, HNSW).

Every web host searches the same index in the database, so nothing is refreshed per host:
``refresh`` has nothing to do, and ``version`` is a change counter the writes bump. The
rows are copied from the embeddings table (``sync``) and rebuilt from it (``reset`` then
``sync``), so switching from faiss needs no re-embedding. The SQL, and the choice between
an exact scan of the allowed ids and the HNSW index, are in paperwire/store/vectors.py.
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np

from paperwire.errors import ConfigError
from paperwire.index.vectors import FloatArray, IdArray
from paperwire.store import Store
from paperwire.store.vectors import DEFAULT_EF_SEARCH, DIM


class PgvectorBackend:
    """Unit vectors of one model in the store's paper_vectors table."""

    name = "pgvector"
    scans_allowed = False

    def __init__(self, store: Store, model: str, dim: int) -> None:
        if dim != DIM:
            raise ConfigError(f"the pgvector table holds {DIM}-dimensional vectors; "
                              f"{model} has {dim} (use PAPERWIRE_VECTOR_BACKEND=faiss)")
        installed, _, table = store.pgvector_status()
        if installed is None or not table:
            raise ConfigError("this PostgreSQL has no paper_vectors table (pgvector missing): "
                              "run `paperwire index --backend pgvector`")
        self.store, self.model, self.dim = store, model, dim
        self.extension_version = installed
        # pgvector 0.8 scans the HNSW graph on until enough rows pass the filter.
        major, minor = (int(p) for p in installed.split(".")[:2])
        self.iterative = (major, minor) >= (0, 8)
        self.ef_search = DEFAULT_EF_SEARCH
        self._count: tuple[int, int] | None = None  # (version, count)

    def __len__(self) -> int:
        version = self.store.vectors_version()
        if self._count is None or self._count[0] != version:
            self._count = (version, self.store.count_vectors(self.model))
        return self._count[1]

    def add(self, ids: IdArray, vectors: FloatArray) -> None:
        if len(ids):
            self.store.upsert_vectors(self.model, ids.tolist(), vectors)

    def remove(self, ids: IdArray) -> None:
        if len(ids):
            self.store.delete_vectors(self.model, ids.tolist())

    def search(self, query: FloatArray, k: int, allowed: IdArray | None = None
               ) -> tuple[IdArray, FloatArray]:
        if k <= 0 or (allowed is not None and len(allowed) == 0):
            return np.empty(0, np.int64), np.empty(0, np.float32)
        found = self.store.search_vectors(
            self.model, query, k, None if allowed is None else allowed.tolist(),
            ef_search=self.ef_search, iterative=self.iterative)
        return (np.fromiter((r for r, _ in found), np.int64, len(found)),
                np.fromiter((s for _, s in found), np.float32, len(found)))

    def vectors_of(self, ids: IdArray) -> tuple[IdArray, FloatArray] | None:
        """From the embeddings table, the source of truth: PostgreSQL is a server every host
        reads anyway, and one indexed read by id costs what a paper_vectors read would."""
        if len(ids) == 0:
            return np.empty(0, np.int64), np.empty((0, self.dim), np.float32)
        return self.store.get_embeddings(self.model, ids.tolist(), self.dim)

    def version(self) -> Hashable:
        return ("pgvector", self.store.vectors_version())

    def refresh(self) -> None:
        """Nothing to reload: every host reads the database."""

    def sync(self, store: Store) -> bool:
        if store.count_vectors(self.model) == 0 and store.count_embeddings(self.model):
            store.rebuild_vectors(self.model, self.dim)
            return True
        store.sync_vectors(self.model, self.dim)
        return False

    def reset(self) -> None:
        self.store.clear_vectors(self.model)
