"""The exception tree: every error paperwire raises on purpose, so callers can catch by kind.

    PaperwireError
    ├── ConfigError        a setting or CLI argument is wrong
    ├── StoreError         the database cannot be opened or migrated
    ├── SourceError        a source cannot go on (bad file, arXiv keeps failing)
    │   └── HarvestError   an HTTP harvest gave up after its retries
    ├── InvalidRecord      one record is bad; ingest reports it and goes on
    ├── NotFound           a paper (or other thing) asked for by id is not stored
    └── Busy               another process is running the same job right now
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


class InvalidRecord(PaperwireError):
    """A record that cannot become a paper; ``str()`` says what is wrong with it."""


class NotFound(PaperwireError):
    """Something asked for by id (a paper, an account) is not stored; ``str()`` names it."""


class Busy(PaperwireError):
    """Another process holds the lock of the job asked for (e.g. the same digest send)."""
