"""paperwire: a self-hosted research-paper discovery service (harvest, search, trending, digests).

The public Python API is re-exported here; everything else is internal and may change.
"""

from paperwire.errors import (
    ConfigError,
    HarvestError,
    InvalidRecord,
    PaperwireError,
    SourceError,
    StoreError,
)
from paperwire.ingest import IngestReport, ingest
from paperwire.models import Filters, HarvestState, Limits, Paper, Rejection, parse_arxiv_id
from paperwire.search import Hit, QueryError, Results, Searcher
from paperwire.settings import Settings
from paperwire.sources import Source
from paperwire.store import Store, WriteResult

__all__ = [
    "ConfigError",
    "Filters",
    "HarvestError",
    "HarvestState",
    "Hit",
    "IngestReport",
    "InvalidRecord",
    "Limits",
    "Paper",
    "PaperwireError",
    "QueryError",
    "Rejection",
    "Results",
    "Searcher",
    "Settings",
    "Source",
    "SourceError",
    "Store",
    "StoreError",
    "WriteResult",
    "ingest",
    "parse_arxiv_id",
]
