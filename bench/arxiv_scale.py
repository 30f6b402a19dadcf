"""arXiv at full size: ingest, keyword build, hybrid latency, filtered recall and one web
worker's memory over ``--scale`` papers (default 2.8M) on SQLite+faiss and PostgreSQL+pgvector.

The corpus has the snapshot's shape (``arxiv-metadata-oai-snapshot.json``): ids month by
month from 0704 to 2607, 1 to 3 versions, real categories and authors; each title and
abstract is recombined from the 75k real sample (a title of one paper, the sentences of two
others), so the keyword index sees real vocabulary at arXiv's size. Random unit vectors
stand in for the embeddings (written through the store, as ``paperwire index`` writes
real ones); the queries are 200 Hugging Face titles, embedded for real on every search.

Per backend, in this order, each phase timed and resumable (the work folder keeps what is
done; ``--fresh`` starts over):
  1. ``paperwire ingest snapshot`` of the generated file (papers/s, peak RSS);
  2. ``paperwire index --no-embed``: the keyword index (seconds);
  3. the stand-in vectors into the store, then ``paperwire index --backend faiss|pgvector``
     (the vector index built from them; seconds);
  4. hybrid search, top 10, in a fresh process (p50/p95 ms);
  5. filtered meaning search (a category, the last 4 weeks, both) against an exact scan of
     the same stored vectors restricted to the same papers (recall@10);
  6. ``paperwire serve --workers 1`` answering the queries over HTTP: its resident memory.

    python bench/arxiv_scale.py --work /big/disk/scale [--scale 2800000]
        [--backends sqlite,postgres] [--queries 200] [--fresh] [--no-write]

Needs ~40 GB of disk at 2.8M (file, two databases, vectors, indexes) and hours on 2 cores;
``--scale 100000`` checks the pipeline in minutes.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import write_section  # noqa: E402
from bench.search_latency import SAMPLE, queries  # noqa: E402
from bench.web import HOST, Server, get  # noqa: E402
from paperwire.taxonomy import CATEGORIES  # noqa: E402

TARGETS = {"p50_ms": 40, "p95_ms": 100, "rss_mib": 2560, "recall": 0.95}
FILTERS: dict[str, dict[str, Any]] = {"no filter": {}, "category cs.CV": {"categories": ("cs.CV",)},
           "last 4 weeks": {"since": "LAST4W"},
           "cs.CL, last 4 weeks": {"categories": ("cs.CL",), "since": "LAST4W"},
           "category math.AG": {"categories": ("math.AG",)}}
NOISE = 0.5  # the norm of the noise added to a real unit vector: cosine ~0.9 to it
FIRST_MONTH = (2007, 4)
LAST_MONTH = (2026, 7)


def months() -> list[tuple[int, int]]:
    (y, m), out = FIRST_MONTH, []
    while (y, m) <= LAST_MONTH:
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def generate(path: Path, n: int) -> None:
    """Write ``n`` snapshot records, spread evenly over the months, to ``path`` (gzip)."""
    with gzip.open(SAMPLE, "rt") as f:
        base = [json.loads(line) for line in f]
    sentences = [[s.strip() for s in " ".join(r["summary"].split()).split(". ") if s.strip()]
                 for r in base]
    families = sorted({a.split()[-1] for r in base for a in r["authors"] if a.split()})
    spans, rng = months(), random.Random(0)
    per_month = -(-n // len(spans))
    tmp = path.with_suffix(".part")
    with gzip.open(tmp, "wt", compresslevel=1) as out:
        for i in range(n):
            year, month = spans[i // per_month]
            r = base[i % len(base)]
            a, b = sentences[rng.randrange(len(base))], sentences[rng.randrange(len(base))]
            abstract = ". ".join(a[: max(1, len(a) // 2)] + b[len(b) // 2:]).rstrip(".") + "."
            day = datetime(year, month, 1 + i % 28, 12, tzinfo=UTC)
            created = [day + timedelta(days=30 * v) for v in range(1 + i % 3)]
            authors = r["authors"][:20]
            if i >= len(base):  # past the sample: the same given names, other family names
                authors = [" ".join([*a.split()[:-1], rng.choice(families)])
                           for a in authors if a.split()]
            out.write(json.dumps({
                "id": f"{year % 100:02d}{month:02d}.{i % per_month + 1:05d}",
                "submitter": authors[0] if authors else "Anonymous",
                "authors": ", ".join(authors), "title": " ".join(r["title"].split()),
                "comments": None, "journal-ref": None, "doi": None, "report-no": None,
                "categories": " ".join(c for c in r["categories"] if c in CATEGORIES) or "cs.AI",
                "license": None, "abstract": abstract,
                "versions": [{"version": f"v{k + 1}",
                              "created": c.strftime("%a, %d %b %Y %H:%M:%S GMT")}
                             for k, c in enumerate(created)],
                "update_date": created[-1].strftime("%Y-%m-%d"),
                "authors_parsed": [[name.split()[-1], " ".join(name.split()[:-1]), ""]
                                   for name in authors if name.split()],
            }) + "\n")
            if i % 100_000 == 0:
                print(f"  generated {i:,}", file=sys.stderr, end="\r")
    tmp.replace(path)


def run(cmd: list[str], env: dict[str, str]) -> float:
    """Run a paperwire command; its wall seconds. (Not its peak memory: a forked child's
    ru_maxrss starts at the parent's, which holds the sample.)"""
    started = time.perf_counter()
    code = subprocess.run([sys.executable, "-m", "paperwire", *cmd], env=env).returncode
    if code not in (0, 1):  # 1: some records rejected
        raise SystemExit(f"paperwire {' '.join(cmd)} failed ({code})")
    return time.perf_counter() - started


def sample_vectors(home: Path) -> dict[str, np.ndarray]:
    """The real embeddings of the sample's papers in ``home`` (an instance that indexed the
    75k sample), by title."""
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{home / 'paperwire.db'}")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT p.title, e.vector FROM embeddings e JOIN papers p "
                                 "ON p.id = e.paper_id"))
        return {" ".join(t.split()): np.frombuffer(v, np.float16).astype(np.float32)
                for t, v in rows}


