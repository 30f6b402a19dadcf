"""The pgvector backend on a real PostgreSQL with the extension (the pgserver wheel bundles
pgvector): round trip, filtered recall against exact search, the chooser, and switching
backends with `paperwire index --backend` without re-embedding."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from paperwire.cli import cli
from paperwire.index.backends import choose_backend, open_backend
from paperwire.index.pgvector import PgvectorBackend
from paperwire.index.vectors import FaissBackend, VectorBackend
from paperwire.search import Searcher
from paperwire.settings import Settings
from paperwire.store import Store
from paperwire.store import vectors as store_vectors
from tests.helpers import paper

pytestmark = pytest.mark.postgres
MODEL, DIM = "all-MiniLM-L6-v2", 384
FAST = {"PAPERWIRE_PROGRESS": "0"}


def _unit(rows: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(rows, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture
def pg_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A Store on a fresh PostgreSQL database, migrated; the extension must be there."""
    from tests.conftest import _fresh_database

    with _fresh_database(request, "postgresql", tmp_path) as url, Store.from_url(url) as store:
        installed, available, table = store.pgvector_status()
        # CI's server (pgserver) bundles pgvector; a server without it is a set-up to fix,
        # except where someone points the tests at their own PostgreSQL on purpose.
        if available is None:
            pytest.skip("this PostgreSQL has no vector extension (pgserver bundles one)")
        assert installed and table, "migration 0009 did not set up pgvector"
        yield store


def _papers(store: Store, n: int) -> list[int]:
    store.write_batch([paper(f"2501.{i:05d}") for i in range(n)])
    rows = store.row_ids([f"2501.{i:05d}" for i in range(n)])
    return [rows[f"2501.{i:05d}"] for i in range(n)]


def _embed(store: Store, ids: list[int], vectors: np.ndarray) -> None:
    """Embeddings as `paperwire index` stores them, current for each paper's content."""
    # Every paper lacks an embedding of a model nobody computes: that lists their hashes.
    hashes = {r[0]: r[1] for r in store.papers_to_embed("none-such", 0, 100_000)}
    store.write_embeddings(MODEL, ids, [hashes[i] for i in ids], vectors)


def test_round_trip(pg_store: Store) -> None:
    ids = np.asarray(_papers(pg_store, 5), np.int64)
    backend = PgvectorBackend(pg_store, MODEL, DIM)
    assert isinstance(backend, VectorBackend)
    empty = backend.version()
    assert len(backend) == 0 and len(backend.search(_unit(1, 0)[0], 3)[0]) == 0
    vectors = _unit(5, 1)
    backend.add(ids, vectors)
    added = backend.version()
    assert added != empty and len(backend) == 5
    found, scores = backend.search(vectors[2], 2)
    assert found[0] == ids[2] and abs(scores[0] - 1.0) < 1e-4
    found, _ = backend.search(vectors[2], 2, ids[[1, 3]])
    assert set(found.tolist()) == {ids[1], ids[3]}
    backend.add(ids[:1], vectors[4:5])  # an upsert replaces
    assert len(backend) == 5 and backend.search(vectors[4], 2)[0].tolist()[:2] != []
    other = PgvectorBackend(pg_store, MODEL, DIM)  # another host: same index, no refresh
    assert other.version() == backend.version() and len(other) == 5
    backend.remove(ids[2:3])
    assert len(other) == 4 and ids[2] not in other.search(vectors[2], 5)[0].tolist()
    backend.reset()
    assert len(backend) == 0 and backend.version() != added


def _recall(found: list[np.ndarray], truth: np.ndarray) -> float:
    return float(np.mean([len(set(f.tolist()) & set(t.tolist())) / len(t)
                          for f, t in zip(found, truth, strict=True)]))


