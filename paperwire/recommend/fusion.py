"""A learned fusion of a profile's content score with signals of the day: recency, votes, team size.

Fitted ACROSS readers (one small logistic regression, ``fit``) on their own earlier events
only: each reader's training positives are split by time, a profile's model is trained on
the earlier part, and each later positive's day is a "slate" (the papers seen that day) to
rank. Per candidate the fused score reads seven features, each z-scored over the candidates
ranked together (so a day's slate and a page's week are alike):

    content  the profile's linear score
    newer    -log(1 + hours since the newest candidate): the day's newest score highest
    voted    the community's votes (Corpus.popularity: already on a log scale)
    newer * habit_newer, voted * habit_voted
    team     log(1 + number of authors), and team * habit_team

where a reader's habits say how much newer (or more voted, or by a larger team) than their
day's slate the papers they kept were, from their own history (shrunk toward 0 for a short
one). All three are known when a paper is listed. The habits let one
global model give an aggregator who keeps the day's newest papers a recency weight, and an
author who keeps their group's papers none. The fused score is written in content-score
units (``Fusion.context``): the content score plus zero-mean context terms, so a profile's
calibrated threshold keeps its meaning and each term is a faithful reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression

from paperwire.recommend import Corpus, Signal
from paperwire.recommend.features import FeatureSpace

__all__ = ["FEATURES", "PRODUCT", "Fusion", "Habits", "Slates", "corpus_slates", "habits",
           "reader_habits", "slate_features", "team_sizes"]

FEATURES = ("content", "newer", "voted", "newer_habit", "voted_habit", "team", "team_habit")
BASE_FEATURES = 5  # a fusion of the first five only (fitted before the team terms) reads 0
SHRINK = 5.0  # a reader's habit counts as if five more kept papers sat at the slate's mean
HABIT_POSITIVES = 100  # the newest positives a habit reads (bounds training time)

Slates = Callable[[date], Sequence[str]]  # the papers seen on a day (featured or listed)
SLATE_PAPERS = 3_000  # a day's listing read for a habit: arXiv lists ~2,500 on a busy day


@dataclass(frozen=True)
class Habits:
    """How much newer, more voted and by a larger team than their slate a reader's kept
    papers were."""

    newer: float = 0.0
    voted: float = 0.0
    team: float = 0.0


def _z(values: NDArray[np.float64]) -> NDArray[np.float64]:
    if len(values) < 2:
        return np.zeros(len(values))
    spread = float(values.std())
    out: NDArray[np.float64] = (values - values.mean()) / spread if spread > 1e-12 \
        else np.zeros(len(values))
    return out


def _newer(published: NDArray[np.float64]) -> NDArray[np.float64]:
    """Relative to the newest candidate, not to a clock: a model trained days ago ranks
    today's papers as it would have then (and the evaluation's cached models alike)."""
    if not np.isfinite(published).any():
        return np.zeros(len(published))
    # An undated paper counts as the oldest.
    known = np.nan_to_num(published, nan=float(np.nanmin(published)))
    out: NDArray[np.float64] = -np.log1p((known.max() - known) / 3600.0)
    return out


def team_sizes(corpus: Corpus, ids: Sequence[str]) -> NDArray[np.float64]:
    """log(1 + number of authors) of each paper (0 where unknown)."""
    authors = corpus.authors(ids)
    return np.log1p(np.asarray([len(authors.get(i, ())) for i in ids], dtype=np.float64))


def slate_features(content: NDArray[np.float64], published: NDArray[np.float64],
                   votes: NDArray[np.float64], habit: Habits,
                   team: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    """The features (FEATURES, in order) of candidates ranked together; ``team`` is
    ``team_sizes`` (None: the team terms read 0)."""
    newer, voted = _z(_newer(published)), _z(votes)
    size = _z(team) if team is not None else np.zeros(len(content))
    return np.column_stack([_z(content), newer, voted, newer * habit.newer,
                            voted * habit.voted, size, size * habit.team])


def habits(kept: Sequence[int], published: Sequence[NDArray[np.float64]],
           votes: Sequence[NDArray[np.float64]],
           teams: Sequence[NDArray[np.float64]] | None = None) -> Habits:
    """A reader's habits from their kept papers: ``kept[k]`` is the position of a kept
    paper in its day's slate, ``published[k]`` the slate's (POSIX seconds), ``votes[k]``
    its popularity and ``teams[k]`` its ``team_sizes``. The newer habit is the kept paper's
    mean rank by newness (0.5 the newest, -0.5 the oldest); the voted and team ones its
    mean z-scores; all shrunk toward 0 by SHRINK."""
    newer, voted, team = [], [], []
    sizes = teams if teams is not None else [None] * len(kept)
    for at, times, counts, size in zip(kept, published, votes, sizes, strict=True):
        if len(times) < 2:
            continue
        rank = np.argsort(np.argsort(_newer(times), kind="stable"), kind="stable")
        newer.append(rank[at] / (len(times) - 1) - 0.5)
        voted.append(float(_z(counts)[at]))
        team.append(float(_z(size)[at]) if size is not None else 0.0)
    n = len(newer) + SHRINK
    return Habits(float(sum(newer) / n), float(sum(voted) / n), float(sum(team) / n))


def corpus_slates(corpus: Corpus, positives: Sequence[Signal]) -> Slates | None:
    """The days of the newest HABIT_POSITIVES dated positives, as the corpus lists them
    (``day_slates``: StoreCorpus reads each day's papers in one query a day); None for a
    corpus without days."""
    read = getattr(corpus, "day_slates", None)
    if not callable(read):
        return None
    days = [p.at.date() for p in positives if p.at is not None][:HABIT_POSITIVES]
    found: dict[date, Sequence[str]] = read(days) if days else {}
    return lambda day: found.get(day, ())


def reader_habits(positives: Sequence[Signal], slates: Slates, space: FeatureSpace,
                  corpus: Corpus) -> Habits:
    """``habits`` of the newest HABIT_POSITIVES dated positives, each in its day's slate."""
    days: list[tuple[str, list[str]]] = []
    for s in [p for p in positives if p.at is not None][:HABIT_POSITIVES]:
        assert s.at is not None
        slate = list(dict.fromkeys(slates(s.at.date())))
        if s.arxiv_id in slate:
            days.append((s.arxiv_id, slate))
    if not days:
        return Habits()
    every = sorted({i for _, slate in days for i in slate})
    rows = space.rows(every, corpus)
    published = dict(zip(rows.ids, rows.published, strict=True))
    pop = corpus.popularity(every)
    sizes = rows.team if rows.team is not None else team_sizes(corpus, rows.ids)
    size = dict(zip(rows.ids, sizes, strict=True))
    kept, times, votes, teams = [], [], [], []
    for pid, slate in days:
        known = [i for i in slate if i in published]
        if pid not in known:
            continue
        kept.append(known.index(pid))
        times.append(np.asarray([published[i] for i in known]))
        votes.append(np.asarray([pop.get(i, 0.0) for i in known]))
        teams.append(np.asarray([size[i] for i in known]))
    return habits(kept, times, votes, teams)


@dataclass(frozen=True)
class Fusion:
    """The fitted weights of FEATURES (a logistic regression's, in z units)."""

    weights: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.weights) == BASE_FEATURES:
            object.__setattr__(self, "weights", (*self.weights, 0.0, 0.0))
        if len(self.weights) != len(FEATURES):
            raise ValueError(f"a fusion has {len(FEATURES)} weights (or the first "
                             f"{BASE_FEATURES}), not {len(self.weights)}")

    @property
    def key(self) -> str:
        """Eight hex digits naming these weights (a kept model is the same model only under
        the same weights; the store keeps a ranker's name in 32 characters)."""
        text = ",".join(f"{w:.4f}" for w in self.weights)
        return hashlib.sha256(text.encode()).hexdigest()[:8]

    @classmethod
    def fit(cls, slates: Sequence[tuple[NDArray[np.float64], NDArray[np.bool_]]],
            c: float = 1.0) -> Fusion:
        """Fit on (features, kept) per slate; needs at least one kept and one not."""
        x = np.vstack([f for f, _ in slates]) if slates else np.zeros((0, len(FEATURES)))
        y = np.concatenate([k for _, k in slates]) if slates else np.zeros(0, dtype=bool)
        if not y.any() or y.all():
            raise ValueError("fusion needs slates with kept and unkept papers")
        clf = LogisticRegression(C=c, max_iter=2000).fit(x, y)
        return cls(tuple(float(w) for w in clf.coef_[0]))

    def context(self, content: NDArray[np.float64], published: NDArray[np.float64],
                votes: NDArray[np.float64], habit: Habits,
                team: NDArray[np.float64] | None = None) -> dict[str, NDArray[np.float64]]:
        """The "recent", "votes" and "team" terms, in the content score's own units: the
        fused ranking is content + recent + votes + team (the mean of each term over the
        candidates is zero). Without a content weight above zero the terms are left out."""
        w = np.asarray(self.weights)
        spread = float(content.std()) if len(content) > 1 else 0.0
        x = slate_features(content, published, votes, habit, team)
        if w[0] <= 1e-9 or spread <= 1e-12:
            zero = np.zeros(len(content))
            return dict.fromkeys(("recent", "votes", "team", "newer", "voted", "larger"),
                                 zero)
        unit = spread / w[0]  # one z unit of the fused score, in content units
        # The sign of each paper's z-scores says which way it leans (newer or older, more
        # or less voted, a larger or smaller team than the papers beside it): the reason's
        # words follow it.
        return {"recent": unit * (x[:, [1, 3]] @ w[[1, 3]]),
                "votes": unit * (x[:, [2, 4]] @ w[[2, 4]]),
                "team": unit * (x[:, [5, 6]] @ w[[5, 6]]),
                "newer": np.sign(x[:, 1]), "voted": np.sign(x[:, 2]),
                "larger": np.sign(x[:, 5])}


# The product's fusion: the weights fitted on the Hugging Face submitters set (51 readers'
# slates before their first test day; BENCHMARKS.md, "Recommendations (issue 14)"), where
# the fused model beat the content model (MRR@10 0.848 against 0.826; fitted on either half
# of the readers it beat the five-feature fusion on the other half too). `paperwire eval
# recommend` fits its own on each folder; an instance ships these.
PRODUCT = Fusion((1.2453, 0.2928, -0.3701, 2.0528, 0.5053, 0.1784, 0.3095))
