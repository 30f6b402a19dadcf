"""Where the shared test data lives, and a skip with a clear message when it is absent."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import pytest

# ../shared/data next to the project root; PAPERWIRE_TEST_SHARED_DATA names another place (a
# git worktree of the project sits elsewhere than the main checkout).
SHARED_DATA = Path(os.environ.get("PAPERWIRE_TEST_SHARED_DATA")
                   or Path(__file__).resolve().parents[2] / "shared" / "data")
ARXIV_75K = SHARED_DATA / "arxiv" / "arxiv-daily-75k.jsonl.gz"
SNAPSHOT_200 = SHARED_DATA / "arxiv" / "fixtures" / "kaggle-snapshot" / \
    "arxiv-metadata-oai-snapshot.json"


def require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared test data not found: {path} (expected ../shared/data next to "
                    "the project root; see ../shared/data/README.md)")
    return path


def arxiv_lines(n: int, start: int = 0) -> list[str]:
    """The raw JSON lines ``start … start+n`` of the 75k arXiv sample."""
    lines: list[str] = []
    with gzip.open(require(ARXIV_75K), "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= start + n:
                break
            if i >= start:
                lines.append(line)
    return lines


def arxiv_records(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [json.loads(line) for line in arxiv_lines(n, start)]
