"""CPU per uncached search page, in-process: the figure a busy shared machine disturbs least.

The web app is driven through httpx's ASGI transport on one thread, with Starlette's thread
pool replaced by an inline call, so the process's CPU time per request is the page's cost
(the ASGI stack, the view, the searcher, the card reads and the template) without a server,
a load generator or the GIL hand-overs of 32 concurrent clients. Each query is a distinct
Hugging Face daily-paper title, as in bench/web.py.

    python bench/search_page_cpu.py --home COPY [--baseline TREE --baseline-home COPY2]

With a baseline, the two codes run alternately (``--rounds`` times each) in fresh processes,
each over its own copy of the instance. It prints; nothing is written to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

ROOT = Path(__file__).resolve().parents[1]


def child(home: Path, n: int, skip: int) -> dict[str, Any]:
    os.environ["PAPERWIRE_HOME"] = str(home)
    import anyio.to_thread
    import httpx

    async def inline(func: Any, *args: Any, **_: Any) -> Any:
        return func(*args)

    anyio.to_thread.run_sync = inline  # the views run on this thread: its CPU is theirs

    import paperwire
    from paperwire.settings import Settings
    from paperwire.web.app import create_app

    # This tree's bench/web.py (a baseline's may predate it), loaded after paperwire: it
    # puts this tree first on sys.path, and the package measured is PYTHONPATH's.
    spec = importlib.util.spec_from_file_location("_bench_web", ROOT / "bench" / "web.py")
    assert spec is not None and spec.loader is not None
    web = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = web  # its dataclasses look their module up
    spec.loader.exec_module(web)

    queries = web.titles(skip, n + 50)
    app = create_app(Settings.from_env())

    async def run() -> dict[str, float]:
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            for q in queries[:50]:  # model load, templates, the first index reads
                (await client.get("/search?q=" + quote_plus(q))).raise_for_status()
            each = []
            cpu0, wall0 = time.process_time(), time.perf_counter()
            for q in queries[50:]:
                started = time.process_time()
                (await client.get("/search?q=" + quote_plus(q))).raise_for_status()
                each.append((time.process_time() - started) * 1000)
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            return {"cpu_ms": cpu * 1000 / n, "cpu_ms_p50": statistics.median(each),
                    "wall_ms": wall * 1000 / n}

    found: dict[str, Any] = {**asyncio.run(run()), "package": paperwire.__file__}
    return found


def measure(code: Path, home: Path, n: int, skip: int) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", "--home", str(home), "--n",
                          str(n), "--skip", str(skip)], env={**os.environ,
                         "PYTHONPATH": str(code)}, cwd=code, capture_output=True, text=True,
                         check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--baseline", type=Path)
    ap.add_argument("--baseline-home", type=Path)
    ap.add_argument("--n", type=int, default=600, help="distinct queries measured per round")
    ap.add_argument("--skip", type=int, default=1500, help="distinct titles skipped first")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not 1 <= args.n <= 5000 or not 0 <= args.skip <= 4000 or not 1 <= args.rounds <= 10:
        ap.error("--n is 1..5000, --skip 0..4000, --rounds 1..10")
    if args.child:
        print(json.dumps(child(args.home, args.n, args.skip)))
        return
    codes = [("this", ROOT, args.home)]
    if args.baseline:
        if not args.baseline_home:
            ap.error("--baseline needs --baseline-home (its own copy of the instance)")
        codes.append(("baseline", args.baseline.resolve(), args.baseline_home))
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    for k in range(args.rounds):
        for name, code, home in codes:
            found = measure(code, home, args.n, args.skip)
            print(f"round {k + 1} {name}: {found['cpu_ms']:.2f} ms CPU a page (p50 "
                  f"{found['cpu_ms_p50']:.2f}), {found['wall_ms']:.2f} ms wall "
                  f"({found['package']})")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
