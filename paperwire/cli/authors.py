"""Commands for author identities: backfill them, merge and split them, decide claims."""

from __future__ import annotations

import json

import click

from paperwire.cli.base import EXIT_INTERRUPTED, Context, fail, pass_ctx
from paperwire.errors import NotFound


@click.group(name="authors")
def authors_group() -> None:
    """Author identities: link stored papers, merge and split homonyms, decide claims."""


@authors_group.command(name="rebuild")
@pass_ctx
def rebuild_command(ctx: Context) -> None:
    """Link every stored paper that has no author identities yet (papers stored before
    authors existed). Shows progress; ^C stops after the last whole batch, and a rerun
    goes on from there."""
    import sys

    from paperwire.authors import rebuild

    report = rebuild(ctx.store, progress=ctx.settings.progress)
    click.echo(f"{report.linked:,} papers linked to their authors; "
               f"{ctx.store.count_unlinked():,} left")
    if report.interrupted:
        sys.exit(EXIT_INTERRUPTED)


@authors_group.command(name="merge")
@click.argument("source")
@click.argument("target")
@pass_ctx
def merge_command(ctx: Context, source: str, target: str) -> None:
    """Merge identity SOURCE into TARGET (slugs): its papers move, its page redirects."""
    from paperwire.authors import merge

    try:
        moved = merge(ctx.store, source, target)
    except NotFound as exc:
        fail(str(exc))
    click.echo(f"merged {source} into {target}: {moved:,} authorships moved")


@authors_group.command(name="split")
@click.argument("slug")
@click.argument("arxiv_ids", nargs=-1, required=True)
@pass_ctx
def split_command(ctx: Context, slug: str, arxiv_ids: tuple[str, ...]) -> None:
    """Move ARXIV_IDS of identity SLUG to a new identity of the same name (a homonym)."""
    from paperwire.authors import split

    try:
        made = split(ctx.store, slug, arxiv_ids)
    except NotFound as exc:
        fail(str(exc))
    click.echo(f"split {len(arxiv_ids)} paper(s) of {slug} into /authors/{made['slug']}")


@authors_group.command(name="claims")
@click.option("--status", type=click.Choice(["pending", "confirmed", "rejected"]),
              default="pending")
@pass_ctx
def claims_command(ctx: Context, status: str) -> None:
    """List claims of author profiles (pending ones by default), as JSON lines."""
    for claim in ctx.store.author_claims(status=status):
        click.echo(json.dumps(claim))


@authors_group.command(name="decide")
@click.argument("claim_id", type=click.IntRange(1, 2**31 - 1))
@click.argument("decision", type=click.Choice(["confirm", "reject"]))
@pass_ctx
def decide_command(ctx: Context, claim_id: int, decision: str) -> None:
    """Confirm or reject claim CLAIM_ID."""
    from paperwire.authors import decide

    try:
        done = decide(ctx.store, None, claim_id, decision == "confirm")
    except NotFound as exc:
        fail(str(exc))
    click.echo(f"claim {claim_id} of /authors/{done['slug']} by {done['email']}: "
               f"{done['status']}")


COMMANDS: tuple[click.Command, ...] = (authors_group,)
