"""Library import and export on the 75k sample: a 5,000-entry .bib synthesised from stored
papers (four in five carry their arXiv id, one in five only a title and authors, matched by
title and first author; each with a note and keywords) imported into a collection, arXiv
look-ups off; then that 5,000-item collection exported as BibTeX, RIS and CSL-JSON.

The 75k home is copied from PAPERWIRE_BENCH_HOME (default /work/bench-home/pw) into a
temporary folder first: the copy is migrated and written, the original never.

    python bench/library.py [--entries 5000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import median, write_section  # noqa: E402


def synthesise(papers: list, by_title_every: int = 5) -> str:  # type: ignore[type-arg]
    from paperwire.formats.bibtex import escape_prose

    out = []
    for n, p in enumerate(papers):
        authors = " and ".join(escape_prose(a) for a in p.authors[:5])
        ident = "" if n % by_title_every == 0 else f"  eprint = {{{p.arxiv_id}}},\n" \
            "  archivePrefix = {arXiv},\n"
        out.append(f"@misc{{e{n},\n  title = {{{escape_prose(p.title)}}},\n"
                   f"  author = {{{authors}}},\n{ident}  year = {{2026}},\n"
                   f"  annote = {{bench note {n}}},\n  keywords = {{bench, t{n % 13}}},\n}}\n")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    source = Path(os.environ.get("PAPERWIRE_BENCH_HOME", "/work/bench-home/pw"))
    with tempfile.TemporaryDirectory(prefix="pw-library-bench-") as tmp:
        home = Path(tmp) / "home"
        shutil.copytree(source, home)
        report = run(home, args.entries, args.runs)
    print(report)
    write_section("Library import and export (bench/library.py)", report)


def run(home: Path, entries: int, runs: int) -> str:
    from paperwire import accounts, library
    from paperwire.formats.bibtex import to_bibtex
    from paperwire.formats.csl import to_csl_json
    from paperwire.formats.ris import to_ris
    from paperwire.library_jobs import import_text
    from paperwire.settings import Settings
    from paperwire.store import Store

    settings = Settings(home=home, progress=False, embedder="none")
    with Store.open(settings) as store:
        papers = [p for _, p in zip(range(entries), (p for _, p in store.iter_papers()),
                                    strict=False)]
        text = synthesise(papers)
        user, _ = accounts.sign_up(store, "bench@example.org", "correct horse battery", "B")
        imports, cpu, reports = [], [], []
        for run_no in range(runs):
            target = library.create(store, user, f"Bench {time.time_ns()} {run_no}")
            started, cpu_started = time.perf_counter(), time.process_time()
            reports.append(import_text(store, user, target.id, text, "bibtex"))
            imports.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
        got = library.access(store, user, target.id)
        exports: dict[str, list[float]] = {"bibtex": [], "ris": [], "csl-json": []}
        export_cpu: dict[str, list[float]] = {"bibtex": [], "ris": [], "csl-json": []}
        sizes: dict[str, int] = {}
        for _ in range(runs):
            for name, export in (("bibtex", to_bibtex), ("ris", to_ris),
                                 ("csl-json", to_csl_json)):
                started, cpu_started = time.perf_counter(), time.process_time()
                out = export(library.export_items(store, got))
                exports[name].append(time.perf_counter() - started)
                export_cpu[name].append(time.process_time() - cpu_started)
                sizes[name] = len(out)
    last = reports[-1]
    seconds = median(imports)
    per_cpu, per_wall = f"{entries / median(cpu):,.0f}", f"{entries / seconds:,.0f}"
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    rows = "\n".join(f"| {name} | {median(times) * 1000:,.0f} ms | "
                     f"{median(export_cpu[name]) * 1000:,.0f} ms | {sizes[name] / 1e6:.1f} MB |"
                     for name, times in exports.items())
    return f"""
`python bench/library.py`: {entries:,} BibTeX entries synthesised from the 75k home
(`/work/bench-home/pw`, copied to a temporary folder), four in five with their arXiv id,
one in five with only title and authors; SQLite store; arXiv look-ups off. Load average
(1/5/15 min) at the end: {load} — the 2 cores are shared with other sessions' work, so
wall times are upper bounds; the CPU time of the process (its own work, not the wait for a
core) is given beside them. The bench home's papers were linked to author identities
(`paperwire authors rebuild`, on the copy) so that title matching has first authors.

| import (parse, match, add) | wall, median of {runs} | entries/s | CPU | entries/s (CPU) |
|---|---|---|---|---|
| {entries:,} entries | {seconds:.2f} s | {per_wall} | {median(cpu):.2f} s | {per_cpu} |

Matched: {last.matched['arxiv']:,} by arXiv id, {last.matched['doi']:,} by DOI,
{last.matched['title']:,} by title and first author; {len(last.unmatched):,} unmatched,
{len(last.rejected):,} rejected. Target: ≥ 500 entries/s.

| export of the {entries:,}-item collection (read items + format) | wall, median | CPU | size |
|---|---|---|---|
{rows}

Target: under 1 s each.
"""


if __name__ == "__main__":
    main()
