"""The store against SQLite and a real PostgreSQL: migrations, the version-aware upsert, state."""

from __future__ import annotations

import functools
import itertools
import json
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, cast

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Table, func, inspect, select, text
from sqlalchemy.exc import DBAPIError

from paperwire.errors import StoreError
from paperwire.models import HarvestState, Paper, validate
from paperwire.store import Store, WriteResult
from paperwire.store.database import current_revision, head_revision, write_transaction
from paperwire.store.papers import write_papers
from paperwire.store.schema import Base, paper_categories, paper_sources, papers
from tests.helpers import paper as minimal_paper
from tests.shared_data import SNAPSHOT_200, require

T0 = datetime(2024, 1, 2, 3, 4, 5, 678901)


def make_paper(arxiv_id: str = "2401.00001", **changes: Any) -> Paper:
    """A paper with every field a round trip through the store must keep."""
    return minimal_paper(arxiv_id, **{
        "title": f"A study of {arxiv_id}",
        "abstract": "We show that $\\mathcal{O}(n \\log n)$ suffices.",
        "authors": ("Ada Lovelace", "Alan Turing"), "categories": ("cs.LG", "stat.ML"),
        "primary_category": "cs.LG",
        "published": T0, "updated": T0, "listed_on": date(2024, 1, 3),
        "comments": "12 pages", "journal_ref": None, "doi": None, "license": None,
        "source": "oai", **changes})


@functools.cache
def _snapshot_records() -> tuple[Paper, ...]:
    found = []
    with require(SNAPSHOT_200).open(encoding="utf-8") as lines:
        for line in itertools.islice(lines, 40):
            record = json.loads(line)
            created = [parsedate_to_datetime(v["created"]).replace(tzinfo=None)
                       for v in record["versions"]]
            categories = tuple(record["categories"].split())
            found.append(validate(Paper(
                arxiv_id=record["id"], version=len(record["versions"]),
                title=record["title"], abstract=record["abstract"],
                authors=tuple(" ".join(p for p in (first, last) if p)
                              for last, first, *_ in record["authors_parsed"]),
                categories=categories, primary_category=categories[0],
                published=created[0], updated=created[-1], listed_on=created[0].date(),
                comments=record["comments"], journal_ref=record["journal-ref"],
                doi=record["doi"], license=record["license"], source="snapshot")))
    return tuple(found)


def snapshot_papers() -> list[Paper]:
    """The first 40 records of the real metadata-snapshot fixture, as validated Papers."""
    return list(_snapshot_records())


def count(store: Store, table: Table) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def categories_of(store: Store, arxiv_id: str) -> set[str]:
    with store.engine.connect() as conn:
        return set(conn.execute(
            select(paper_categories.c.category).join(papers)
            .where(papers.c.arxiv_id == arxiv_id)).scalars())


# --- migrations -------------------------------------------------------------------------

def test_migrations_apply_on_empty_database_and_are_idempotent(database_url: str) -> None:
    with Store.from_url(database_url, migrate_schema=False) as bare:
        assert current_revision(bare.engine) is None
        assert inspect(bare.engine).get_table_names() == []
    paper = make_paper()
    with Store.from_url(database_url) as store:
        assert current_revision(store.engine) == head_revision() is not None
        assert {"papers", "paper_categories", "paper_sources", "harvest_state",
                "alembic_version"} <= set(inspect(store.engine).get_table_names())
        store.write_batch([paper])
    with Store.from_url(database_url) as store:  # reopening: a no-op, data kept
        store.migrate()
        assert current_revision(store.engine) == head_revision()
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
        assert store.get_paper(paper.arxiv_id) == paper


def test_a_database_from_a_newer_paperwire_is_refused_with_what_to_do(database_url: str
                                                                      ) -> None:
    paper = make_paper()
    with Store.from_url(database_url) as store:
        store.write_batch([paper])
        with write_transaction(store.engine) as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StoreError, match=r"schema revision 9999, which this paperwire"):
        Store.from_url(database_url)
    with Store.from_url(database_url, migrate_schema=False) as store:  # nothing touched
        assert current_revision(store.engine) == "9999"
        assert store.get_paper(paper.arxiv_id) == paper


