"""The `paperwire` command line: thin commands over the modules, one per pipeline stage.

Exit status: 0 success; 1 something was rejected or failed (the message says what);
2 bad usage or configuration; 130 interrupted (rerun the same command to resume).
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

import click

from paperwire.errors import ConfigError, InvalidRecord, PaperwireError, StoreError
from paperwire.ingest import IngestReport, ingest
from paperwire.models import Limits, Rejection
from paperwire.settings import Settings, settings_table_markdown
from paperwire.sources import Source
from paperwire.store import Store

EXIT_REJECTED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _fail(message: str, code: int = EXIT_REJECTED) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


class _Context:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store.open(self.settings)
        return self._store

    @property
    def limits(self) -> Limits:
        return self.settings.limits()


pass_ctx = click.make_pass_decorator(_Context)


class _Group(click.Group):
    """Turns paperwire's own errors into a one-line message and an exit status."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (StoreError, ConfigError) as exc:
            _fail(str(exc), EXIT_USAGE)
        except PaperwireError as exc:
            _fail(str(exc))


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Data directory [env PAPERWIRE_HOME; default ./paperwire-data].")
@click.option("--database-url", default=None,
              help="Database URL [env PAPERWIRE_DATABASE_URL; default SQLite in the home].")
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
@click.version_option(package_name="paperwire")
@click.pass_context
def cli(ctx: click.Context, home: Path | None, database_url: str | None,
        no_progress: bool) -> None:
    """paperwire: harvest, search and follow research papers on your own machine."""
    try:
        settings = Settings.from_env(home=home, database_url=database_url,
                                     progress=False if no_progress else None)
    except ConfigError as exc:
        _fail(str(exc), EXIT_USAGE)
    ctx.obj = _Context(settings)
    ctx.call_on_close(lambda: ctx.obj._store.close() if ctx.obj._store else None)


@cli.command()
@pass_ctx
def init(ctx: _Context) -> None:
    """Create the data directory and database, or migrate it to the current schema."""
    store = ctx.store
    click.echo(f"database ready: {_display_url(store)} ({store.count_papers():,} papers)")


@cli.group(name="ingest")
def ingest_group() -> None:
    """Bring papers in from arXiv or from files. Safe to rerun: nothing is duplicated."""


@ingest_group.command(name="jsonl")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def ingest_jsonl(ctx: _Context, path: Path) -> None:
    """Ingest paperwire's JSONL format (plain or .gz; see docs/formats.md)."""
    _run_file(ctx, "jsonl", path)


@ingest_group.command(name="file")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def ingest_file(ctx: _Context, path: Path) -> None:
    """Ingest a file in either format above, recognised from its first record."""
    from paperwire.sources.files import detect_format

    _run_file(ctx, detect_format(path), path)


def _run_file(ctx: _Context, file_format: str, path: Path) -> None:
    from paperwire.sources.files import JsonlSource, SnapshotSource

    source = SnapshotSource if file_format == "snapshot" else JsonlSource
    _run(ctx, source(path, limits=ctx.limits, batch_size=ctx.settings.batch_size,
                     max_record_bytes=ctx.settings.max_record_bytes))


@ingest_group.command(name="snapshot")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def ingest_snapshot(ctx: _Context, path: Path) -> None:
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
def ingest_oai(ctx: _Context, set_spec: str | None, from_date: Any, until_date: Any,
               endpoint: str | None, metadata_prefix: str) -> None:
    """Harvest arXiv over OAI-PMH (incremental and resumable)."""
    from paperwire.sources.oai import OAISource

    _run(ctx, OAISource(ctx.settings, set_spec, _day(from_date), _day(until_date),
                        endpoint=endpoint, metadata_prefix=metadata_prefix,
                        limits=ctx.limits))


@ingest_group.command(name="ids")
@click.argument("ids", nargs=-1, required=True)
@click.option("--endpoint", default=None, help="arXiv API URL (default: arXiv's).")
@pass_ctx
def ingest_ids(ctx: _Context, ids: tuple[str, ...], endpoint: str | None) -> None:
    """Fetch papers by arXiv id (2401.12345, hep-th/9901001v2, abs/pdf URLs)."""
    from paperwire.sources.arxiv_api import ArxivAPISource

    _run(ctx, ArxivAPISource(ctx.settings, ids, endpoint=endpoint, limits=ctx.limits))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_ctx
def stats(ctx: _Context, as_json: bool) -> None:
    """Counts: papers, per category, date range, per source."""
    data = ctx.store.stats()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"papers: {data['papers']:,}")
    click.echo(f"published: {data['published']['first']} … {data['published']['last']}")
    click.echo(f"listed: {data['listed']['first']} … {data['listed']['last']}")
    click.echo("sources: " + ", ".join(f"{k} {v:,}" for k, v in data["sources"].items()))
    click.echo("categories (papers filed under each, cross-lists included):")
    for code, count in data["categories"].items():
        click.echo(f"  {code:<20} {count:>9,}")


