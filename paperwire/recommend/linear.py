"""paperwire's ranker: one linear model per profile over TF-IDF words, MiniLM vectors and authors.

A logistic regression learns the reader's positives (weighted by recency, as
zotero-arxiv-daily weights its library) against their "not interested" papers and background
papers, over one row per paper: the l2 TF-IDF words, the unit MiniLM vector and the authors
side by side (paperwire.recommend.features). A candidate's score is the sum of its terms:

    score = (1 - trending) * (bias + words + meaning + authors + followed
                              + recent + team + votes) + trending * S * pop

(``recent``, ``team`` and ``votes`` only with a fusion fitted across readers, in
content-score units: paperwire.recommend.fusion) and every reason is one of those terms:
"words" the largest per-word products w_i * x_i, "near" the meaning term (naming the
positive nearest the candidate), "author" the learned and followed author terms, "recent"
the fusion's recency term, "team" its team-size term, "trending" the community terms.
``Reason.contribution`` is the term in score units; ``share`` its part of all terms that
speak for the paper. Below ``MIN_POSITIVES`` the model is a nearest-seed one: the score is
the cosine to the nearest positive in the same feature space, and its reasons the terms of
that cosine.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from paperwire.recommend import Corpus, Profile, Signal
from paperwire.recommend.calibration import Calibration
from paperwire.recommend.features import FeatureSpace, Rows, posix
from paperwire.recommend.fusion import Fusion, Slates, corpus_slates, reader_habits
from paperwire.recommend.scoring import Design, LinearModel, Terms, design, stack

__all__ = ["LinearRanker", "feature_space"]

BACKGROUND = 3000  # "everything else": enough to pin down common words, fast to fit
SETTLE = timedelta(days=7)  # newer papers may still be saved: not evidence of disinterest
MIN_POSITIVES = 3
C = 1.0  # liblinear's default; the rows are unit length, so no per-corpus rescaling
# The dual solver: far fewer rows (a few thousand) than features (words + 384 + authors).
FOLDS = 3


def feature_space(corpus: Corpus, ids: Sequence[str]) -> FeatureSpace:
    """The corpus's own space when it keeps one (StoreCorpus), else one fitted on ``ids``."""
    features = getattr(corpus, "features", None)
    if callable(features):
        space = features()
        if isinstance(space, FeatureSpace):
            return space
    return FeatureSpace.build(corpus, ids)


def _positives(profile: Profile) -> list[Signal]:
    """One signal per paper (its latest), newest first; undated ones last."""
    latest: dict[str, Signal] = {}
    for s in profile.positives:
        old = latest.get(s.arxiv_id)
        if old is None or (s.at or datetime.min) >= (old.at or datetime.min):
            latest[s.arxiv_id] = s
    return sorted(latest.values(), key=lambda s: s.at or datetime.min, reverse=True)


def recency_weights(n: int) -> np.ndarray:
    """zotero-arxiv-daily's 1/(1+log10(rank)) over the newest-first list, mean 1."""
    w = 1.0 / (1.0 + np.log10(np.arange(1, n + 1)))
    return np.asarray(w * n / w.sum(), dtype=np.float64)


class LinearRanker:
    """paperwire's default ranker (see the module docstring)."""

    def __init__(self, *, background: int = BACKGROUND, c: float = C,
                 fusion: Fusion | None = None, slates: Slates | None = None,
                 name: str = "paperwire") -> None:
        """``fusion`` (fitted across readers: paperwire.recommend.fusion) adds the recency
        and votes terms; ``slates`` (the papers seen on a day; default: the corpus's
        ``day_slates``) give the reader's habits. Without a fusion the score is the
        profile's content alone."""
        self.background = background
        self.c = c
        self.fusion = fusion
        self.slates = slates
        self.name = name

    @property
    def key(self) -> str:
        """What a kept model was trained by: the name, and the fusion's weights if any."""
        return f"{self.name}+fusion-{self.fusion.key}" if self.fusion else self.name

    def train(self, profile: Profile, corpus: Corpus, *, now: datetime | None = None
              ) -> LinearModel:
        positives = _positives(profile)
        pos_ids = [s.arxiv_id for s in positives]
        neg = {s.arxiv_id: s for s in profile.negatives if s.arxiv_id not in set(pos_ids)}
        before = (now - SETTLE) if now is not None else None
        seed = zlib.crc32(",".join(sorted(pos_ids)).encode())
        bg_ids = [i for i in corpus.background(self.background, before=before, seed=seed)
                  if i not in neg and i not in set(pos_ids)]
        space = feature_space(corpus, [*pos_ids, *neg, *bg_ids])
        pos = space.rows(pos_ids, corpus)
        weights = dict(zip(pos_ids, recency_weights(len(pos_ids)) *
                           np.asarray([s.weight for s in positives]), strict=True))
        pos_w = np.asarray([weights[i] for i in pos.ids])
        pasted = _pasted(space, corpus, profile.seed_text)
        if pasted is not None:
            pos = stack(pos, pasted)
            pos_w = np.append(pos_w, 1.0)
        negs = space.rows(list(neg), corpus)
        neg_w = np.asarray([neg[i].weight for i in negs.ids])
        bg = space.rows(bg_ids, corpus)
        model = LinearModel(space=space, corpus=corpus, positives=pos,
                            followed=frozenset(profile.authors), trending=profile.trending)
        # Nothing to learn against (a new instance, or a history older than every other
        # paper): the nearest-seed model, as below a few positives.
        if len(pos.ids) + (pasted is not None) < MIN_POSITIVES or not (negs.ids or bg.ids):
            model.nearest(negs)
            return model
        d = design(pos, pos_w, negs, neg_w, bg)
        model.fit(*_fit(d, self.c))
        model.calibrate = lambda: _calibrate(d, self.c, space, pos, now)
        model.prior_logit = _prior_logit(space, pos, now)
        if self.fusion is not None:
            model.fusion = self.fusion
            slates = self.slates or corpus_slates(corpus, positives)
            if slates is not None:
                model.habits = reader_habits(positives, slates, space, corpus)
        return model


