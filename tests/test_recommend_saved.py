"""A trained model saved as bytes and loaded back ranks, explains and calibrates exactly as
before; damaged bytes or another feature space are refused, never half read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from paperwire.recommend import Profile, Signal
from paperwire.recommend.corpus import StoreCorpus, drop_features
from paperwire.recommend.linear import LinearRanker
from paperwire.recommend.saved import SavedModelError, dump, load, space_key
from paperwire.recommend.scoring import LinearModel
from paperwire.store import Store
from tests.app import load_corpus, make_settings
from tests.helpers import paper
from tests.recommend_data import paper_id, topic_papers

NOW = datetime(2025, 3, 1)
CANDIDATES = [paper_id(t, n) for t in ("graphs", "speech", "robots") for n in (10, 11, 12)]


@pytest.fixture
def corpus(tmp_path: Path, database_url: str) -> Iterator[StoreCorpus]:
    settings = make_settings(tmp_path, database_url)
    store = Store.open(settings)
    load_corpus(store, tmp_path, lines=[json.dumps(p) + "\n" for p in topic_papers()])
    with store:
        yield StoreCorpus(store)


def _same(a: LinearModel, b: LinearModel) -> None:
    assert a.rank(CANDIDATES) == b.rank(CANDIDATES)  # ids, scores, probabilities, reasons
    assert a.threshold(0.6) == b.threshold(0.6)
    assert a.estimate(0.6) == b.estimate(0.6)


def test_a_saved_model_loads_back_the_same(corpus: StoreCorpus) -> None:
    signals = (*[Signal(paper_id("speech", n), "saved", datetime(2025, 1, 10 + n))
                 for n in range(8)],
               Signal(paper_id("speech", 9), "not_interested", datetime(2025, 2, 1)))
    profile = Profile(signals=signals, authors=(topic_papers()[0]["authors"][0],),
                      seed_text="acoustic models for speech", trending=0.2)
    model = LinearRanker().train(profile, corpus, now=NOW)
    assert isinstance(model, LinearModel)
    data = dump(model, {"version": "v1"})
    loaded, extra = load(data, corpus.features(), corpus)
    assert extra == {"version": "v1"} and loaded.terms is not None
    _same(model, loaded)


def test_a_nearest_seed_model_loads_back_the_same(corpus: StoreCorpus) -> None:
    profile = Profile(signals=(Signal(paper_id("robots", 1), "saved"),
                               Signal(paper_id("robots", 2), "not_interested")))
    model = LinearRanker().train(profile, corpus, now=NOW)
    assert isinstance(model, LinearModel) and model.terms is None
    loaded, _ = load(dump(model), corpus.features(), corpus)
    _same(model, loaded)


def test_damaged_bytes_and_another_space_are_refused(corpus: StoreCorpus) -> None:
    profile = Profile(signals=tuple(Signal(paper_id("graphs", n), "saved") for n in range(6)))
    model = LinearRanker().train(profile, corpus, now=NOW)
    assert isinstance(model, LinearModel)
    data = dump(model)
    space = corpus.features()
    for bad in (data[:-10], data[:40] + bytes([data[40] ^ 1]) + data[41:], b"", b"PWRM"):
        with pytest.raises(SavedModelError):
            load(bad, space, corpus)
    # A space fitted on other papers (its vocabulary and IDF differ) names another key.
    corpus.store.write_batch([paper(f"2502.{n:05d}", title=f"Quantum sensing {n}",
                                    abstract="quantum sensors and qubits") for n in range(30)])
    drop_features(corpus.store)
    other = corpus.features()
    assert space_key(other) != space_key(space)
    with pytest.raises(SavedModelError, match="another feature space"):
        load(data, other, corpus)


def test_a_space_rebuilt_from_its_saved_vocabulary_is_the_same(corpus: StoreCorpus) -> None:
    import numpy as np

    from paperwire.recommend.saved import dump_vocabulary, space_from_vocabulary, vocabulary_of

    space = corpus.features()
    data = dump_vocabulary(space)
    assert vocabulary_of(data)["key"] == space_key(space)
    ids = list(space.ids)
    texts = corpus.texts(ids)
    again = space_from_vocabulary(data, ids, [texts[i] for i in ids], corpus.authors(ids),
                                  space.published.copy(), space.vectors)
    assert space_key(again) == space_key(space) and again.built_with == space.built_with
    assert (again.words != space.words).nnz == 0 and (again.authors != space.authors).nnz == 0
    assert np.array_equal(again.vectorizer.idf_, space.vectorizer.idf_)
    profile = Profile(signals=tuple(Signal(paper_id("graphs", n), "saved") for n in range(6)))
    model = LinearRanker().train(profile, corpus, now=NOW)
    assert isinstance(model, LinearModel)
    loaded, _ = load(dump(model), again, corpus)  # a model of one loads over the other
    assert [r.arxiv_id for r in loaded.rank(CANDIDATES)] == \
        [r.arxiv_id for r in model.rank(CANDIDATES)]
    with pytest.raises(SavedModelError):
        space_from_vocabulary(data[:-3], ids, [], {}, space.published, None)
