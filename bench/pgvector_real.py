"""pgvector (HNSW) against exact search on real MiniLM embeddings: recall@10 and latency.

bench/pgvector_types.py measured random unit vectors, HNSW's worst case. This one copies the
papers and stored embeddings of a real home (default: the 75k-paper bench home) into a
PostgreSQL store, builds the backend's HNSW index through ``PgvectorBackend.sync`` (as
``paperwire index --backend pgvector`` does), and asks real queries — Hugging Face daily
paper titles embedded by the default embedder — unfiltered, within one category, and
within a four-week window. Truth is an exact numpy scan over the same vectors, measured in
the same run; latencies are the backend's own search call, one connection, medians and p95.

    python bench/pgvector_real.py [--source HOME] [-n 20000] [--queries 200] [--url URL]
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.report import write_section  # noqa: E402
from paperwire.index.embedder import load_embedder  # noqa: E402
from paperwire.index.minilm import DIM, MODEL  # noqa: E402
from paperwire.index.pgvector import PgvectorBackend  # noqa: E402
from paperwire.models import paper_day  # noqa: E402
from paperwire.store import Store  # noqa: E402
from paperwire.store.papers import content_hash  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HF = ROOT.parent / "shared" / "data" / "hf-daily-papers" / "daily-papers-2024-2026.jsonl.gz"


def copy_home(source: Path, target: Store, n: int) -> tuple[list[int], np.ndarray,
                                                               dict[int, Any]]:
    """Papers and embeddings of ``source`` into ``target``: (target row ids, unit vectors,
    paper by target row id)."""
    with Store.from_url(f"sqlite:///{source / 'paperwire.db'}", migrate_schema=False) as src:
        papers = []
        for _, paper in src.iter_papers():
            papers.append(paper)
            if n and len(papers) >= n:
                break
        rows = src.row_ids([p.arxiv_id for p in papers])
        ids, vectors = src.get_embeddings(MODEL, [rows[p.arxiv_id] for p in papers], DIM)
    by_src = {int(i): k for k, i in enumerate(ids)}
    kept = [p for p in papers if rows[p.arxiv_id] in by_src]
    for start in range(0, len(kept), 2000):
        target.write_batch(kept[start:start + 2000])
    new_rows = target.row_ids([p.arxiv_id for p in kept])
    order = [by_src[rows[p.arxiv_id]] for p in kept]
    unit = np.asarray(vectors, np.float32)[order]
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    target_ids = [new_rows[p.arxiv_id] for p in kept]
    for start in range(0, len(kept), 5000):
        chunk = kept[start:start + 5000]
        target.write_embeddings(MODEL, target_ids[start:start + 5000],
                                [content_hash(p) for p in chunk], unit[start:start + 5000])
    return target_ids, unit, dict(zip(target_ids, kept, strict=True))


def queries(count: int) -> list[str]:
    seen: dict[str, None] = {}
    with gzip.open(HF, "rt", encoding="utf-8") as f:
        for line in f:
            seen.setdefault(" ".join(json.loads(line)["item"]["paper"]["title"].split()))
            if len(seen) >= count:
                break
    return list(seen)


def run(backend: PgvectorBackend, qvecs: np.ndarray, ids: np.ndarray, unit: np.ndarray,
        allowed: np.ndarray | None) -> dict[str, float]:
    mask = np.isin(ids, allowed) if allowed is not None else np.ones(len(ids), bool)
    recalls, times = [], []
    for q in qvecs:
        scores = np.where(mask, unit @ q, -np.inf)
        truth = set(ids[np.argsort(-scores)[:10]].tolist())
        started = time.perf_counter()
        found, _ = backend.search(q, 10, allowed)
        times.append((time.perf_counter() - started) * 1000)
        recalls.append(len(truth & set(found.tolist())) / len(truth))
    times.sort()
    return {"allowed": int(mask.sum()), "recall": statistics.fmean(recalls),
            "p50": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("/work/bench-home/pw"))
    parser.add_argument("-n", type=int, default=20000, help="papers (0: all of the home)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--url", help="a PostgreSQL URL (SQLAlchemy form); else one is started")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    server = None
    url = args.url
    if url is None:
        from tests import pg

        server = pg.start()
        url = server.url()
    try:
        with Store.from_url(url) as store:
            started = time.perf_counter()
            target_ids, unit, papers = copy_home(args.source, store, args.n)
            copied = time.perf_counter() - started
            backend = PgvectorBackend(store, MODEL, DIM)
            started = time.perf_counter()
            backend.sync(store)
            built = time.perf_counter() - started
            embedder = load_embedder("auto", threads=2)
            qvecs = np.asarray(embedder.embed(queries(args.queries)), np.float32)
            qvecs /= np.linalg.norm(qvecs, axis=1, keepdims=True)
            ids = np.asarray(target_ids, np.int64)
            category = _commonest_category(papers)
            in_category = np.asarray([r for r, p in papers.items()
                                      if category in p.categories], np.int64)
            latest = max(d for p in papers.values() if (d := paper_day(p)) is not None)
            window = np.asarray([r for r, p in papers.items()
                                 if (d := paper_day(p)) is not None
                                 and d > latest - timedelta(days=28)], np.int64)
            rows = [("no filter", run(backend, qvecs, ids, unit, None)),
                    (f"category {category}", run(backend, qvecs, ids, unit, in_category)),
                    ("last 4 weeks", run(backend, qvecs, ids, unit, window))]
            version = backend.extension_version
    finally:
        if server is not None:
            server.stop()
    body = _report(len(ids), copied, built, version, len(qvecs), rows, latest)
    print(body)
    if not args.no_write:
        write_section("pgvector on real embeddings (bench/pgvector_real.py)", body)


def _commonest_category(papers: dict[int, Any]) -> str:
    counts: dict[str, int] = {}
    for p in papers.values():
        counts[p.primary_category] = counts.get(p.primary_category, 0) + 1
    return max(counts, key=lambda c: counts[c])


def _report(n: int, copied: float, built: float, version: str, queries: int,
            rows: list[tuple[str, dict[str, float]]], latest: date) -> str:
    lines = [f"{n:,} papers of the 75k sample with their stored all-MiniLM-L6-v2 embeddings "
             f"(copied in {copied:.0f} s), pgvector {version}, HNSW built by "
             f"`PgvectorBackend.sync` in {built:.1f} s; {queries} Hugging Face titles as "
             "queries (default embedder), top 10, one connection; truth is an exact scan of "
             f"the same vectors in the same run. Window ends {latest}.", "",
             "| filter | papers allowed | recall@10 | p50 ms | p95 ms |", "|---|---|---|---|---|"]
    lines += [f"| {name} | {m['allowed']:,} | {m['recall']:.3f} | {m['p50']:.1f} | "
              f"{m['p95']:.1f} |" for name, m in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