def test_migrated_schema_matches_the_models(store: Store) -> None:
    # paper_vectors is PostgreSQL-only (pgvector) and outside the models: see store/vectors.py.
    # SQLite's reflection cannot read expression indexes (lower(doi)); PostgreSQL compares it.
    skipped = {"paper_vectors"} | (
        {"ix_papers_doi_lower"} if store.engine.dialect.name == "sqlite" else set())
    with store.engine.connect() as conn, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression")
        context = MigrationContext.configure(conn, opts={
            "include_name": lambda name, kind, parent: name not in skipped})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_doi_lookup_uses_its_index(store: Store) -> None:
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "sqlite":
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT arxiv_id FROM papers WHERE lower(doi) IN ('10.1/x')"))
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = " ".join(str(r[0]) for r in conn.exec_driver_sql(
                "EXPLAIN SELECT arxiv_id FROM papers WHERE lower(doi) IN ('10.1/x')"))
    assert "ix_papers_doi_lower" in plan, plan


# --- writing and reading papers ---------------------------------------------------------

def test_batch_round_trips_field_by_field(store: Store) -> None:
    unusual = make_paper(
        "2402.12345", version=3,
        title="Schrödinger's cat: $\\mathcal{O}(n^{2})$ bounds — naïve 量子 approach 🐈",
        abstract="Let $\\alpha \\in [0, 1]$ and \\emph{suppose} 10% of $x_{i}$'s \"vary\".",
        authors=("Zoë Ångström", "李雷", "José Núñez", "A. Author"),
        categories=("math.PR", "cs.LG", "stat.ML"), primary_category="cs.LG",
        published=datetime(2024, 2, 20, 23, 59, 59, 123456),
        updated=datetime(2024, 3, 1, 0, 0, 1), listed_on=date(2024, 2, 21),
        comments="\\textbf{v3}: fixed Eq. (4)", journal_ref="Ann. Probab. 52 (2024) 1–40",
        doi="10.1214/24-AOP1234", license="http://creativecommons.org/licenses/by/4.0/")
    batch = [*snapshot_papers(), unusual]

    result = store.write_batch(batch)

    assert result == WriteResult(inserted=len(batch))
    stored = store.get_papers(p.arxiv_id for p in batch)
    assert set(stored) == {p.arxiv_id for p in batch}
    for paper in batch:
        assert stored[paper.arxiv_id] == paper, paper.arxiv_id
    got = stored["2402.12345"]
    assert got.authors == ("Zoë Ångström", "李雷", "José Núñez", "A. Author")
    assert got.categories == ("math.PR", "cs.LG", "stat.ML")
    assert got.primary_category == "cs.LG"
    assert got.published == datetime(2024, 2, 20, 23, 59, 59, 123456)
    assert isinstance(got.listed_on, date) and not isinstance(got.listed_on, datetime)
    assert "$\\mathcal{O}(n^{2})$" in got.title and "🐈" in got.title
    assert categories_of(store, "2402.12345") == {"math.PR", "cs.LG", "stat.ML"}
    first = stored["0704.0001"]  # a real record: LaTeX accent in the source, UTF-8 here
    assert first.authors[0] == "C. Balázs" and first.version == 2
    assert first.doi == "10.1103/PhysRevD.76.013009"
    assert "$(k,\\ell)$-pebble game" in stored["0704.0002"].abstract
    assert store.get_paper("9999.99999") is None


def test_reingesting_the_same_batch_writes_nothing(store: Store) -> None:
    batch = snapshot_papers()
    store.write_batch(batch)
    rows = (count(store, papers), count(store, paper_categories), count(store, paper_sources))

    again = store.write_batch(batch)

    assert again == WriteResult(unchanged=len(batch))
    assert (count(store, papers), count(store, paper_categories),
            count(store, paper_sources)) == rows
    assert rows[0] == len(batch)
    assert rows[1] == sum(len(p.categories) for p in batch)


def test_newer_version_replaces_the_record(store: Store) -> None:
    v1 = make_paper(version=1, categories=("cs.LG", "stat.ML"), primary_category="cs.LG")
    v2 = replace(v1, version=2, title="A better title", abstract="A rewritten abstract.",
                 categories=("cs.CL",), primary_category="cs.CL",
                 updated=T0 + timedelta(days=30))
    store.write_batch([v1, make_paper("2401.00002")])

    result = store.write_batch([v2])

    assert result == WriteResult(updated=1)
    assert store.get_paper(v1.arxiv_id) == v2
    assert categories_of(store, v1.arxiv_id) == {"cs.CL"}  # replaced, not appended
    assert count(store, papers) == 2
    assert count(store, paper_categories) == 1 + 2


