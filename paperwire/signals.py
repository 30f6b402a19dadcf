"""Imported community signals → store: another service's papers and upvotes, batched, resumable.

Like ``ingest``: items are committed only at the source's checkpoints, each batch in one
transaction with the checkpoint's state, so an interrupted import resumes after the last
whole batch; rejected lines are reported and counted and never stop the run. Re-importing
replaces vote counts (never adds them up) and never overwrites an arXiv source's metadata.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from tqdm import tqdm

from paperwire.ingest import IngestReport
from paperwire.models import Checkpoint, HarvestState, Rejection
from paperwire.sources.hf_daily import HfDailySource, HfItem
from paperwire.store import Store


@dataclass
class ImportReport(IngestReport):
    """An ingest report plus the votes written and those naming no stored paper."""

    votes: int = 0
    unknown: int = 0

    def summary(self) -> str:
        return (super().summary().replace(f"{self.source}:", f"{self.source} papers:", 1)
                + f"; {self.votes:,} imported votes written")


def import_hf_daily(source: HfDailySource, store: Store, *, progress: bool = True,
                    on_rejection: Callable[[Rejection], None] | None = None) -> ImportReport:
    """Run a daily-papers file into ``store``, resuming from the file's stored state."""
    report = ImportReport(source=source.name)
    resume = store.load_state(source.state_key)
    if resume and not resume.done:
        report.resumed_from = resume.position
    bar = tqdm(total=source.total, disable=not progress or not sys.stderr.isatty(),
               unit="B", unit_scale=True, desc=f"import {source.name}", file=sys.stderr)
    pending: list[HfItem] = []
    shown = 0
    started = time.perf_counter()
    try:
        for item in source.read(resume):
            if isinstance(item, HfItem):
                pending.append(item)
            elif isinstance(item, Rejection):
                report.rejected += 1
                if len(report.rejections) < 1000:
                    report.rejections.append(item)
                if on_rejection:
                    on_rejection(item)
            elif isinstance(item, Checkpoint):
                _write(store, source.name, pending, item.state, report)
                pending = []
                if item.progress is not None:
                    bar.update(item.progress - shown)
                    shown = item.progress
        if pending:
            _write(store, source.name, pending, None, report)
    except KeyboardInterrupt:
        report.interrupted = True  # the stored state points past the last whole batch
    finally:
        bar.close()
        report.seconds = time.perf_counter() - started
    return report


def _write(store: Store, name: str, items: list[HfItem], state: HarvestState | None,
           report: ImportReport) -> None:
    written, votes = store.upsert_external_votes(
        name, [i.vote for i in items], papers=[i.paper for i in items], state=state)
    report.written += written
    report.votes += votes.written
    report.unknown += votes.unknown
    report.state = state
