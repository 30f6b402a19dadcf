"""Commands for the community signal: imported votes (Hugging Face daily papers), trending."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from paperwire.cli.base import Context, day, fail, pass_ctx
from paperwire.cli.ingest import finish_ingest, show_rejection


@click.command(name="hf-daily")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def ingest_hf_daily(ctx: Context, path: Path) -> None:
    """Import Hugging Face daily papers (papers, featured days, upvotes; plain or .gz).

    Papers this instance lacks are created from the file (without arXiv categories, until an
    arXiv source writes them); upvotes are kept apart from local votes and weighted by
    PAPERWIRE_TRENDING_EXTERNAL_WEIGHT. Rerunning replaces the counts, never adds them up.
    """
    from paperwire.signals import import_hf_daily
    from paperwire.sources.hf_daily import HfDailySource

    source = HfDailySource(path, limits=ctx.limits, batch_size=ctx.settings.batch_size,
                           max_record_bytes=ctx.settings.max_record_bytes)
    finish_ingest(ctx, import_hf_daily(source, ctx.store, progress=ctx.settings.progress,
                                       on_rejection=show_rejection))


@click.command(name="trending")
@click.option("--period", type=click.Choice(["day", "week", "month"]), default="day")
@click.option("--date", "when_given", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="A day in the window (default: the latest day with papers).")
@click.option("--category", "categories", multiple=True, help="e.g. cs.CL or cs; repeatable.")
@click.option("--limit", type=click.IntRange(1, 500), default=20)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@pass_ctx
def trending_command(ctx: Context, period: str, when_given: datetime | None,
                     categories: tuple[str, ...], limit: int, as_json: bool) -> None:
    """Papers of a day, week or month by trending score, with how each score came about."""
    from paperwire.trending import TrendingParams, rank

    when = day(when_given) or ctx.store.latest_day()
    if when is None:
        fail("this instance holds no papers yet: run `paperwire ingest` first")
    page = rank(ctx.store, TrendingParams.from_settings(ctx.settings), period, when,
                categories=categories, limit=limit)
    for n, item in enumerate(page.items, 1):
        if as_json:
            click.echo(json.dumps({"rank": n, "arxiv_id": item.paper.arxiv_id,
                                   "title": item.paper.title, "score": item.score,
                                   "votes": item.votes, "external": item.external,
                                   "age_hours": item.age_hours,
                                   "explanation": item.explanation}))
        else:
            click.echo(f"{n:3}. {item.paper.arxiv_id:<12} {item.paper.title[:70]}\n"
                       f"     {item.explanation}")
    if not as_json:
        click.echo(f"{page.total:,} papers from {page.since} to {page.until}", err=True)


# hf-daily joins the ingest group (cli/__init__.py adds it there).
COMMANDS: tuple[click.Command, ...] = (trending_command,)
