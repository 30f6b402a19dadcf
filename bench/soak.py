"""Soak: the served site under steady load with a slow SMTP server, for errors and memory.

Starts a loopback SMTP server (aiosmtpd) that sleeps ``--smtp-delay`` seconds on every
message, then `paperwire serve` over ``--home`` on a free port, configured to send through
it (PAPERWIRE_QUEUE_RUNNER=web: the web process's own background sender). ``--clients``
concurrent clients (httpx, a closed loop) then cycle for ``--seconds`` over the home,
search, paper and feed pages; one client in eight is a "writer" that also signs up or
subscribes every few requests (with a fresh address each time), so mail is queued all along
while the SMTP server crawls. It reports requests per second per route, errors (any answer
but the expected status, or a failed request: must be 0), the server's RSS before and after
(all its processes), and how much of the queued mail the slow server took by the end; the
results go to BENCHMARKS.md (bench/report.py).

    python bench/soak.py --home /tmp/pw-soak [--seconds 60] [--clients 32] [--smtp-delay 5]

The per-client throttles on sign-up and subscribe are lifted for the run (one IP sends
everything here); the per-address ones are untouched (every address is new).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from aiosmtpd.controller import Controller

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
QUERIES = ("language models", "graph neural networks", "diffusion", "reinforcement learning",
           "quantum", "transformer attention", "robot navigation", "protein structure")


class SlowSink:
    """An SMTP handler that takes ``delay`` seconds over every message (a slow relay)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.accepted = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        self.accepted += 1
        return "250 2.0.0 accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def rss_mb(proc: subprocess.Popen[bytes]) -> float:
    try:
        root = psutil.Process(proc.pid)
        return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 2**20
    except psutil.NoSuchProcess:
        return 0.0


def start_server(home: Path, smtp_port: int, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "PAPERWIRE_SMTP_URL": f"smtp://{HOST}:{smtp_port}", "PAPERWIRE_QUEUE_RUNNER": "web",
           "PAPERWIRE_SIGNUPS_PER_IP_PER_HOUR": "1000000",
           "PAPERWIRE_SUBSCRIBE_PER_IP_PER_HOUR": "1000000",
           "PAPERWIRE_BASE_URL": f"http://{HOST}:{port}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "paperwire", "--home", str(home), "serve", "--host", HOST,
         "--port", str(port), "--workers", str(workers)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 180
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"paperwire serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/about.json", timeout=5):  # noqa: S310
                return proc, base
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise SystemExit("paperwire serve did not answer within 180 s") from None
            time.sleep(0.5)


@dataclass
class Tally:
    done: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def error(self, route: str, what: str) -> None:
        self.errors[route] += 1
        if len(self.examples) < 5:
            self.examples.append(f"{route}: {what}")


def urls(base: str, client: httpx.Client) -> dict[str, list[str]]:
    home = client.get(f"{base}/index.json").json()
    ids = [p["arxiv_id"] for p in home["papers"]][:50]
    if not ids:
        raise SystemExit("the home page lists no papers: ingest some into --home first")
    return {"home": ["/"], "search": [f"/search?q={q}" for q in QUERIES],
            "paper": [f"/papers/{i}" for i in ids],
            "feed": ["/feeds/trending.atom", *(f"/feeds/search.atom?q={q}" for q in QUERIES[:3])]}


async def reader(client: httpx.AsyncClient, routes: dict[str, list[str]], stop: float,
                 tally: Tally, writer: int | None) -> None:
    # Every route in turn (each with its own rotation of URLs), each client from its own
    # starting point, so the routes get equal shares of the requests.
    longest = max(len(us) for us in routes.values())
    mixed = [(r, us[i % len(us)]) for i in range(longest) for r, us in routes.items()]
    cycle = itertools.islice(itertools.cycle(mixed), (writer or id(client)) % len(mixed), None)
    n = 0
    while time.monotonic() < stop:
        route, url = next(cycle)
        n += 1
        if writer is not None and n % 8 == 0:
            route = "signup" if n % 16 == 0 else "subscribe"
            await write(client, route, f"soak{writer}-{n}@example.org", tally)
            continue
        try:
            answer = await client.get(url)
        except httpx.HTTPError as exc:
            tally.error(route, f"{type(exc).__name__}: {exc}")
            continue
        if answer.status_code != 200:
            tally.error(route, f"{url} answered {answer.status_code}")
        else:
            tally.done[route] += 1


