"""Commands for mail: subscriptions, digests, the outbox, and the scheduled worker."""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click

from paperwire.cli.base import EXIT_INTERRUPTED, EXIT_USAGE, Context, fail, pass_ctx


def _as_of(value: Any) -> date:
    return value.date() if value is not None else datetime.now(UTC).date()


# --- subscriptions --------------------------------------------------------------------------
@click.group(name="subscriptions")
def subscriptions_group() -> None:
    """Manage digest subscribers: add, import, list, remove."""


@subscriptions_group.command(name="add")
@click.argument("email")
@click.option("--period", type=click.Choice(["daily", "weekly"]), default="daily",
              show_default=True)
@click.option("--category", "categories", multiple=True, metavar="CAT",
              help="Trending papers only in this category (repeatable; default all).")
@click.option("--search", "searches", multiple=True, metavar="QUERY",
              help="A saved search whose new papers the digest lists (repeatable).")
@click.option("--no-trending", is_flag=True, help="Only saved searches, no trending papers.")
@click.option("--confirmed", is_flag=True,
              help="The address agreed already: active at once, no confirmation mail.")
@pass_ctx
def subscriptions_add(ctx: Context, email: str, period: str, categories: tuple[str, ...],
                      searches: tuple[str, ...], no_trending: bool, confirmed: bool) -> None:
    """Subscribe EMAIL (or update its preferences); without --confirmed it is pending and a
    confirmation link is mailed to it."""
    from paperwire.mail import mailer_for
    from paperwire.mail_queue import deliver_due
    from paperwire.models import SearchSpec
    from paperwire.subscriptions import SubscriptionError, build, confirmation_message

    try:
        request = build(ctx.settings, email, period=period, trending=not no_trending,
                        categories=categories,
                        searches=tuple(SearchSpec(q, tuple(categories)) for q in searches))
    except SubscriptionError as exc:
        fail(str(exc), EXIT_USAGE)
    sub = request.save(ctx.store, status="active" if confirmed else "pending")
    if not confirmed and sub.status == "pending":
        message = confirmation_message(ctx.settings, request, ctx.store)
        mailer_for(ctx.store).send(message, kind="confirm")
        deliver_due(ctx.settings, ctx.store)  # now, rather than at the sender's next pass
        click.echo(f"{sub.email}: pending; a confirmation link was queued")
        return
    click.echo(f"{sub.email}: {sub.status}, {sub.period}, "
               f"{len(sub.searches)} saved search(es)")


_CSV_FIELDS = ("email", "period", "trending", "categories", "searches")


def _csv_request(ctx: Context, row: dict[str, str | None]) -> Any:
    from paperwire.models import SearchSpec
    from paperwire.subscriptions import SubscriptionError, build

    trending_raw = (row.get("trending") or "yes").strip().lower()
    if trending_raw not in ("yes", "no", "true", "false", "1", "0"):
        raise SubscriptionError("trending", f"expected yes or no, got {trending_raw!r}")
    categories = tuple((row.get("categories") or "").replace(",", " ").split())
    searches = tuple(SearchSpec(q.strip()) for q in (row.get("searches") or "").split("|")
                     if q.strip())
    return build(ctx.settings, row.get("email") or "",
                 period=(row.get("period") or "daily").strip().lower(),
                 trending=trending_raw in ("yes", "true", "1"), categories=categories,
                 searches=searches)


@subscriptions_group.command(name="import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--confirmed", is_flag=True,
              help="The addresses agreed elsewhere: import them active (else pending).")
@pass_ctx
def subscriptions_import(ctx: Context, path: Path, confirmed: bool) -> None:
    """Import subscribers from a CSV with a header row: email (required), period
    (daily|weekly), trending (yes|no), categories (space-separated), searches (queries
    separated by |). Bad rows are reported by line and field; good rows are kept."""
    from paperwire.subscriptions import SubscriptionError

    good, bad = 0, 0
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or "email" not in reader.fieldnames:
            fail(f"{path}: the first line must be a header naming the columns, with at "
                  f"least 'email' (known: {', '.join(_CSV_FIELDS)})", EXIT_USAGE)
        unknown = set(reader.fieldnames) - set(_CSV_FIELDS)
        if unknown:
            fail(f"{path} line 1: unknown column(s) {', '.join(sorted(unknown))} (known: "
                  f"{', '.join(_CSV_FIELDS)})", EXIT_USAGE)
        for row in reader:
            try:
                request = _csv_request(ctx, row)
            except SubscriptionError as exc:
                click.echo(f"{path} line {reader.line_num}, field '{exc.field}': "
                           f"{str(exc).split(': ', 1)[1]}", err=True)
                bad += 1
                continue
            request.save(ctx.store, status="active" if confirmed else "pending")
            good += 1
    state = "active" if confirmed else "pending (not mailed until confirmed)"
    click.echo(f"imported {good} subscription(s) as {state}; {bad} row(s) rejected")
    if bad:
        sys.exit(1)


@subscriptions_group.command(name="list")
@click.option("--status", type=click.Choice(["pending", "active", "unsubscribed", "bounced"]),
              default=None)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_ctx
def subscriptions_list(ctx: Context, status: str | None, as_json: bool) -> None:
    """Subscribers with their period, categories and saved searches."""
    subs = ctx.store.subscriptions(status=status)
    if as_json:
        click.echo(json.dumps([s.to_dict() for s in subs], indent=2, ensure_ascii=False))
        return
    for s in subs:
        cats = " ".join(s.categories) or "all"
        trending = f"trending in {cats}" if s.trending else "no trending"
        click.echo(f"{s.email:<40} {s.status:<12} {s.period:<7} {trending}; "
                   f"{len(s.searches)} search(es)")
    click.echo(f"({len(subs)} subscription(s))", err=True)


