"""Hybrid search from in-memory vectors: the float16 copy beside the faiss index equals the
store's vectors, the ranking is the one the database path gives, and a newly indexed or a
hidden paper shows at once (the caches are keyed by version). Real embedder, real SQLite."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from paperwire.index.indexer import IndexPaths, update_index
from paperwire.index.minilm import MODEL
from paperwire.index.vectors import FaissBackend, half_file
from paperwire.ingest import ingest
from paperwire.search import Searcher
from paperwire.sources.files import JsonlSource
from paperwire.store import Store
from tests.app import load_corpus
from tests.shared_data import arxiv_lines

N = 250
START = 5_000  # papers of the sample no other search test uses


@pytest.fixture(scope="module")
def embedder(onnx_embedder):  # type: ignore[no-untyped-def]
    return onnx_embedder


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[Path]:  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("memory")
    with Store.from_url(f"sqlite:///{home / 'paperwire.db'}") as store:
        load_corpus(store, home, lines=arxiv_lines(N, start=START), index=True,
                    embedder=embedder)
    yield home


def _queries() -> list[str]:
    titles = [json.loads(line)["title"] for line in arxiv_lines(N, start=START)]
    # Titles of indexed papers, and words that match many papers on one side only.
    return [" ".join(t.split()[:6]) for t in titles[::25]] + [
        "graph neural networks", "quantum error correction", "language model reasoning"]


def test_the_float16_copy_is_the_stored_vectors(home: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    store = Store.from_url(f"sqlite:///{home / 'paperwire.db'}")
    try:
        backend = FaissBackend(IndexPaths.for_home(home).root, embedder.model, embedder.dim)
        stored_ids, stored = store.get_embeddings(embedder.model, list(range(1, N + 50)),
                                                  embedder.dim)
        assert len(stored_ids) == N
        found = backend.vectors_of(np.arange(1, N + 50, dtype=np.int64))
        assert found is not None
        ids, vectors = found
        order = np.argsort(stored_ids)
        assert ids.tolist() == stored_ids[order].tolist()  # rows without one are left out
        assert np.array_equal(vectors, stored[order])  # bit for bit
    finally:
        store.close()


def test_hybrid_ranking_equals_the_database_path(home: Path, tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    # The reference: the same instance without the float16 file, so candidates' vectors
    # come from the store, as they did before the copy existed.
    copy = tmp_path / "copy"
    shutil.copytree(home, copy)
    half_file(IndexPaths.for_home(copy).root, MODEL).unlink()
    mine = Store.from_url(f"sqlite:///{home / 'paperwire.db'}")
    theirs = Store.from_url(f"sqlite:///{copy / 'paperwire.db'}")
    try:
        fast = Searcher(mine, IndexPaths.for_home(home), lambda: embedder)
        reference = Searcher(theirs, IndexPaths.for_home(copy), lambda: embedder)
        scored_by_copy = 0
        for query in _queries():
            got = fast.search(query, limit=50).hits
            want = reference.search(query, limit=50).hits
            assert [h.paper.arxiv_id for h in got] == [h.paper.arxiv_id for h in want], query
            for a, b in zip(got, want, strict=True):
                assert a.keyword_score == b.keyword_score
                assert a.meaning_score == pytest.approx(b.meaning_score, abs=1e-6)
                assert a.score == pytest.approx(b.score, abs=1e-6)
            scored_by_copy += sum(h.keyword_score is not None and h.meaning_score is not None
                                  for h in got)
        assert scored_by_copy  # the keyword-only candidates' path was exercised
        assert not half_file(IndexPaths.for_home(copy).root, MODEL).exists()
    finally:
        mine.close()
        theirs.close()


def test_new_and_hidden_papers_show_at_once(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    lines = arxiv_lines(60, start=START + N)
    (tmp_path / "a.jsonl").write_text("".join(lines[:50]))
    (tmp_path / "b.jsonl").write_text("".join(lines[50:]))
    store = Store.from_url(f"sqlite:///{tmp_path / 'paperwire.db'}")
    paths = IndexPaths.for_home(tmp_path)
    try:
        ingest(JsonlSource(tmp_path / "a.jsonl"), store, progress=False)
        update_index(store, paths, embedder, progress=False)
        searcher = Searcher(store, paths, lambda: embedder)  # kept, as the web keeps one
        new = json.loads(lines[55])
        assert new["id"] not in [h.paper.arxiv_id for h in searcher.search(new["title"]).hits]
        ingest(JsonlSource(tmp_path / "b.jsonl"), store, progress=False)
        update_index(store, paths, embedder, progress=False)
        searcher.refresh()
        top = searcher.search(new["title"], limit=3).hits[0]
        assert top.paper.arxiv_id == new["id"]
        assert top.meaning_score is not None and top.meaning_score > 0.5
        store.hide_paper(new["id"], "spam", None, "test")
        assert new["id"] not in [h.paper.arxiv_id for h in
                                 searcher.search(new["title"], limit=10).hits]
        assert len(searcher.search(new["title"], limit=10).hits) == 10  # the page stays full
        store.unhide_paper(new["id"], None, "test")
        assert searcher.search(new["title"], limit=3).hits[0].paper.arxiv_id == new["id"]
    finally:
        store.close()
