"""Papers found by what a citation knows of them: a DOI, or a title with a first surname.

Import matching tries the arXiv id first (``Store.get_papers``), then these. DOIs compare
without case. A title key is ``(normalised title, first author's surname)``, the pair
``paperwire.formats.citations`` builds (``normalise_title``, ``first_author_surname``); the
store cannot import that module (formats reads the store's layer, not the reverse), so the
caller passes ``normalise`` (default: case and punctuation folded, which is the same for
titles without LaTeX) and the surname is taken with ``paperwire.names`` (the same
bibtexparser name split). A handful of keys is prefiltered in SQL by a word of the title;
many keys are answered by one pass over the titles, paged by row id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, func, or_, select

from paperwire.models import Paper
from paperwire.names import ascii_fold, normalise
from paperwire.store.papers import get_papers_by_row, in_chunks, row_to_paper
from paperwire.store.schema import papers

__all__ = ["PaperLookupMethods", "TitleKey", "plain_title_key", "surname_key"]

TitleKey = tuple[str, str]
MAX_KEYS = 20_000  # one import file's entries at most (formats.citations.MAX_ENTRIES)
_FEW_KEYS = 200  # up to this many, prefilter in SQL; beyond, one scan of all titles is cheaper
_PREFILTER_CHUNK = 25
_SCAN_PAGE = 2_000
_ASCII_WORD = re.compile(r"^[a-z0-9]{4,}$")


def plain_title_key(title: str) -> str:
    """Case and punctuation folded: normalise_title for a title without LaTeX."""
    return " ".join(re.sub(r"[^\w]+", " ", title.casefold()).split())


def surname_key(authors: Sequence[str]) -> str | None:
    """The first author's family name as title keys hold it ("van der Berg" → "berg")."""
    for name in authors:
        family = normalise(name).sort_name.partition(", ")[0]
        folded = ascii_fold(family.split(" ")[-1]) if family else ""
        if folded:
            return folded
    return None


class PaperLookupMethods:
    engine: Engine

    def find_papers_by_dois(self, dois: Iterable[str]) -> dict[str, Paper]:
        """Stored papers by DOI; keys are the DOIs as given, compared without case."""
        wanted: dict[str, str] = {}
        for doi in dois:
            if doi and doi.strip():
                wanted.setdefault(doi.strip().lower(), doi)
        if len(wanted) > MAX_KEYS:
            raise ValueError(f"at most {MAX_KEYS:,} DOIs a call, got {len(wanted):,}")
        found: dict[str, Paper] = {}
        lowered = func.lower(papers.c.doi)
        with self.engine.connect() as conn:
            for chunk in in_chunks(wanted):
                for row in conn.execute(select(papers).where(lowered.in_(chunk))):
                    found[wanted[row.doi.lower()]] = row_to_paper(row)
        return found

    def find_papers_by_title_keys(self, keys: list[TitleKey], *,
                                  normalise: Callable[[str], str] = plain_title_key
                                  ) -> dict[TitleKey, Paper]:
        """Stored papers whose ``normalise(title)`` and first surname are a key's. Where two
        papers share a key, the one stored first answers (the key is ambiguous)."""
        wanted = {(t, s) for t, s in keys if t and s}
        if len(wanted) > MAX_KEYS:
            raise ValueError(f"at most {MAX_KEYS:,} title keys a call, got {len(wanted):,}")
        if not wanted:
            return {}
        rows: dict[TitleKey, int] = {}
        with self.engine.connect() as conn:
            for row in _candidates(conn, wanted):
                key = (normalise(row.title), surname_key(row.authors) or "")
                if key in wanted and (key not in rows or row.id < rows[key]):
                    rows[key] = row.id
            by_row = get_papers_by_row(conn, rows.values())
        return {key: by_row[row_id] for key, row_id in rows.items()}


_LIGHT = (papers.c.id, papers.c.title, papers.c.authors)


def _candidates(conn: Connection, wanted: set[TitleKey]) -> Iterator[Any]:
    """Rows (id, title, authors) that may hold a key: all of them, or a prefiltered few."""
    words = [_longest_ascii_word(title) for title, _ in sorted(wanted)]
    if len(wanted) > _FEW_KEYS or None in words:
        yield from _all_rows(conn)
        return
    for chunk in in_chunks(w for w in words if w):
        for start in range(0, len(chunk), _PREFILTER_CHUNK):
            part = chunk[start:start + _PREFILTER_CHUNK]
            yield from conn.execute(select(*_LIGHT).where(
                or_(*(papers.c.title.ilike(f"%{w}%") for w in part))))


def _longest_ascii_word(title: str) -> str | None:
    # [a-z0-9] only: LIKE's wildcards cannot occur, and SQLite folds case for ASCII alone.
    words = [w for w in title.split() if _ASCII_WORD.match(w)]
    return max(words, key=len) if words else None


def _all_rows(conn: Connection) -> Iterator[Any]:
    last = 0
    while True:
        rows = conn.execute(select(*_LIGHT).where(papers.c.id > last)
                            .order_by(papers.c.id).limit(_SCAN_PAGE)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id
