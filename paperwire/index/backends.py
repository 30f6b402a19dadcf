"""Which VectorBackend an instance uses, and why: the one place that chooses.

``auto`` (the default of PAPERWIRE_VECTOR_BACKEND) takes pgvector on PostgreSQL where the
extension and its table are there, else faiss files in the data directory; the reason is
shown by `paperwire stats`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from paperwire.errors import ConfigError
from paperwire.index.vectors import FaissBackend, VectorBackend
from paperwire.store import Store
from paperwire.store.vectors import DIM

BACKENDS: tuple[str, ...] = ("auto", "faiss", "pgvector")


@dataclass(frozen=True)
class Choice:
    name: str  # "faiss" or "pgvector"
    reason: str


def choose_backend(store: Store | None, wanted: str = "auto", dim: int = DIM) -> Choice:
    """The backend ``wanted`` resolves to on this store; ConfigError when pgvector is asked
    for where it cannot run."""
    if wanted not in BACKENDS:
        raise ConfigError(f"unknown vector backend {wanted!r} (choose {', '.join(BACKENDS)})")
    if wanted == "faiss" or store is None:
        return Choice("faiss", "faiss files in the data directory (chosen in settings)")
    if store.dialect != "postgresql":
        why = f"{store.dialect} has no vector search; faiss files in the data directory"
        if wanted == "pgvector":
            raise ConfigError(f"the pgvector backend needs PostgreSQL: {why}")
        return Choice("faiss", why)
    installed, available, table = store.pgvector_status()
    if dim != DIM:
        if wanted == "pgvector":
            raise ConfigError(f"the pgvector table holds {DIM}-dimensional vectors, not {dim}")
        return Choice("faiss", f"the pgvector table holds {DIM} dimensions, not {dim}")
    if installed and table:
        return Choice("pgvector", f"pgvector {installed} in PostgreSQL (HNSW; every host "
                                  "searches the same index)")
    if wanted == "pgvector":
        return Choice("pgvector", "pgvector, to be set up")  # the indexer ensures it
    if available:
        why = (f"PostgreSQL offers pgvector {available} but it is not set up here: run "
               "`paperwire index --backend pgvector`")
    else:
        why = ("this PostgreSQL lacks the vector extension (install pgvector, e.g. Debian's "
               "postgresql-16-pgvector, for vectors in the database)")
    return Choice("faiss", f"faiss files in the data directory: {why}")


def open_backend(root: Path, model: str, dim: int, *, store: Store | None = None,
                 wanted: str = "faiss") -> VectorBackend:
    """The vector backend for ``model``: faiss files under ``root``, or pgvector in
    ``store`` where ``wanted`` (auto, faiss, pgvector) resolves to it."""
    choice = choose_backend(store, wanted, dim)
    if choice.name == "pgvector" and store is not None:
        from paperwire.index.pgvector import PgvectorBackend

        if wanted == "pgvector":
            installed, _, table = store.pgvector_status()
            if not (installed and table):
                store.ensure_pgvector()
        return PgvectorBackend(store, model, dim)
    return FaissBackend(root, model, dim)