def test_same_version_with_other_content_refreshes_the_record(store: Store) -> None:
    paper = make_paper()
    store.write_batch([paper])
    refreshed = replace(paper, journal_ref="Phys. Rev. D 1 (2024) 2", source="api")
    assert store.write_batch([refreshed]) == WriteResult(updated=1)
    assert store.get_paper(paper.arxiv_id) == refreshed


def test_older_version_does_not_overwrite_a_newer_one(store: Store) -> None:
    v2 = make_paper(version=2, title="Version two", updated=T0 + timedelta(days=9))
    v1 = make_paper(version=1, title="Version one")
    store.write_batch([v2])

    result = store.write_batch([v1])

    assert result == WriteResult(older=1)
    assert store.get_paper(v2.arxiv_id) == v2


def test_a_record_lacking_fields_keeps_the_stored_values(store: Store) -> None:
    v1 = make_paper(version=1, doi="10.1000/xyz", journal_ref="J. Stuff 1 (2024)",
                    license="http://arxiv.org/licenses/nonexclusive-distrib/1.0/")
    v2 = replace(v1, version=2, title="New title", doi=None, journal_ref=None, license=None,
                 updated=T0 + timedelta(days=3), source="jsonl")
    store.write_batch([v1])

    assert store.write_batch([v2]) == WriteResult(updated=1)

    stored = store.get_paper(v1.arxiv_id)
    assert stored is not None
    assert stored.title == "New title" and stored.version == 2 and stored.source == "jsonl"
    assert (stored.doi, stored.journal_ref, stored.license) == (v1.doi, v1.journal_ref,
                                                                 v1.license)


def test_the_earliest_listing_date_wins(store: Store) -> None:
    paper = make_paper(listed_on=date(2024, 1, 10))
    store.write_batch([paper])

    same = store.write_batch([replace(paper, listed_on=date(2024, 1, 5))])
    assert same == WriteResult(unchanged=1)
    assert _listed(store, paper) == date(2024, 1, 5)

    newer = replace(paper, version=2, title="v2", updated=T0 + timedelta(days=60),
                    listed_on=date(2024, 3, 1))
    assert store.write_batch([newer]) == WriteResult(updated=1)
    assert _listed(store, paper) == date(2024, 1, 5)

    assert store.write_batch([replace(paper, listed_on=None)]) == WriteResult(older=1)
    assert _listed(store, paper) == date(2024, 1, 5)
    older = replace(paper, listed_on=date(2023, 12, 31))
    assert store.write_batch([older]) == WriteResult(older=1)
    assert _listed(store, paper) == date(2023, 12, 31)
    stored = store.get_paper(paper.arxiv_id)
    assert stored is not None and stored.version == 2 and stored.title == "v2"


def _listed(store: Store, paper: Paper) -> date | None:
    stored = store.get_paper(paper.arxiv_id)
    assert stored is not None
    return stored.listed_on


def test_duplicates_within_a_batch_collapse_to_the_highest_version(store: Store) -> None:
    v1 = make_paper(version=1, listed_on=date(2024, 1, 10))
    v3 = replace(v1, version=3, title="third", categories=("math.CO",),
                 primary_category="math.CO", updated=T0 + timedelta(days=20),
                 listed_on=date(2024, 1, 20))
    v2 = replace(v1, version=2, title="second", updated=T0 + timedelta(days=10),
                 listed_on=date(2024, 1, 5))

    result = store.write_batch([v1, v3, v2, make_paper("2401.00002")])

    assert result == WriteResult(inserted=2)
    assert store.get_paper(v1.arxiv_id) == replace(v3, listed_on=date(2024, 1, 5))
    assert count(store, papers) == 2
    assert categories_of(store, v1.arxiv_id) == {"math.CO"}


