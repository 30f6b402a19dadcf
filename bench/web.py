"""Throughput and latency of the served site under a closed loop of concurrent clients.

Starts `paperwire serve` on a free loopback port (--workers 1, then 2), waits until it
answers, warms it up, then drives each route with ``--clients`` connections for
``--seconds``, each client sending its next request as soon as the last one is answered:

  * home     ``/`` (papers of the latest day);
  * paper    ``/papers/{id}``, rotating over ``--papers`` ids taken from ``/index.json``
             and the dates before it;
  * search   ``/search?q=...`` (hybrid), every request a distinct Hugging Face daily-paper
             title, so nothing can be answered from a cache;
  * stats    ``/stats`` over 30, 90 and 365 days (cached by the data version).

The load generator is wrk (C, one thread, a Lua script rotating the URLs), installed with
apt-get if missing, since on a small machine it shares the cores with the server and a
Python client would take much of the CPU it is measuring. Without wrk it falls back to an
httpx.AsyncClient loop (and says so). CPU seconds of the server (all its processes) and of
the load generator are reported for each run.

    python bench/web.py --home /tmp/pw [--seconds 15] [--clients 32] [--workers 1 2]

With ``--baseline DIR --baseline-home HOME`` it also serves an older checkout of paperwire
(e.g. ``git worktree add /tmp/old <rev>``) over its own copy of the instance (a newer schema
may not open in older code), alternating the two servers route by route in the same run, so
the comparison shares the machine's state.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# ../shared/data, or where PAPERWIRE_TEST_SHARED_DATA says (as for the tests: a worktree).
SHARED = Path(os.environ.get("PAPERWIRE_TEST_SHARED_DATA") or ROOT.parent / "shared" / "data")
HF = SHARED / "hf-daily-papers" / "daily-papers-2024-2026.jsonl.gz"
HOST = "127.0.0.1"
# req/s on 2 cores, from the issues
TARGETS = {"home": 300, "paper": 300, "search": 60, "stats": 200}


@dataclass
class Run:
    code: str
    route: str
    workers: int
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    errors: int
    server_cpu_s: float
    client_cpu_s: float
    other_cpu_s: float  # the rest of the machine's busy CPU during the run (other work)
    wrapped: bool = False  # True when the URL list ran out and repeated

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def busy_cpu_s() -> float:
    t = psutil.cpu_times()
    return float(sum(t) - t.idle - getattr(t, "iowait", 0.0))


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def get(url: str, timeout: float = 30) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (loopback only)
        return bytes(r.read())


def titles(skip: int, n: int) -> list[str]:
    """``n`` distinct daily-paper titles after the first ``skip`` distinct ones."""
    seen: dict[str, None] = {}
    with gzip.open(HF, "rt") as f:
        for line in f:
            seen.setdefault(" ".join(json.loads(line)["item"]["paper"]["title"].split()))
            if len(seen) >= skip + n:
                break
    return list(seen)[skip:skip + n]


def paper_ids(base: str, n: int) -> list[str]:
    """Ids from the home page's JSON twin, then earlier days until there are ``n``."""
    ids: list[str] = []
    url = f"{base}/index.json"
    while len(ids) < n and url:
        data = json.loads(get(url))
        ids += [p["arxiv_id"] for p in data["papers"]]
        url = f"{base}{data['prev']['url']}.json" if data.get("prev") else ""
    return ids[:n]