async def write(client: httpx.AsyncClient, route: str, address: str, tally: Tally) -> None:
    path = "/signup" if route == "signup" else "/subscribe"
    try:
        form = await client.get(path)
        token = CSRF.search(form.text)
        data = {"email": address, "csrf_token": token.group(1) if token else ""}
        data |= ({"password": "a soak test password"} if route == "signup" else
                 {"period": "daily", "trending": "yes"})
        answer = await client.post(path, data=data)
    except httpx.HTTPError as exc:
        tally.error(route, f"{type(exc).__name__}: {exc}")
        return
    if answer.status_code != 200 or "Check your inbox" not in answer.text:
        tally.error(route, f"answered {answer.status_code}")
    else:
        tally.done[route] += 1


async def load(base: str, routes: dict[str, list[str]], clients: int, seconds: float
               ) -> tuple[Tally, float]:
    tally = Tally()
    limits = httpx.Limits(max_connections=1)
    pool = [httpx.AsyncClient(base_url=base, timeout=60, limits=limits) for _ in range(clients)]
    started = time.monotonic()
    try:
        await asyncio.gather(*(reader(c, routes, started + seconds, tally,
                                      i if i % 8 == 0 else None) for i, c in enumerate(pool)))
    finally:
        for c in pool:
            await c.aclose()
    return tally, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--smtp-delay", type=float, default=5.0,
                        help="seconds the SMTP server takes over each message")
    parser.add_argument("--no-report", action="store_true", help="do not write BENCHMARKS.md")
    args = parser.parse_args()
    sink = SlowSink(args.smtp_delay)
    smtp_port = free_port()
    controller = Controller(sink, hostname=HOST, port=smtp_port)
    controller.start()
    proc, base = start_server(args.home, smtp_port, args.workers)
    try:
        with httpx.Client(timeout=60) as warm:
            routes = urls(base, warm)
            for url in (u for us in routes.values() for u in us):
                warm.get(base + url)
        rss_before = rss_mb(proc)
        tally, took = asyncio.run(load(base, routes, args.clients, args.seconds))
        rss_after = rss_mb(proc)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        threading.Thread(target=controller.stop, daemon=True).start()
    report(args, tally, took, rss_before, rss_after, sink.accepted)


def report(args: argparse.Namespace, tally: Tally, took: float, before: float, after: float,
           accepted: int) -> None:
    rows = ["| route | requests | req/s | errors |", "|---|---:|---:|---:|"]
    for route in ("home", "search", "paper", "feed", "signup", "subscribe"):
        rows.append(f"| {route} | {tally.done[route]:,} | {tally.done[route] / took:,.1f} | "
                    f"{tally.errors[route]} |")
    errors = sum(tally.errors.values())
    body = "\n".join([
        f"`python bench/soak.py --home {args.home} --seconds {args.seconds:g} --clients "
        f"{args.clients} --workers {args.workers} --smtp-delay {args.smtp_delay:g}`: "
        f"{sum(tally.done.values()):,} requests in {took:.1f} s, **{errors} errors**; SMTP "
        f"server took {args.smtp_delay:g} s per message and accepted {accepted} by the end "
        "(the rest stays queued in the outbox).", "", *rows, "",
        f"Server RSS: {before:,.0f} MB before the load, {after:,.0f} MB after "
        f"({after - before:+,.0f} MB).",
        *(f"- error: {e}" for e in tally.examples)])
    print(body)
    if not args.no_report:
        write_section(f"Soak with a slow SMTP server ({args.home.name})", body)
    if errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
