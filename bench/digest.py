"""Digest throughput: 10,000 subscribers with mixed saved searches over the 75k sample, sent
by `paperwire digest send` to a loopback aiosmtpd sink in its own process.

Measures the whole send (compose every digest, record the ledger, SMTP over a few reused
connections): wall time, messages per second and the sender's peak RSS. The indexed home is
copied from PAPERWIRE_BENCH_HOME (default /tmp/pw, a 75k home built with `paperwire ingest`
+ `paperwire index`), or built here (keywords only: digests search by keywords).

    python bench/digest.py [--subscribers 10000] [--as-of 2026-06-30]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import write_section  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv" / \
    "arxiv-daily-75k.jsonl.gz"
CATEGORY_SETS = [(), ("cs.CL",), ("cs.CV",), ("cs.LG",), ("cs.AI",), ("cs.CL", "cs.IR"),
                 ("cs.RO",), ("stat.ML",), ("cs.CV", "eess.IV")]
_WORD = re.compile(r"[A-Za-z][A-Za-z-]{3,}")


def _sink(port: int) -> None:
    """Run an SMTP sink that counts messages until stdin closes, then prints the count."""
    from aiosmtpd.controller import Controller

    class Counter:
        count = 0

        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            Counter.count += 1
            return "250 OK"

    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()
    controller.stop()
    print(Counter.count, flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare_home(target: Path) -> Path:
    source = Path(os.environ.get("PAPERWIRE_BENCH_HOME", "/tmp/pw"))
    if (source / "paperwire.db").exists() and (source / "index" / "lexical").exists():
        shutil.copytree(source, target)
        return target
    env = dict(os.environ, PAPERWIRE_HOME=str(target), PAPERWIRE_PROGRESS="0",
               PAPERWIRE_EMBEDDER="none")
    subprocess.run([sys.executable, "-m", "paperwire", "ingest", "jsonl", str(SAMPLE)],
                   env=env, check=True)
    subprocess.run([sys.executable, "-m", "paperwire", "index", "--no-embed"], env=env,
                   check=True)
    return target


def add_subscribers(home: Path, n: int, seed: int = 7,
                    user_ids: Sequence[int] | None = None) -> tuple[int, int]:
    """n daily subscribers: 50% trending only, 30% trending + 1–2 searches, 20% searches
    only; queries are 2–3 words from real titles. Returns (subscribers, saved searches).
    ``user_ids``: the i-th subscriber is that account's (bench/for_you.py)."""
    from paperwire.models import SearchSpec
    from paperwire.settings import Settings
    from paperwire.store import Store

    rng = random.Random(seed)
    settings = Settings(home=home, embedder="none", progress=False)
    searches = 0
    with Store.open(settings) as store:
        titles = [p.title for _, p in zip(range(20_000), (x for _, x in store.iter_papers()),
                                          strict=False)]
        for i in range(n):
            kind = rng.random()
            wanted = []
            if kind >= 0.5:
                for _ in range(rng.choice((1, 2))):
                    words = _WORD.findall(rng.choice(titles))
                    if len(words) >= 2:
                        start = rng.randrange(len(words) - 1)
                        wanted.append(SearchSpec(" ".join(words[start:start + rng.choice((2, 3))]),
                                                 rng.choice(CATEGORY_SETS[:5])))
            searches += len(wanted)
            store.upsert_subscription(f"reader{i:05d}@example.org", period="daily",
                                      trending=kind < 0.8 or not wanted,
                                      categories=rng.choice(CATEGORY_SETS), searches=wanted,
                                      status="active",
                                      user_id=user_ids[i] if user_ids else None)
    return n, searches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--as-of", default="2026-06-30")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--sink", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink is not None:
        _sink(args.sink)
        return
    with tempfile.TemporaryDirectory(prefix="pw-digest-bench-") as tmp:
        home = prepare_home(Path(tmp) / "home")
        started = time.perf_counter()
        subs, searches = add_subscribers(home, args.subscribers)
        print(f"{subs:,} subscribers, {searches:,} saved searches added in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        port = _free_port()
        sink = subprocess.Popen([sys.executable, __file__, "--sink", str(port)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert sink.stdout is not None and sink.stdin is not None
        assert sink.stdout.readline().strip() == "ready"
        env = dict(os.environ, PAPERWIRE_HOME=str(home), PAPERWIRE_PROGRESS="0",
                   PAPERWIRE_EMBEDDER="none", PAPERWIRE_SMTP_URL=f"smtp://127.0.0.1:{port}",
                   PAPERWIRE_SMTP_CONCURRENCY=str(args.concurrency),
                   PAPERWIRE_SECRET_KEY="b" * 40)
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "paperwire", "digest", "send",
                                 "--period", "daily", "--as-of", args.as_of], env=env,
                                stdout=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        summary = proc.stdout.read().strip() if proc.stdout else ""
        sink.stdin.close()
        received = int(sink.stdout.read().strip() or 0)
        sink.wait()
    rss = usage.ru_maxrss / 1024
    load = os.getloadavg()[0]
    print(summary)
    print(f"{received:,} messages received in {seconds:.1f} s = {received / seconds:.0f}/s, "
          f"peak RSS {rss:.0f} MiB, exit {os.waitstatus_to_exitcode(status)}, "
          f"load average {load:.1f}")
    write_section("Digest sending", f"""
`python bench/digest.py`: {subs:,} daily subscribers over the 75k sample (50% trending only,
30% trending + 1–2 saved searches, 20% saved searches only; {searches:,} saved searches of
2–3 title words), digest of {args.as_of}, sent by `paperwire digest send` over
{args.concurrency} reused SMTP connections to an aiosmtpd sink in another process on
loopback (SQLite store).

| | |
|---|---|
| messages received by the sink | {received:,} |
| run summary | {summary} |
| total time (compose + ledger + SMTP) | {seconds:.1f} s |
| messages per second | {received / seconds:.0f} |
| sender peak RSS | {rss:.0f} MiB |
| load average during the run (1 min) | {load:.1f} |

Target: 10,000 subscribers in under 5 minutes on 2 cores.
""")


if __name__ == "__main__":
    main()