def _pasted(space: FeatureSpace, corpus: Corpus, text: str) -> Rows | None:
    if not text.strip():
        return None
    words = sp.csr_matrix(space.vectorizer.transform([text]))
    vectors = corpus.embed([text]) if space.vectors is not None else None
    if space.vectors is not None and vectors is None:
        vectors = np.zeros((1, space.vectors.shape[1]), dtype=np.float32)
    return Rows(["(pasted)"], words, vectors, sp.csr_matrix((1, len(space.author_index)),
                                                           dtype=np.float32),
                np.asarray([np.nan]))


def _fit(d: Design, c: float) -> tuple[Terms, float]:
    """The fitted terms, and the spread of the scores over the background (the unit the
    trending slider mixes community votes in at)."""
    clf = LogisticRegression(C=c, solver="liblinear", dual=True, max_iter=1000)
    clf.fit(d.x, d.y, sample_weight=d.w)
    coef = np.asarray(clf.coef_[0], dtype=np.float64)
    spread = float(np.std(d.x[d.background] @ coef)) if d.background.any() else 1.0
    return d.split(coef, float(clf.intercept_[0])), spread


def _span(space: FeatureSpace, pos: Rows, now: datetime | None) -> tuple[float, float]:
    """The profile's history as (first positive, now) in POSIX seconds."""
    times = pos.published[~np.isnan(pos.published)]
    end = posix(now) if now is not None else (float(np.nanmax(space.published))
                                              if np.isfinite(space.published).any() else 0.0)
    start = float(times.min()) if len(times) else end - 365 * 86400.0
    return start, max(end, start + 86400.0)


def _prior(space: FeatureSpace, pos: Rows, now: datetime | None) -> tuple[float, float]:
    """(share of the papers published over the history that the reader kept, papers a day)."""
    start, end = _span(space, pos, now)
    inside = int(np.count_nonzero((space.published >= start) & (space.published < end)))
    per_day = inside / ((end - start) / 86400.0)
    if inside == 0:
        inside, per_day = len(space.ids), len(space.ids) / 365.0
    return min(max(len(pos.ids) / max(inside, 1), 1e-4), 0.5), float(per_day)


def _prior_logit(space: FeatureSpace, pos: Rows, now: datetime | None) -> float:
    p, _ = _prior(space, pos, now)
    return math.log(p / (1 - p))


def _calibrate(d: Design, c: float, space: FeatureSpace, pos: Rows, now: datetime | None
               ) -> Calibration:
    """Out-of-fold scores of every training row (the folds interleave rows, reproducibly)."""
    prior, per_day = _prior(space, pos, now)
    n_pos = int(d.y.sum())
    if n_pos < FOLDS * 2:
        return Calibration(np.zeros(0), np.zeros(0), prior, per_day)
    fold = np.zeros(len(d.y), dtype=np.int64)
    for label in (0, 1):
        where = np.flatnonzero(d.y == label)
        fold[where] = np.arange(len(where)) % FOLDS
    scores = np.zeros(len(d.y))
    for k in range(FOLDS):
        train, held = fold != k, fold == k
        clf = LogisticRegression(C=c, solver="liblinear", dual=True, max_iter=1000)
        clf.fit(d.x[train], d.y[train], sample_weight=d.w[train])
        scores[held] = clf.decision_function(d.x[held])
    # float32, as the model is kept: the threshold is one of these scores, the same anywhere.
    scores = scores.astype(np.float32).astype(np.float64)
    return Calibration(scores[d.y == 1], scores[(d.y == 0) & d.background], prior, per_day)


