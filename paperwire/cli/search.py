"""Commands that index and search: `paperwire index`, `search`, `similar`, `eval beir`,
`eval recommend`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from paperwire.cli.base import EXIT_INTERRUPTED, EXIT_USAGE, Context, day, fail, pass_ctx
from paperwire.errors import InvalidRecord, SourceError

if TYPE_CHECKING:
    from paperwire.index.indexer import EmbedStep
    from paperwire.search import Searcher
    from paperwire.settings import Settings


@click.command(name="index")
@click.option("--rebuild", is_flag=True, help="Start over: re-index and re-embed everything.")
@click.option("--no-embed", is_flag=True, help="Only the keyword index (no embedding).")
@click.option("--backend", type=click.Choice(["auto", "faiss", "pgvector"]), default=None,
              help="Vector backend to bring up to date (default: PAPERWIRE_VECTOR_BACKEND); "
                   "built from the stored embeddings, nothing is re-embedded.")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local",
              show_default=True, help="Embed in this process, or on a Ray cluster "
              "(pip install 'paperwire[cluster]'; this process still reads and writes the "
              "database).")
@click.option("--address", default=None, metavar="auto|HOST:PORT|ray://HOST:PORT",
              help="The Ray cluster for --engine ray (default: PAPERWIRE_RAY_ADDRESS); "
                   "local starts a private one for the run.")
@pass_ctx
def index_command(ctx: Context, rebuild: bool, no_embed: bool, backend: str | None,
                  engine: str, address: str | None) -> None:
    """Index papers not yet indexed: keywords at once, then embeddings (resumable).

    One run at a time per home: a second waits for the first to finish, then catches up.
    A damaged index is rebuilt from the store. Web processes use the backend
    PAPERWIRE_VECTOR_BACKEND names; set it to match a --backend you switch to."""
    from paperwire.errors import ConfigError
    from paperwire.index.indexer import update_index

    settings = ctx.settings if backend is None else ctx.settings.replace(vector_backend=backend)
    if address is not None and engine != "ray":
        fail("--address is for --engine ray", EXIT_USAGE)
    try:
        searcher = _searcher(ctx, meaning=not no_embed, settings=settings)
        vectors = searcher.vectors
        embed = _ray_step(settings, address) if engine == "ray" and not no_embed else None
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    report = update_index(ctx.store, searcher.paths, searcher.embedder, rebuild=rebuild,
                          progress=ctx.settings.progress, vectors=vectors,
                          waiting=_say_waiting, embed=embed)
    click.echo(report.summary() + (f" ({_backend_name(vectors)})" if vectors else ""))
    if report.interrupted:
        sys.exit(EXIT_INTERRUPTED)


def _ray_step(settings: Settings, address: str | None) -> EmbedStep:
    from paperwire.index.ray_backfill import RayBackfill, RayOptions

    return RayBackfill(RayOptions.from_settings(settings, address))


def _say_waiting() -> None:
    click.echo("another `paperwire index` is updating this home's indexes; waiting for it "
               "to finish…", err=True)


def _filter_options(command: Any) -> Any:
    options = [
        click.option("--category", "categories", multiple=True, metavar="CAT",
                     help="Only papers in this category (cs.CL) or archive (cs); repeatable."),
        click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None,
                     help="Only papers dated on or after YYYY-MM-DD."),
        click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None,
                     help="Only papers dated on or before YYYY-MM-DD."),
        click.option("--author", default=None, help="Only papers with this author."),
        click.option("--has-code", "has_code", is_flag=True,
                     help="Only papers with a code link (found in the abstract or comments, "
                          "or given by an imported signal)."),
        click.option("--limit", type=int, default=10, show_default=True),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _filters(categories: tuple[str, ...], since: Any, until: Any, author: str | None,
             has_code: bool = False) -> Any:
    from paperwire.models import Filters

    return Filters(categories=tuple(categories), since=day(since, "--since"),
                   until=day(until, "--until"), author=author or None, code=has_code)


def _searcher(ctx: Context, *, meaning: bool = True, settings: Settings | None = None
              ) -> Searcher:
    from paperwire.search import Searcher

    return Searcher.from_settings(settings or ctx.settings, ctx.store, meaning=meaning)


def _backend_name(vectors: Any) -> str:
    return str(getattr(vectors, "name", type(vectors).__name__))


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


@click.command(name="search")
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
def search_command(ctx: Context, query: str | None, categories: tuple[str, ...], since: Any,
                   until: Any, author: str | None, has_code: bool, limit: int, as_json: bool,
                   offset: int, sort: str, mode: str, like_text: Any) -> None:
    """Search papers by keywords and meaning."""
    from paperwire.search import QueryError

    searcher = _searcher(ctx)
    filters = _filters(categories, since, until, author, has_code)
    try:
        if like_text is not None:
            results = searcher.like_text(like_text.read(), limit=limit, filters=filters,
                                         mode=mode)
        else:
            results = searcher.search(query or "", limit=limit, offset=offset,
                                      filters=filters, mode=mode, sort=sort)
    except QueryError as exc:
        fail(str(exc), EXIT_USAGE)
    _print_results(results, as_json, offset)


@click.command(name="similar")
@click.argument("arxiv_id")
@_filter_options
@pass_ctx
def similar_command(ctx: Context, arxiv_id: str, categories: tuple[str, ...], since: Any,
                    until: Any, author: str | None, has_code: bool, limit: int, as_json: bool
                    ) -> None:
    """Papers nearest in meaning to ARXIV_ID."""
    from paperwire.models import parse_arxiv_id
    from paperwire.search import QueryError

    try:
        bare, _ = parse_arxiv_id(arxiv_id)
        results = _searcher(ctx).similar(bare, limit=limit,
                                         filters=_filters(categories, since, until, author,
                                                          has_code))
    except (QueryError, InvalidRecord) as exc:
        fail(str(exc), EXIT_USAGE)
    _print_results(results, as_json)


@click.group(name="eval")
def eval_group() -> None:
    """Measure search quality on judged data."""


@eval_group.command(name="beir")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--split", default="test", show_default=True)
@click.option("--mode", type=click.Choice(["hybrid", "lexical", "semantic"]), default="hybrid",
              show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_ctx
def eval_beir(ctx: Context, directory: Path, split: str, mode: str, as_json: bool) -> None:
    """nDCG@10, Recall@100, MRR@10 and latency of paperwire's search on a BEIR folder."""
    from paperwire.evaluate import evaluate_beir
    from paperwire.search import embedder_factory

    load = embedder_factory(ctx.settings.embedder, ctx.settings.embed_threads)
    if mode != "lexical" and load is None:
        fail("--mode hybrid/semantic needs an embedder (PAPERWIRE_EMBEDDER is none)", EXIT_USAGE)
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


