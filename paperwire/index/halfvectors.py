"""The stored float16 vectors in a memory-mapped file beside the faiss index: the exact vector
of any paper row without a database read.

Hybrid search gives every keyword-only candidate its exact cosine. The IVF index holds 8-bit
quantised copies (``reconstruct`` would change the scores by ~1e-3, and so the ranking),
so the vectors are kept as the store holds them, float16, in one file of two ``.npy``
arrays: the row ids (sorted, read into memory) then the matrix (memory-mapped, so the web's
workers share one copy in the page cache; 75k papers are 58 MiB, a million 730 MiB). The
file is rewritten whole and replaced atomically, in the same sync as the faiss file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from paperwire.index import MISSING, Stamp, file_stamp

FloatArray = npt.NDArray[np.float32]
IdArray = npt.NDArray[np.int64]
HalfArray = npt.NDArray[np.float16]


@dataclass(frozen=True)
class _Loaded:
    stamp: Stamp
    ids: IdArray  # sorted
    vectors: HalfArray  # row i is the vector of ids[i]


def _read_header(f: BinaryIO) -> tuple[tuple[int, ...], np.dtype[np.generic]]:
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    if fortran:
        raise ValueError("a Fortran-ordered array")
    return shape, dtype


class HalfVectors:
    """The float16 vectors of one model by row id, in ``path``; reloaded when replaced."""

    def __init__(self, path: Path, dim: int) -> None:
        self.path, self.dim = path, dim
        self._loaded: _Loaded | None = None

    def exists(self) -> bool:
        return file_stamp(self.path) != MISSING

    def _current(self) -> _Loaded | None:
        stamp = file_stamp(self.path)
        loaded = self._loaded  # one read: another thread may swap it meanwhile
        if stamp == MISSING:
            self._loaded = None
            return None
        if loaded is None or loaded.stamp != stamp:
            loaded = self._load(stamp)
            self._loaded = loaded
        return loaded

    def _load(self, stamp: Stamp) -> _Loaded | None:
        try:
            with open(self.path, "rb") as f:
                (n,), id_type = _read_header(f)
                ids = np.fromfile(f, dtype=id_type, count=n).astype(np.int64, copy=False)
                shape, vector_type = _read_header(f)
                offset = f.tell()
        except (OSError, ValueError):
            return None  # damaged or half-copied: callers read the store instead
        if shape != (n, self.dim) or vector_type != np.float16 or len(ids) != n:
            return None
        vectors = (np.memmap(self.path, dtype=np.float16, mode="r", offset=offset,
                             shape=shape) if n else np.empty((0, self.dim), np.float16))
        return _Loaded(stamp, ids, vectors)

    def all(self) -> tuple[IdArray, HalfArray] | None:
        loaded = self._current()
        return None if loaded is None else (loaded.ids, loaded.vectors)

    def lookup(self, ids: IdArray) -> tuple[IdArray, FloatArray] | None:
        """(the given ids that have a vector, their vectors as float32), in the given order;
        None when the file is missing or unreadable."""
        loaded = self._current()
        if loaded is None:
            return None
        wanted = np.asarray(ids, dtype=np.int64)
        if len(loaded.ids) == 0 or len(wanted) == 0:
            return np.empty(0, np.int64), np.empty((0, self.dim), np.float32)
        at = np.minimum(np.searchsorted(loaded.ids, wanted), len(loaded.ids) - 1)
        found = loaded.ids[at] == wanted
        return wanted[found], np.asarray(loaded.vectors[at[found]], dtype=np.float32)

    def write(self, ids: IdArray, vectors: npt.NDArray[np.floating]) -> None:
        """Replace the file with these vectors (any order; an id given twice keeps its last)."""
        ids = np.asarray(ids, dtype=np.int64)
        # The last of duplicates wins: unique over the reversed ids picks last occurrences.
        _, last = np.unique(ids[::-1], return_index=True)
        keep = np.sort(len(ids) - 1 - last)
        order = keep[np.argsort(ids[keep], kind="stable")]
        half = np.ascontiguousarray(np.asarray(vectors)[order], dtype=np.float16)
        half = half.reshape(len(order), self.dim)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(self.path.suffix + f".tmp{os.getpid()}")
        with open(tmp, "wb") as f:
            np.lib.format.write_array(f, np.ascontiguousarray(ids[order]))
            np.lib.format.write_array(f, half)
        os.replace(tmp, self.path)
        self._loaded = None

    def upsert(self, ids: IdArray, vectors: npt.NDArray[np.floating]) -> None:
        """Add or replace these rows' vectors (the file must exist)."""
        old = self.all()
        if old is None:
            return
        self.write(np.concatenate([old[0], np.asarray(ids, np.int64)]),
                   np.concatenate([np.asarray(old[1]),
                                   np.asarray(vectors).astype(np.float16)]))

    def remove(self, ids: IdArray) -> None:
        old = self.all()
        if old is not None:
            keep = ~np.isin(old[0], np.asarray(ids, np.int64))
            self.write(old[0][keep], np.asarray(old[1])[keep])

    def reset(self) -> None:
        self.path.unlink(missing_ok=True)
        self._loaded = None
