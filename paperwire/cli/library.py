"""Commands for libraries: `paperwire library list|show|export|import|zotero` for scripts.

The same rules and code paths as the web (paperwire.library, paperwire.library_jobs); the
user is named by address, and the command acts as that user.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from paperwire.cli.base import Context, fail, pass_ctx
from paperwire.models import User

if TYPE_CHECKING:
    from paperwire.library import Access
    from paperwire.library_jobs import ImportReport

FORMATS = {"bibtex": "to_bibtex", "ris": "to_ris", "csl-json": "to_csl_json"}


@click.group(name="library")
def library_group() -> None:
    """Collections: list them, show one, export to BibTeX/RIS/CSL-JSON, import a file."""


def _user(ctx: Context, email: str) -> User:
    found = ctx.store.user_by_email(email)
    if found is None:
        fail(f"no account with the address {email}")
    return found


def _access(ctx: Context, user: User, name: str) -> Access:
    """The user's collection (or a lab's) by name or id."""
    from paperwire import library

    found = next((c for c in library.collections_for(ctx.store, user)
                  if c.name.lower() == name.lower() or str(c.id) == name), None)
    if found is None:
        fail(f"{user.email} has no collection named {name!r} (see `paperwire library list`)")
    return library.access(ctx.store, user, found.id)


@library_group.command(name="list")
@click.option("--user", "email", required=True, help="the account's e-mail address")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@pass_ctx
def list_command(ctx: Context, email: str, as_json: bool) -> None:
    """The user's collections (and their labs'), with their sizes."""
    from paperwire import library

    found = [c.to_dict() for c in library.collections_for(ctx.store, _user(ctx, email))]
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    for c in found:
        click.echo(f"{c['id']:>6}  {c['name']}  ({c['items']} items, {c['visibility']})")


@library_group.command(name="show")
@click.option("--user", "email", required=True, help="the account's e-mail address")
@click.option("--collection", "name", required=True, help="its name (or id)")
@click.option("--order", type=click.Choice(["added", "published", "title"]), default="added")
@pass_ctx
def show_command(ctx: Context, email: str, name: str, order: str) -> None:
    """A collection's items, one a line: arXiv id (or "unmatched"), title, tags."""
    from paperwire import library

    user = _user(ctx, email)
    got = _access(ctx, user, name)
    for item in library.items(ctx.store, got, order):
        title = item.paper.title if item.paper else (item.citation or {}).get("title", "")
        ident = item.paper.arxiv_id if item.paper else "unmatched"
        tags = f"  [{', '.join(item.tags)}]" if item.tags else ""
        click.echo(f"{ident}  {' '.join(str(title).split())}{tags}")


@library_group.command(name="export")
@click.option("--user", "email", required=True, help="the account's e-mail address")
@click.option("--collection", "name", required=True, help="its name (or id)")
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="bibtex")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="write here instead of standard output")
@pass_ctx
def export_command(ctx: Context, email: str, name: str, fmt: str, output: Path | None) -> None:
    """Export a collection's papers with their notes and tags."""
    from paperwire import library
    from paperwire.formats import bibtex, csl, ris

    user = _user(ctx, email)
    got = _access(ctx, user, name)
    module = {"bibtex": bibtex, "ris": ris, "csl-json": csl}[fmt]
    text = getattr(module, FORMATS[fmt])(library.export_items(ctx.store, got))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {got.collection.items} items to {output}", err=True)


@library_group.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", "email", required=True, help="the account's e-mail address")
@click.option("--collection", "name", required=True,
              help="its name; created (private) if missing")
@click.option("--format", "fmt", type=click.Choice(["bibtex", "ris", "csl-json"]),
              help="guessed from the file when not given")
@click.option("--skip-unmatched", is_flag=True,
              help="do not keep entries that match no paper (they are still listed)")
@click.option("--no-fetch", is_flag=True, help="do not ask arXiv for ids we lack")
@pass_ctx
def import_command(ctx: Context, file: Path, email: str, name: str, fmt: str | None,
                   skip_unmatched: bool, no_fetch: bool) -> None:
    """Import a .bib, .ris or CSL-JSON file: prints matched, unmatched and rejected counts,
    naming each unmatched or rejected entry. Importing the same file again adds nothing."""
    from paperwire import library
    from paperwire.library import LibraryError
    from paperwire.library_jobs import fetch_from_arxiv, import_text

    user = _user(ctx, email)
    try:
        target = library.find_or_create(ctx.store, user, name)
        report = import_text(ctx.store, user, target.id, file.read_text(encoding="utf-8"),
                             fmt, keep_unmatched=not skip_unmatched,
                             fetch=None if no_fetch else fetch_from_arxiv(ctx.settings),
                             progress=lambda message: click.echo(message, err=True))
    except (LibraryError, UnicodeDecodeError) as exc:
        fail(str(exc))
    _print_report(target.name, report)


def _print_report(name: str, report: ImportReport) -> None:
    click.echo(f"{name}: {report.summary()}")
    for entry in report.unmatched:
        click.echo(f"unmatched: line {entry['line']} ({entry['key']}): {entry['title']}")
    for entry in report.rejected:
        key = f" ({entry['key']})" if entry["key"] else ""
        click.echo(f"rejected: line {entry['line']}{key}: {entry['reason']}")


@library_group.command(name="zotero")
@click.option("--user", "email", required=True, help="the account's e-mail address")
@click.option("--collection", "name", required=True,
              help="the paperwire collection; created (private) if missing")
@click.option("--zotero-library", "library_id", required=True,
              help="the Zotero user or group id (numeric)")
@click.option("--group", "is_group", is_flag=True, help="the id is a Zotero group's")
@click.option("--zotero-collection", "source", required=True,
              help="the Zotero collection: its 8-character key or its exact name")
@click.option("--skip-unmatched", is_flag=True,
              help="do not keep entries that match no paper (they are still listed)")
@click.option("--no-fetch", is_flag=True, help="do not ask arXiv for ids we lack")
@click.option("--page-size", type=click.IntRange(1, 100), default=100, show_default=True,
              help="items per Zotero API request (the API's most is 100)")
@pass_ctx
def zotero_command(ctx: Context, email: str, name: str, library_id: str, is_group: bool,
                   source: str, skip_unmatched: bool, no_fetch: bool, page_size: int) -> None:
    """Import a Zotero collection (read-only, through the Zotero Web API) into a collection.
    The API key is read from ZOTERO_API_KEY, never from the command line (where other users
    of the machine could read it). Importing again adds only what is new."""
    import os

    from paperwire import library
    from paperwire.errors import ConfigError, ZoteroError
    from paperwire.library import LibraryError
    from paperwire.library_jobs import fetch_from_arxiv, import_entries
    from paperwire.sources.zotero import ZoteroLibrary, fetch_zotero_collection

    key = os.environ.get("ZOTERO_API_KEY", "")
    if not key:
        fail("set ZOTERO_API_KEY to a Zotero API key with read access to the library")
    user = _user(ctx, email)
    try:
        parsed = fetch_zotero_collection(ctx.settings, ZoteroLibrary(
            library_id, key, "group" if is_group else "user"), source, page_size=page_size)
        target = library.find_or_create(ctx.store, user, name)
        report = import_entries(ctx.store, user, target.id, parsed.entries,
                                errors=parsed.errors, keep_unmatched=not skip_unmatched,
                                fetch=None if no_fetch else fetch_from_arxiv(ctx.settings),
                                progress=lambda message: click.echo(message, err=True))
    except (LibraryError, ConfigError, ZoteroError) as exc:
        fail(str(exc))
    _print_report(target.name, report)


COMMANDS = (library_group,)
