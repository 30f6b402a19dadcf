"""Source → store: batched, checkpointed, resumable ingestion with progress and a report.

Papers are committed only at a source's checkpoints, each batch in one transaction with the
checkpoint state, so ``kill -9`` at any moment leaves whole batches and a state that points
just past them; rerunning the same command resumes there. Rejected records are reported as
they happen and counted; they never stop the run.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from sqlalchemy.exc import IntegrityError
from tqdm import tqdm

from paperwire.models import Checkpoint, HarvestState, Paper, Rejection
from paperwire.sources import Source
from paperwire.sources.listing import ListingEntry, ListingSource
from paperwire.store import Store, WriteResult

# A source that forgets to checkpoint still gets its papers written in bounded batches.
_MAX_PENDING = 20_000
_KEPT_REJECTIONS = 1_000

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


@dataclass
class IngestReport:
    """What a run did; ``ok`` is false when anything was rejected or the run was cut short."""

    source: str
    written: WriteResult = field(default_factory=WriteResult)
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)  # the first 1,000
    interrupted: bool = False
    resumed_from: int = 0
    seconds: float = 0.0
    state: HarvestState | None = None

    @property
    def ok(self) -> bool:
        return not self.rejected and not self.interrupted

    def summary(self) -> str:
        w = self.written
        text = (f"{self.source}: {w.inserted:,} new, {w.updated:,} updated, "
                f"{w.unchanged:,} unchanged, {w.older:,} older versions ignored, "
                f"{self.rejected:,} rejected in {self.seconds:.1f} s")
        if self.interrupted:
            text += " — interrupted; run the same command again to resume"
        return text


class Readable(Protocol[T_co]):
    """What ``run_source`` reads: a Source, or another stream of items with checkpoints
    (the HF daily-papers file yields papers with their votes)."""

    name: str

    @property
    def state_key(self) -> str: ...

    @property
    def total(self) -> int | None: ...

    def read(self, resume: HarvestState | None) -> Iterator[T_co | Rejection | Checkpoint]: ...


R = TypeVar("R", bound=IngestReport)


def run_source(source: Readable[T], store: Store, report: R, item: type[T],
               write: Callable[[list[T], HarvestState | None], None], *, verb: str,
               unit: str, progress: bool = True,
               on_rejection: Callable[[Rejection], None] | None = None,
               max_pending: int = _MAX_PENDING) -> R:
    """Read ``source`` from its stored state into ``write``: items gathered between
    checkpoints (at most ``max_pending`` at once) go to ``write`` with the checkpoint's state,
    in one transaction; rejections are counted and reported; ^C ends the run after the last
    whole batch. ``write`` adds what it wrote to ``report``."""
    resume = store.load_state(source.state_key)
    if resume and not resume.done:
        report.resumed_from = resume.position
    bar = tqdm(total=source.total, disable=not progress or not sys.stderr.isatty(),
               unit=unit, unit_scale=True, desc=f"{verb} {source.name}", file=sys.stderr)
    pending: list[T] = []
    shown = 0
    started = time.perf_counter()
    try:
        for got in source.read(resume):
            if isinstance(got, item):
                pending.append(got)
                if len(pending) >= max_pending:
                    write(pending, None)
                    pending = []
            elif isinstance(got, Rejection):
                _reject(report, got, on_rejection)
            elif isinstance(got, Checkpoint):
                write(pending, got.state)
                report.state = got.state
                pending = []
                if got.progress is not None:
                    bar.update(got.progress - shown)
                    shown = got.progress
                bar.set_postfix(papers=report.written.total, rejected=report.rejected,
                                refresh=False)
        if pending:
            write(pending, None)
    except KeyboardInterrupt:
        # Nothing of the batch in flight was committed; the stored state points past the
        # last whole batch, which is exactly where a rerun picks up.
        report.interrupted = True
    finally:
        bar.close()
        report.seconds = time.perf_counter() - started
    return report


def _reject(report: IngestReport, rejection: Rejection,
            on_rejection: Callable[[Rejection], None] | None) -> None:
    report.rejected += 1
    if len(report.rejections) < _KEPT_REJECTIONS:
        report.rejections.append(rejection)
    if on_rejection:
        on_rejection(rejection)


def ingest(source: Source, store: Store, *, progress: bool = True,
           on_rejection: Callable[[Rejection], None] | None = None) -> IngestReport:
    """Run ``source`` into ``store``, resuming from the source's stored state."""
    report = IngestReport(source=source.name)

    def write(batch: list[Paper], state: HarvestState | None) -> None:
        report.written += _write(store, batch, state)

    return run_source(source, store, report, Paper, write, verb="ingest",
                      unit="B" if source.name in {"jsonl", "snapshot"} else " rec",
                      progress=progress, on_rejection=on_rejection)


def _write(store: Store, batch: list[Paper], state: HarvestState | None) -> WriteResult:
    try:
        return store.write_batch(batch, state)
    except IntegrityError:
        # Another writer inserted one of these ids between our read and our insert; the
        # batch was rolled back whole, and a second pass sees that paper as stored.
        return store.write_batch(batch, state)


@dataclass
class ListingReport(IngestReport):
    """An announcement feed's ingest: the papers' upsert, and the entries newly recorded."""

    entries: int = 0

    def summary(self) -> str:
        return f"{super().summary()}; {self.entries:,} new listing entries"


class _Entries:
    """A ListingSource read for its entries (paper, announce type, day), not papers alone."""

    def __init__(self, source: ListingSource) -> None:
        self.source = source
        self.name = source.name

    @property
    def state_key(self) -> str:
        return self.source.state_key

    @property
    def total(self) -> int | None:
        return self.source.total

    def read(self, resume: HarvestState | None
             ) -> Iterator[ListingEntry | Rejection | Checkpoint]:
        return self.source.entries(resume)


def ingest_listing(source: ListingSource, store: Store, *, progress: bool = True,
                   on_rejection: Callable[[Rejection], None] | None = None) -> ListingReport:
    """Read an announcement feed into ``store``: its papers and their listing entries,
    with the checkpoint, in one transaction. Rereading a day writes nothing new."""
    report = ListingReport(source=source.name)

    def write(batch: list[ListingEntry], state: HarvestState | None) -> None:
        try:
            written, added = store.write_listing(batch, state)
        except IntegrityError:  # a concurrent writer inserted one of the papers: see _write
            written, added = store.write_listing(batch, state)
        report.written += written
        report.entries += added

    return run_source(_Entries(source), store, report, ListingEntry, write, verb="ingest",
                      unit=" rec", progress=progress, on_rejection=on_rejection)
