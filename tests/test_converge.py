"""Hosts converge on their own: the web's background index sync (paperwire/convergence.py).

In-process, a pass is run by hand (``IndexSync.run_once``): it syncs what the store's
watermarks say changed, writes nothing when nothing did, and leaves the files to whichever
process holds the home's writer lock. Across processes, two real `paperwire serve` hosts with
their own homes share one PostgreSQL database: papers ingested (and embedded) through host A
become searchable on host B within the sync bound, with nobody running `paperwire index` on B.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from paperwire.cli import cli
from paperwire.convergence import IndexSync
from paperwire.index import writer_lock
from paperwire.index.indexer import IndexPaths, update_index
from paperwire.index.lexical import LexicalIndex, lexical_version
from paperwire.index.minilm import DIM, MODEL
from paperwire.index.vectors import FaissBackend
from paperwire.search import Searcher
from paperwire.store import Store
from tests.app import make_settings
from tests.helpers import paper
from tests.hosts import Host, default_embedder_missing, serve_host, wait_for

# Multi-process, fuzz and cluster tests run in `make test` (CI), not in a bare `pytest`.
pytestmark = pytest.mark.heavy

SYNC_SECONDS = 1.0
MARGIN_SECONDS = 20.0  # a loaded 2-core machine: process start-up, one pass, one request
BOUND = SYNC_SECONDS + MARGIN_SECONDS


def _unit(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return vector / np.linalg.norm(vector)


def _rows(store: Store, *ids: str) -> list[int]:
    rows = store.row_ids(list(ids))
    return [rows[i] for i in ids]


def test_a_pass_indexes_new_papers_and_writes_nothing_when_nothing_changed(
        database_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url)
    with Store.from_url(database_url) as store:
        sync = IndexSync(settings, store, interval=SYNC_SECONDS)
        assert sync.run_once().held
        store.write_batch([paper("2501.00001", title="Glacier calving in fjords")])
        first = sync.run_once()
        assert first.lexical is not None and first.lexical.added == 1
        lexical = LexicalIndex(IndexPaths.for_home(tmp_path).lexical)
        assert [r for r, _ in lexical.search("glacier", 5)] == _rows(store, "2501.00001")
        version = lexical_version(lexical.path)
        idle = sync.run_once()
        assert idle.held and idle.lexical is None
        assert lexical_version(lexical.path) == version  # the cache keys stay put
        store.write_batch([paper("2501.00001", title="Glacier calving in fjords",
                                 abstract="Revised.", version=2)])
        changed = sync.run_once()
        assert changed.lexical is not None and changed.lexical.updated == 1
        assert lexical_version(lexical.path) != version


def test_only_the_holder_of_the_writer_lock_syncs(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url)
    with Store.from_url(database_url) as store:
        store.write_batch([paper("2501.00001", title="Glacier calving in fjords")])
        sync = IndexSync(settings, store)
        with writer_lock(IndexPaths.for_home(tmp_path).root):  # e.g. a `paperwire index` run
            assert not sync.run_once().held
            assert not (IndexPaths.for_home(tmp_path).lexical / "meta.json").exists()
        assert sync.run_once().lexical is not None


def test_a_pass_copies_stored_embeddings_into_faiss_and_changes_the_version(
        database_url: str, tmp_path: Path) -> None:
    # embedder "auto": search by meaning is on, but no model is needed to sync vectors.
    settings = make_settings(tmp_path, database_url, embedder="auto")
    with Store.from_url(database_url) as store:
        store.write_batch([paper("2501.00001"), paper("2501.00002")])
        sync = IndexSync(settings, store)
        assert sync.run_once().vectors
        searcher = Searcher.from_settings(settings, store)
        before = searcher.index_version()
        # Precomputed vectors, written as `paperwire index` on another host writes them.
        pending = store.papers_to_embed(MODEL, 0, 10)
        rows = [r[0] for r in pending]
        store.write_embeddings(MODEL, rows, [r[1] for r in pending],
                               np.stack([_unit(1), _unit(2)]))
        assert sync.run_once().vectors
        assert searcher.index_version() != before
        faiss = FaissBackend(IndexPaths.for_home(tmp_path).root, MODEL, DIM)
        ids, _ = faiss.search(_unit(2), 1)
        assert ids.tolist() == [rows[1]]
        assert not sync.run_once().vectors  # nothing new: the file is left alone


def test_a_damaged_keyword_index_is_rebuilt_by_the_next_pass(database_url: str,
                                                             tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url)
    with Store.from_url(database_url) as store:
        store.write_batch([paper("2501.00001", title="Glacier calving in fjords")])
        sync = IndexSync(settings, store)
        sync.run_once()
        (IndexPaths.for_home(tmp_path).lexical / "meta.json").write_text("")
        done = sync.run_once()
        assert done.repaired == ["keyword"]
        lexical = LexicalIndex(IndexPaths.for_home(tmp_path).lexical)
        assert [r for r, _ in lexical.search("glacier", 5)] == _rows(store, "2501.00001")


class _HeldEmbedder:
    """An embedder that stops in ``embed`` until released: an embedding run in progress."""

    name, model, dim = "held", "held-test-model", 4

    def __init__(self) -> None:
        self.embedding, self.release = threading.Event(), threading.Event()

    def embed(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        self.embedding.set()
        assert self.release.wait(60)
        return np.tile(np.float32([1, 0, 0, 0]), (len(texts), 1))


def test_an_index_run_does_not_hold_up_the_sync_while_it_embeds(database_url: str,
                                                                  tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url)
    with Store.from_url(database_url) as store:
        store.write_batch([paper("2501.00001")])
        embedder = _HeldEmbedder()
        run = threading.Thread(target=update_index, args=(
            store, IndexPaths.for_home(tmp_path), embedder), kwargs={"progress": False})
        run.start()
        try:
            assert embedder.embedding.wait(60)
            store.write_batch([paper("2501.00002", title="Glacier calving in fjords")])
            done = IndexSync(settings, store).run_once()  # while the run embeds
            assert done.held and done.lexical is not None and done.lexical.added == 1
        finally:
            embedder.release.set()
            run.join(60)
        assert not run.is_alive() and store.count_embeddings(embedder.model) == 2


def test_the_interval_is_a_bounded_setting() -> None:
    from paperwire.errors import ConfigError
    from paperwire.settings import Settings

    assert Settings.from_env({"PAPERWIRE_INDEX_SYNC_SECONDS": "0"}).index_sync_seconds == 0
    with pytest.raises(ConfigError, match="PAPERWIRE_INDEX_SYNC_SECONDS"):
        Settings.from_env({"PAPERWIRE_INDEX_SYNC_SECONDS": "-1"})


# --- two hosts over one PostgreSQL database ---------------------------------------------
def _record(arxiv_id: str, title: str, abstract: str) -> dict[str, Any]:
    return {"id": arxiv_id, "title": title, "summary": abstract, "authors": ["A. Author"],
            "categories": ["physics.geo-ph"], "published": "2025-01-02T00:00:00Z"}


def _ingest_on(host: Host, tmp_path: Path, *records: dict[str, Any]) -> None:
    path = tmp_path / f"batch-{records[0]['id']}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = CliRunner().invoke(cli, [*host.cli_args, "--no-progress", "ingest", "jsonl",
                                      str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def _found(host: Host, query: str, mode: str, arxiv_id: str) -> bool:
    response = host.get("/api/search", params={"q": query, "mode": mode})
    return response.status_code == 200 and arxiv_id in [
        h["arxiv_id"] for h in response.json()["hits"]]


@pytest.mark.parametrize("database_url",
                         [pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)
def test_a_paper_ingested_on_one_host_is_found_on_the_other(database_url: str,
                                                            tmp_path: Path) -> None:
    meaning = not default_embedder_missing()
    embedder = "auto" if meaning else "none"
    with serve_host(tmp_path / "a", database_url, SYNC_SECONDS, embedder) as a, \
            serve_host(tmp_path / "b", database_url, SYNC_SECONDS, embedder, workers=2) as b:
        assert not _found(b, "glaciology", "lexical", "2501.00001")
        _ingest_on(a, tmp_path, _record("2501.00001", "Glaciology of calving fronts",
                                        "Iceberg calving at tidewater glaciers."))
        # B's index was never touched by hand: its own background sync picks the paper up.
        assert wait_for(lambda: _found(b, "glaciology", "lexical", "2501.00001"), BOUND), (
            f"host B did not find the paper by keywords within {BOUND} s")
        if not meaning:
            pytest.skip(f"keywords converge; the meaning half needs the default embedder: "
                        f"{default_embedder_missing()}")
        _ingest_on(a, tmp_path, _record("2501.00002", "Protein folding pathways",
                                        "How chains of amino acids find their native fold."))
        index = CliRunner().invoke(cli, [*a.cli_args, "--no-progress", "index"],
                                   catch_exceptions=False)  # host A's worker would do this
        assert index.exit_code == 0 and "embedded 2 papers" in index.output, index.output
        query = "how do proteins fold into their native shape"
        assert wait_for(lambda: _found(b, query, "semantic", "2501.00002"), BOUND), (
            f"host B did not find the paper by meaning within {BOUND} s")
