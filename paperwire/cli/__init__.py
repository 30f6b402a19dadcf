"""The `paperwire` command line: thin commands over the modules, one module per area.

The group, its context and error exits are in ``base``; this module only assembles them.
Exit status: 0 success; 1 something was rejected or failed (the message says what);
2 bad usage or configuration; 130 interrupted (rerun the same command to resume).
"""

from __future__ import annotations

from paperwire.cli import (
    accounts,
    authors,
    community,
    ingest,
    instance,
    library,
    mail,
    recommend,
    search,
)
from paperwire.cli.base import cli

__all__ = ["cli", "main"]

for _area in (instance, ingest, search, community, accounts, authors, library, mail,
              recommend):
    for _command in _area.COMMANDS:
        cli.add_command(_command)
ingest.ingest_group.add_command(community.ingest_hf_daily)


def main() -> None:
    cli.main(prog_name="paperwire")