def stand_in_vectors(env: dict[str, str], real: Path | None) -> float:
    """A vector for every paper, written through the store in batches: random unit vectors,
    or (``real``) the real embedding of the sample paper its title comes from, moved by
    noise (cosine ~0.9 to it), so the corpus keeps real embeddings' clusters."""
    from paperwire.index.minilm import DIM, MODEL
    from paperwire.settings import Settings
    from paperwire.store import Store

    store = Store.open(Settings.from_env(env))
    by_title = sample_vectors(real) if real else {}
    rng, after, started = np.random.default_rng(0), 0, time.perf_counter()
    while rows := store.papers_to_embed(MODEL, after, 20_000):
        vectors = rng.standard_normal((len(rows), DIM), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        if by_title:
            base = np.stack([by_title.get(r[2], vectors[n]) for n, r in enumerate(rows)])
            vectors = base + NOISE * vectors
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        store.write_embeddings(MODEL, [r[0] for r in rows], [r[1] for r in rows], vectors)
        after = rows[-1][0]
        print(f"  vectors up to row {after:,}", file=sys.stderr, end="\r")
    return time.perf_counter() - started


def measure(env: dict[str, str], n_queries: int) -> dict[str, Any]:
    """Hybrid latency and filtered recall, in this (fresh) process."""
    from paperwire.index.minilm import DIM, MODEL
    from paperwire.models import Filters
    from paperwire.search import CANDIDATES, Searcher
    from paperwire.settings import Settings
    from paperwire.store import Store

    settings = Settings.from_env(env)
    store = Store.open(settings)
    searcher = Searcher.from_settings(settings, store)
    texts = queries(n_queries)
    searcher.search(texts[0], limit=10)  # loads the model and the indexes
    took = []
    for text in texts:
        started = time.perf_counter()
        searcher.search(text, limit=10, mode="hybrid")
        took.append((time.perf_counter() - started) * 1000)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    last = datetime(*LAST_MONTH, 28, tzinfo=UTC).date()  # the newest day generate() writes
    embedder = searcher.embedder
    assert embedder is not None
    recall: dict[str, dict[str, float]] = {}
    qvecs = np.stack([embedder.embed([t])[0] for t in texts[:50]])  # one at a time, as search
    filters, allowed = {}, {}
    for label, spec in FILTERS.items():
        since = last - timedelta(weeks=4) if spec.get("since") == "LAST4W" else None
        filters[label] = Filters(categories=spec.get("categories", ()), since=since)
        allowed[label] = None if filters[label].empty else np.sort(np.asarray(
            searcher.lexical.matching_rows(filters[label],
                                           max(searcher.lexical.count(filters[label]), 1)),
            dtype=np.int64))
    truth = _exact_top(store, MODEL, DIM, qvecs, allowed, 10)
    for label, f in filters.items():
        hits, latencies = [], []
        for q, best in zip(qvecs, truth[label], strict=True):
            started = time.perf_counter()
            # The meaning half of a filtered search, as search() asks for it (its candidates
            # for fusion: CANDIDATES, of which the best 10 are compared).
            found = searcher._semantic(q, CANDIDATES, f)[:10]
            latencies.append((time.perf_counter() - started) * 1000)
            hits.append(len(best & {r for r, _ in found}) / max(1, len(best)))
        kept = allowed[label]
        recall[label] = {"allowed": len(kept) if kept is not None else store.count_papers(),
                         "recall": statistics.mean(hits),
                         "p50_ms": statistics.median(latencies)}
    return {"p50_ms": statistics.median(took), "p95_ms": float(np.percentile(took, 95)),
            "search_rss_mib": rss, "recall": recall}


def _exact_top(store: Any, model: str, dim: int, qvecs: np.ndarray,
               allowed: dict[str, np.ndarray | None], k: int) -> dict[str, list[set[int]]]:
    """For each filter and query, the rows of the k best stored vectors among the allowed
    (None: all): one pass over the store's vectors, keeping a running top k."""
    best = {label: (np.full((len(qvecs), 0), -np.inf, np.float32),
                    np.zeros((len(qvecs), 0), np.int64)) for label in allowed}
    for ids, vecs in store.iter_embeddings(model, dim):
        scores = vecs @ qvecs.T  # rows × queries
        for label, keep in allowed.items():
            mask = np.ones(len(ids), bool) if keep is None else np.isin(ids, keep)
            if not mask.any():
                continue
            s, r = best[label]
            s = np.concatenate([s, scores[mask].T], axis=1)
            r = np.concatenate([r, np.broadcast_to(ids[mask], (len(qvecs), int(mask.sum())))],
                               axis=1)
            top = np.argsort(-s, axis=1)[:, :k]
            best[label] = (np.take_along_axis(s, top, 1), np.take_along_axis(r, top, 1))
    return {label: [set(row.tolist()) for row in r] for label, (_, r) in best.items()}


def worker_rss(home: Path, env: dict[str, str], n_queries: int) -> float:
    """One `paperwire serve --workers 1` after answering the queries: its resident MiB."""
    saved = dict(os.environ)
    # Server passes this process's environment on: this backend's settings, for this server
    # only (the next backend must not inherit its database URL).
    os.environ.update({k: v for k, v in env.items() if k.startswith("PAPERWIRE_")})
    try:
        server = Server(home, workers=1)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    try:
        from urllib.parse import quote

        for text in queries(n_queries):
            get(f"http://{HOST}:{server.port}/search?q={quote(text)}", timeout=120)
        status = Path(f"/proc/{server.proc.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines()
                        if line.startswith("VmRSS:"))) / 1024
    finally:
        server.stop()


