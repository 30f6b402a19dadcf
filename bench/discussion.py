"""The discussion under load: a paper page with 200 comments, and posting comments.

Works on a COPY of an instance (``--home`` is copied to a temporary directory, since it
gains comments, accounts and migration 0013): it seeds one paper with ``--comments``
comments (Markdown with math, a third of them replies) by a few verified accounts, serves
the copy with ``paperwire serve --workers 1`` (bench/web.py's Server), then

  * page       ``/papers/{id}`` with the 200 comments, signed out (the shared page cache),
               driven by wrk for ``--seconds`` with ``--clients`` connections;
  * page-in    the same page signed in (a session cookie: rendered per reader, with the
               reader's own votes and forms);
  * post       ``POST /api/papers/{id}/comments`` with Bearer tokens from ``--posters``
               concurrent clients for ``--seconds``, on another paper; every answer but a
               201 is an error, and a "database is locked" anywhere fails the run.

Each rate is also given per second of the server's CPU (user and system), which the load
of a shared machine moves less; ``--baseline TREE`` runs another tree of paperwire (an
older commit, ``git archive`` unpacked) on the same copy first, and gives the ratios.

    python bench/discussion.py --home /work/bench-home/pw [--seconds 15] [--clients 16]
        [--baseline /tmp/base]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import write_section  # noqa: E402
from bench.web import LUA, ROOT, Server, ensure_wrk, get  # noqa: E402
from paperwire import accounts, discussion  # noqa: E402
from paperwire.models import User  # noqa: E402
from paperwire.settings import Settings  # noqa: E402
from paperwire.store import Store  # noqa: E402

TARGETS = {"page": 200, "post": 50}  # req/s (page) and comments/s (post), from the issue
PASSWORD = "bench password 1234"
TEXTS = ["A question about eq. {n}: why does $\\sum_{{i=1}}^{{n}} x_i^2$ bound it?",
         "Code for run {n} is in the appendix; **Table 2** uses $\\alpha = 0.{n}$.",
         "Related: the proof of Lemma {n} mirrors $$\\int_0^1 f(x)\\,dx \\le C$$ closely."]


def _users(store: Store, settings: Settings, n: int) -> list[User]:
    made = []
    for k in range(n):
        user, _ = accounts.sign_up(store, f"bench{k}@example.org", PASSWORD, f"reader{k}")
        store.mark_verified(user.id)
        found = store.user_by_id(user.id)
        assert found is not None
        made.append(found)
    return made


def seed(store: Store, settings: Settings, arxiv_id: str, users: list[User], n: int) -> None:
    """``n`` comments on ``arxiv_id``: two top-level for every reply."""
    tops: list[int] = []
    for k in range(n):
        user = users[k % len(users)]
        parent = tops[-1] if k % 3 == 2 and tops else None
        posted = discussion.post(store, settings, user, arxiv_id,
                                 TEXTS[k % 3].format(n=k), parent_id=parent)
        if parent is None:
            tops.append(posted.comment["id"])


def wrk_page(wrk: str, base: str, path: str, clients: int, seconds: int,
             cookie: str | None = None) -> tuple[float, float, float, int]:
    """(req/s, p50 ms, p95 ms, errors) of GETs of ``path``."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA % json.dumps(path))
    args = [wrk, "-t1", f"-c{clients}", f"-d{seconds}s", "--timeout", "30s", "-s", f.name]
    if cookie:
        args += ["-H", f"Cookie: pw_session={cookie}"]
    try:
        out = subprocess.run([*args, base], capture_output=True, text=True,
                             timeout=seconds + 60).stdout
    finally:
        os.unlink(f.name)
    m = re.search(r"^RESULT (\d+) (\d+) ([\d.]+) ([\d.]+) (\d+) (\d+)$", out, re.M)
    if not m:
        raise SystemExit(f"wrk said:\n{out}")
    n, dur_us, p50, p95, errors, _ = m.groups()
    return int(n) / (int(dur_us) / 1e6), float(p50) / 1000, float(p95) / 1000, int(errors)