@subscriptions_group.command(name="remove")
@click.argument("email")
@pass_ctx
def subscriptions_remove(ctx: Context, email: str) -> None:
    """Delete EMAIL's subscription, saved searches and send history."""
    if not ctx.store.remove_subscription(email):
        fail(f"no subscription for {email.strip().lower()}")
    click.echo(f"removed {email.strip().lower()}")


# --- digests -----------------------------------------------------------------------------
@click.group(name="digest")
def digest_group() -> None:
    """Compose and send the e-mail digests."""


_AS_OF = click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), default=None,
                      help="Compose as if it were this day (default today, UTC).")


@digest_group.command(name="preview")
@click.option("--email", required=True, help="The subscriber whose digest to show.")
@click.option("--period", type=click.Choice(["daily", "weekly"]), default=None,
              help="Default: the subscriber's own.")
@_AS_OF
@pass_ctx
def digest_preview(ctx: Context, email: str, period: str | None, as_of: Any) -> None:
    """Print exactly what would go out to EMAIL: the headers and the text part."""
    from paperwire.digest import preview

    digest, message = preview(ctx.settings, ctx.store, email, period, _as_of(as_of))
    for name, value in message.items():
        click.echo(f"{name}: {value}")
    click.echo("")
    body = message.get_body(("plain",))
    click.echo(body.get_content() if body is not None else "")  # type: ignore[attr-defined]
    if digest.empty:
        click.echo("(empty: this digest would be skipped, not sent)", err=True)


@digest_group.command(name="send")
@click.option("--period", type=click.Choice(["daily", "weekly"]), required=True)
@_AS_OF
@pass_ctx
def digest_send(ctx: Context, period: str, as_of: Any) -> None:
    """Send the period's digest to every active subscriber not yet sent it. Safe to rerun
    (and to interrupt): only the digests not recorded as sent go out, with the same
    Message-ID."""
    from paperwire.digest import DigestReport, send_digests
    from paperwire.mail import batch_mailer

    show = ctx.settings.progress and sys.stderr.isatty()

    def progress(report: DigestReport) -> None:
        if show:
            click.echo(f"\r{report.sent} sent, {report.failed} failed, {report.bounced} "
                       "bounced", nl=False, err=True)

    try:
        report = send_digests(ctx.settings, ctx.store, period, _as_of(as_of),
                              mailer=batch_mailer(ctx.settings, ctx.store), progress=progress)
    except KeyboardInterrupt:
        click.echo("\ninterrupted: digests recorded as sent will not be sent again; rerun "
                   "the same command to send the rest", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if show:
        click.echo("", err=True)
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    click.echo(report.summary())
    if not report.ok:
        sys.exit(1)


@click.command(name="outbox")
@click.option("--to", "to_addr", default=None, help="Only mail to this address.")
@click.option("--kind", default=None, help="Only this kind (confirm, digest, verify, …).")
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, whole messages.")
@pass_ctx
def outbox(ctx: Context, to_addr: str | None, kind: str | None, limit: int,
           as_json: bool) -> None:
    """Mail the site composed, newest first, with its delivery status (queued, sending,
    sent, failed, kept); without SMTP configured, queued mail stays here."""
    rows = ctx.store.outbox(to=to_addr, kind=kind, limit=limit)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str, ensure_ascii=False))
        return
    for row in rows:
        state = (f"sent {row['sent_at']:%Y-%m-%d %H:%M}" if row["sent_at"] else
                 row["status"] + (f": {row['last_error']}" if row["last_error"] else ""))
        click.echo(f"{row['created_at']:%Y-%m-%d %H:%M}  {row['kind']:<8} {row['to_addr']:<32}"
                   f" {row['subject']}  ({state})")
    if not rows:
        click.echo("the outbox is empty", err=True)


@click.command(name="worker")
@click.option("--once", is_flag=True, help="Run the jobs due now, then exit.")
@click.option("--no-harvest", is_flag=True, help="Skip the harvest step (index and digest "
              "only).")
@click.option("--at", "at_time", type=click.DateTime(["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]),
              default=None, help="With --once: act as if it were this moment (UTC).")
@pass_ctx
def worker(ctx: Context, once: bool, no_harvest: bool, at_time: Any) -> None:
    """Run harvest → index → digest on the schedule (PAPERWIRE_WORKER_TIME, _TIMEZONE,
    _WEEKLY_DAY); each slot runs once even across restarts and several workers. With
    PAPERWIRE_QUEUE_RUNNER=worker it also delivers queued mail and submissions."""
    from paperwire.background import Runner
    from paperwire.worker import RunLine, run_due, run_forever

    def log(line: RunLine) -> None:
        click.echo(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} {line}")

    if once:
        now = at_time.replace(tzinfo=UTC) if at_time is not None else None
        lines = run_due(ctx.settings, ctx.store, now, harvest=not no_harvest, log=log)
        if ctx.settings.queue_runner == "worker":
            Runner(ctx.settings, ctx.store).run_once()  # one pass of queued mail and jobs
        if not lines:
            click.echo("nothing due now")
        if any(line.status == "failed" for line in lines):
            sys.exit(1)
        return
    try:
        run_forever(ctx.settings, ctx.store, harvest=not no_harvest, log=log)
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)


COMMANDS: tuple[click.Command, ...] = (subscriptions_group, digest_group, outbox, worker)
