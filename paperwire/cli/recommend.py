"""`paperwire recommend`: a reader's For-you list in the terminal or as JSON, through the
same profile, model and ranking as /for-you."""

from __future__ import annotations

import json
from typing import Any

import click

from paperwire.cli.base import EXIT_USAGE, Context, fail, pass_ctx


@click.command(name="recommend")
@click.option("--user", "email", required=True, help="the account's e-mail address")
@click.option("--profile", default=None, help="a profile's name or id (default: the first)")
@click.option("--window", type=click.Choice(["day", "week", "month"]), default="week",
              show_default=True, help="how far back from the latest day")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
@pass_ctx
def recommend_command(ctx: Context, email: str, profile: str | None, window: str,
                      limit: int, as_json: bool) -> None:
    """Recent papers ranked for a reader, each with why (as on /for-you)."""
    from paperwire import for_you
    from paperwire.for_you_rank import Recommender, product_corpus
    from paperwire.search import Searcher

    store = ctx.store
    user = store.user_by_email(email)
    if user is None:
        fail(f"no account with the address {email}")
    try:
        chosen = for_you.chosen(store, user, profile)
    except for_you.ForYouError as exc:
        fail(str(exc), EXIT_USAGE if exc.status == 400 else 1)
    searcher = Searcher.from_settings(ctx.settings, store)
    # One shot: a stale model is retrained here, not in a thread that would die with us.
    recommender = Recommender(store, product_corpus(store, searcher), background=False)
    got = recommender.for_you(chosen, window, limit=limit)
    data = _data(store, got)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    click.echo(f"For you ({chosen.name}), {data['since']} to {data['until']}: "
               f"{data['total']} ranked")
    if data["estimate"]:
        click.echo(data["estimate"]["text"])
    if data["cold"]:
        click.echo(f"Only {got.positives} papers to learn from: save or seed a few more.")
    for n, p in enumerate(data["papers"], 1):
        click.echo(f"{n:>3}. {p['title']}  [{p['arxiv_id']}]  {p['score']:.3f}")
        if p["why"]:
            click.echo(f"     {p['why']}")


def _data(store: Any, got: Any) -> dict[str, Any]:
    from paperwire.for_you_rank import reasons_data

    titles = {i: p.title for i, p in store.get_papers(r.arxiv_id for r in got.shown).items()}
    return {"profile": got.profile.to_dict(), "window": got.window,
            "since": got.since.isoformat() if got.since else None,
            "until": got.until.isoformat() if got.until else None, "total": len(got.ranked),
            "positives": got.positives, "cold": got.cold, "threshold": got.threshold,
            "estimate": got.estimate(),
            "papers": [{"arxiv_id": r.arxiv_id, "title": titles.get(r.arxiv_id, ""),
                        "score": round(r.score, 4), "probability": round(r.probability, 4),
                        "why": r.reasons[0].text if r.reasons else None,
                        "reasons": reasons_data(r)} for r in got.shown]}


@click.command(name="recommend-train")
@pass_ctx
def recommend_train_command(ctx: Context) -> None:
    """Train the For-you model of every profile in the digest whose kept model is stale
    (missing, or older than what it trains on), with progress: the digest then trains none.
    Builds the feature space first (about a minute for 80k papers)."""
    from paperwire.for_you_rank import train_stale_models
    from paperwire.search import Searcher

    store = ctx.store
    report = train_stale_models(store, Searcher.from_settings(ctx.settings, store),
                                progress=ctx.settings.progress)
    click.echo(str(report))
    if report.failed:
        raise SystemExit(1)


COMMANDS = (recommend_command, recommend_train_command)