@pytest.mark.parametrize("exact_max", [store_vectors.EXACT_MAX, 10])
def test_filtered_search_recall_against_exact(pg_store: Store, exact_max: int,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Both filtered paths (exact over the allowed ids, and the HNSW index when the allowed
    set is large) find the exact top 10 among the allowed: recall@10 >= 0.95."""
    monkeypatch.setattr(store_vectors, "EXACT_MAX", exact_max)
    n = 3_000
    ids = np.asarray(_papers(pg_store, n), np.int64)
    vectors = _unit(n, 2)
    _embed(pg_store, ids.tolist(), vectors)
    backend = PgvectorBackend(pg_store, MODEL, DIM)
    assert backend.sync(pg_store) and len(backend) == n
    rng = np.random.default_rng(3)
    allowed = np.sort(rng.choice(ids, n // 10, replace=False))
    queries = _unit(30, 4)
    mask = np.isin(ids, allowed)
    scores = queries @ vectors.T
    scores[:, ~mask] = -np.inf
    truth = ids[np.argsort(-scores, axis=1)[:, :10]]
    found = [backend.search(q, 10, allowed)[0] for q in queries]
    assert all(set(f.tolist()) <= set(allowed.tolist()) for f in found)
    assert _recall(found, truth) >= 0.95


def test_sync_copies_only_new_and_re_embedded(pg_store: Store) -> None:
    ids = _papers(pg_store, 40)
    _embed(pg_store, ids[:30], _unit(30, 5))
    backend = PgvectorBackend(pg_store, MODEL, DIM)
    assert backend.sync(pg_store) is True and len(backend) == 30  # the first copy rebuilds
    _embed(pg_store, ids[30:], _unit(10, 6))
    replaced = _unit(1, 7)
    _embed(pg_store, ids[:1], replaced)
    assert pg_store.sync_vectors(MODEL, DIM) == 11
    assert backend.sync(pg_store) is False and len(backend) == 40
    assert backend.search(replaced[0], 1)[0].tolist() == [ids[0]]


def test_chooser_picks_pgvector_on_postgres_and_faiss_on_sqlite(pg_store: Store,
                                                                 tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, vector_backend="auto")
    searcher = Searcher.from_settings(settings, pg_store)
    assert isinstance(searcher.vectors, PgvectorBackend)
    # The default is faiss until pgvector's recall on real embeddings is measured.
    assert isinstance(Searcher.from_settings(Settings(home=tmp_path), pg_store).vectors,
                      FaissBackend)
    assert choose_backend(pg_store).name == "pgvector"
    forced = Searcher.from_settings(settings.replace(vector_backend="faiss"), pg_store)
    assert isinstance(forced.vectors, FaissBackend)
    with Store.from_url(f"sqlite:///{tmp_path / 'paperwire.db'}") as sqlite:
        choice = choose_backend(sqlite)
        assert choice.name == "faiss" and "sqlite" in choice.reason
        assert isinstance(Searcher.from_settings(settings, sqlite).vectors, FaissBackend)
        with pytest.raises(Exception, match="needs PostgreSQL"):
            open_backend(tmp_path, MODEL, DIM, store=sqlite, wanted="pgvector")


def test_index_backend_switch_needs_no_re_embedding(pg_store: Store, tmp_path: Path) -> None:
    ids = _papers(pg_store, 50)
    _embed(pg_store, ids, _unit(50, 8))
    before = (pg_store.count_embeddings(MODEL), pg_store.newest_embedding(MODEL))
    url = pg_store.engine.url.render_as_string(hide_password=False)
    env = {**FAST, "PAPERWIRE_DATABASE_URL": url, "PAPERWIRE_VECTOR_BACKEND": "auto"}

    def run(*args: str) -> str:
        result = CliRunner().invoke(cli, ["--home", str(tmp_path), *args], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    out = run("index", "--backend", "pgvector")
    assert "embedded 0 papers" in out and "50 papers" in out and "pgvector" in out
    assert pg_store.count_vectors(MODEL) == 50
    out = run("index", "--backend", "faiss")
    assert "embedded 0 papers" in out and "50 papers" in out and "(faiss)" in out
    assert len(FaissBackend(tmp_path / "index", MODEL, DIM)) == 50
    assert (pg_store.count_embeddings(MODEL), pg_store.newest_embedding(MODEL)) == before
    stats = json.loads(run("stats", "--json"))
    assert stats["vector_backend"]["name"] == "pgvector"
    text = run("stats")
    assert "vector backend: pgvector" in text