def post_load(base: str, arxiv_id: str, tokens: list[str], seconds: int, tag: str = ""
              ) -> tuple[float, int, int, list[str]]:
    """(comments/s, posted, errors, first error texts) from one client per token."""
    import httpx

    posted = errors = 0
    seen: list[str] = []

    async def client(http: httpx.AsyncClient, token: str, k: int, stop: float) -> None:
        nonlocal posted, errors
        n = 0
        while time.perf_counter() < stop:
            n += 1
            body = {"body": f"Poster {k}, comment {n}{tag}: is $x_{{{n}}} > {k}$ here?"}
            r = await http.post(f"/api/papers/{arxiv_id}/comments", json=body,
                                headers={"Authorization": f"Bearer {token}"})
            if r.status_code == 201:
                posted += 1
            else:
                errors += 1
                if len(seen) < 5:
                    seen.append(f"{r.status_code} {r.text[:200]}")

    async def main() -> float:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            started = time.perf_counter()
            await asyncio.gather(*(client(http, t, k, started + seconds)
                                   for k, t in enumerate(tokens)))
            return time.perf_counter() - started

    elapsed = asyncio.run(main())
    return posted / elapsed, posted, errors, seen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--home", type=Path, required=True, help="instance to copy (not changed)")
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--posters", type=int, default=8)
    ap.add_argument("--comments", type=int, default=200)
    ap.add_argument("--no-write", action="store_true", help="print, do not edit BENCHMARKS.md")
    ap.add_argument("--baseline", type=Path, help="a tree of paperwire to run first on the "
                    "same copy (e.g. `git archive <commit>` unpacked): rates are also given "
                    "as ratios to it, which a shared machine's load does not move much")
    args = ap.parse_args()
    wrk = ensure_wrk()
    if wrk is None:
        raise SystemExit("this benchmark needs wrk (apt-get install wrk)")
    work = Path(tempfile.mkdtemp(prefix="pw-discussion-"))
    home = work / "home"
    shutil.copytree(args.home, home, symlinks=True)
    try:
        run(args, wrk, home)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, wrk: str, home: Path) -> None:
    settings = Settings(home=home, embedder="none", progress=False,
                        comments_per_hour=1_000_000)
    with Store.open(settings) as store:
        ids = _two_ids(store)
        users = _users(store, settings, max(8, args.posters))
        started = time.perf_counter()
        seed(store, settings, ids[0], users, args.comments)
        seeded = time.perf_counter() - started
        cookie = accounts.start_session(store, settings, users[0])
        tokens = [str(accounts.create_api_token(store, u, "bench")["token"])
                  for u in users[:args.posters]]
    os.environ["PAPERWIRE_COMMENTS_PER_HOUR"] = "1000000"
    os.environ["PAPERWIRE_QUEUE_RUNNER"] = "worker"  # no notice or mail threads in the server
    load_before = os.getloadavg()
    baseline = (measure(args, wrk, home, ids, cookie, tokens, args.baseline, " (baseline)")
                if args.baseline else None)
    rows, posting = measure(args, wrk, home, ids, cookie, tokens, ROOT, "")
    load_after = os.getloadavg()
    report(args, rows, posting, baseline, seeded, load_before, load_after)


Row = tuple[str, float, float, float, float, int]  # name, rate, per CPU-s, p50, p95, errors
Posting = tuple[float, float, int, int, list[str], bool]


