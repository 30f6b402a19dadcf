"""Writes benchmark results into BENCHMARKS.md: one section per benchmark, replaced on rerun."""

from __future__ import annotations

import os
import platform
import re
import statistics
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"
HEADER = "# Benchmarks\n\nNumbers written by the scripts in `bench/`; each section names its " \
         "machine and date. Medians unless said otherwise.\n"


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{model}, {cores} cores, {mem:.0f} GiB RAM, Python {platform.python_version()}"


def stamp() -> str:
    return (f"_Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}._\n")


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def write_section(heading: str, body: str) -> None:
    """Replace the ``## heading`` section (or append it), keeping every other section."""
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else HEADER
    section = f"## {heading}\n\n{stamp()}\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip() + "\n\n" + section
    BENCHMARKS.write_text(text.rstrip() + "\n")