def bench_backend(name: str, work: Path, snapshot: Path, n: int, n_queries: int,
                  url: str | None, real: Path | None) -> dict[str, Any]:
    home = work / f"home-{name}"
    done_file = work / f"{name}.json"
    done: dict[str, Any] = json.loads(done_file.read_text()) if done_file.exists() else {}
    env = {**os.environ, "PAPERWIRE_HOME": str(home), "PAPERWIRE_INDEX_ON_INGEST": "0",
           "PAPERWIRE_VECTOR_BACKEND": "pgvector" if url else "faiss"}
    if url:
        env["PAPERWIRE_DATABASE_URL"] = url

    def phase(key: str, fn: Any) -> Any:
        if key not in done:
            print(f"[{name}] {key}…", file=sys.stderr)
            done[key] = fn()
            done_file.write_text(json.dumps(done, indent=1))
        return done[key]

    phase("ingest", lambda: run(["ingest", "snapshot", str(snapshot)], env))
    phase("lexical", lambda: run(["index", "--no-embed"], env))
    phase("vectors", lambda: stand_in_vectors(env, real))
    phase("vector_index", lambda: run(["index", "--backend", env["PAPERWIRE_VECTOR_BACKEND"]],
                                      env))
    phase("measure", lambda: json.loads(subprocess.run(
        [sys.executable, __file__, "--measure-only", "--queries", str(n_queries)], env=env,
        check=True, capture_output=True, text=True).stdout.splitlines()[-1]))
    phase("worker_rss", lambda: worker_rss(home, env, min(n_queries, 100)))
    done["papers"] = n
    return done