@cli.command(name="index")
@click.option("--rebuild", is_flag=True, help="Start over: re-index and re-embed everything.")
@click.option("--no-embed", is_flag=True, help="Only the keyword index (no embedding).")
@pass_ctx
def index_command(ctx: _Context, rebuild: bool, no_embed: bool) -> None:
    """Index papers not yet indexed: keywords at once, then embeddings (resumable)."""
    from paperwire.index.indexer import IndexPaths, update_index
    from paperwire.search import embedder_factory

    load = None if no_embed else embedder_factory(ctx.settings.embedder,
                                                  ctx.settings.embed_threads)
    report = update_index(ctx.store, IndexPaths.for_home(ctx.settings.home),
                          load() if load else None, rebuild=rebuild,
                          progress=ctx.settings.progress)
    click.echo(report.summary())
    if report.interrupted:
        sys.exit(EXIT_INTERRUPTED)


def _filter_options(command: Any) -> Any:
    options = [
        click.option("--category", "categories", multiple=True, metavar="CAT",
                     help="Only papers in this category (cs.CL) or archive (cs); repeatable."),
        click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None,
                     help="Only papers dated on or after YYYY-MM-DD."),
        click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None,
                     help="Only papers dated on or before YYYY-MM-DD."),
        click.option("--author", default=None, help="Only papers with this author."),
        click.option("--limit", type=int, default=10, show_default=True),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _filters(categories: tuple[str, ...], since: Any, until: Any, author: str | None) -> Any:
    from paperwire.models import Filters

    return Filters(categories=tuple(categories), since=_day(since), until=_day(until),
                   author=author or None)


def _searcher(ctx: _Context) -> Any:
    from paperwire.index.indexer import IndexPaths
    from paperwire.search import Searcher, embedder_factory

    return Searcher(ctx.store, IndexPaths.for_home(ctx.settings.home),
                    embedder_factory(ctx.settings.embedder, ctx.settings.embed_threads),
                    extra_categories=ctx.settings.extra_categories)


def _print_results(results: Any, as_json: bool, offset: int = 0) -> None:
    if as_json:
        click.echo(json.dumps(results.to_dict(), indent=2, ensure_ascii=False))
        return
    for note in results.notes:
        click.echo(f"note: {note}", err=True)
    if not results.hits:
        click.echo("no results: try fewer or other words, another --mode, or wider filters")
    for n, hit in enumerate(results.hits, start=offset + 1):
        p = hit.paper
        authors = ", ".join(p.authors[:3]) + (" et al." if len(p.authors) > 3 else "")
        day = hit.to_dict()["date"] or ""
        click.echo(click.style(f"{n:>3}. {p.title}", bold=True) + f"  [{hit.score:.3f}]")
        click.echo(f"     {p.arxiv_id}  {day}  {' '.join(p.categories[:4])}  {authors}")
        click.echo("     " + hit.snippet.marked("\x1b[1;33m", "\x1b[0m")
                   if sys.stdout.isatty() else "     " + hit.snippet.marked("**", "**"))
    click.echo(f"({len(results.hits)} results in {results.took_ms:.0f} ms)", err=True)


@cli.command(name="search")
@click.argument("query", required=False)
@_filter_options
@click.option("--offset", type=int, default=0, help="Skip this many results (paging).")
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance",
              show_default=True)
@click.option("--mode", type=click.Choice(["hybrid", "lexical", "semantic"]), default="hybrid",
              show_default=True, help="Keywords and meaning, keywords only, meaning only.")
@click.option("--like-text", type=click.File("r"), default=None, metavar="FILE|-",
              help="Find papers like this text (a pasted abstract); - reads stdin.")
@pass_ctx
def search_command(ctx: _Context, query: str | None, categories: tuple[str, ...], since: Any,
                   until: Any, author: str | None, limit: int, as_json: bool, offset: int,
                   sort: str, mode: str, like_text: Any) -> None:
    """Search papers by keywords and meaning."""
    from paperwire.search import QueryError

    searcher = _searcher(ctx)
    filters = _filters(categories, since, until, author)
    try:
        if like_text is not None:
            results = searcher.like_text(like_text.read(), limit=limit, filters=filters,
                                         mode=mode)
        else:
            results = searcher.search(query or "", limit=limit, offset=offset,
                                      filters=filters, mode=mode, sort=sort)
    except QueryError as exc:
        _fail(str(exc), EXIT_USAGE)
    _print_results(results, as_json, offset)