def measure(args: argparse.Namespace, wrk: str, home: Path, ids: list[str], cookie: str,
            tokens: list[str], code: Path, tag: str) -> tuple[list[Row], Posting]:
    """The page signed out and in, then posting, served by the paperwire of ``code``."""
    server = Server(home, 1, code=code)
    try:
        path = f"/papers/{ids[0]}"
        page = get(server.base + path).decode()
        assert page.count('class="comment') >= args.comments, "the page lacks its comments"
        for _ in range(20):
            get(server.base + path)
        rows: list[Row] = []
        for name, signed_in in (("page (signed out)", None), ("page (signed in)", cookie)):
            cpu = server.cpu_s()
            rps, p50, p95, errs = wrk_page(wrk, server.base, path, args.clients,
                                           args.seconds, signed_in)
            rows.append((name, rps, rps * args.seconds / (server.cpu_s() - cpu), p50, p95,
                         errs))
        cpu = server.cpu_s()
        rate, posted, errors, seen = post_load(server.base, ids[1], tokens, args.seconds, tag)
        per_cpu = posted / (server.cpu_s() - cpu)
    finally:
        server.stop()
    return rows, (rate, per_cpu, posted, errors, seen, any("locked" in s for s in seen))


def _two_ids(store: Store) -> list[str]:
    found: list[str] = []
    for _, paper in store.iter_papers(batch=10):
        found.append(paper.arxiv_id)
        if len(found) == 2:
            break
    if len(found) < 2:
        raise SystemExit("the instance needs at least two papers")
    return found


def report(args: argparse.Namespace, rows: list[Row], posting: Posting,
           baseline: tuple[list[Row], Posting] | None, seeded: float,
           load_before: tuple[float, ...], load_after: tuple[float, ...]) -> None:
    rate, per_cpu, posted, errors, seen, locked = posting
    ratio = "| × baseline (rate, per CPU-s) " if baseline else ""
    lines = [f"| route | rate | per server CPU-second | target | p50 ms | p95 ms | errors "
             f"{ratio}|", "|---|---|---|---|---|---|---" + ("|---" if baseline else "") + "|"]
    before = [(r[1], r[2]) for r in baseline[0]] + [baseline[1][:2]] if baseline else []
    for k, (name, rps, rps_cpu, p50, p95, errs) in enumerate(rows):
        lines.append(f"| {name}, {args.comments} comments | {rps:.0f} req/s | "
                     f"{rps_cpu:.0f} | {TARGETS['page']} | {p50:.1f} | {p95:.1f} | {errs} |"
                     + _times(before, k, rps, rps_cpu))
    lines.append(f"| post (API, {args.posters} clients) | {rate:.0f} comments/s | "
                 f"{per_cpu:.0f} | {TARGETS['post']} | | | {errors} |"
                 + _times(before, len(rows), rate, per_cpu))
    if baseline:
        lines.append("")
        lines.append("Baseline: " + "; ".join(
            f"{r[0]} {r[1]:.0f}/s ({r[2]:.0f} per CPU-s)" for r in baseline[0])
            + f"; post {baseline[1][0]:.0f}/s ({baseline[1][1]:.0f} per CPU-s), "
            f"\"database is locked\" {'yes' if baseline[1][5] else 'no'}.")
    body = "\n".join(lines)
    print(body)
    print(f"posted {posted}; errors: {seen}; database locked: {locked}", file=sys.stderr)
    against = f" --baseline {args.baseline}" if args.baseline else ""
    text = (f"`python bench/discussion.py --home /work/bench-home/pw --seconds "
            f"{args.seconds} --clients {args.clients}{against}` on a copy of the instance, "
            f"`paperwire serve --workers 1`, SQLite; wrk for the page, {args.posters} httpx "
            f"clients with tokens for posting. Seeding {args.comments} comments in-process "
            f"took {seeded:.1f} s. Load average before/after: "
            f"{', '.join(f'{x:.1f}' for x in load_before)} / "
            f"{', '.join(f'{x:.1f}' for x in load_after)} (the 2 cores are shared: the rate per "
            f"second of the server's CPU, user and system, moves less with the load).\n\n"
            f"{body}\n\n\"database is locked\" seen: {'yes' if locked else 'no'}.\n")
    if not args.no_write:
        write_section("Discussion", text)


def _times(before: list[tuple[float, float]], k: int, rate: float, per_cpu: float) -> str:
    if not before:
        return ""
    return f" {rate / before[k][0]:.2f} ×, {per_cpu / before[k][1]:.2f} × |"


if __name__ == "__main__":
    main()
