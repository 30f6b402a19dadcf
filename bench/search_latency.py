"""Query latency (p50/p95) of lexical, semantic and hybrid search, and resident memory.

Two corpora:
  * the 75k arXiv sample, indexed for real (`paperwire ingest` + `paperwire index`, real
    embeddings) in ``--home`` (built if missing; embedding 75k papers takes a while);
  * ``--scale N`` papers (default 1M): the sample's real titles and abstracts repeated under
    new ids, with random unit vectors standing in for their embeddings (the issue allows it:
    latency and memory depend on the sizes, not on the values).
Queries: 200 titles of Hugging Face daily papers (real researcher-facing titles), embedded
for real on every query. One thread for the vector scan's faiss calls, 2 for the model.

    python bench/search_latency.py --home /tmp/pw [--scale 1000000] [--queries 200]

With ``--baseline DIR --baseline-home HOME`` the 75k measurement is also taken with an older
checkout's own script and package over its own copy of the instance, the two alternating
(``--rounds`` each, medians reported), so both are measured in the same run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import write_section  # noqa: E402
from paperwire.index.embedder import load_embedder  # noqa: E402
from paperwire.index.indexer import IndexPaths, update_index  # noqa: E402
from paperwire.index.lexical import LexicalIndex  # noqa: E402
from paperwire.index.vectors import VectorIndex  # noqa: E402
from paperwire.models import Paper  # noqa: E402
from paperwire.search import Searcher  # noqa: E402
from paperwire.store import Store  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SAMPLE = DATA / "arxiv" / "arxiv-daily-75k.jsonl.gz"
HF = DATA / "hf-daily-papers" / "daily-papers-2024-2026.jsonl.gz"


def queries(n: int) -> list[str]:
    titles: list[str] = []
    with gzip.open(HF, "rt") as f:
        for line in f:
            title = json.loads(line)["item"]["paper"]["title"]
            if title not in titles:
                titles.append(" ".join(title.split()))
            if len(titles) >= n:
                break
    return titles


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(searcher: Searcher, texts: list[str]) -> dict[str, tuple[float, float]]:
    out = {}
    for mode in ("lexical", "semantic", "hybrid"):
        for text in texts[:5]:
            searcher.search(text, mode=mode)  # warm-up: model load, page cache
        times = []
        for text in texts:
            started = time.perf_counter()
            searcher.search(text, mode=mode, limit=10)
            times.append((time.perf_counter() - started) * 1000)
        q = statistics.quantiles(times, n=20)
        out[mode] = (statistics.median(times), q[18])
        print(f"  {mode}: p50 {out[mode][0]:.1f} ms, p95 {out[mode][1]:.1f} ms",
              file=sys.stderr)
    return out


def corpus_75k(home: Path, embedder: Any) -> Searcher:
    store = Store.from_url(f"sqlite:///{home / 'paperwire.db'}")
    if store.count_papers() < 70_000:
        from paperwire.ingest import ingest
        from paperwire.sources.files import JsonlSource

        ingest(JsonlSource(SAMPLE), store)
    update_index(store, IndexPaths.for_home(home), embedder)
    return Searcher(store, IndexPaths.for_home(home), lambda: embedder)


def corpus_scaled(home: Path, n: int, embedder: Any) -> Searcher:
    """n papers from the sample's texts under new ids; random unit vectors as embeddings."""
    store = Store.from_url(f"sqlite:///{home / 'paperwire.db'}")
    with gzip.open(SAMPLE, "rt") as f:
        base = [json.loads(line) for line in f]
    batch: list[Paper] = []
    for i in range(n):
        r = base[i % len(base)]
        batch.append(Paper(arxiv_id=f"{9000 + i // 100_000:04d}.{i % 100_000:05d}",
                           title=" ".join(r["title"].split()),
                           abstract=" ".join(r["summary"].split()), authors=tuple(r["authors"]),
                           categories=tuple(c for c in r["categories"] if "." in c) or ("cs.AI",),
                           primary_category=r["categories"][0], source="bench"))
        if len(batch) == 10_000:
            store.write_batch(batch)
            batch = []
            print(f"  stored {i + 1:,}", file=sys.stderr, end="\r")
    if batch:
        store.write_batch(batch)
    paths = IndexPaths.for_home(home)
    LexicalIndex(paths.lexical).sync(store)
    rng = np.random.default_rng(0)
    ids = np.arange(1, n + 1, dtype=np.int64)
    vectors = rng.standard_normal((n, embedder.dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    started = time.perf_counter()
    index = VectorIndex.build(ids, vectors)
    print(f"  vector index built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    paths.root.mkdir(parents=True, exist_ok=True)
    index.save(paths.vectors(embedder.model))
    del vectors, index
    return Searcher(store, paths, lambda: embedder)


def measure_in_fresh_process(home: Path, n_queries: int, code: Path = ROOT
                             ) -> tuple[dict[str, Any], float]:
    """Latency and peak RSS of a process that only opens the indexes and serves queries,
    as a web worker would (building them costs more memory than serving them). ``code`` is
    the checkout whose script and package answer (an older one for a baseline)."""
    import os
    import subprocess

    script = code / "bench" / "search_latency.py"
    out = subprocess.run([sys.executable, str(script), "--measure", str(home), "--home",
                          str(home), "--queries", str(n_queries)], capture_output=True,
                         text=True, check=True, cwd=code,
                         env={**os.environ, "PYTHONPATH": str(code)})
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return {m: tuple(v) for m, v in data["latency"].items()}, data["rss_mib"]


def compare(codes: list[tuple[str, Path, Path]], n_queries: int, rounds: int
            ) -> list[tuple[str, dict[str, Any], float]]:
    """Each code measured ``rounds`` times, alternating; the median of each figure."""
    taken: dict[str, list[tuple[dict[str, Any], float]]] = {name: [] for name, _, _ in codes}
    for _ in range(rounds):
        for name, code, home in codes:
            print(f"{name}:", file=sys.stderr)
            taken[name].append(measure_in_fresh_process(home, n_queries, code))
    rows = []
    for name, results in taken.items():
        latency = {m: (statistics.median(r[m][0] for r, _ in results),
                       statistics.median(r[m][1] for r, _ in results))
                   for m in ("lexical", "semantic", "hybrid")}
        rows.append((name, latency, statistics.median(rss for _, rss in results)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, required=True, help="75k corpus home")
    parser.add_argument("--scale", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--scale-home", type=Path, default=None,
                        help="keep the scaled corpus here and reuse it when already built")
    parser.add_argument("--build-only", action="store_true",
                        help="build the corpora, measure nothing")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--baseline", type=Path, help="an older checkout to measure alongside")
    parser.add_argument("--baseline-home", type=Path, help="its own copy of the 75k instance")
    parser.add_argument("--rounds", type=int, default=3, help="alternations with --baseline")
    args = parser.parse_args()
    embedder = load_embedder("auto", threads=2)
    texts = queries(args.queries)
    if args.measure:
        store = Store.from_url(f"sqlite:///{args.measure / 'paperwire.db'}", migrate_schema=False)
        result = measure(Searcher(store, IndexPaths.for_home(args.measure), lambda: embedder),
                         texts)
        print(json.dumps({"latency": result, "rss_mib": rss_mib()}))
        return
    rows = []
    if not args.build_only or not args.scale:
        print("75k sample:", file=sys.stderr)
        corpus_75k(args.home, embedder).store.close()
        if not args.build_only and args.baseline:
            rev = subprocess.run(["git", "-C", str(args.baseline), "rev-parse", "--short",
                                  "HEAD"], capture_output=True, text=True).stdout.strip()
            codes = [("this", ROOT, args.home),
                     (f"baseline {rev}", args.baseline.resolve(), args.baseline_home)]
            for name, result, rss in compare(codes, args.queries, args.rounds):
                rows.append((f"75k arXiv sample (real embeddings), {name} code", result, rss))
        elif not args.build_only:
            result, rss = measure_in_fresh_process(args.home, args.queries)
            rows.append(("75k arXiv sample (real embeddings)", result, rss))
    if args.scale:
        with tempfile.TemporaryDirectory() as tmp:
            home = args.scale_home or Path(tmp)
            home.mkdir(parents=True, exist_ok=True)
            print(f"{args.scale:,} papers:", file=sys.stderr)
            if not (home / "built").exists():
                corpus_scaled(home, args.scale, embedder).store.close()
                (home / "built").write_text(str(args.scale))
            if args.build_only:
                return
            result, rss = measure_in_fresh_process(home, args.queries)
            rows.append((f"{args.scale:,} papers (random vectors)", result, rss))
    lines = [f"| {name} | " + " | ".join(f"{r[m][0]:.1f} / {r[m][1]:.1f}"
                                          for m in ("lexical", "semantic", "hybrid"))
             + f" | {rss:,.0f} |" for name, r, rss in rows]
    body = (f"`python bench/search_latency.py`: {len(texts)} Hugging Face daily-paper titles "
            f"as queries, top 10 with snippets, `{embedder.name}` embedding each query on 2 "
            "threads (included in semantic and hybrid). Measured in a fresh process that only "
            "opens the store and indexes and answers queries, as a web worker does; peak RSS "
            "is that process's (model, indexes, SQLite cache).\n\n"
            "| corpus | lexical p50 / p95 ms | semantic p50 / p95 ms | hybrid p50 / p95 ms "
            "| peak RSS MiB |\n|---|---|---|---|---|\n" + "\n".join(lines))
    print(body)
    if not args.no_write:
        write_section("Search latency", body)


if __name__ == "__main__":
    main()