@cli.command(name="similar")
@click.argument("arxiv_id")
@_filter_options
@pass_ctx
def similar_command(ctx: _Context, arxiv_id: str, categories: tuple[str, ...], since: Any,
                    until: Any, author: str | None, limit: int, as_json: bool) -> None:
    """Papers nearest in meaning to ARXIV_ID."""
    from paperwire.models import parse_arxiv_id
    from paperwire.search import QueryError

    try:
        bare, _ = parse_arxiv_id(arxiv_id)
        results = _searcher(ctx).similar(bare, limit=limit,
                                         filters=_filters(categories, since, until, author))
    except (QueryError, InvalidRecord) as exc:
        _fail(str(exc), EXIT_USAGE)
    _print_results(results, as_json)


@cli.group(name="eval")
def eval_group() -> None:
    """Measure search quality on judged data."""


@eval_group.command(name="beir")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--split", default="test", show_default=True)
@click.option("--mode", type=click.Choice(["hybrid", "lexical", "semantic"]), default="hybrid",
              show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_ctx
def eval_beir(ctx: _Context, directory: Path, split: str, mode: str, as_json: bool) -> None:
    """nDCG@10, Recall@100, MRR@10 and latency of paperwire's search on a BEIR folder."""
    from paperwire.evaluate import evaluate_beir
    from paperwire.search import embedder_factory

    load = embedder_factory(ctx.settings.embedder, ctx.settings.embed_threads)
    if mode != "lexical" and load is None:
        _fail("--mode hybrid/semantic needs an embedder (PAPERWIRE_EMBEDDER is none)", EXIT_USAGE)
    result = evaluate_beir(directory, split=split, mode=mode,
                           embedder=load() if load and mode != "lexical" else None,
                           progress=ctx.settings.progress)
    out = {"ndcg@10": result["ndcg@10"], "recall@100": result["recall@100"],
           "mrr@10": result["mrr@10"], "latency_ms_p50": result["p50_ms"],
           "latency_ms_p95": result["p95_ms"], "queries": int(result["queries"]),
           "mode": mode, "split": split}
    if as_json:
        click.echo(json.dumps(out))
        return
    for key, value in out.items():
        click.echo(f"{key:>15}: {value:.4f}" if isinstance(value, float) else
                   f"{key:>15}: {value}")


@cli.command(name="serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--workers", type=int, default=1, show_default=True,
              help="Worker processes; they share the store and indexes.")
@pass_ctx
def serve(ctx: _Context, host: str, port: int, workers: int) -> None:
    """Serve the site, its JSON API and feeds."""
    import os

    import uvicorn

    ctx.store.migrate()  # once, here, rather than racing in every worker
    # Workers are fresh processes: hand them the settings this command resolved.
    os.environ["PAPERWIRE_HOME"] = str(ctx.settings.home.resolve())
    if ctx.settings.database_url:
        os.environ["PAPERWIRE_DATABASE_URL"] = ctx.settings.database_url
    click.echo(f"serving {ctx.store.count_papers():,} papers on http://{host}:{port}/", err=True)
    uvicorn.run("paperwire.web.app:app_from_env", factory=True, host=host, port=port,
                workers=workers, log_level="warning", access_log=False)


@cli.command(name="settings")
def show_settings() -> None:
    """Print the settings table (environment variables, defaults, meaning)."""
    click.echo(settings_table_markdown(), nl=False)


def _day(value: Any) -> date | None:
    return value.date() if value is not None else None


def _display_url(store: Store) -> str:
    return store.engine.url.render_as_string(hide_password=True)


def _run(ctx: _Context, source: Source) -> None:
    report: IngestReport = ingest(source, ctx.store, progress=ctx.settings.progress,
                                  on_rejection=show_rejection)
    finish_ingest(ctx, report)


def show_rejection(rejection: Rejection) -> None:
    click.echo(f"rejected: {rejection}", err=True)


def finish_ingest(ctx: _Context, report: IngestReport) -> None:
    """Report an ingest's outcome, bring the keyword index up to date, and exit with the
    status the run deserves (130 interrupted, 1 something rejected)."""
    if report.resumed_from:
        click.echo(f"resumed after line/record {report.resumed_from:,}", err=True)
    click.echo(report.summary())
    if ctx.settings.index_on_ingest and report.written.inserted + report.written.updated:
        from paperwire.index.indexer import IndexPaths
        from paperwire.index.lexical import LexicalIndex

        synced = LexicalIndex(IndexPaths.for_home(ctx.settings.home).lexical).sync(ctx.store)
        click.echo(f"keyword index: {synced.added:,} added, {synced.updated:,} updated "
                   f"({synced.seconds:.1f} s); run `paperwire index` to embed new papers")
    if report.interrupted:
        sys.exit(EXIT_INTERRUPTED)
    if report.rejected:
        sys.exit(EXIT_REJECTED)


# Commands of later stages live in sibling modules; importing them registers them on `cli`.
from paperwire.cli import accounts, community, mail  # noqa: E402,F401


def main() -> None:
    cli.main(prog_name="paperwire")
