"""The exception tree: every error paperwire raises on purpose, so callers can catch by kind.

    PaperwireError
    ├── ConfigError        a setting or CLI argument is wrong
    ├── StoreError         the database cannot be opened or migrated
    ├── SourceError        a source cannot go on (bad file, arXiv keeps failing)
    │   ├── HarvestError   an HTTP harvest gave up after its retries
    │   └── ZoteroError    a Zotero collection cannot be read (paperwire.sources.zotero)
    ├── InvalidRecord      one record is bad; ingest reports it and goes on
    ├── NotFound           a paper (or other thing) asked for by id is not stored
    ├── Busy               another process is running the same job right now
    └── IndexDamaged       a derived index (keywords, vectors) cannot be read; rebuild it
"""

from __future__ import annotations


class PaperwireError(Exception):
    """Base class of paperwire's own errors; the CLI prints these without a traceback."""


class ConfigError(PaperwireError):
    pass


class StoreError(PaperwireError):
    pass


class SourceError(PaperwireError):
    pass


class HarvestError(SourceError):
    pass


class ZoteroError(SourceError):
    """A Zotero collection cannot be read: ``str()`` says what is wrong and what to do."""


class InvalidRecord(PaperwireError):
    """A record that cannot become a paper; ``str()`` says what is wrong with it."""


class NotFound(PaperwireError):
    """Something asked for by id (a paper, an account) is not stored; ``str()`` names it."""


class Busy(PaperwireError):
    """Another process holds the lock of the job asked for (e.g. the same digest send)."""


class IndexDamaged(PaperwireError):
    """A derived index cannot be read (a truncated or missing file). The store is the source
    of truth: ``paperwire index`` rebuilds it; ``str()`` says which file and how, ``index``
    names the kind of search it serves ("keyword" or "meaning") for messages without paths."""

    def __init__(self, message: str, index: str = "keyword") -> None:
        super().__init__(message)
        self.index = index

    @property
    def public(self) -> str:
        """What a site visitor may be told (no file paths)."""
        return (f"search by {self.index} is unavailable right now: its index is damaged "
                "(the site's administrator can rebuild it with `paperwire index`)")
