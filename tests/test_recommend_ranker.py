"""paperwire's ranker and the anchors on a real store: rankings, negatives, reasons, calibration."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from paperwire.recommend import Profile, Signal
from paperwire.recommend.anchors import (
    ArxivSanitySvm,
    Newest,
    ScholarInboxLogreg,
    Trending,
    ZoteroSimilarity,
)
from paperwire.recommend.calibration import Calibration
from paperwire.recommend.corpus import StoreCorpus
from paperwire.recommend.features import Rows
from paperwire.recommend.linear import LinearRanker
from paperwire.recommend.rankers import default_ranker
from paperwire.search import Searcher
from paperwire.store import Store
from tests.app import load_corpus, make_settings
from tests.recommend_data import paper_id, topic_papers

NOW = datetime(2025, 3, 1)


def _lines() -> list[str]:
    return [json.dumps(p) + "\n" for p in topic_papers()]


@pytest.fixture
def corpus(tmp_path: Path, database_url: str) -> Iterator[StoreCorpus]:
    """Words and authors only (no vectors)."""
    settings = make_settings(tmp_path, database_url)
    store = Store.open(settings)
    load_corpus(store, tmp_path, lines=_lines())
    with store:
        yield StoreCorpus(store)


def _saved(*ids: str) -> tuple[Signal, ...]:
    return tuple(Signal(i, "saved", datetime(2025, 1, 10 + k)) for k, i in enumerate(ids))


def _rank_of(ranked: list[Any], arxiv_id: str) -> int:
    return [r.arxiv_id for r in ranked].index(arxiv_id)


CANDIDATES = [paper_id(t, 12) for t in ("graphs", "speech", "robots")]


def test_the_default_ranker_is_paperwires() -> None:
    assert isinstance(default_ranker(), LinearRanker)


def test_linear_ranker_prefers_the_readers_topic(corpus: StoreCorpus) -> None:
    profile = Profile(signals=_saved(*[paper_id("speech", n) for n in range(6)]))
    ranked = LinearRanker().train(profile, corpus, now=NOW).rank(CANDIDATES)
    assert ranked[0].arxiv_id == paper_id("speech", 12)
    assert 0 < ranked[0].probability < 1
    assert ranked[0].score > ranked[1].score


def test_not_interested_lowers_near_neighbours(corpus: StoreCorpus) -> None:
    liked = [paper_id("speech", n) for n in range(5)] + [paper_id("robots", n)
                                                         for n in range(5)]
    before = Profile(signals=_saved(*liked))
    after = Profile(signals=(*_saved(*liked), *[
        Signal(paper_id("robots", n), "not_interested", datetime(2025, 2, 1))
        for n in range(5, 9)]))
    for ranker in (LinearRanker(),):
        near = paper_id("robots", 12)
        other = paper_id("speech", 12)
        b = {r.arxiv_id: r.score for r in ranker.train(before, corpus, now=NOW).rank(
            CANDIDATES)}
        a = {r.arxiv_id: r.score for r in ranker.train(after, corpus, now=NOW).rank(
            CANDIDATES)}
        assert a[near] < b[near] - 0.1
        assert a[near] - b[near] < a[other] - b[other]


def test_reasons_are_the_models_own_terms(corpus: StoreCorpus) -> None:
    profile = Profile(signals=_saved(*[paper_id("graphs", n) for n in range(6)]))
    model = LinearRanker().train(profile, corpus, now=NOW)
    top = model.rank(CANDIDATES, limit=1)[0]
    words = next(r for r in top.reasons if r.kind == "words")
    assert words.words and 0 < words.share <= 1
    assert sum(r.share for r in top.reasons) <= 1 + 1e-9
    # Take the named words out of the candidate's row: the score drops by their stated part.
    rows = model.space.rows([top.arxiv_id])
    vocab = list(model.space.vocabulary)
    cut = sp.lil_matrix(rows.words)
    for w in words.words:
        cut[0, vocab.index(w)] = 0.0
    without = Rows(rows.ids, sp.csr_matrix(cut), rows.vectors, rows.authors, rows.published)
    terms, _ = model.term_arrays(without)
    full, _ = model.term_arrays(rows)
    assert full["words"][0] - terms["words"][0] == pytest.approx(words.contribution, rel=1e-5)
    # The author term names an author of the graph papers the reader kept.
    author = next(r for r in top.reasons if r.kind == "author")
    assert set(author.words) <= {"Graphs Lead", "Graphs Student 0", "Graphs Student 1",
                                 "Graphs Student 2"}


def test_followed_author_and_trending_are_terms_with_their_share(corpus: StoreCorpus
                                                                 ) -> None:
    corpus.store.upsert_external_votes("test", [])  # no votes: the trending term is zero
    profile = Profile(signals=_saved(*[paper_id("graphs", n) for n in range(6)]),
                      authors=("Robots Lead",))
    ranked = LinearRanker().train(profile, corpus, now=NOW).rank(CANDIDATES)
    robots = ranked[_rank_of(ranked, paper_id("robots", 12))]
    author = next(r for r in robots.reasons if r.kind == "author")
    assert "Robots Lead" in author.words and author.contribution >= 1.0


def test_few_positives_fall_back_to_the_nearest_seed(corpus: StoreCorpus) -> None:
    profile = Profile(signals=_saved(paper_id("robots", 1)))
    model = LinearRanker().train(profile, corpus, now=NOW)
    ranked = model.rank(CANDIDATES)
    assert ranked[0].arxiv_id == paper_id("robots", 12)
    near = next(r for r in ranked[0].reasons if r.kind == "words")
    assert near.words
    assert model.threshold(0.6) is None
    assert LinearRanker().train(Profile(), corpus, now=NOW).rank(CANDIDATES) == []


def test_arxiv_sanity_svm_ranks_the_tagged_topic_first(corpus: StoreCorpus) -> None:
    profile = Profile(signals=_saved(*[paper_id("robots", n) for n in range(6)]))
    ranked = ArxivSanitySvm().train(profile, corpus, now=NOW).rank(CANDIDATES)
    assert ranked[0].arxiv_id == paper_id("robots", 12)


def test_trending_ranks_by_votes_and_falls_back_to_newest(corpus: StoreCorpus) -> None:
    ids = [paper_id("speech", 2), paper_id("speech", 9), paper_id("graphs", 5)]
    newest = Newest().train(Profile(), corpus).rank(ids)
    assert [r.arxiv_id for r in newest][0] == paper_id("speech", 9)
    assert [r.arxiv_id for r in Trending().train(Profile(), corpus).rank(ids)] == \
        [r.arxiv_id for r in newest]
    from paperwire.models import ExternalVote
    corpus.store.upsert_external_votes("test", [ExternalVote(paper_id("speech", 2), 40)])
    assert Trending().train(Profile(), corpus).rank(ids)[0].arxiv_id == paper_id("speech", 2)


def test_calibration_threshold_and_estimate_by_hand() -> None:
    cal = Calibration(positives=np.asarray([3.0, 2.0, 1.0, 0.0, -1.0, -2.0]),
                      background=np.asarray([float(x) for x in range(-20, 1)]),
                      prior=0.1, papers_per_day=100.0)
    # At t=1: TPR (3 + .5) / 7 = .5, FPR .5 / 22; precision .05 / (.05 + .9 * .5/22).
    assert cal.precision_at(1.0) == pytest.approx(0.05 / (0.05 + 0.9 * 0.5 / 22))
    t = cal.threshold(0.6)
    assert t == 1.0
    est = cal.estimate(0.6)
    assert est is not None
    assert est.per_day == pytest.approx(100 * (0.05 + 0.9 * 0.5 / 22))
    assert est.text() == f"about {est.per_day:.0f} papers a day, about 71 % of them like " \
                         "ones you saved"
    assert Calibration(np.asarray([1.0]), np.asarray([0.0]), 0.1, 1).threshold(0.6) is None


def test_linear_model_calibrates_on_its_own_history(corpus: StoreCorpus) -> None:
    profile = Profile(signals=_saved(*[paper_id("speech", n) for n in range(12)]))
    model = LinearRanker().train(profile, corpus, now=NOW)
    t = model.threshold(0.6)
    assert t is not None
    scores = {r.arxiv_id: r.score for r in model.rank(CANDIDATES)}
    assert scores[paper_id("speech", 12)] >= t > scores[paper_id("graphs", 12)]
    est = model.estimate(0.6)
    assert est is not None and est.precision >= 0.6 and est.per_day > 0


@pytest.mark.slow
def test_embedding_anchors_follow_their_papers(tmp_path: Path, database_url: str,
                                               onnx_embedder: Any) -> None:
    settings = make_settings(tmp_path, database_url)
    store = Store.open(settings)
    load_corpus(store, tmp_path, lines=_lines(), index=True, embedder=onnx_embedder)
    with store:
        corpus = StoreCorpus(store, Searcher.from_settings(settings, store,
                                                           embedder=onnx_embedder))
        # zotero-arxiv-daily: the newest library item weighs most.
        library = (Signal(paper_id("graphs", 1), "saved", datetime(2025, 1, 1)),
                   Signal(paper_id("graphs", 2), "saved", datetime(2025, 1, 2)),
                   Signal(paper_id("speech", 1), "saved", datetime(2025, 2, 1)))
        ranked = ZoteroSimilarity().train(Profile(signals=library), corpus).rank(CANDIDATES)
        assert ranked[0].arxiv_id == paper_id("speech", 12)
        older = (*library[:2], Signal(paper_id("speech", 1), "saved", datetime(2024, 1, 1)))
        ranked = ZoteroSimilarity().train(Profile(signals=older), corpus).rank(CANDIDATES)
        assert ranked[0].arxiv_id == paper_id("graphs", 12)
        # Scholar Inbox: a logistic regression on the vectors learns the reader's topic.
        profile = Profile(signals=_saved(*[paper_id("robots", n) for n in range(6)]))
        ranked = ScholarInboxLogreg().train(profile, corpus, now=NOW).rank(CANDIDATES)
        assert ranked[0].arxiv_id == paper_id("robots", 12)
        # paperwire's model with vectors: the "near" reason names the nearest kept paper.
        top = LinearRanker().train(profile, corpus, now=NOW).rank(CANDIDATES)[0]
        near = next(r for r in top.reasons if r.kind == "near")
        ids, vecs = corpus.vectors([top.arxiv_id, *[paper_id("robots", n) for n in range(6)]])
        assert near.papers == (ids[1 + int(np.argmax(vecs[1:] @ vecs[0]))],)


def test_feature_space_is_built_once_per_store_and_grows(corpus: StoreCorpus) -> None:
    space = corpus.features()
    assert StoreCorpus(corpus.store).features() is space  # a new corpus, the same space
    assert len(space.ids) == 42 and space.vectors is None
    from tests.helpers import paper
    corpus.store.write_batch([paper("2502.00001", title="Speech recognition with graphs",
                                    abstract="acoustic model graph neural network")])
    rows = space.rows(["2502.00001", "nope"], corpus)
    assert rows.ids == ["2502.00001"]
    vocab = list(space.vocabulary)
    assert rows.words[0, vocab.index("acoustic")] > 0
    assert len(space.vocabulary) == len(vocab)  # the vocabulary was not refitted
    assert "2502.00001" in space.index


def test_a_followed_author_the_space_does_not_index_still_counts(corpus: StoreCorpus) -> None:
    from tests.helpers import paper
    corpus.features()
    corpus.store.write_batch([paper("2502.00002", title="Speech and robots",
                                    abstract="acoustic robot policy", authors=("New Person",))])
    profile = Profile(signals=_saved(*[paper_id("graphs", n) for n in range(6)]),
                      authors=("New Person",))
    ranked = LinearRanker().train(profile, corpus, now=NOW).rank(["2502.00002"])
    author = next(r for r in ranked[0].reasons if r.kind == "author")
    assert author.words == ("New Person",)


def test_estimate_text_counts_a_rare_profile_by_the_week() -> None:
    from paperwire.recommend.calibration import Estimate
    assert Estimate(1.0, 6.2, 0.6).text() == \
        "about 6 papers a day, about 60 % of them like ones you saved"
    assert Estimate(1.0, 0.3, 0.62).text() == \
        "about 2 papers a week, about 62 % of them like ones you saved"
    assert Estimate(1.0, 0.01, 0.7).text().startswith("fewer than one paper a week")