def test_provenance_is_recorded_per_source(store: Store) -> None:
    one, two, three = (make_paper(f"2401.0000{i}") for i in (1, 2, 3))
    store.write_batch([one, two])
    store.write_batch([replace(one, source="snapshot")])  # same content, another source
    store.write_batch([replace(three, source="api")])
    store.write_batch([one])  # the same source again: no new row

    assert store.stats()["sources"] == {"api": 1, "oai": 2, "snapshot": 1}
    assert count(store, paper_sources) == 4
    with store.engine.connect() as conn:
        first, last = conn.execute(
            select(paper_sources.c.first_seen_at, paper_sources.c.last_seen_at)
            .join(papers).where(papers.c.arxiv_id == one.arxiv_id,
                                paper_sources.c.source == "oai")).one()
    assert first < last


# --- harvest state ----------------------------------------------------------------------

def test_harvest_state_save_load_update_forget(store: Store) -> None:
    key = "oai:https://oaipmh.arxiv.org/oai:cs:arXiv"
    state = HarvestState(key=key, source="oai", resumption_token="tok|1001",
                         params={"set": "cs", "from": "2024-01-01", "note": "Ünïcode"})
    assert store.load_state(key) is None

    store.save_state(state)
    assert store.load_state(key) == state

    moved = replace(state, position=5_000_000_000, resumption_token=None,
                    datestamp="2024-02-01", done=True)
    store.save_state(moved)
    assert store.load_state(key) == moved
    other = HarvestState(key="jsonl:/data/a.jsonl@123", source="jsonl", position=7)
    store.save_state(other)
    assert store.list_states() == [other, moved]  # by key

    store.forget_state(key)
    assert store.load_state(key) is None
    store.forget_state(key)  # forgetting twice is fine
    assert store.list_states() == [other]


# --- atomicity --------------------------------------------------------------------------

FAILURES = ["null title on insert", "null title on update", "category too long"]


@pytest.mark.parametrize("failure", FAILURES)
def test_a_failed_batch_writes_neither_papers_nor_state(store: Store, failure: str) -> None:
    if failure == "category too long" and store.dialect == "sqlite":
        pytest.skip("SQLite does not enforce String(32); PostgreSQL does")
    key = "jsonl:/data/papers.jsonl@42"
    first = [make_paper(f"2401.0000{i}") for i in (1, 2, 3)]
    store.write_batch(first, HarvestState(key=key, source="jsonl", position=3))
    fresh = make_paper("2401.00004")
    # Each failure happens after some of the batch's statements have already run.
    bad = {
        "null title on insert": make_paper("2401.00005", title=cast(str, None)),
        "null title on update": replace(first[0], version=2, title=cast(str, None)),
        "category too long": make_paper("2401.00005", categories=("x" * 40,),
                                        primary_category="x" * 40),
    }[failure]

    with pytest.raises(DBAPIError):
        store.write_batch([fresh, bad], HarvestState(key=key, source="jsonl", position=6))

    assert store.load_state(key) == HarvestState(key=key, source="jsonl", position=3)
    assert store.count_papers() == 3
    assert store.get_papers(["2401.00004", "2401.00005"]) == {}
    assert store.get_paper(first[0].arxiv_id) == first[0]
    assert count(store, paper_categories) == 6 and count(store, paper_sources) == 3
    # The store is still usable after the rollback.
    assert store.write_batch([fresh]) == WriteResult(inserted=1)


# --- paging and statistics --------------------------------------------------------------

def test_iter_papers_pages_through_every_paper(store: Store) -> None:
    assert list(store.iter_papers()) == []
    batch = [make_paper(f"2401.{i:05d}") for i in range(1, 24)]
    store.write_batch(batch)

    for size in (5, 23, 1000):
        seen = list(store.iter_papers(batch=size))
        ids = [row_id for row_id, _ in seen]
        assert ids == sorted(ids) and len(set(ids)) == len(batch)
        assert [p for _, p in seen] == batch  # inserted in order, so read back in order


