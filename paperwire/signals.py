"""Imported community signals → store: another service's papers and upvotes, batched, resumable.

Driven by ``ingest.run_source``, like ingest: items are committed only at the source's
checkpoints, each batch in one transaction with the checkpoint's state, so an interrupted
import resumes after the last whole batch; rejected lines are reported and counted and
never stop the run. Re-importing replaces vote counts (never adds them up) and never
overwrites an arXiv source's metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from paperwire.ingest import IngestReport, run_source
from paperwire.models import HarvestState, Rejection
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

    def write(items: list[HfItem], state: HarvestState | None) -> None:
        written, votes = store.upsert_external_votes(
            source.name, [i.vote for i in items], papers=[i.paper for i in items],
            state=state, links={i.paper.arxiv_id: i.links for i in items})
        report.written += written
        report.votes += votes.written
        report.unknown += votes.unknown

    return run_source(source, store, report, HfItem, write, verb="import", unit="B",
                      progress=progress, on_rejection=on_rejection)
