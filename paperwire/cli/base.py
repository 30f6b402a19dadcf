"""The `paperwire` command group: its options, the context commands share, error exits.

Exit status: 0 success; 1 something was rejected or failed (the message says what);
2 bad usage or configuration; 130 interrupted (rerun the same command to resume).
A full disk is 1 too, in one line naming where: every write is a committed batch, so
nothing is half-written and the same command resumes once there is room.
"""

from __future__ import annotations

import errno
import sys
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from paperwire.errors import ConfigError, PaperwireError, StoreError
from paperwire.models import Limits, check_day
from paperwire.settings import Settings
from paperwire.store import Store

EXIT_REJECTED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def fail(message: str, code: int = EXIT_REJECTED) -> NoReturn:
    """Print ``error: message`` and exit with ``code``."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


class Context:
    """What every command gets: the settings, and the store opened on first use."""

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

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


pass_ctx = click.make_pass_decorator(Context)


class _Group(click.Group):
    """Turns paperwire's own errors into a one-line message and an exit status."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (StoreError, ConfigError) as exc:
            fail(str(exc), EXIT_USAGE)
        except PaperwireError as exc:
            fail(str(exc))
        except (OSError, DBAPIError) as exc:
            where = _full_disk(exc, ctx.obj)
            if where is None:
                raise
            fail(f"no space left on the disk holding {where}; nothing stored was lost: free "
                 "some space, then run the same command again to resume")


def _full_disk(exc: OSError | DBAPIError, obj: object) -> str | None:
    """Where the disk filled up, when that is what ``exc`` says (None otherwise): the file
    the OS named, or the database (SQLite: its file; PostgreSQL: its server)."""
    if isinstance(exc, OSError):
        if exc.errno != errno.ENOSPC:
            return None
        return str(exc.filename or (obj.settings.home if isinstance(obj, Context) else "."))
    detail = str(exc.orig)
    # SQLite: SQLITE_FULL; PostgreSQL: SQLSTATE 53100 disk_full.
    if "disk is full" not in detail and getattr(exc.orig, "sqlstate", None) != "53100" \
            and "No space left" not in detail:
        return None
    if not isinstance(obj, Context):
        return "the database"
    url = make_url(obj.settings.resolved_database_url)
    return url.database if url.get_backend_name() == "sqlite" and url.database else \
        f"the database server {url.host or 'localhost'}"


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
        fail(str(exc), EXIT_USAGE)
    if settings.home.exists() and not settings.home.is_dir():
        fail(f"the home {settings.home} is not a directory (--home / PAPERWIRE_HOME names "
             "the folder paperwire keeps its data in)", EXIT_USAGE)
    ctx.obj = Context(settings)
    ctx.call_on_close(ctx.obj.close)


def day(value: Any, option: str = "--date") -> date | None:
    """The date of a click.DateTime option's value, within models.FIRST_DAY..LAST_DAY (the
    web's bounds too); a usage error naming ``option`` otherwise."""
    if value is None:
        return None
    try:
        return check_day(value.date(), option)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