def test_stats_shape_and_numbers(store: Store) -> None:
    assert store.stats() == {
        "papers": 0, "published": {"first": None, "last": None},
        "listed": {"first": None, "last": None}, "categories": {},
        "primary_categories": {}, "sources": {}}
    store.write_batch([
        make_paper("2401.00001", categories=("cs.LG", "stat.ML"), primary_category="cs.LG",
                   published=datetime(2024, 1, 2), listed_on=date(2024, 1, 3)),
        make_paper("2305.00002", categories=("cs.CL", "cs.LG"), primary_category="cs.CL",
                   published=datetime(2023, 5, 6), listed_on=date(2023, 5, 8)),
    ])
    store.write_batch([make_paper("2406.00003", categories=("math.PR",),
                                  primary_category="math.PR",
                                  published=datetime(2024, 6, 1, 12, 30), listed_on=None,
                                  source="snapshot")])

    stats = store.stats()

    assert stats == {
        "papers": 3,
        "published": {"first": "2023-05-06T00:00:00", "last": "2024-06-01T12:30:00"},
        "listed": {"first": "2023-05-08", "last": "2024-01-03"},
        "categories": {"cs.LG": 2, "cs.CL": 1, "math.PR": 1, "stat.ML": 1},
        "primary_categories": {"cs.CL": 1, "cs.LG": 1, "math.PR": 1},
        "sources": {"oai": 2, "snapshot": 1},
    }
    assert list(stats["categories"]) == ["cs.LG", "cs.CL", "math.PR", "stat.ML"]
    assert store.count_papers() == 3


# --- concurrency: several web processes reading, one worker writing ----------------------

def test_sqlite_store_uses_wal(tmp_path: Path) -> None:
    with Store.from_url(f"sqlite:///{tmp_path / 'paperwire.db'}") as store, \
            store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_readers_are_not_blocked_by_an_open_write(database_url: str) -> None:
    old, new = make_paper("2401.00001"), make_paper("2401.00002")
    with Store.from_url(database_url) as worker, Store.from_url(database_url) as web, \
            ThreadPoolExecutor(1) as pool:
        worker.write_batch([old])
        with write_transaction(worker.engine) as conn:
            write_papers(conn, [new, replace(old, version=2, title="v2")], datetime.now())
            # A web process reads meanwhile: the committed state, without waiting.
            seen = pool.submit(lambda: (web.get_papers([old.arxiv_id, new.arxiv_id]),
                                        web.count_papers())).result(timeout=10)
            assert seen == ({old.arxiv_id: old}, 1)
        assert web.count_papers() == 2


def test_a_writer_commits_while_a_reader_is_open(database_url: str) -> None:
    with Store.from_url(database_url) as worker, Store.from_url(database_url) as web, \
            ThreadPoolExecutor(1) as pool:
        worker.write_batch([make_paper("2401.00001")])
        with web.engine.connect() as reader:  # a long page render, say
            assert reader.execute(select(func.count()).select_from(papers)).scalar() == 1
            written = pool.submit(worker.write_batch, [make_paper("2401.00002")])
            assert written.result(timeout=10) == WriteResult(inserted=1)
        assert web.count_papers() == 2


def test_concurrent_writers_take_turns(database_url: str) -> None:
    """A second writer (the CLI while the worker runs) waits, then sees what the first wrote,
    so the version rule holds across processes instead of failing on the unique key."""
    v1, v3 = make_paper(version=1), make_paper(version=3, title="v3", updated=T0 + timedelta(1))
    with Store.from_url(database_url) as worker, Store.from_url(database_url) as cli, \
            ThreadPoolExecutor(1) as pool:
        with write_transaction(worker.engine) as conn:
            write_papers(conn, [v3], datetime.now())
            second = pool.submit(cli.write_batch, [v1])
            time.sleep(0.5)  # let the second writer read (too early, if it does not wait)
            assert not second.done()
        assert second.result(timeout=30) == WriteResult(older=1)
        assert cli.get_paper(v1.arxiv_id) == v3


def test_processes_starting_together_on_a_fresh_database_all_open_it(database_url: str) -> None:
    """Web processes and the worker start at once: one migrates, the others wait and reuse."""
    with Store.from_url(database_url, migrate_schema=False) as first, \
            ThreadPoolExecutor(2) as pool:
        with write_transaction(first.engine):  # as if another process were mid-migration
            opening = [pool.submit(Store.from_url, database_url) for _ in range(2)]
            time.sleep(0.5)
            assert not any(f.done() for f in opening)
        for future in opening:
            with future.result(timeout=30) as store:
                assert current_revision(store.engine) == head_revision()
