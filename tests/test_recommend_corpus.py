"""The recommender's door to an instance: StoreCorpus reads papers and vectors; NearestSeed."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from paperwire.recommend import Profile, Signal, features
from paperwire.recommend.corpus import StoreCorpus
from paperwire.recommend.nearest import NearestSeed
from paperwire.search import Searcher
from paperwire.store import Store
from tests.app import load_corpus, make_settings
from tests.helpers import paper

PAPERS = [
    paper("2501.00001", title="Graph neural networks for molecules",
          abstract="Message passing networks predict molecular properties from graphs."),
    paper("2501.00002", title="Molecular property prediction with graph transformers",
          abstract="Graph attention over atoms and bonds predicts molecule properties."),
    paper("2501.00003", title="Speech recognition in noisy rooms",
          abstract="Acoustic models for far-field speech recognition with reverberation."),
    paper("2501.00004", title="Robust automatic speech recognition",
          abstract="Noise-robust acoustic modelling for speech recognisers."),
]


def _corpus(tmp_path: Path, database_url: str, embedder: Any) -> tuple[Store, StoreCorpus]:
    settings = make_settings(tmp_path, database_url)
    store = Store.open(settings)
    load_corpus(store, tmp_path, papers=PAPERS, index=True, embedder=embedder)
    searcher = Searcher.from_settings(settings, store, embedder=embedder)
    return store, StoreCorpus(store, searcher)


def test_store_corpus_reads_text_vectors_and_samples(tmp_path: Path, database_url: str,
                                                     onnx_embedder: Any) -> None:
    store, corpus = _corpus(tmp_path, database_url, onnx_embedder)
    with store:
        ids, vecs = corpus.vectors(["2501.00003", "nope", "2501.00001"])
        assert ids == ["2501.00003", "2501.00001"]
        assert vecs.shape == (2, 384)
        assert abs(float((vecs[0] ** 2).sum()) - 1) < 1e-3
        assert "Speech recognition" in corpus.texts(["2501.00003"])["2501.00003"]
        sample = corpus.background(3, seed=7)
        assert len(sample) == 3 and sample == corpus.background(3, seed=7)
        assert set(corpus.background(10)) == {p.arxiv_id for p in PAPERS}
        assert corpus.background(10, before=datetime(1990, 1, 1)) == []


def test_nearest_seed_ranks_by_the_nearest_positive_and_says_which(
        tmp_path: Path, database_url: str, onnx_embedder: Any) -> None:
    store, corpus = _corpus(tmp_path, database_url, onnx_embedder)
    with store:
        profile = Profile(signals=(Signal("2501.00001", "saved"),))
        model = NearestSeed().train(profile, corpus)
        ranked = model.rank(["2501.00003", "2501.00002", "2501.00004"])
        assert ranked[0].arxiv_id == "2501.00002"
        assert ranked[0].reasons[0].papers == ("2501.00001",)
        # "Not interested" in one speech paper pulls the other one down.
        before = {r.arxiv_id: r.score for r in ranked}
        damped = NearestSeed().train(
            Profile(signals=(*profile.signals, Signal("2501.00003", "not_interested"))),
            corpus).rank(["2501.00004"])
        assert damped[0].score < before["2501.00004"]


def test_papers_added_without_vectors_keep_every_row_aligned(
        tmp_path: Path, database_url: str, onnx_embedder: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A paper featurised before it has a vector gets a zero row, so the vectors stay one
    row per id: otherwise every paper featurised after it reads its neighbour's vector
    (or none at all). Its vector is read once it has one."""
    monkeypatch.setattr(features, "VECTOR_RETRY_S", 0.0)
    store, corpus = _corpus(tmp_path, database_url, onnx_embedder)
    with store:
        space = corpus.features()
        assert space.vectors is not None and len(space.vectors) == len(space.ids)
        store.write_batch([paper("2501.00005", title="Speech enhancement for hearing aids",
                                 abstract="Denoising speech with acoustic models.")])
        early = space.rows(["2501.00005"], corpus)  # ingested, not yet embedded
        assert early.ids == ["2501.00005"] and early.vectors is not None
        assert not early.vectors.any()
        store.write_batch([paper("2501.00006", title="Graph networks for crystals",
                                 abstract="Message passing over crystal graphs.")])
        load_corpus(store, tmp_path, index=True, embedder=onnx_embedder)
        late = space.rows(["2501.00006", "2501.00001"], corpus)
        assert space.vectors is not None and len(space.vectors) == len(space.ids)
        ids, vecs = corpus.vectors(["2501.00006", "2501.00001"])
        assert late.ids == ids == ["2501.00006", "2501.00001"]
        assert late.vectors is not None
        assert np.allclose(late.vectors, vecs, atol=2e-3)  # the space keeps float16
        ids, vecs = corpus.vectors(["2501.00005"])
        again = space.rows(["2501.00005"], corpus)
        assert ids == ["2501.00005"] and again.vectors is not None
        assert np.allclose(again.vectors, vecs, atol=2e-3)