def report(results: dict[str, dict[str, Any]], n: int, load: tuple[str, str]) -> str:
    lines = [f"`python bench/arxiv_scale.py --scale {n}`: {n:,} papers in the snapshot's shape "
             "(texts recombined from the 75k sample), random unit vectors as embeddings, 200 "
             "Hugging Face titles as queries (embedded on every search). Load average before "
             f"/ after: {load[0]} / {load[1]}.", "",
             "| backend | ingest papers/s | keyword build s | vector index s | "
             "hybrid p50 / p95 ms | one worker RSS MiB |", "|---|---|---|---|---|---|"]
    for name, r in results.items():
        m = r["measure"]
        lines.append(f"| {name} | {n / r['ingest']:,.0f} | {r['lexical']:,.0f} | "
                     f"{r['vector_index']:,.0f} | {m['p50_ms']:.1f} / {m['p95_ms']:.1f} | "
                     f"{r['worker_rss']:,.0f} |")
    lines += ["", "Filtered meaning search, recall@10 against an exact scan of the same "
              "stored vectors (p50 ms of the meaning half):", "",
              "| filter | " + " | ".join(results) + " |",
              "|---|" + "---|" * len(results)]
    for label in FILTERS:
        cells = []
        for r in results.values():
            f = r["measure"]["recall"][label]
            cells.append(f"{f['recall']:.3f} ({f['allowed']:,} allowed, {f['p50_ms']:.1f} ms)")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", f"Targets: hybrid p50 ≤ {TARGETS['p50_ms']} ms and p95 ≤ {TARGETS['p95_ms']} "
              f"ms, one worker ≤ {TARGETS['rss_mib'] / 1024:.1f} GB, recall@10 ≥ "
              f"{TARGETS['recall']}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path)
    parser.add_argument("--scale", type=int, default=2_800_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--vectors-from", type=Path, metavar="HOME",
                        help="an instance with the 75k sample embedded: near-real vectors "
                             "instead of random ones")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_only:  # the child of phase 4/5: PAPERWIRE_* come from the environment
        print(json.dumps(measure(dict(os.environ), args.queries)))
        return
    if args.work is None:
        parser.error("--work DIR is required")
    if args.fresh and args.work.exists():
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True, exist_ok=True)
    load_before = f"{os.getloadavg()[0]:.1f}"
    snapshot = args.work / f"snapshot-{args.scale}.json.gz"
    if not snapshot.exists():
        generate(snapshot, args.scale)
    results: dict[str, dict[str, Any]] = {}
    server = None
    try:
        for name in args.backends.split(","):
            url = None
            if name == "postgres":
                from tests import pg

                server = pg.start()
                url = pg.create_database(server, "scale")
            results[name] = bench_backend(name, args.work, snapshot, args.scale, args.queries,
                                          url, args.vectors_from)
    finally:
        if server is not None:
            server.stop()
    text = report(results, args.scale, (load_before, f"{os.getloadavg()[0]:.1f}"))
    print(text)
    if not args.no_write:
        write_section("arXiv at full size (bench/arxiv_scale.py)", text)


if __name__ == "__main__":
    main()
