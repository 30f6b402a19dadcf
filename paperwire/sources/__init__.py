"""The Source protocol: anything that yields papers (and says where it stopped) can be ingested.

A source yields a stream of three kinds of item:
  - ``Paper``: a validated, normalised paper;
  - ``Rejection``: a record it could not use, naming where it was and what was wrong;
  - ``Checkpoint``: "everything before this may be committed together with this state".
Ingest commits papers only at checkpoints, in one transaction with the checkpoint's state, so
an interrupted run resumes from the last checkpoint and never leaves half a batch behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol, runtime_checkable

from paperwire.errors import InvalidRecord
from paperwire.models import Checkpoint, HarvestState, Limits, Paper, Rejection, validate

Item = Paper | Rejection | Checkpoint

__all__ = ["Item", "Source", "checked"]


@runtime_checkable
class Source(Protocol):
    """A place papers come from: a file, an OAI-PMH harvest, arXiv API lookups."""

    name: str  # short and stable: stored as each paper's provenance ("oai", "jsonl", ...)

    @property
    def state_key(self) -> str:
        """Key of this source's resume state (same input and parameters → same key)."""
        ...

    @property
    def total(self) -> int | None:
        """Size of the job in the units of ``Checkpoint.progress``, when known."""
        ...

    def read(self, resume: HarvestState | None) -> Iterator[Item]:
        """Yield papers, rejections and checkpoints, starting after ``resume`` if given."""
        ...


def checked(where: str, limits: Limits, build: Callable[[], Paper]) -> Paper | Rejection:
    """Build and validate a paper; any problem becomes a Rejection naming ``where``."""
    try:
        return validate(build(), limits)
    except InvalidRecord as exc:
        return Rejection(where, str(exc))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return Rejection(where, _describe(exc))


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing required field {exc.args[0]!r}"
    return f"malformed record: {exc}"
