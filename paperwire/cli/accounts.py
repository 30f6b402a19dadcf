"""Commands for accounts and moderation: users and roles, hiding and unhiding papers."""

from __future__ import annotations

import json
import sys

import click

from paperwire import accounts
from paperwire.accounts import ROLES, AccountError
from paperwire.cli.base import EXIT_USAGE, Context, fail, pass_ctx
from paperwire.errors import InvalidRecord, NotFound
from paperwire.models import parse_arxiv_id


@click.group(name="users")
def users_group() -> None:
    """Accounts of this instance: list them, create one, grant roles."""


@users_group.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_ctx
def users_list(ctx: Context, as_json: bool) -> None:
    """Every account with its role and whether its address is confirmed."""
    for user in ctx.store.list_users():
        if as_json:
            click.echo(json.dumps(user, ensure_ascii=False))
        else:
            mark = "" if user["verified"] else " (unconfirmed)"
            click.echo(f"{user['id']:>5}  {user['role']:<9}  {user['email']}{mark}  "
                       f"{user['display_name']}")


@users_group.command(name="grant")
@click.argument("email")
@click.argument("role", type=click.Choice(ROLES))
@pass_ctx
def users_grant(ctx: Context, email: str, role: str) -> None:
    """Give the account at EMAIL a ROLE (user, moderator or admin); logged."""
    user = ctx.store.set_role(email.strip().lower(), role, actor="cli")
    if user is None:
        fail(f"no account with the address {email!r}")
    click.echo(f"{user.email} is now {user.role}")


@users_group.command(name="create")
@click.argument("email")
@click.option("--name", "display_name", default=None, help="Display name [default: the "
              "part of the address before @].")
@click.option("--password-stdin", is_flag=True, required=True,
              help="Read the password from the first line of standard input.")
@click.option("--role", type=click.Choice(ROLES), default="user", show_default=True)
@pass_ctx
def users_create(ctx: Context, email: str, display_name: str | None, password_stdin: bool,
                 role: str) -> None:
    """Create a confirmed account (for an administrator setting up an instance)."""
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        user, created = accounts.sign_up(ctx.store, email, password,
                                         display_name or email.split("@")[0])
    except AccountError as exc:
        fail(str(exc), EXIT_USAGE)
    if not created:
        fail(f"{user.email} already has an account")
    accounts.confirm_address(ctx.store, user)
    if role != "user":
        ctx.store.set_role(user.email, role, actor="cli")
    click.echo(f"created {user.email} ({role})")


@click.group(name="papers")
def papers_group() -> None:
    """Moderate papers: hide one from every listing, or bring it back."""


def _paper_id(text: str) -> str:
    try:
        return parse_arxiv_id(text)[0]
    except InvalidRecord as exc:
        fail(str(exc), EXIT_USAGE)


@papers_group.command(name="hide")
@click.argument("arxiv_id")
@click.option("--reason", required=True, help="Why (kept in the moderation log and shown "
              "to moderators).")
@pass_ctx
def papers_hide(ctx: Context, arxiv_id: str, reason: str) -> None:
    """Hide ARXIV_ID from listings, search, similar papers, feeds, the API and digests."""
    paper_id = _paper_id(arxiv_id)
    reason = " ".join(reason.split())
    if not reason:
        fail("--reason must say why", EXIT_USAGE)
    try:
        ctx.store.hide_paper(paper_id, reason, None, "cli")
    except NotFound as exc:
        fail(str(exc))
    click.echo(f"hidden {paper_id}: {reason}")


@papers_group.command(name="unhide")
@click.argument("arxiv_id")
@pass_ctx
def papers_unhide(ctx: Context, arxiv_id: str) -> None:
    """Bring a hidden paper back everywhere."""
    paper_id = _paper_id(arxiv_id)
    try:
        changed = ctx.store.unhide_paper(paper_id, None, "cli")
    except NotFound as exc:
        fail(str(exc))
    click.echo(f"unhidden {paper_id}" if changed else f"{paper_id} was not hidden")


@papers_group.command(name="hidden")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_ctx
def papers_hidden(ctx: Context, as_json: bool) -> None:
    """Papers hidden now, newest first, with the reasons."""
    for row in ctx.store.hidden_papers():
        click.echo(json.dumps(row, ensure_ascii=False) if as_json else
                   f"{row['arxiv_id']}  {row['hidden_at'][:16]}  {row['reason']}")


@click.group(name="submissions")
def submissions_group() -> None:
    """Moderate submissions: list them, hide one's credit and note, or bring it back."""


@submissions_group.command(name="list")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_ctx
def submissions_list(ctx: Context, limit: int, as_json: bool) -> None:
    """The newest submissions, hidden ones marked."""
    for row in ctx.store.recent_submissions(limit):
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
            continue
        hidden = f"  [hidden: {row['hidden_reason']}]" if row["hidden"] else ""
        click.echo(f"{row['arxiv_id']}  {row['submitted_at'][:16]}  "
                   f"{row['submitted_by'] or '-'}  {row['title'][:60]}{hidden}")


def _submission_id(ctx: Context, arxiv_id: str) -> int:
    paper_id = _paper_id(arxiv_id)
    found = ctx.store.submissions_for([paper_id]).get(paper_id)
    if found is None:
        fail(f"{paper_id} was not submitted by anyone")
    return int(found["id"])


@submissions_group.command(name="hide")
@click.argument("arxiv_id")
@click.option("--reason", required=True, help="Why (kept in the moderation log).")
@pass_ctx
def submissions_hide(ctx: Context, arxiv_id: str, reason: str) -> None:
    """Hide who submitted ARXIV_ID and their note (the paper itself stays listed; use
    `paperwire papers hide` for that)."""
    reason = " ".join(reason.split())
    if not reason:
        fail("--reason must say why", EXIT_USAGE)
    ctx.store.hide_submission(_submission_id(ctx, arxiv_id), reason, None, "cli")
    click.echo(f"hid the submission of {_paper_id(arxiv_id)}: {reason}")


@submissions_group.command(name="unhide")
@click.argument("arxiv_id")
@pass_ctx
def submissions_unhide(ctx: Context, arxiv_id: str) -> None:
    """Show a hidden submission's credit and note again."""
    ctx.store.hide_submission(_submission_id(ctx, arxiv_id), None, None, "cli")
    click.echo(f"the submission of {_paper_id(arxiv_id)} is shown again")


COMMANDS: tuple[click.Command, ...] = (users_group, papers_group, submissions_group)
