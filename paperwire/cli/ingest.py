"""Commands that bring papers in: `paperwire ingest jsonl|file|snapshot|oai|ids|listing`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from paperwire.cli.base import EXIT_INTERRUPTED, EXIT_REJECTED, Context, day, pass_ctx
from paperwire.ingest import IngestReport, ingest
from paperwire.models import Rejection
from paperwire.sources import Source


@click.group(name="ingest")
def ingest_group() -> None:
    """Bring papers in from arXiv or from files. Safe to rerun: nothing is duplicated."""


@ingest_group.command(name="jsonl")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def ingest_jsonl(ctx: Context, path: Path) -> None:
    """Ingest paperwire's JSONL format (plain or .gz; see docs/formats.md)."""
    _run_file(ctx, "jsonl", path)


@ingest_group.command(name="file")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def ingest_file(ctx: Context, path: Path) -> None:
    """Ingest a file in either format above, recognised from its first record."""
    from paperwire.sources.files import detect_format

    _run_file(ctx, detect_format(path, ctx.settings.max_record_bytes), path)


def _run_file(ctx: Context, file_format: str, path: Path) -> None:
    from paperwire.sources.files import JsonlSource, SnapshotSource

    source = SnapshotSource if file_format == "snapshot" else JsonlSource
    _run(ctx, source(path, limits=ctx.limits, batch_size=ctx.settings.batch_size,
                     max_record_bytes=ctx.settings.max_record_bytes))


@ingest_group.command(name="snapshot")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def ingest_snapshot(ctx: Context, path: Path) -> None:
    """Ingest the arXiv metadata snapshot (arxiv-metadata-oai-snapshot.json[.gz])."""
    _run_file(ctx, "snapshot", path)


@ingest_group.command(name="oai")
@click.option("--set", "set_spec", default=None, help="OAI set, e.g. cs, math, physics:hep-th.")
@click.option("--from", "from_date", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Harvest records changed on or after this date (default: where the "
                   "last harvest of this set ended).")
@click.option("--until", "until_date", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="…and on or before this date.")
@click.option("--endpoint", default=None, help="OAI-PMH base URL (default: arXiv's).")
@click.option("--prefix", "metadata_prefix", type=click.Choice(["arXiv", "arXivRaw"]),
              default="arXiv", show_default=True, help="Metadata format to ask for.")
@pass_ctx
def ingest_oai(ctx: Context, set_spec: str | None, from_date: Any, until_date: Any,
               endpoint: str | None, metadata_prefix: str) -> None:
    """Harvest arXiv over OAI-PMH (incremental and resumable)."""
    from paperwire.sources.oai import OAISource

    _run(ctx, OAISource(ctx.settings, set_spec, day(from_date), day(until_date),
                        endpoint=endpoint, metadata_prefix=metadata_prefix,
                        limits=ctx.limits))


@ingest_group.command(name="ids")
@click.argument("ids", nargs=-1, required=True)
@click.option("--endpoint", default=None, help="arXiv API URL (default: arXiv's).")
@pass_ctx
def ingest_ids(ctx: Context, ids: tuple[str, ...], endpoint: str | None) -> None:
    """Fetch papers by arXiv id (2401.12345, hep-th/9901001v2, abs/pdf URLs)."""
    from paperwire.sources.arxiv_api import ArxivAPISource

    _run(ctx, ArxivAPISource(ctx.settings, ids, endpoint=endpoint, limits=ctx.limits))


@ingest_group.command(name="listing")
@click.option("--set", "set_spec", required=True,
              help="Archive or category, `+` joining several: cs, cs.LG, cs.LG+stat.ML.")
@click.option("--endpoint", default=None,
              help="Announcement-feed base URL (default: PAPERWIRE_ARXIV_LISTING_URL).")
@pass_ctx
def ingest_listing_command(ctx: Context, set_spec: str, endpoint: str | None) -> None:
    """Read arXiv's latest announcement of a set: each paper with its listing day and
    announce type (new, cross, replace, replace-cross). Safe to rerun."""
    from paperwire.ingest import ingest_listing
    from paperwire.sources.listing import ListingSource

    source = ListingSource(ctx.settings, set_spec,
                           endpoint=endpoint or ctx.settings.arxiv_listing_url,
                           limits=ctx.limits)
    finish_ingest(ctx, ingest_listing(source, ctx.store, progress=ctx.settings.progress,
                                      on_rejection=show_rejection))


def _run(ctx: Context, source: Source) -> None:
    report: IngestReport = ingest(source, ctx.store, progress=ctx.settings.progress,
                                  on_rejection=show_rejection)
    finish_ingest(ctx, report)


def show_rejection(rejection: Rejection) -> None:
    click.echo(f"rejected: {rejection}", err=True)


def finish_ingest(ctx: Context, report: IngestReport) -> None:
    """Report an ingest's outcome, bring the keyword index up to date, and exit with the
    status the run deserves (130 interrupted, 1 something rejected)."""
    if report.resumed_from:
        click.echo(f"resumed after line/record {report.resumed_from:,}", err=True)
    click.echo(report.summary())
    if ctx.settings.index_on_ingest and report.written.inserted + report.written.updated:
        from paperwire.index import writer_lock
        from paperwire.search import Searcher

        searcher = Searcher.from_settings(ctx.settings, ctx.store, meaning=False)
        with writer_lock(searcher.paths.root, waiting=lambda: click.echo(
                "waiting for a `paperwire index` run to finish…", err=True)):
            synced = searcher.lexical.sync(ctx.store)
        click.echo(f"keyword index: {synced.added:,} added, {synced.updated:,} updated "
                   f"({synced.seconds:.1f} s); run `paperwire index` to embed new papers")
    if report.interrupted:
        sys.exit(EXIT_INTERRUPTED)
    if report.rejected:
        sys.exit(EXIT_REJECTED)


COMMANDS: tuple[click.Command, ...] = (ingest_group,)
