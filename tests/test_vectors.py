"""The vector backend seam: FaissBackend's upsert/search/remove/version round trip, and a
Searcher built from settings on a fresh home."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from paperwire.index import vectors as vectors_module
from paperwire.index.vectors import FaissBackend, VectorBackend, VectorIndex
from paperwire.search import Searcher
from paperwire.settings import Settings
from paperwire.store import Store


def _unit(rows: int, dim: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_faiss_backend_round_trip(tmp_path: Path) -> None:
    backend = FaissBackend(tmp_path, "m", 8)
    assert isinstance(backend, VectorBackend)
    empty = backend.version()
    assert len(backend) == 0 and len(backend.search(_unit(1, 8, 0)[0], 3)[0]) == 0
    vectors = _unit(5, 8, 1)
    backend.add(np.arange(10, 15, dtype=np.int64), vectors)
    added = backend.version()
    assert added != empty and len(backend) == 5
    ids, scores = backend.search(vectors[2], 2)
    assert ids[0] == 12 and abs(scores[0] - 1.0) < 1e-5
    ids, _ = backend.search(vectors[2], 2, np.array([11, 13], dtype=np.int64))
    assert set(ids.tolist()) == {11, 13}
    # Another process (a second backend on the same files) sees the write.
    other = FaissBackend(tmp_path, "m", 8)
    assert len(other) == 5 and other.version() == added
    backend.remove(np.array([12], dtype=np.int64))
    assert len(backend) == 4 and 12 not in backend.search(vectors[2], 5)[0].tolist()
    assert backend.version() != added
    other.refresh()
    assert len(other) == 4 and other.version() == backend.version()
    backend.reset()
    assert len(backend) == 0 and backend.version() == empty


def test_searcher_from_settings_on_a_fresh_home(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, embedder="none", extra_categories=("local.x",))
    store = Store.from_url(f"sqlite:///{tmp_path / 'paperwire.db'}")
    try:
        searcher = Searcher.from_settings(settings, store)
        assert searcher.paths.root == tmp_path / "index"
        assert searcher.vectors is None and searcher.embedder is None
        assert searcher.extra_categories == ("local.x",)
        before = searcher.index_version()
        assert searcher.index_version() == before
        searcher.lexical.sync(store)
        assert searcher.index_version() != before
        assert searcher.search("anything", mode="lexical").hits == []
        with_meaning = Searcher.from_settings(settings.replace(embedder="auto"), store)
        assert with_meaning.vectors is not None and len(with_meaning.vectors) == 0
    finally:
        store.close()


def _clustered(rows: int, dim: int, seed: int) -> np.ndarray:
    """Unit vectors around 50 centres, as real embeddings cluster (random ones do not)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(50, dim))
    vectors = centres[rng.integers(0, 50, rows)] + 0.6 * rng.normal(size=(rows, dim))
    vectors = vectors.astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_a_broad_allowed_set_is_searched_inside_the_ivf_scan(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A read-only allowed array (as the keyword index keeps one per filter) is a bitmap
    selector: it finds what the id set finds, only allowed ids, and near the exact answer."""
    rows, dim = vectors_module.IVF_THRESHOLD + 5_000, 32
    vectors = _clustered(rows, dim, 3)
    ids = np.arange(1, rows + 1, dtype=np.int64) * 3  # sparse ids, as row ids after deletes
    index = VectorIndex.build(ids, vectors, threads=1)
    assert not index.is_exact
    monkeypatch.setattr(vectors_module, "BITMAP_FROM", 1_000)
    rng = np.random.default_rng(4)
    # Half the papers, and a set whose largest id is far below most: the bitmap ends early.
    for allowed in (np.sort(rng.choice(ids, rows // 2, replace=False)), ids[: rows // 4]):
        kept = allowed.copy()
        kept.flags.writeable = False
        allowed_set = set(allowed.tolist())
        recalls = []
        for q in _clustered(20, dim, 5):
            found, _ = index.search(q, 10, kept)
            assert set(found.tolist()) <= allowed_set
            plain, _ = index.search(q, 10, allowed)  # writeable: faiss' id set
            assert found.tolist() == plain.tolist()
            inside = np.isin(ids, allowed)
            exact = ids[inside][np.argsort(-(vectors[inside] @ q))[:10]]
            recalls.append(len(set(found.tolist()) & set(exact.tolist())) / 10)
        assert np.mean(recalls) >= 0.9, recalls
        assert index.search(q, 10, kept)[0].tolist() == found.tolist()  # the kept selector
