"""File sources on real data: the 75k arXiv JSONL sample and the metadata snapshot slice."""

from __future__ import annotations

import gzip
import json
from datetime import date
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from paperwire.ingest import ingest
from paperwire.models import normalize_text
from paperwire.sources.files import JsonlSource, SnapshotSource, detect_format
from paperwire.store import Store
from paperwire.taxonomy import CATEGORIES
from tests.shared_data import SNAPSHOT_200, arxiv_lines, arxiv_records, require


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Store:
    store = Store.from_url(f"sqlite:///{tmp_path / 'paperwire.db'}")
    yield store  # type: ignore[misc]
    store.close()


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line if line.endswith("\n") else line + "\n" for line in lines))
    return path


def test_jsonl_slice_ingests_with_fields_intact(tmp_path: Path, sqlite_store: Store) -> None:
    records = arxiv_records(300)
    path = write_lines(tmp_path / "slice.jsonl", arxiv_lines(300))
    report = ingest(JsonlSource(path, batch_size=64), sqlite_store, progress=False)
    assert report.ok, report.rejections
    assert report.written.inserted == len({r["id"] for r in records})
    for record in records[:50]:
        paper = sqlite_store.get_paper(record["id"])
        assert paper is not None
        assert paper.title == normalize_text(record["title"])
        assert paper.abstract == normalize_text(record["summary"])
        assert "\n" not in paper.abstract and "  " not in paper.abstract
        assert list(paper.authors) == record["authors"]
        assert paper.listed_on == date.fromisoformat(record["first_seen"])
        assert paper.primary_category == record["categories"][0]
        assert paper.source == "jsonl"


def test_jsonl_drops_acm_and_msc_codes_mixed_into_categories(tmp_path: Path,
                                                             sqlite_store: Store) -> None:
    # The daily sample's scraper mixes ACM/MSC classes into categories; find such records.
    mixed = [r for r in arxiv_records(5000) if any(" " in c or c[:1].isdigit() or
                                                   c[:1].isupper() for c in r["categories"])]
    assert mixed, "expected some records with ACM/MSC codes in the first 5,000"
    path = write_lines(tmp_path / "mixed.jsonl", [json.dumps(r) for r in mixed[:20]])
    report = ingest(JsonlSource(path), sqlite_store, progress=False)
    assert report.written.inserted == len(mixed[:20]) - report.rejected
    for record in mixed[:20]:
        paper = sqlite_store.get_paper(record["id"])
        if paper is None:
            continue
        assert list(paper.categories) == [c for c in record["categories"] if c in CATEGORIES]


def test_reingest_is_idempotent(tmp_path: Path, sqlite_store: Store) -> None:
    path = write_lines(tmp_path / "slice.jsonl", arxiv_lines(200))
    first = ingest(JsonlSource(path), sqlite_store, progress=False)
    second = ingest(JsonlSource(path), sqlite_store, progress=False)
    assert first.written.inserted == 200
    assert second.written.inserted == 0 and second.written.unchanged == 200
    assert sqlite_store.count_papers() == 200


def test_snapshot_fields_match_the_raw_records(tmp_path: Path, sqlite_store: Store) -> None:
    raw = [json.loads(line) for line in require(SNAPSHOT_200).read_text().splitlines()]
    report = ingest(SnapshotSource(SNAPSHOT_200), sqlite_store, progress=False)
    assert report.ok, report.rejections
    assert sqlite_store.count_papers() == len({r["id"] for r in raw})
    for record in raw:
        paper = sqlite_store.get_paper(record["id"])
        assert paper is not None, record["id"]
        versions = record["versions"]
        assert paper.version == int(versions[-1]["version"].lstrip("v"))
        first = parsedate_to_datetime(versions[0]["created"]).replace(tzinfo=None)
        assert paper.published == first
        assert paper.categories[0] == record["categories"].split()[0]
        assert paper.doi == (record["doi"] or None)
        assert paper.title == normalize_text(record["title"])
        expected_authors = [" ".join(p for p in (a[1], a[0], a[2] if len(a) > 2 else "") if p)
                            for a in record["authors_parsed"]]
        assert list(paper.authors) == [normalize_text(a) for a in expected_authors]


def test_detect_format(tmp_path: Path) -> None:
    assert detect_format(require(SNAPSHOT_200)) == "snapshot"
    path = write_lines(tmp_path / "a.jsonl", arxiv_lines(2))
    assert detect_format(path) == "jsonl"
    (tmp_path / "other.jsonl").write_text('{"name": "x"}\n')
    with pytest.raises(Exception, match="line 1: neither"):
        detect_format(tmp_path / "other.jsonl")


def test_newer_version_updates_and_older_is_ignored(tmp_path: Path,
                                                    sqlite_store: Store) -> None:
    record = arxiv_records(1)[0]
    v1 = dict(record, version=1, title="First title")
    v2 = dict(record, version=2, title="Second title", doi="10.1000/xyz")
    for name, rec in (("v1", v1), ("v2", v2), ("v1-again", v1)):
        ingest(JsonlSource(write_lines(tmp_path / f"{name}.jsonl", [json.dumps(rec)])),
               sqlite_store, progress=False)
    paper = sqlite_store.get_paper(record["id"])
    assert paper is not None
    assert (paper.version, paper.title, paper.doi) == (2, "Second title", "10.1000/xyz")
    # A v2 record without a DOI (a poorer source) keeps the DOI already stored.
    no_doi = dict(v2, doi=None, comment="now with comments")
    ingest(JsonlSource(write_lines(tmp_path / "v2b.jsonl", [json.dumps(no_doi)])),
           sqlite_store, progress=False)
    paper = sqlite_store.get_paper(record["id"])
    assert paper is not None and paper.doi == "10.1000/xyz"
    assert paper.comments == "now with comments"


@pytest.mark.slow
def test_the_whole_75k_sample_ingests(tmp_path: Path, sqlite_store: Store) -> None:
    from tests.shared_data import ARXIV_75K

    report = ingest(JsonlSource(require(ARXIV_75K)), sqlite_store, progress=False)
    ids = set()
    with gzip.open(ARXIV_75K, "rt") as f:
        for line in f:
            ids.add(json.loads(line)["id"])
    # The one rejection is the sample's record filed under the non-category 'na'.
    assert [r.reason for r in report.rejections] == [
        "unknown category 'na' (not in arXiv's taxonomy; add it to "
        "PAPERWIRE_EXTRA_CATEGORIES if arXiv has added it)"]
    assert sqlite_store.count_papers() == len(ids) - 1