class Server:
    def __init__(self, home: Path, workers: int, code: Path = ROOT) -> None:
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        # The package of ``code`` comes first on the path, ahead of the installed one.
        env = {**os.environ, "PYTHONPATH": str(code)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "paperwire", "--home", str(home), "serve", "--host", HOST,
             "--port", str(self.port), "--workers", str(workers)], env=env, cwd=code,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 180
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"paperwire serve exited with {self.proc.returncode}")
            try:
                get(f"{self.base}/about.json", timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit("paperwire serve did not answer within 180 s") from None
                time.sleep(0.5)

    def cpu_s(self) -> float:
        total = 0.0
        try:
            root = psutil.Process(self.proc.pid)
            for p in [root, *root.children(recursive=True)]:
                t = p.cpu_times()
                total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
        return total

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(5)


# --- wrk ----------------------------------------------------------------------------------
LUA = """
local paths = {%s}
local i = 0
wrapped = 0
request = function()
  i = i + 1
  if i > #paths then i = 1; wrapped = 1 end
  return wrk.format("GET", paths[i])
end
local threads = {}
setup = function(t) table.insert(threads, t) end
done = function(summary, latency, requests)
  local w = 0
  for _, t in ipairs(threads) do w = math.max(w, t:get("wrapped")) end
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%.1f %%.1f %%d %%d\\n", summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(95),
    e.connect + e.read + e.write + e.timeout + e.status, w))
end
"""


def ensure_wrk() -> str | None:
    if shutil.which("wrk"):
        return shutil.which("wrk")
    print("wrk missing: apt-get install -y wrk", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "-qq", "-o", "DPkg::Lock::Timeout=180", "wrk"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return shutil.which("wrk")


def load_wrk(wrk: str, base: str, paths: list[str], clients: int, seconds: int
             ) -> tuple[int, float, float, float, int, bool, float]:
    quoted = ",".join(json.dumps(p) for p in paths)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA % quoted)
    try:
        before = os.times()
        out = subprocess.run([wrk, "-t1", f"-c{clients}", f"-d{seconds}s", "--timeout", "30s",
                              "-s", f.name, base], capture_output=True, text=True,
                             timeout=seconds + 60).stdout
        after = os.times()
    finally:
        os.unlink(f.name)
    m = re.search(r"^RESULT (\d+) (\d+) ([\d.]+) ([\d.]+) (\d+) (\d+)$", out, re.M)
    if not m:
        raise SystemExit(f"wrk said:\n{out}")
    n, dur_us, p50, p95, errors, wrapped = m.groups()
    cpu = (after.children_user - before.children_user
           + after.children_system - before.children_system)
    return (int(n), int(dur_us) / 1e6, float(p50) / 1000, float(p95) / 1000, int(errors),
            wrapped == "1", cpu)


# --- httpx fallback -----------------------------------------------------------------------
def load_httpx(base: str, paths: list[str], clients: int, seconds: int
               ) -> tuple[int, float, float, float, int, bool, float]:
    import httpx

    times: list[float] = []
    errors = 0
    state = {"i": 0, "wrapped": False}

    async def client(http: httpx.AsyncClient, stop: float) -> None:
        nonlocal errors
        while time.perf_counter() < stop:
            i = state["i"]
            state["i"] = (i + 1) % len(paths)
            state["wrapped"] = state["wrapped"] or i + 1 == len(paths)
            started = time.perf_counter()
            try:
                r = await http.get(paths[i])
                ok = r.status_code == 200
            except httpx.HTTPError:
                ok = False
            times.append((time.perf_counter() - started) * 1000)
            errors += not ok

    async def main() -> float:
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:
            started = time.perf_counter()
            await asyncio.gather(*(client(http, started + seconds) for _ in range(clients)))
            return time.perf_counter() - started

    cpu0 = time.process_time()
    elapsed = asyncio.run(main())
    q = statistics.quantiles(times, n=20)
    return (len(times), elapsed, statistics.median(times), q[18], errors,
            bool(state["wrapped"]), time.process_time() - cpu0)


# --- driver -------------------------------------------------------------------------------
def start(home: Path, workers: int, code: Path, n_papers: int, queries: list[str]
          ) -> tuple[Server, dict[str, list[str]]]:
    server = Server(home, workers, code)
    ids = paper_ids(server.base, n_papers)
    routes = {
        "home": ["/"],
        "paper": [f"/papers/{i}" for i in ids],
        "search": ["/search?" + urllib.parse.urlencode({"q": q}) for q in queries],
    }
    try:
        get(f"{server.base}/stats.json")
        routes["stats"] = ["/stats", "/stats?days=90", "/stats?days=365"]
    except OSError:
        pass  # an older checkout without the stats page
    warm = [f"/search?q=warm+up+{i}" for i in range(20)]
    for path in ["/", *routes.get("stats", []), *routes["paper"][:20], *warm]:
        get(server.base + path)  # warm-up: model load, templates, page cache
    return server, routes


def drive(name: str, server: Server, route: str, paths: list[str], workers: int, seconds: int,
          clients: int, wrk: str | None) -> Run:
    cpu0, busy0 = server.cpu_s(), busy_cpu_s()
    if wrk:
        result = load_wrk(wrk, server.base, paths, clients, seconds)
    else:
        result = load_httpx(server.base, paths, clients, seconds)
    n, dur, p50, p95, errors, wrapped, client_cpu = result
    server_cpu = server.cpu_s() - cpu0
    other = max(0.0, busy_cpu_s() - busy0 - server_cpu - client_cpu)
    run = Run(name, route, workers, n, dur, p50, p95, errors, server_cpu, client_cpu, other,
              wrapped)
    print(f"{name} workers={workers} {route}: {run.rps:.0f} req/s, p50 {p50:.1f} ms, "
          f"p95 {p95:.1f} ms, {errors} errors, server CPU {run.server_cpu_s:.1f} s, "
          f"client CPU {client_cpu:.1f} s, other CPU {other:.1f} s"
          f"{' (URLs repeated)' if wrapped else ''}", file=sys.stderr)
    return run


ROUTES = ("home", "paper", "search", "stats")


def bench(codes: list[tuple[str, Path, Path]], workers: int, seconds: int, clients: int,
          n_papers: int, wrk: str | None, queries: list[str],
          only: tuple[str, ...] = ROUTES, rounds: int = 1) -> list[Run]:
    """Each (name, code root, home) served at once; routes driven in turn, code by code,
    ``rounds`` times over."""
    servers: list[tuple[str, Server, dict[str, list[str]]]] = []
    try:
        for name, code, home in codes:
            server, routes = start(home, workers, code, n_papers, queries)
            servers.append((name, server, routes))
        runs = []
        for k in range(rounds):
            for route in only:
                for name, server, routes in servers:
                    if route not in routes:
                        continue
                    paths = routes[route]
                    if route == "search":  # each round starts on queries not asked yet
                        cut = k * len(paths) // rounds
                        paths = paths[cut:] + paths[:cut]
                    runs.append(drive(name, server, route, paths, workers, seconds,
                                      clients, wrk))
        return runs
    finally:
        for _, server, _ in servers:
            server.stop()


def medians(runs: list[Run]) -> list[tuple[Run, list[Run]]]:
    """Each (code, route, workers) once: its round with the median req/s, and all rounds."""
    groups: dict[tuple[str, str, int], list[Run]] = {}
    for r in runs:
        groups.setdefault((r.code, r.route, r.workers), []).append(r)
    order = sorted(groups, key=lambda g: (g[2], ROUTES.index(g[1])))
    return [(sorted(groups[g], key=lambda r: r.rps)[(len(groups[g]) - 1) // 2], groups[g])
            for g in order]


def table(runs: list[Run]) -> str:
    lines = ["| code | route | workers | req/s (median) | rounds' req/s | target | p50 ms | "
             "p95 ms | errors | server CPU (cores) | req per server CPU s | "
             "load gen CPU (cores) | other CPU (cores) |",
             "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r, rounds in medians(runs):
        repeated = (" (queries repeated)" if any(x.wrapped for x in rounds)
                    and r.route == "search" else "")
        each = ", ".join(f"{x.rps:,.0f}" for x in rounds)
        lines.append(f"| {r.code} | {r.route}{repeated} | {r.workers} | "
                     f"{r.rps:,.0f} | {each} | ≥{TARGETS[r.route]} | {r.p50_ms:.1f} | "
                     f"{r.p95_ms:.1f} | "
                     f"{sum(x.errors for x in rounds)} | {r.server_cpu_s / r.seconds:.2f} | "
                     f"{r.requests / r.server_cpu_s if r.server_cpu_s else 0:,.0f} | "
                     f"{r.client_cpu_s / r.seconds:.2f} | {r.other_cpu_s / r.seconds:.2f} |")
    return "\n".join(lines)


def _revision(code: Path) -> str:
    out = subprocess.run(["git", "-C", str(code), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True, check=False)
    return out.stdout.strip() or str(code)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--home", type=Path, default=Path("/tmp/pw"))
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--papers", type=int, default=200)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--queries", type=int, default=3000, help="distinct search queries per run")
    ap.add_argument("--no-wrk", action="store_true", help="use the httpx client instead")
    ap.add_argument("--no-write", action="store_true", help="print, don't touch BENCHMARKS.md")
    ap.add_argument("--baseline", type=Path, help="an older checkout to measure alongside")
    ap.add_argument("--baseline-home", type=Path, help="its own copy of the instance")
    ap.add_argument("--routes", nargs="+", choices=ROUTES, default=list(ROUTES),
                    help="the routes to drive (all by default)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="drive each route this many times, alternating the servers; "
                    "medians are reported (a shared machine's noise)")
    args = ap.parse_args()
    codes = [("this", ROOT, args.home)]
    if args.baseline:
        if not args.baseline_home:
            ap.error("--baseline needs --baseline-home (a copy of the instance)")
        codes.append((f"baseline {_revision(args.baseline)}", args.baseline.resolve(),
                      args.baseline_home))
    wrk = None if args.no_wrk else ensure_wrk()
    load_before = os.getloadavg()
    runs: list[Run] = []
    for k, workers in enumerate(args.workers):
        queries = titles(k * args.queries, args.queries)  # fresh queries for each server
        runs += bench(codes, workers, args.seconds, args.clients, args.papers, wrk, queries,
                      tuple(args.routes), args.rounds)
    body = table(runs)
    gen = ("wrk (1 thread, Lua script rotating the URLs)" if wrk
           else "a Python httpx.AsyncClient loop")
    load_after = os.getloadavg()
    other_total = sum(r.other_cpu_s for r in runs)
    body += (
        f"\n\nClosed loop: {args.clients} connections, keep-alive, {args.seconds} s per route "
        f"and round ({args.rounds} round{'s' if args.rounds > 1 else ''}, the servers "
        f"alternating route by route; errors summed over the rounds) after a warm-up, "
        f"`paperwire serve --workers N` on 127.0.0.1 in a subprocess, the "
        f"75k-paper instance with real embeddings. Load generator: {gen}, on the same "
        f"{os.cpu_count()} cores as the server; CPU columns are CPU seconds per wall second "
        f"(1.00 = one core busy), and requests per CPU second of the server, "
        f"which other work on a shared machine disturbs less than req/s; "
        f"'other' is the rest of the machine's busy CPU in the same window. Paper pages "
        f"rotate over {args.papers} ids; every search is a "
        f"distinct Hugging Face daily-paper title (hybrid mode), so none is cached. Errors: "
        f"non-2xx/3xx answers, connection errors and timeouts. Other work on the machine "
        f"during the whole run: "
        f"{other_total:.1f} CPU seconds in all (the 'other' column). (The load average, "
        f"{load_before[0]:.1f} before and {load_after[0]:.1f} after, mostly counts the "
        f"server's own threads.)\n")
    print(body)
    if not args.no_write:
        write_section("Web", body)


if __name__ == "__main__":
    main()
