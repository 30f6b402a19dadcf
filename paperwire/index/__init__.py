"""What search reads, derived from the store: keywords, embeddings, vectors; file stamps."""

from __future__ import annotations

import os
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
