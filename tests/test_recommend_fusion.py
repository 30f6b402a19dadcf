"""The fusion of content with recency and votes: features, habits, fitting, faithful terms."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from paperwire.recommend import Profile, Signal
from paperwire.recommend.corpus import StoreCorpus
from paperwire.recommend.dataset import load_folder
from paperwire.recommend.fusion import SHRINK, Fusion, Habits, habits, slate_features
from paperwire.recommend.fusion_fit import fit_fusion, folder_slates
from paperwire.recommend.linear import LinearRanker
from paperwire.recommend.scoring import TERMS
from paperwire.store import Store
from tests.app import load_corpus, make_settings
from tests.recommend_data import paper_id, topic_papers, write_folder

HOUR = 3600.0


def test_slate_features_are_z_scores_over_the_candidates() -> None:
    content = np.asarray([3.0, 1.0, 2.0])
    published = np.asarray([10 * HOUR, 0.0, 5 * HOUR])  # the first is the newest
    votes = np.asarray([0.0, 1.0, 0.5])
    x = slate_features(content, published, votes, Habits(newer=0.5, voted=-1.0))
    assert np.allclose(x.mean(axis=0), 0.0)
    assert np.argmax(x[:, 1]) == 0 and np.argmax(x[:, 2]) == 1
    assert np.allclose(x[:, 3], 0.5 * x[:, 1]) and np.allclose(x[:, 4], -x[:, 2])
    # One candidate, or all alike: nothing to tell apart, so no feature speaks.
    assert not slate_features(content[:1], published[:1], votes[:1], Habits()).any()


def test_habits_by_hand() -> None:
    times = [np.asarray([0.0, HOUR, 2 * HOUR])] * 4  # position 2 is each day's newest
    votes = [np.asarray([0.0, 0.0, 1.0])] * 4
    got = habits([2, 2, 2, 2], times, votes)
    assert got.newer == pytest.approx(4 * 0.5 / (4 + SHRINK))
    assert got.voted == pytest.approx(4 * np.sqrt(2) / (4 + SHRINK))
    assert got.team == 0.0  # no team sizes given
    teams = [np.asarray([1.0, 2.0, 3.0])] * 4  # the kept paper has the largest team
    assert habits([2, 2, 2, 2], times, votes, teams).team == pytest.approx(
        4 * np.sqrt(1.5) / (4 + SHRINK))
    oldest = habits([0], times[:1], votes[:1])
    assert oldest.newer == pytest.approx(-0.5 / (1 + SHRINK)) and oldest.voted < 0


def _slates(rng: np.random.Generator, kept_newest: bool, n: int = 60
            ) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for _ in range(n):
        content = rng.normal(size=8)
        published = rng.uniform(0, 48 * HOUR, size=8)
        label = np.zeros(8, dtype=bool)
        label[int(np.argmax(published if kept_newest else content))] = True
        out.append((slate_features(content, published, rng.uniform(size=8), Habits()),
                    label))
    return out


def test_fit_learns_recency_where_readers_keep_the_newest() -> None:
    rng = np.random.default_rng(7)
    by_newness = Fusion.fit(_slates(rng, kept_newest=True))
    by_content = Fusion.fit(_slates(rng, kept_newest=False))
    assert by_newness.weights[1] > 1.0 > abs(by_content.weights[1])
    assert by_content.weights[0] > 1.0
    with pytest.raises(ValueError, match="kept and unkept"):
        Fusion.fit([])
    with pytest.raises(ValueError, match="7 weights"):
        Fusion((1.0, 2.0))


def test_context_terms_rank_as_the_fitted_model_and_sum_to_zero() -> None:
    rng = np.random.default_rng(3)
    fusion = Fusion((1.5, 0.8, -0.3, 2.0, 0.4))
    content = rng.normal(size=12)
    published = rng.uniform(0, 30 * HOUR, size=12)
    votes = rng.uniform(size=12)
    habit = Habits(newer=0.2, voted=-0.1)
    terms = fusion.context(content, published, votes, habit)
    fused = content + terms["recent"] + terms["votes"]
    direct = slate_features(content, published, votes, habit) @ np.asarray(fusion.weights)
    assert list(np.argsort(-fused)) == list(np.argsort(-direct))
    assert abs(terms["recent"].sum()) < 1e-9 and abs(terms["votes"].sum()) < 1e-9
    # A fusion that does not weigh content has no content units to speak in.
    assert not Fusion((0.0, 1, 1, 1, 1)).context(content, published, votes, habit)[
        "recent"].any()


@pytest.fixture
def corpus(tmp_path: Path, database_url: str) -> Iterator[StoreCorpus]:
    settings = make_settings(tmp_path, database_url)
    store = Store.open(settings)
    papers = topic_papers()
    for k, p in enumerate(papers):  # spread within the day: some candidates are newer
        p["published"] = p["published"].replace("T09:", f"T{9 + k % 3:02d}:")
    load_corpus(store, tmp_path, lines=[json.dumps(p) + "\n" for p in papers])
    with store:
        yield StoreCorpus(store)


def test_a_fused_model_scores_by_its_terms_and_says_so(corpus: StoreCorpus) -> None:
    signals = tuple(Signal(paper_id("graphs", n), "saved", datetime(2025, 1, 7 + n))
                    for n in range(6))
    fusion = Fusion((1.0, 3.0, 0.0, 0.0, 0.0))  # recency weighs three times the content
    model = LinearRanker(fusion=fusion).train(Profile(signals=signals), corpus,
                                              now=datetime(2025, 3, 1))
    candidates = [paper_id(t, 12) for t in ("graphs", "speech", "robots")]
    ranked = model.rank(candidates)
    rows = model.space.rows(candidates)
    terms, _ = model.term_arrays(rows)
    assert model.terms is not None
    score = model.terms.bias + sum(terms[k] for k in TERMS)
    by_id = dict(zip(rows.ids, score, strict=True))
    for r in ranked:
        assert r.score == pytest.approx(by_id[r.arxiv_id])
    newest = rows.ids[int(np.nanargmax(rows.published))]
    recent = next(r for r in ranked if r.arxiv_id == newest)
    reason = next(x for x in recent.reasons if x.kind == "recent")
    assert reason.text.startswith("newer")
    assert reason.contribution == pytest.approx(terms["recent"][rows.ids.index(newest)])
    plain = LinearRanker().train(Profile(signals=signals), corpus, now=datetime(2025, 3, 1))
    assert not any(x.kind == "recent" for r in plain.rank(candidates) for x in r.reasons)


def test_the_fit_reads_no_test_day(tmp_path: Path, database_url: str) -> None:
    root = write_folder(tmp_path / "set")
    data = load_folder(root)
    store = Store.open(make_settings(tmp_path, database_url))
    load_corpus(store, tmp_path, lines=[json.dumps(p) + "\n" for p in topic_papers()])
    store.upsert_external_votes("eval", list(data.votes))
    with store:
        corpus = StoreCorpus(store)
        fitted = fit_fusion(data, corpus, folder_slates(data, corpus))
        assert fitted.fusion is not None and fitted.readers == 2
        assert fitted.source.startswith("featured days")
        # Other answers on the test days change nothing the fit read.
        lines = (root / "tests.jsonl").read_text().splitlines()
        swapped = [json.loads(line) for line in lines]
        for t in swapped:
            t["relevant"] = [t["candidates"][-1]]
        (root / "tests.jsonl").write_text("".join(json.dumps(t) + "\n" for t in swapped))
        again = fit_fusion(load_folder(root), corpus, folder_slates(data, corpus))
        assert again.fusion is not None
        assert again.fusion.weights == pytest.approx(fitted.fusion.weights, abs=1e-5)
        assert fitted.as_dict()["weights"]["content"] > 0


def test_the_votes_term_is_a_reason_only_where_it_lifts_the_paper(corpus: StoreCorpus
                                                                  ) -> None:
    from paperwire.models import ExternalVote

    voted = paper_id("speech", 12)
    corpus.store.upsert_external_votes("hf", [ExternalVote(voted, 40)])
    signals = tuple(Signal(paper_id("graphs", n), "saved", datetime(2025, 1, 7 + n))
                    for n in range(6))
    candidates = [paper_id(t, 12) for t in ("graphs", "speech", "robots")]

    def trending(weights: tuple[float, ...]) -> dict[str, str]:
        model = LinearRanker(fusion=Fusion(weights)).train(Profile(signals=signals), corpus,
                                                           now=datetime(2025, 3, 1))
        return {r.arxiv_id: x.text for r in model.rank(candidates) for x in r.reasons
                if x.kind == "trending"}

    assert trending((1.0, 0.0, 0.0, 0.0, 0.0)) == {}  # no votes weight: never "trending"
    # Votes weigh for a paper: only the voted one says so.
    assert trending((1.0, 0.0, 3.0, 0.0, 0.0)) == {voted: "trending in the community"}
    # A reader who keeps the less-voted papers: those say that, the voted one nothing.
    quiet = trending((1.0, 0.0, -3.0, 0.0, 0.0))
    assert voted not in quiet and len(quiet) == 2
    assert all(t.startswith("fewer votes") for t in quiet.values())


def test_the_product_ranker_is_fused_with_habits_from_the_listed_days(corpus: StoreCorpus
                                                                      ) -> None:
    from datetime import time, timedelta

    from paperwire.recommend.fusion import PRODUCT, reader_habits
    from paperwire.recommend.rankers import default_ranker
    from paperwire.recommend.saved import dump, load
    from paperwire.recommend.scoring import LinearModel
    from tests.recommend_data import START

    ranker = default_ranker()
    assert isinstance(ranker, LinearRanker) and ranker.fusion is PRODUCT
    days = corpus.day_slates([START + timedelta(days=n) for n in range(8)])
    graphs = {paper_id("graphs", n) for n in range(10)}
    # Each kept paper saved on a day the store lists it: its day's slate is read.
    signals = tuple(Signal(pid, "saved", datetime.combine(day, time(12)))
                    for day, ids in sorted(days.items()) for pid in ids if pid in graphs)
    assert len(signals) >= 6
    model = ranker.train(Profile(signals=signals), corpus, now=datetime(2025, 3, 1))
    assert isinstance(model, LinearModel) and model.fusion is PRODUCT
    newest_first = sorted(signals, key=lambda s: s.at or datetime.min, reverse=True)
    expected = reader_habits(newest_first, lambda d: days.get(d, ()), model.space, corpus)
    assert model.habits == expected and model.habits != Habits()
    # Kept and loaded back (another process, the digest): the same fused model.
    loaded, _ = load(dump(model), model.space, corpus)
    assert (loaded.fusion, loaded.habits) == (model.fusion, model.habits)
    candidates = [paper_id(t, 12) for t in ("graphs", "speech", "robots")]
    assert loaded.rank(candidates) == model.rank(candidates)


def test_the_team_term_speaks_for_a_larger_team_only_where_it_lifts(corpus: StoreCorpus
                                                                    ) -> None:
    from tests.helpers import paper

    big = "2501.90001"
    corpus.store.write_batch([paper(big, title="Speech recognition at scale",
                                    abstract="acoustic model speech recognition",
                                    authors=tuple(f"Author {k}" for k in range(12)))])
    signals = tuple(Signal(paper_id("graphs", n), "saved", datetime(2025, 1, 7 + n))
                    for n in range(6))
    candidates = [paper_id(t, 12) for t in ("graphs", "speech", "robots")] + [big]

    def team(weights: tuple[float, ...]) -> dict[str, str]:
        model = LinearRanker(fusion=Fusion(weights)).train(Profile(signals=signals), corpus,
                                                           now=datetime(2025, 3, 1))
        return {r.arxiv_id: x.text for r in model.rank(candidates) for x in r.reasons
                if x.kind == "team"}

    assert team((1.0, 0.0, 0.0, 0.0, 0.0)) == {}  # a fusion of five: no team term
    assert team((1.0, 0.0, 0.0, 0.0, 0.0, 3.0, 0.0)) == {
        big: "a larger team than most papers beside it, as the ones you kept"}
    smaller = team((1.0, 0.0, 0.0, 0.0, 0.0, -3.0, 0.0))
    assert big not in smaller and len(smaller) == 3
    assert all(t.startswith("a smaller team") for t in smaller.values())
