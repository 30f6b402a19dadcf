"""The recommender's door to an instance: StoreCorpus reads papers and vectors; NearestSeed."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from paperwire.recommend import Profile, Signal
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