@eval_group.command(name="recommend")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--embedder", "embedder_name", default=None,
              help="Embedder for the MiniLM vectors (default: the instance's); 'none' ranks "
                   "from content words alone.")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep the loaded, indexed store here and reuse it on the next run.")
@click.option("--half", type=click.IntRange(0, 1), default=None,
              help="Only the users whose name hashes to this half (tune on one, check on "
                   "the other).")
@click.option("--group", "group", default="",
              help="Comma-separated users whose metrics are also reported apart.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object last.")
@pass_ctx
def eval_recommend(ctx: Context, directory: Path, embedder_name: str | None,
                   home: Path | None, half: int | None, group: str, as_json: bool) -> None:
    """MRR@10, nDCG@10, hit@10, recall@50 of paperwire's ranker and the anchors on DIRECTORY."""
    from paperwire.recommend.evaluation import evaluate_recommend
    from paperwire.search import embedder_factory

    name = embedder_name or ctx.settings.embedder
    load = None if name == "none" else embedder_factory(name, ctx.settings.embed_threads)
    try:
        result = evaluate_recommend(directory, embedder=load() if load else None, home=home,
                                    half=half, progress=ctx.settings.progress and not as_json,
                                    groups=[g.strip() for g in group.split(",") if g.strip()])
    except SourceError as exc:
        fail(str(exc), EXIT_USAGE)
    if as_json:
        click.echo(json.dumps(result.details()))
        click.echo(json.dumps(result.as_json()))
        return
    click.echo(f"{result.users} users, {result.tests} test days")
    click.echo(_table(result.rankers))
    for part, rows in result.groups.items():
        click.echo(f"\n{part} users:\n{_table(rows)}")
    click.echo(f"\ntrain ms p50: paperwire {result.train_ms_p50():.1f}")
    cal = result.calibration.as_dict()
    click.echo(f"calibration: threshold for {cal['target']:.0%} precision measured "
               f"{_percent(cal['precision'])} on {cal['test_days']} test days "
               f"({cal['shown']} papers shown, {cal['profiles']} profiles calibrated)")


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _table(rows: dict[str, dict[str, float]]) -> str:
    metrics = ("mrr@10", "ndcg@10", "hit@10", "recall@50")
    lines = [f"{'ranker':<22}" + "".join(f"{m:>11}" for m in metrics)]
    for name, values in rows.items():
        lines.append(f"{name:<22}" + "".join(f"{values[m]:>11.4f}" for m in metrics))
    return "\n".join(lines)


COMMANDS: tuple[click.Command, ...] = (index_command, search_command, similar_command,
                                       eval_group)
