"""Imports into a collection: a citation file (or any CitationEntry list) matched, fetched and
added, in the background with progress, recorded on its job.

``import_entries`` is the one way in: a parsed file's entries, a Zotero collection's, the
CLI's. It matches (paperwire.library_import), asks the arXiv API source for the arXiv ids
this instance lacks (at most MAX_FETCH an import; ``fetch`` None skips it), then adds the
matched papers and (``keep_unmatched``) the unmatched entries in one transaction. Every
entry ends up counted: matched by arxiv/doi/title, unmatched (kept or skipped), or rejected
with its line and key. Items the collection already holds are not added again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from paperwire.errors import PaperwireError
from paperwire.formats.citations import (
    CitationEntry,
    CitationError,
    CitationFileError,
    parse_citations,
)
from paperwire.formats.cite import MAX_NOTE_CHARS
from paperwire.library import MAX_ITEMS, LibraryError, clean_tags, clean_text, writable
from paperwire.library_import import (
    Match,
    entry_citation,
    import_key,
    match_entries,
    paper_key,
)
from paperwire.models import Paper, User
from paperwire.settings import Settings
from paperwire.sources.arxiv_api import ArxivAPISource
from paperwire.store import Store
from paperwire.store.jobs import Job

log = logging.getLogger(__name__)

JOB_KIND = "library-import"
FORMATS = ("bibtex", "ris", "csl-json")
MAX_FETCH = 500  # arXiv ids fetched per import: arXiv asks for 3 s between requests
MAX_UPLOAD_CHARS = 5_000_000
MAX_LISTED = 1000  # unmatched and rejected entries named in a result

Fetch = Callable[[Sequence[str]], Sequence[Paper]]
Progress = Callable[[str], None]


def fetch_from_arxiv(settings: Settings) -> Fetch:
    """Papers for arXiv ids from the arXiv API source (the ones it knows)."""
    def fetch(ids: Sequence[str]) -> list[Paper]:
        return [p for p in ArxivAPISource(settings, ids).read(None) if isinstance(p, Paper)]

    return fetch


@dataclass
class ImportReport:
    collection: int
    matched: dict[str, int] = field(default_factory=lambda: {"arxiv": 0, "doi": 0, "title": 0})
    fetched: int = 0
    added: int = 0
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    kept_unmatched: bool = True

    @property
    def total_matched(self) -> int:
        return sum(self.matched.values())

    def to_dict(self) -> dict[str, Any]:
        return {"collection": self.collection, "matched": self.total_matched,
                "matched_by": dict(self.matched), "fetched": self.fetched,
                "added": self.added, "unmatched": len(self.unmatched),
                "kept_unmatched": self.kept_unmatched, "rejected": len(self.rejected),
                "unmatched_entries": self.unmatched[:MAX_LISTED],
                "rejected_entries": self.rejected[:MAX_LISTED]}

    def summary(self) -> str:
        kept = "kept" if self.kept_unmatched else "skipped"
        return (f"{self.total_matched} matched ({self.matched['arxiv']} by arXiv id, "
                f"{self.matched['doi']} by DOI, {self.matched['title']} by title; "
                f"{self.fetched} fetched from arXiv), {len(self.unmatched)} unmatched "
                f"({kept}), {len(self.rejected)} rejected; {self.added} added")


def _describe(entry: CitationEntry) -> dict[str, Any]:
    return {"line": entry.line, "key": entry.key, "title": entry.title[:300]}


def _item(entry: CitationEntry, paper_id: int | None, key: str) -> dict[str, Any]:
    note = clean_text(entry.note, "a note", MAX_NOTE_CHARS, lines=True) if entry.note else ""
    try:
        tags = clean_tags(entry.tags)
    except LibraryError:
        tags = clean_tags(list(entry.tags)[:100])
    row: dict[str, Any] = {"import_key": key, "paper_id": paper_id, "note": note or None,
                           "tags": tags}
    if paper_id is None:
        row.update(citation=entry_citation(entry), title=entry.title[:1000] or None)
    return row


def import_entries(store: Store, user: User, collection_id: int,
                   entries: Sequence[CitationEntry], *, errors: Sequence[CitationError] = (),
                   keep_unmatched: bool = True, fetch: Fetch | None = None,
                   progress: Progress | None = None) -> ImportReport:
    """Match ``entries`` and add them to a collection ``user`` may add to (see the module
    docstring); a Zotero source calls this with its entries, as the file import does."""
    target = writable(store, user, collection_id).collection
    say = progress or (lambda message: None)
    report = ImportReport(target.id, kept_unmatched=keep_unmatched)
    report.rejected = [{"line": e.line, "key": e.key, "reason": e.reason} for e in errors]
    say(f"matching {len(entries):,} entries")
    found = match_entries(entries, store)
    if found.missing and fetch is not None:
        wanted = list(dict.fromkeys(e.arxiv_id for e in found.missing if e.arxiv_id))
        say(f"fetching {min(len(wanted), MAX_FETCH):,} papers from arXiv")
        try:
            papers = list(fetch(wanted[:MAX_FETCH]))
        except PaperwireError as exc:
            log.warning("import into collection %s: arXiv could not be asked: %s",
                        target.id, exc)
            papers = []
        if papers:
            store.write_batch(papers)
        report.fetched = len(papers)
        got = {p.arxiv_id for p in papers}
        found.matched += [Match(e, e.arxiv_id, "arxiv") for e in found.missing
                          if e.arxiv_id in got]
        found.unmatched += [e for e in found.missing if e.arxiv_id not in got]
    else:
        found.unmatched += found.missing
    rows = _rows(store, found.matched, report)
    report.unmatched = [_describe(e) for e in found.unmatched]
    if keep_unmatched:
        rows += [_item(e, None, import_key(e)) for e in found.unmatched]
    if target.items + len(rows) > MAX_ITEMS:
        raise LibraryError(f"a collection holds at most {MAX_ITEMS:,} items; this import "
                           f"would take it to {target.items + len(rows):,}", 409)
    say(f"adding {len(rows):,} items")
    report.added = store.add_collection_items(target.id, rows, user.id)
    return report


def _rows(store: Store, matched: Sequence[Match], report: ImportReport
          ) -> list[dict[str, Any]]:
    row_ids = store.row_ids(m.arxiv_id for m in matched)
    rows = []
    for m in matched:
        report.matched[m.how] += 1
        rows.append(_item(m.entry, row_ids[m.arxiv_id], paper_key(m.arxiv_id)))
    return rows


def import_text(store: Store, user: User, collection_id: int, text: str,
                fmt: str | None = None, **options: Any) -> ImportReport:
    """Parse a citation file and import it; LibraryError when the file as a whole cannot be
    read (each bad entry is reported, not raised)."""
    if len(text) > MAX_UPLOAD_CHARS:
        raise LibraryError(f"the file has {len(text):,} characters (limit "
                           f"{MAX_UPLOAD_CHARS:,})", 413)
    try:
        parsed = parse_citations(text, fmt or None)
    except CitationFileError as exc:
        raise LibraryError(str(exc)) from None
    return import_entries(store, user, collection_id, parsed.entries, errors=parsed.errors,
                          **options)


# --- in the background ---------------------------------------------------------------------
def queue_import(store: Store, user: User, collection_id: int, text: str,
                 fmt: str | None = None, *, keep_unmatched: bool = True) -> Job:
    """Queue an import for the background runner (what a web request does)."""
    writable(store, user, collection_id)
    if fmt is not None and fmt not in FORMATS:
        raise LibraryError(f"format must be one of {', '.join(FORMATS)} (got {fmt[:40]!r})")
    if not text.strip():
        raise LibraryError("the file is empty")
    if len(text) > MAX_UPLOAD_CHARS:
        raise LibraryError(f"the file has {len(text):,} characters (limit "
                           f"{MAX_UPLOAD_CHARS:,})", 413)
    return store.add_job(JOB_KIND, str(collection_id), user.id,
                         {"text": text, "format": fmt, "keep_unmatched": keep_unmatched},
                         "queued — waiting for the importer")


def run_import_job(store: Store, settings: Settings, job: Job, *,
                   fetch: Fetch | None = None) -> dict[str, Any]:
    """Run a queued import; the result recorded on the job (LibraryError says why not)."""
    user = store.user_by_id(job.user_id) if job.user_id is not None else None
    if user is None:
        raise LibraryError("the account that queued this import is gone", 404)
    report = import_text(
        store, user, int(job.key), job.payload.get("text", ""), job.payload.get("format"),
        keep_unmatched=bool(job.payload.get("keep_unmatched", True)),
        fetch=fetch or fetch_from_arxiv(settings),
        progress=lambda message: store.job_progress(job, message) and None)
    return {**report.to_dict(), "summary": report.summary(),
            "url": f"/library/c/{report.collection}"}
