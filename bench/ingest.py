"""Ingest throughput and peak memory: the 75k arXiv sample into SQLite and PostgreSQL.

Each run is a fresh `paperwire ingest jsonl` process on a fresh database; peak memory is the
child's max RSS. Running a 10k slice and the whole 75k file shows whether memory stays flat
in the size of the input. PostgreSQL comes from the same throwaway server the tests use.

    python bench/ingest.py [--repeats 3] [--no-postgres]
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import median, write_section  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv" / \
    "arxiv-daily-75k.jsonl.gz"


def run_once(path: Path, database_url: str | None, home: Path) -> tuple[float, float, int]:
    """(seconds, peak RSS MiB, papers) for one ingest process."""
    # Metadata only: the keyword index sync that follows an ingest is measured elsewhere.
    env = dict(os.environ, PAPERWIRE_HOME=str(home), PAPERWIRE_PROGRESS="0",
               PAPERWIRE_INDEX_ON_INGEST="0")
    if database_url:
        env["PAPERWIRE_DATABASE_URL"] = database_url
    subprocess.run([sys.executable, "-m", "paperwire", "init"], env=env, check=True,
                   capture_output=True)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "paperwire", "ingest", "jsonl", str(path)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    out = proc.stdout.read() if proc.stdout else ""
    match = re.search(r"([\d,]+) new", out)
    papers = int(match.group(1).replace(",", "")) if match else 0
    return seconds, usage.ru_maxrss / 1024, papers


def slice_file(lines: int, directory: Path) -> Path:
    path = directory / f"slice-{lines}.jsonl.gz"
    with gzip.open(SAMPLE, "rb") as src, gzip.open(path, "wb", compresslevel=1) as dst:
        for i, line in enumerate(src):
            if i >= lines:
                break
            dst.write(line)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    if not SAMPLE.exists():
        sys.exit(f"missing {SAMPLE}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        inputs = [("10k slice", slice_file(10_000, work)), ("75k sample", SAMPLE)]
        targets: list[tuple[str, Any]] = [("SQLite", None)]
        server = None
        if not args.no_postgres:
            from tests import pg

            server = pg.start()
            targets.append((f"PostgreSQL {server.version}", server))
        try:
            for target, srv in targets:
                for label, path in inputs:
                    times, peaks, count = [], [], 0
                    for r in range(args.repeats):
                        url = None
                        if srv is not None:
                            url = pg.create_database(srv, f"bench_{label.split()[0]}_{r}")
                        seconds, peak, count = run_once(path, url, work / f"h{target}{label}{r}")
                        times.append(seconds)
                        peaks.append(peak)
                        print(f"{target} {label} run {r + 1}: {count:,} papers in "
                              f"{seconds:.1f} s, peak {peak:.0f} MiB", file=sys.stderr)
                    t = median(times)
                    rows.append(f"| {target} | {label} | {count:,} | {t:.1f} | "
                                f"{count / t:,.0f} | {max(peaks):.0f} |")
        finally:
            if server is not None:
                server.stop()
    body = ("`python bench/ingest.py`: a fresh `paperwire ingest jsonl` process into a fresh "
            f"database, median of {args.repeats} runs; time includes process start-up, "
            "reading and parsing the gzip file, validation and writing.\n\n"
            "| database | input | papers | seconds | papers/s | peak RSS MiB |\n"
            "|---|---|---|---|---|---|\n" + "\n".join(rows))
    write_section("Ingest", body)
    print(body)


if __name__ == "__main__":
    main()
