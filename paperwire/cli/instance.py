"""Commands for the instance itself: `paperwire init`, `stats`, `settings`, `serve`, `mcp`."""

from __future__ import annotations

import json
from datetime import date, timedelta

import click

from paperwire.cli.base import Context, pass_ctx
from paperwire.settings import settings_table_markdown
from paperwire.store import Store


@click.command()
@pass_ctx
def init(ctx: Context) -> None:
    """Create the data directory and database, or migrate it to the current schema."""
    store = ctx.store
    for path in store.tighten_permissions():
        click.echo(f"note: {path} was readable by other users (it holds password hashes); "
                   "made it owner-only (0600)", err=True)
    click.echo(f"database ready: {_display_url(store)} ({store.count_papers():,} papers)")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--by", type=click.Choice(["day", "category"]), default=None,
              help="Instead: papers per listing day (the last --days days with papers up to "
                   "the latest) or per category (cross-lists included).")
@click.option("--days", type=click.IntRange(1, 366), default=30, show_default=True,
              help="With --by day: how many days back from the latest day with papers.")
@pass_ctx
def stats(ctx: Context, as_json: bool, by: str | None, days: int) -> None:
    """Counts: papers, per category, date range, per source."""
    if by is not None:
        _stats_by(ctx.store, by, days, as_json)
        return
    data = ctx.store.stats()
    data["vector_backend"] = _vector_backend(ctx)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"papers: {data['papers']:,}")
    click.echo(f"published: {data['published']['first']} … {data['published']['last']}")
    click.echo(f"listed: {data['listed']['first']} … {data['listed']['last']}")
    backend = data["vector_backend"]
    click.echo(f"vector backend: {backend['name']} — {backend['reason']}")
    click.echo("sources: " + ", ".join(f"{k} {v:,}" for k, v in data["sources"].items()))
    click.echo("categories (papers filed under each, cross-lists included):")
    for code, count in data["categories"].items():
        click.echo(f"  {code:<20} {count:>9,}")


def _vector_backend(ctx: Context) -> dict[str, str]:
    """Which vector backend search uses here, and why (PAPERWIRE_VECTOR_BACKEND resolved)."""
    from paperwire.errors import ConfigError
    from paperwire.index.backends import choose_backend

    if ctx.settings.embedder == "none":
        return {"name": "none", "reason": "search by meaning is off (PAPERWIRE_EMBEDDER=none)"}
    try:
        choice = choose_backend(ctx.store, ctx.settings.vector_backend)
    except ConfigError as exc:
        return {"name": "unavailable", "reason": str(exc)}
    return {"name": choice.name, "reason": choice.reason}


def _stats_by(store: Store, by: str, days: int, as_json: bool) -> None:
    if by == "category":
        counts = store.papers_per_category(limit=10_000)
        rows = list(counts.items())
        data: dict[str, object] = {"by": "category", "categories": counts}
    else:
        until = store.latest_day() or date.today()
        since = until - timedelta(days=days - 1)
        per_day = store.papers_per_day(since, until, top=0)
        rows = list(zip(per_day["days"], per_day["totals"], strict=True))
        data = {"by": "day", "since": since.isoformat(), "until": until.isoformat(),
                "days": dict(rows)}
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for key, count in rows:
        click.echo(f"{key:<20} {count:>9,}")


@click.command(name="serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--workers", type=int, default=1, show_default=True,
              help="Worker processes; they share the store and indexes.")
@pass_ctx
def serve(ctx: Context, host: str, port: int, workers: int) -> None:
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


@click.command(name="settings")
def show_settings() -> None:
    """Print the settings table (environment variables, defaults, meaning)."""
    click.echo(settings_table_markdown(), nl=False)


def _display_url(store: Store) -> str:
    return store.engine.url.render_as_string(hide_password=True)


@click.command(name="mcp")
@pass_ctx
def mcp_command(ctx: Context) -> None:
    """Serve search, trending and papers to agents over MCP on stdin/stdout."""
    from paperwire.mcp import build_server

    # stdout is the protocol channel: nothing else may be printed there.
    build_server(ctx.settings, ctx.store).run("stdio")


COMMANDS: tuple[click.Command, ...] = (init, stats, serve, show_settings, mcp_command)
