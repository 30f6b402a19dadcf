"""halfvec against vector for the HNSW index: build time, size, recall@10 and query latency.

A one-off experiment behind the choice in paperwire/store/vectors.py, so its SQL lives here
and not in the store: random unit vectors (the hard case for HNSW; real embeddings cluster),
one table per type, an HNSW index (m=16, ef_construction=64, pgvector's defaults), then
``--queries`` queries at two ef_search values against an exact numpy scan. Also measures the
two filtered strategies (exact over ``id = ANY(allowed)``, and iterative scan where the
extension is 0.8 or newer) on a 5% allowed set.

    python bench/pgvector_types.py --url postgresql://postgres@127.0.0.1:5432/postgres -n 20000

Without ``--url`` it starts a throwaway server (tests/pg.py; PAPERWIRE_TEST_PG_BINDIR picks
the binaries, e.g. a build with a newer pgvector than the pgserver wheel's 0.6.2).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import write_section  # noqa: E402

DIM = 384
NOTE = (
    "Random unit vectors are HNSW's worst case (no clusters): unfiltered recall here is "
    'far below what real MiniLM embeddings get, so read the columns side by side, not as '
    "absolute figures. Chosen: `vector` (works on the pgserver wheel's pgvector 0.6.2, "
    'which has no halfvec; halfvec saves 43% of the index at equal recall and is the '
    '2.8M-paper step). Filters: the plain WHERE loses matches (the index filters its '
    'ef_search candidates); the store scans allowed sets of up to 50k ids exactly (CTE), '
    'and larger ones by iterative scan on pgvector >= 0.8.'
)


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM), dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def load(conn: Any, kind: str, vectors: np.ndarray) -> dict[str, float]:
    from pgvector import HalfVector
    from pgvector.psycopg import register_vector

    register_vector(conn)
    conn.execute(f"DROP TABLE IF EXISTS bench_{kind}")
    conn.execute(f"CREATE TABLE bench_{kind} (id bigint PRIMARY KEY, v {kind}({DIM}))")
    with conn.cursor().copy(f"COPY bench_{kind} (id, v) FROM STDIN WITH (FORMAT BINARY)") as cp:
        cp.set_types(["int8", kind])
        for i, row in enumerate(vectors, start=1):
            cp.write_row((i, row if kind == "vector" else HalfVector(row)))
    conn.commit()
    started = time.perf_counter()
    conn.execute(f"CREATE INDEX bench_{kind}_hnsw ON bench_{kind} USING hnsw (v {kind}_ip_ops)")
    conn.commit()
    built = time.perf_counter() - started
    size = conn.execute(f"SELECT pg_relation_size('bench_{kind}_hnsw'), "
                        f"pg_total_relation_size('bench_{kind}')").fetchone()
    return {"build_s": built, "index_mib": size[0] / 2**20, "table_mib": size[1] / 2**20}


def query(conn: Any, kind: str, q: np.ndarray, k: int, where: str = "",
          params: tuple[Any, ...] = (), *, exact: bool = False) -> tuple[list[int], float]:
    from pgvector import HalfVector, Vector

    wrapped = Vector(q) if kind == "vector" else HalfVector(q)
    sql = f"SELECT id FROM bench_{kind} {where} ORDER BY v <#> %s LIMIT {k}"
    if exact:
        sql = (f"WITH c AS MATERIALIZED (SELECT id, v <#> %s AS d FROM bench_{kind} "
               f"WHERE id = ANY(%s)) SELECT id FROM c ORDER BY d LIMIT {k}")
        params = (wrapped, *params)
    else:
        params = (*params, wrapped)
    started = time.perf_counter()
    rows = conn.execute(sql, params).fetchall()
    return [r[0] for r in rows], (time.perf_counter() - started) * 1000


def recall(found: list[int], truth: np.ndarray) -> float:
    return len(set(found) & set(truth.tolist())) / len(truth)


def summary(got: list[tuple[list[int], float]], truth: np.ndarray) -> tuple[float, float]:
    """Mean recall@k and median milliseconds of a run of queries."""
    return (statistics.mean(recall(g, t) for (g, _), t in zip(got, truth, strict=True)),
            statistics.median(ms for _, ms in got))


def measure(conn: Any, kind: str, vectors: np.ndarray, qs: np.ndarray, k: int,
            version: str) -> dict[str, Any]:
    out: dict[str, Any] = load(conn, kind, vectors)
    truth = np.argsort(-(qs @ vectors.T), axis=1)[:, :k] + 1
    for ef in (40, 100):
        conn.execute(f"SET hnsw.ef_search = {ef}")
        out[f"ef{ef}"] = summary([query(conn, kind, q, k) for q in qs], truth)
    rng = np.random.default_rng(1)
    allowed = np.sort(rng.choice(len(vectors), len(vectors) // 20, replace=False) + 1)
    mask = np.zeros(len(vectors), bool)
    mask[allowed - 1] = True
    scores = qs @ vectors.T
    scores[:, ~mask] = -np.inf
    ftruth = np.argsort(-scores, axis=1)[:, :k] + 1
    ids = allowed.tolist()
    # A plain WHERE: the planner takes the HNSW index and filters its ef_search candidates.
    out["filter_hnsw"] = summary(
        [query(conn, kind, q, k, "WHERE id = ANY(%s)", (ids,)) for q in qs], ftruth)
    # What the store does for up to EXACT_MAX allowed ids: a MATERIALIZED CTE, exact.
    out["filter_exact"] = summary([query(conn, kind, q, k, "", (ids,), exact=True)
                                   for q in qs], ftruth)
    if tuple(int(p) for p in version.split(".")[:2]) >= (0, 8):
        conn.execute("SET hnsw.iterative_scan = relaxed_order")
        out["filter_iterative"] = summary(
            [query(conn, kind, q, k, "WHERE id = ANY(%s)", (ids,)) for q in qs], ftruth)
        conn.execute("RESET ALL")
    conn.execute(f"DROP TABLE bench_{kind}")
    conn.commit()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a PostgreSQL URL (psycopg form); else one is started")
    parser.add_argument("-n", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    import psycopg

    server = None
    url = args.url
    if url is None:
        from tests import pg

        server = pg.start()
        url = server.url().replace("postgresql+psycopg", "postgresql")
    try:
        with psycopg.connect(url) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            conn.commit()
            version = conn.execute("SELECT extversion FROM pg_extension WHERE extname = "
                                   "'vector'").fetchone()[0]
            conn.execute("SET maintenance_work_mem = '512MB'")
            rng = np.random.default_rng(0)
            vectors, qs = unit(rng, args.n), unit(rng, args.queries)
            kinds = ["vector"] + (["halfvec"] if version >= "0.7" else [])
            rows = {kind: measure(conn, kind, vectors, qs, 10, version) for kind in kinds}
    finally:
        if server is not None:
            server.stop()
    report(rows, args.n, args.queries, version, args.no_write)


def report(rows: dict[str, dict[str, Any]], n: int, queries: int, version: str,
           no_write: bool) -> None:
    lines = [f"{n:,} random unit vectors ({DIM} dims), {queries} queries, pgvector {version}, "
             "HNSW m=16 ef_construction=64; recall@10 against an exact scan; one connection.",
             "Cells: recall@10 / p50 ms. The filters keep a random 5% of the rows.", "",
             "| type | build s | index MiB | table MiB | HNSW ef40 | HNSW ef100 | "
             "5%: HNSW + WHERE | 5%: exact CTE | 5%: iterative scan |",
             "|---|---|---|---|---|---|---|---|---|"]

    def cell(r: dict[str, Any], key: str) -> str:
        return f"{r[key][0]:.3f} / {r[key][1]:.2f}" if key in r else "n/a (< 0.8)"

    for kind, r in rows.items():
        lines.append(f"| {kind} | {r['build_s']:.1f} | {r['index_mib']:.1f} | "
                     f"{r['table_mib']:.1f} | " + " | ".join(
                         cell(r, key) for key in ("ef40", "ef100", "filter_hnsw",
                                                  "filter_exact", "filter_iterative")) + " |")
    lines += ["", NOTE]
    text = "\n".join(lines)
    print(text)
    if not no_write:
        write_section("pgvector: halfvec or vector (bench/pgvector_types.py)", text)


if __name__ == "__main__":
    main()
