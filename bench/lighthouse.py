"""Lighthouse's four scores (performance, accessibility, best practices, SEO) on the home,
search and paper pages of a served instance, with the audits that fail.

Serves ``--home`` (a copy of the bench instance: ``cp -a /work/bench-home/pw /tmp/x``, then
``paperwire --home /tmp/x init`` and ``index``) with ``paperwire serve`` on a free loopback
port, runs Lighthouse 12 (``tests/js``, installed by scripts/install-test-deps.sh) with
Debian's chromium and its default mobile throttling on each page ``--runs`` times, prints the
median scores and every audit scoring under 1, and writes a BENCHMARKS.md section. The
performance score moves with the machine's load: the load average goes in the report.

    python bench/lighthouse.py --home /tmp/pw [--runs 3] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LIGHTHOUSE = ROOT / "tests" / "js" / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = "/usr/bin/chromium"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
TARGET = 95


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_up(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                r.read()
                return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise SystemExit(f"the server at {url} did not answer in {timeout:.0f} s"
                                 ) from exc
            time.sleep(0.5)


def a_paper(origin: str) -> str:
    """The first paper of the home page (its JSON twin)."""
    with urllib.request.urlopen(origin + "/index.json", timeout=30) as r:
        data = json.load(r)
    return str(data["papers"][0]["url"])


def lighthouse(url: str, out: Path) -> dict[str, object]:
    """One Lighthouse run over ``url``; its JSON report."""
    subprocess.run(
        [str(LIGHTHOUSE), url, "--output=json", f"--output-path={out}", "--quiet",
         "--only-categories=" + ",".join(CATEGORIES),
         "--chrome-flags=--headless=new --no-sandbox --disable-gpu"],
        check=True, env={**os.environ, "CHROME_PATH": CHROMIUM}, timeout=300)
    report: dict[str, object] = json.loads(out.read_text())
    return report


def scores_of(report: dict[str, object]) -> dict[str, int]:
    cats = report["categories"]
    assert isinstance(cats, dict)
    return {c: round(100 * (cats[c]["score"] or 0)) for c in CATEGORIES}


def failing(report: dict[str, object]) -> list[str]:
    """Audits that count towards a category and score under 1."""
    audits = report["audits"]
    cats = report["categories"]
    assert isinstance(audits, dict) and isinstance(cats, dict)
    counted = {ref["id"] for c in CATEGORIES for ref in cats[c]["auditRefs"]
               if ref.get("weight", 0) > 0}
    return sorted(f"{a['id']} ({a['score']:.2f})" for aid, a in audits.items()
                  if aid in counted and a.get("score") is not None and a["score"] < 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, required=True, help="a paperwire home (a copy)")
    ap.add_argument("--runs", type=int, default=3, help="runs per page (the median is kept)")
    ap.add_argument("--query", default="multi-task learning")
    ap.add_argument("--no-write", action="store_true", help="do not write BENCHMARKS.md")
    args = ap.parse_args()
    if not LIGHTHOUSE.exists():
        raise SystemExit(f"Lighthouse is missing at {LIGHTHOUSE}: run "
                         "scripts/install-test-deps.sh (npm ci --prefix tests/js)")
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "paperwire", "--home", str(args.home), "serve", "--host",
         "127.0.0.1", "--port", str(port)],
        env={**os.environ, "PAPERWIRE_BASE_URL": origin, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows, problems = [], {}
    try:
        wait_up(origin + "/")
        pages = {"home": "/", "search": "/search?q=" + args.query.replace(" ", "+"),
                 "paper": a_paper(origin)}
        for url in pages.values():  # warm the caches the way a visited site has them
            wait_up(origin + url)
        with tempfile.TemporaryDirectory() as tmp:
            for name, url in pages.items():
                runs = []
                for n in range(args.runs):
                    report = lighthouse(origin + url, Path(tmp) / f"{name}-{n}.json")
                    runs.append(scores_of(report))
                    problems.setdefault(name, set()).update(failing(report))
                best = {c: int(statistics.median(r[c] for r in runs)) for c in CATEGORIES}
                rows.append((name, url, best))
                print(name, url, best, sorted(problems[name]), flush=True)
    finally:
        server.terminate()
        server.wait(30)
    load = os.getloadavg()
    lines = ["| page | URL | performance | accessibility | best practices | SEO |",
             "|---|---|---:|---:|---:|---:|"]
    lines += [f"| {n} | `{u}` | " + " | ".join(str(s[c]) for c in CATEGORIES) + " |"
              for n, u, s in rows]
    low = [(n, c, s[c]) for n, _, s in rows for c in CATEGORIES if s[c] < TARGET]
    body = (
        "`python bench/lighthouse.py --home <copy of the bench instance>`: Lighthouse "
        f"12.2.3, Debian chromium headless, default (mobile, throttled) settings, median of "
        f"{args.runs} runs per page. Load average at the end: "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1 / 5 / 15 min).\n\n"
        + "\n".join(lines) + "\n\n"
        + ("All four scores are at or above " + str(TARGET) + " on every page.\n" if not low
           else "Under " + str(TARGET) + ": " + ", ".join(f"{n} {c} {v}" for n, c, v in low)
           + ".\n")
        + "\nAudits under full marks (any run): "
        + "; ".join(f"{n}: {', '.join(sorted(p)) or 'none'}" for n, p in problems.items())
        + ".\n")
    print(body)
    if not args.no_write:
        write_section("Lighthouse (home, search, paper)", body)
    if low:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
