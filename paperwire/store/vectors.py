"""Vectors in PostgreSQL (pgvector): the paper_vectors table, its HNSW index, and searches.

PostgreSQL only, and only where the ``vector`` extension is installed (migration 0009
creates the table when it can; ``ensure_pgvector`` does so later). The embeddings table
stays the source of truth: rows here are copied from it (``sync_pgvector``) and can be
rebuilt from it at any time, so no paper is re-embedded to switch backends.

The column is ``vector(384)``, not ``halfvec``: the pgvector that the pgserver wheel (and so
CI) bundles is 0.6.2, which predates halfvec (0.7). bench/pgvector_types.py measured both
on 0.8.1 at 20k vectors (BENCHMARKS.md): equal recall, halfvec's index 57% the size
(22 vs 39 MiB), but no faster (p50 3.2 vs 2.1 ms at ef_search 40 on a loaded 2-core box).
vector works on every pgvector CI and users run; halfvec is the step to take at 2.8M papers
(index ~2.5 GB instead of ~4.5 GB) once every server has pgvector >= 0.7.

Filtered searches (the allowed-id sets the Searcher sends, at most a fifth of the papers):
  * up to ``EXACT_MAX`` allowed ids: an exact scan of just those rows (a MATERIALIZED CTE
    keeps the planner from the HNSW index, which would filter *after* its ef_search
    candidates and lose matches: measured recall 0.92 that way at 5%);
  * more: pgvector >= 0.8's iterative scan (``hnsw.iterative_scan = relaxed_order``), or
    on older versions the HNSW index at ef_search 1000 with the filter applied to its
    candidates; either way an exact scan when that finds fewer than k.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Engine, select, text

from paperwire.errors import ConfigError
from paperwire.store.counters import bump, counter
from paperwire.store.database import write_transaction
from paperwire.store.embeddings import _unpack

log = logging.getLogger(__name__)

DIM = 384  # the column's width: MiniLM's vectors, the only model the built-ins compute
EXACT_MAX = 50_000  # allowed ids scanned exactly (~1 ms per thousand rows)
DEFAULT_EF_SEARCH = 100
MAX_EF_SEARCH = 1_000  # pgvector's limit
COPY_BATCH = 20_000
COUNTER = "pgvector"

# Kept in step with migration 0009 (which holds its own copy, as migrations must).
DDL = (
    "CREATE TABLE IF NOT EXISTS paper_vectors ("
    " model varchar(64) NOT NULL,"
    " paper_id integer NOT NULL REFERENCES papers(id) ON DELETE CASCADE,"
    " created_at timestamp NOT NULL,"
    f" embedding vector({DIM}) NOT NULL,"
    " PRIMARY KEY (model, paper_id))",
    "CREATE INDEX IF NOT EXISTS ix_paper_vectors_hnsw ON paper_vectors"
    " USING hnsw (embedding vector_ip_ops)",
)


def pgvector_status(conn: Connection) -> tuple[str | None, str | None, bool]:
    """(installed extension version, available version, whether paper_vectors exists);
    all empty on SQLite."""
    if conn.dialect.name != "postgresql":
        return None, None, False
    installed = conn.execute(text("SELECT extversion FROM pg_extension WHERE extname = "
                                  "'vector'")).scalar()
    available = conn.execute(text("SELECT default_version FROM pg_available_extensions "
                                  "WHERE name = 'vector'")).scalar()
    table = conn.execute(text("SELECT to_regclass('paper_vectors') IS NOT NULL")).scalar()
    return installed, available, bool(table)


def ensure_pgvector(engine: Engine) -> None:
    """Create the extension, the table and its index if missing; ConfigError saying why
    when PostgreSQL cannot (no pgvector installed, or no right to create extensions)."""
    if engine.dialect.name != "postgresql":
        raise ConfigError("the pgvector backend needs PostgreSQL (this store is "
                          f"{engine.dialect.name}); use PAPERWIRE_VECTOR_BACKEND=faiss")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
            for statement in DDL:
                conn.execute(text(statement))
    except Exception as exc:  # the driver's error names what PostgreSQL refused
        detail = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise ConfigError(f"cannot set up pgvector on this PostgreSQL ({detail}); install "
                          "the extension (Debian: postgresql-16-pgvector) as a superuser, "
                          "or use PAPERWIRE_VECTOR_BACKEND=faiss") from None


def _driver(conn: Connection) -> Any:
    try:
        from pgvector.psycopg import register_vector
    except ImportError as exc:
        raise ImportError("the pgvector backend needs the pgvector package: "
                          "pip install 'paperwire[postgres]'") from exc
    raw: Any = conn.connection.driver_connection
    register_vector(raw)
    return raw


def _copy(conn: Connection, model: str, ids: Sequence[int], created: Sequence[datetime],
          vectors: npt.NDArray[np.float32]) -> None:
    from pgvector import Vector

    raw = _driver(conn)
    sql = ("COPY paper_vectors (model, paper_id, created_at, embedding) FROM STDIN "
           "WITH (FORMAT BINARY)")
    with raw.cursor() as cursor, cursor.copy(sql) as copy:
        copy.set_types(["varchar", "int4", "timestamp", "vector"])
        for n, paper_id in enumerate(ids):
            copy.write_row((model, int(paper_id), created[n], Vector(vectors[n])))


def upsert_vectors(conn: Connection, model: str, ids: Sequence[int],
                   created: Sequence[datetime], vectors: npt.NDArray[np.float32]) -> None:
    delete_vectors(conn, model, ids)
    _copy(conn, model, ids, created, vectors)
    bump(conn, COUNTER)


def delete_vectors(conn: Connection, model: str, ids: Sequence[int]) -> None:
    conn.execute(text("DELETE FROM paper_vectors WHERE model = :m AND paper_id = ANY(:ids)"),
                 {"m": model, "ids": [int(i) for i in ids]})
    bump(conn, COUNTER)


def clear_vectors(conn: Connection, model: str) -> None:
    conn.execute(text("DELETE FROM paper_vectors WHERE model = :m"), {"m": model})
    bump(conn, COUNTER)


def count_vectors(conn: Connection, model: str) -> int:
    return int(conn.execute(text("SELECT count(*) FROM paper_vectors WHERE model = :m"),
                            {"m": model}).scalar_one())


def vectors_version(conn: Connection) -> int:
    """Bumped by every write to paper_vectors: one primary-key lookup."""
    return int(conn.execute(select(counter(COUNTER))).scalar_one())


def pending(conn: Connection, model: str, dim: int, after: int, limit: int
            ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32], list[datetime]]:
    """Embeddings not yet copied (or copied before their paper was re-embedded), by id:
    from the newest copied stamp on (inclusive, so a copy interrupted inside one write's
    stamp is completed), anti-joined against what is here."""
    rows = conn.execute(text(
        "SELECT e.paper_id, e.vector, e.created_at FROM embeddings e "
        "LEFT JOIN paper_vectors v ON v.model = e.model AND v.paper_id = e.paper_id "
        "WHERE e.model = :m AND e.paper_id > :after "
        "AND e.created_at >= COALESCE((SELECT max(created_at) FROM paper_vectors "
        "WHERE model = :m), '-infinity'::timestamp) "
        "AND (v.paper_id IS NULL OR v.created_at <> e.created_at) "
        "ORDER BY e.paper_id LIMIT :limit"), {"m": model, "after": after, "limit": limit}
    ).all()
    ids, vectors = _unpack(rows, dim)
    return ids, vectors, [r.created_at for r in rows]


def rebuild(engine: Engine, model: str, dim: int) -> int:
    """Replace the model's rows with the embeddings table's, in one transaction, building
    the HNSW index once at the end (several times faster than growing it row by row;
    searches wait for the commit)."""
    with write_transaction(engine) as conn:
        conn.execute(text("DROP INDEX IF EXISTS ix_paper_vectors_hnsw"))
        conn.execute(text("DELETE FROM paper_vectors WHERE model = :m"), {"m": model})
        copied, after = 0, 0
        while True:
            rows = conn.execute(text(
                "SELECT paper_id, vector, created_at FROM embeddings WHERE model = :m "
                "AND paper_id > :after ORDER BY paper_id LIMIT :limit"),
                {"m": model, "after": after, "limit": COPY_BATCH}).all()
            if not rows:
                break
            ids, vectors = _unpack(rows, dim)
            _copy(conn, model, ids.tolist(), [r.created_at for r in rows], vectors)
            copied, after = copied + len(rows), rows[-1].paper_id
        conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        conn.execute(text(DDL[1]))
        bump(conn, COUNTER)
    return copied


def search_vectors(conn: Connection, model: str, query: npt.NDArray[np.float32], k: int,
                   allowed: Sequence[int] | None, ef_search: int, iterative: bool
                   ) -> list[tuple[int, float]]:
    """The k best (paper_id, cosine) of the model, best first; only ``allowed`` if given.
    Run inside a transaction (the SET LOCALs end with it)."""
    params: dict[str, Any] = {"m": model, "q": _literal(query), "k": k}
    if allowed is not None and len(allowed) <= EXACT_MAX:
        return _exact(conn, params, allowed)
    ef = min(MAX_EF_SEARCH, max(ef_search, k))
    where = ""
    if allowed is not None:
        params["ids"] = [int(i) for i in allowed]
        where = " AND paper_id = ANY(:ids)"
        ef = MAX_EF_SEARCH
        if iterative:
            conn.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
    conn.execute(text(f"SET LOCAL hnsw.ef_search = {int(ef)}"))
    rows = conn.execute(text(
        "SELECT paper_id, -(embedding <#> CAST(:q AS vector)) AS score FROM paper_vectors "
        f"WHERE model = :m{where} ORDER BY embedding <#> CAST(:q AS vector) LIMIT :k"),
        params).all()
    found = sorted(((int(r.paper_id), float(r.score)) for r in rows), key=lambda x: -x[1])
    if allowed is not None and len(found) < min(k, len(allowed)):
        return _exact(conn, params, allowed)
    return found


def _exact(conn: Connection, params: dict[str, Any], allowed: Sequence[int]
           ) -> list[tuple[int, float]]:
    params = {**params, "ids": [int(i) for i in allowed]}
    rows = conn.execute(text(
        "WITH c AS MATERIALIZED (SELECT paper_id, -(embedding <#> CAST(:q AS vector)) AS score"
        " FROM paper_vectors WHERE model = :m AND paper_id = ANY(:ids)) "
        "SELECT paper_id, score FROM c ORDER BY score DESC, paper_id LIMIT :k"), params).all()
    return [(int(r.paper_id), float(r.score)) for r in rows]


def _literal(vector: npt.NDArray[np.float32]) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in np.asarray(vector, np.float32).ravel()) + "]"


class VectorMethods:
    """Store methods over paper_vectors (mixed into Store)."""

    engine: Engine

    def pgvector_status(self) -> tuple[str | None, str | None, bool]:
        """(installed pgvector version, available version, whether its table exists)."""
        with self.engine.connect() as conn:
            return pgvector_status(conn)

    def ensure_pgvector(self) -> None:
        ensure_pgvector(self.engine)

    def count_vectors(self, model: str) -> int:
        with self.engine.connect() as conn:
            return count_vectors(conn, model)

    def vectors_version(self) -> int:
        with self.engine.connect() as conn:
            return vectors_version(conn)

    def upsert_vectors(self, model: str, ids: Sequence[int],
                       vectors: npt.NDArray[np.float32]) -> None:
        """Write vectors directly (stamped now); ``sync_vectors`` copies the store's own."""
        from paperwire.store.database import utcnow

        with write_transaction(self.engine) as conn:
            upsert_vectors(conn, model, ids, [utcnow()] * len(ids), vectors)

    def delete_vectors(self, model: str, ids: Sequence[int]) -> None:
        with write_transaction(self.engine) as conn:
            delete_vectors(conn, model, ids)

    def clear_vectors(self, model: str) -> None:
        with write_transaction(self.engine) as conn:
            clear_vectors(conn, model)

    def rebuild_vectors(self, model: str, dim: int) -> int:
        """Replace the model's vectors with the embeddings table's; how many were copied."""
        return rebuild(self.engine, model, dim)

    def sync_vectors(self, model: str, dim: int) -> int:
        """Copy embeddings written since the last copy, a batch per transaction (resumable);
        how many were copied."""
        copied, after = 0, 0
        while True:
            with write_transaction(self.engine) as conn:
                ids, vectors, created = pending(conn, model, dim, after, COPY_BATCH)
                if not len(ids):
                    return copied
                upsert_vectors(conn, model, ids.tolist(), created, vectors)
            copied, after = copied + len(ids), int(ids[-1])

    def search_vectors(self, model: str, query: npt.NDArray[np.float32], k: int,
                       allowed: Sequence[int] | None = None, *,
                       ef_search: int = DEFAULT_EF_SEARCH, iterative: bool = False
                       ) -> list[tuple[int, float]]:
        with self.engine.begin() as conn:
            return search_vectors(conn, model, query, k, allowed, ef_search, iterative)
