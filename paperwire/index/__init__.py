"""What search reads, derived from the store: keywords, embeddings, vectors; file stamps and
the one-writer lock of a home's indexes."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

Stamp = tuple[int, int, int]
MISSING: Stamp = (0, 0, 0)


def file_stamp(path: Path) -> Stamp:
    """(mtime, inode, size) of a file, or zeros: index writers replace whole files, so any
    write changes it. A cheap version for derived files (one stat)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return MISSING
    return st.st_mtime_ns, st.st_ino, st.st_size


WRITER_LOCK = ".paperwire-writer.lock"
RUN_LOCK = ".paperwire-index-run.lock"


@contextmanager
def writer_lock(root: Path, *, waiting: Callable[[], object] | None = None,
                blocking: bool = True) -> Iterator[bool]:
    """Hold the lock of the one process that may write the indexes under ``root`` (a home's
    ``index`` folder); a second writer calls ``waiting`` once and waits its turn. With
    ``blocking=False`` it does not wait: the block runs at once and is given False when
    another process holds the lock (True when this one does).

    An flock on one fixed file: it dies with its holder (a killed run never blocks the next),
    it is per home (two homes on one PostgreSQL database index apart), and readers (the web)
    never take it. The file stays, empty, beside the indexes it guards.
    """
    with _flock(root / WRITER_LOCK, waiting, blocking) as held:
        yield held


@contextmanager
def run_lock(root: Path, *, waiting: Callable[[], object] | None = None) -> Iterator[None]:
    """One `paperwire index` run at a time per home (so two never embed the same papers).
    Apart from ``writer_lock``, which a run holds only while it writes files, not while it
    embeds: the web's index sync keeps the keyword index fresh meanwhile."""
    with _flock(root / RUN_LOCK, waiting, True):
        yield


@contextmanager
def _flock(path: Path, waiting: Callable[[], object] | None, blocking: bool
           ) -> Iterator[bool]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not blocking:
                yield False
                return
            if waiting is not None:
                waiting()
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield True
