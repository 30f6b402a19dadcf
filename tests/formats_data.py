"""Real papers for the format tests: the 75k sample (math, many authors) and the snapshot
fixture (DOIs and journal-refs), read through the sources the app uses."""

from __future__ import annotations

from itertools import islice

from paperwire.models import Paper
from paperwire.sources.files import JsonlSource, SnapshotSource
from tests.shared_data import ARXIV_75K, SNAPSHOT_200, require


def sample_papers(n: int) -> list[Paper]:
    """The first ``n`` valid papers of the 75k sample."""
    items = JsonlSource(require(ARXIV_75K)).read(None)
    return list(islice((i for i in items if isinstance(i, Paper)), n))


def snapshot_papers() -> list[Paper]:
    """The 200 papers of the metadata-snapshot fixture (many with a DOI or journal-ref)."""
    return [i for i in SnapshotSource(require(SNAPSHOT_200)).read(None) if isinstance(i, Paper)]


def math_abstracts(n: int) -> list[Paper]:
    """The first ``n`` sample papers whose abstract has inline ``$…$`` math."""
    items = JsonlSource(require(ARXIV_75K)).read(None)
    return list(islice((i for i in items if isinstance(i, Paper) and i.abstract.count("$") >= 2),
                       n))
