"""Matching citation entries to stored papers: arXiv id, then DOI, then normalised title
with the first author's family name. Pure: what it asks of the store is ``Lookup``.

Any source of ``CitationEntry`` lists (a .bib/.ris/CSL-JSON file, a Zotero collection) goes
through ``match_entries``; ``paperwire.library.import_entries`` then adds the result to a
collection. An entry that matches nothing is ``unmatched`` (kept with its citation data, or
skipped), never dropped without a word; an entry whose arXiv id this instance lacks is
``missing`` until the arXiv API source has been asked for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from paperwire.formats.citations import CitationEntry, normalise_title
from paperwire.names import normalise

__all__ = ["Lookup", "Match", "Matches", "entry_citation", "family_of", "import_key",
           "match_entries", "paper_key"]

HOWS = ("arxiv", "doi", "title")


class Lookup(Protocol):
    """What matching asks of the store (``paperwire.store.Store`` is one)."""

    def stored_arxiv_ids(self, arxiv_ids: Sequence[str]) -> set[str]: ...

    def arxiv_ids_by_doi(self, dois: Sequence[str]) -> dict[str, str]: ...

    def titles_by_family(self, families: Sequence[str]) -> list[tuple[str, str, str]]: ...


@dataclass(frozen=True)
class Match:
    entry: CitationEntry
    arxiv_id: str
    how: str  # arxiv | doi | title


@dataclass
class Matches:
    matched: list[Match] = field(default_factory=list)
    missing: list[CitationEntry] = field(default_factory=list)  # an arXiv id we lack
    unmatched: list[CitationEntry] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        by = {how: sum(1 for m in self.matched if m.how == how) for how in HOWS}
        return {**by, "missing": len(self.missing), "unmatched": len(self.unmatched)}


def family_of(authors: Sequence[str]) -> str | None:
    """The first author's family name as author identities key it ("van der Berg" →
    "vanderberg"), the same fold stored papers' authors get."""
    for name in authors:
        if name.strip():
            return normalise(name).key.split("|", 1)[0] or None
    return None


def match_entries(entries: Sequence[CitationEntry], lookup: Lookup) -> Matches:
    """Each entry matched by arXiv id, then DOI, then (title, first author); a few batched
    reads for the whole list."""
    out = Matches()
    with_id = [e for e in entries if e.arxiv_id]
    stored = lookup.stored_arxiv_ids(list({e.arxiv_id for e in with_id if e.arxiv_id}))
    rest: list[CitationEntry] = []
    for entry in entries:
        if entry.arxiv_id and entry.arxiv_id in stored:
            out.matched.append(Match(entry, entry.arxiv_id, "arxiv"))
        else:
            rest.append(entry)
    by_doi = lookup.arxiv_ids_by_doi(list({e.doi for e in rest if e.doi}))
    titled: list[CitationEntry] = []
    for entry in rest:
        found = by_doi.get(entry.doi) if entry.doi else None
        if found:
            out.matched.append(Match(entry, found, "doi"))
        else:
            titled.append(entry)
    by_title = _title_index(titled, lookup)
    for entry in titled:
        family = family_of(entry.authors)
        found = by_title.get((normalise_title(entry.title), family)) if family else None
        if found:
            out.matched.append(Match(entry, found, "title"))
        elif entry.arxiv_id:
            out.missing.append(entry)
        else:
            out.unmatched.append(entry)
    return out


def _title_index(entries: Sequence[CitationEntry], lookup: Lookup
                 ) -> dict[tuple[str, str | None], str]:
    families = {f for f in (family_of(e.authors) for e in entries if e.title) if f}
    if not families:
        return {}
    index: dict[tuple[str, str | None], str] = {}
    for family, arxiv_id, title in lookup.titles_by_family(sorted(families)):
        index.setdefault((normalise_title(title), family), arxiv_id)
    return index


def paper_key(arxiv_id: str) -> str:
    """The import key of a stored paper in a collection: saving it twice adds nothing."""
    return f"arxiv:{arxiv_id}"


def import_key(entry: CitationEntry) -> str:
    """The import key of an unmatched entry: the same entry imported again adds nothing."""
    basis = "|".join([entry.doi or "", normalise_title(entry.title),
                      family_of(entry.authors) or "", str(entry.year or "")])
    return "entry:" + hashlib.sha1(basis.encode()).hexdigest()[:32]


def entry_citation(entry: CitationEntry) -> dict[str, Any]:
    """An unmatched entry's citation data as an item keeps it (JSON)."""
    return {"key": entry.key, "title": entry.title, "authors": list(entry.authors),
            "year": entry.year, "arxiv_id": entry.arxiv_id, "doi": entry.doi,
            "line": entry.line}
