"""Embedding on Ray beside one process, in one run: `python bench/embed.py --engine ray`.

Builds a throwaway home of the first N papers of the 75k sample (ingested through the file
source, nothing embedded), and copies its database once per pass, so every engine starts
from the same store and writes its vectors back through it, as `paperwire index` does:

- one process: ``indexer.embed_missing``, the model on ``--threads`` threads;
- Ray, 1 worker and 2 workers: ``RayBackfill`` on a local Ray of ``--threads`` CPUs, one
  actor per worker, each actor one model on one thread.

Reports papers/s over the whole embedding step (reading, embedding, writing back; for Ray
also its actors' start, but not ``ray.init``, which is timed apart), and whether each engine
stored the very bytes the one-process path stored. The passes take turns across the engines
so that a neighbour's load falls on each alike.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import median, write_section  # noqa: E402

ENGINES = ("one process", "Ray, 1 worker", "Ray, 2 workers")


def build_home(sample: Path, n: int, home: Path) -> Path:
    """A home holding the first ``n`` papers of ``sample``, none embedded; its database."""
    from paperwire.ingest import ingest
    from paperwire.settings import Settings
    from paperwire.sources.files import JsonlSource
    from paperwire.store import Store

    home.mkdir(parents=True)
    source = home / "papers.jsonl"
    with gzip.open(sample, "rt", encoding="utf-8") as f:
        source.write_text("".join(islice(f, n)), encoding="utf-8")
    with Store.open(Settings(home=home)) as store:
        report = ingest(JsonlSource(source), store, progress=False)
    if report.rejected:
        raise SystemExit(f"{report.rejected} sample records were rejected")
    print(f"a home of {n:,} papers at {home}", file=sys.stderr, flush=True)
    return home / "paperwire.db"


def one_pass(engine: str, database: Path, work: Path, embedder: Any
             ) -> tuple[float, float, bytes]:
    """(seconds the embedding step took, papers/s once the first batch was written, the
    stored vectors' bytes) on a fresh copy."""
    from paperwire.index.indexer import IndexReport, embed_missing
    from paperwire.index.ray_backfill import RayBackfill, RayOptions
    from paperwire.store import Store

    copy = work / "paperwire.db"
    shutil.copyfile(database, copy)
    with Store.from_url(f"sqlite:///{copy}") as store:
        writes: list[tuple[float, int]] = []  # when each batch was written, and its size
        write = store.write_embeddings

        def timed_write(model: str, ids: Any, hashes: Any, vectors: Any) -> None:
            write(model, ids, hashes, vectors)
            writes.append((time.perf_counter(), len(ids)))

        store.write_embeddings = timed_write  # type: ignore[method-assign]
        report = IndexReport()
        started = time.perf_counter()
        if engine == "one process":
            embed_missing(store, embedder, report)
        else:
            actors = int(engine.split(", ")[1].split()[0])
            RayBackfill(RayOptions(actors=actors, batch_size=100))(store, embedder, report)
        seconds = time.perf_counter() - started
        if store.count_to_embed(embedder.model):
            raise SystemExit(f"{engine}: papers left unembedded")
        raw = b"".join(v.astype("float16").tobytes()
                       for _, v in store.iter_embeddings(embedder.model, embedder.dim))
    copy.unlink()
    after_first = sum(n for _, n in writes[1:])
    steady = after_first / (writes[-1][0] - writes[0][0]) if after_first else 0.0
    return seconds, steady, raw


def main(args: argparse.Namespace, sample: Path) -> None:
    import ray

    from paperwire.index.embedder import load_embedder

    load_before = os.getloadavg()
    embedder = load_embedder("auto", threads=args.threads)
    walls: dict[str, list[float]] = {e: [] for e in ENGINES}
    steady: dict[str, list[float]] = {e: [] for e in ENGINES}
    same: dict[str, bool] = {e: True for e in ENGINES}
    with tempfile.TemporaryDirectory() as tmp:
        database = build_home(sample, args.n, Path(tmp) / "home")
        started = time.perf_counter()
        ray.init(num_cpus=args.threads, include_dashboard=False, logging_level="WARNING")
        init_s = time.perf_counter() - started
        try:
            reference = b""
            for turn in range(args.repeats):
                for engine in ENGINES:
                    seconds, rate, raw = one_pass(engine, database, Path(tmp), embedder)
                    walls[engine].append(seconds)
                    steady[engine].append(rate)
                    reference = reference or raw
                    same[engine] &= raw == reference
                    print(f"{engine}, pass {turn + 1}: {args.n / seconds:.1f} papers/s",
                          file=sys.stderr, flush=True)
        finally:
            ray.shutdown()
    load_after = os.getloadavg()
    base = args.n / median(walls["one process"])
    rows = []
    for engine in ENGINES:
        rate = args.n / median(walls[engine])
        spread = f"{args.n / max(walls[engine]):.0f}-{args.n / min(walls[engine]):.0f}"
        rows.append(f"| {engine} | {rate:.1f} ({spread}) | {rate / base:.2f}x | "
                    f"{median(steady[engine]):.1f} | {'yes' if same[engine] else 'NO'} |")
    body = (
        f"`python bench/embed.py --engine ray --n {args.n} --repeats {args.repeats} "
        f"--threads {args.threads}`: the first {args.n:,} papers of the 75k sample in a "
        f"throwaway SQLite home, embedded with {embedder.name} and written back through the "
        "store, from the same copy of the database each pass. One process: "
        f"`embed_missing`, the model on {args.threads} threads. Ray: `paperwire index --engine "
        f"ray`'s step on a local Ray of {args.threads} CPUs (`ray.init` took {init_s:.1f} s, "
        "not counted), one actor per worker, one thread per actor, batches of 100; its "
        "figure includes starting the actors (each builds the model graph); after the first "
        "batch: papers/s from the first batch written to the last, without that start. "
        "papers/s: median "
        f"(and range) of {args.repeats} passes, the engines taking turns. Same bytes: the "
        "stored float16 vectors equal the one-process ones bit for bit. Load average (1, 5, "
        f"15 min) {_load(load_before)} before, {_load(load_after)} after: the machine's "
        f"{os.cpu_count()} cores are shared, so above ~0.5 the rates are low and noisy.\n\n"
        "| engine | papers/s | vs one process | after the first batch | same bytes |\n"
        "|---|---|---|---|---|\n"
        + "\n".join(rows))
    print(body)
    if not args.no_write:
        write_section("Embedding on Ray", body)


def _load(values: tuple[float, float, float]) -> str:
    return " / ".join(f"{v:.1f}" for v in values)
