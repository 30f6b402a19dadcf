"""The rankers paperwire is measured against: three peers, reimplemented, and trending and newest.

- ``ArxivSanitySvm``: karpathy/arxiv-sanity-lite. compute.py fits a TfidfVectorizer on
  "title summary author names" of every paper (strip_accents unicode, lowercase, English
  stop words, token pattern ``\\b[a-zA-Z_][a-zA-Z0-9_]+\\b``, uni+bigrams, max_features 20000,
  l2 norm, smooth idf, sublinear tf, min_df 5, max_df 0.1); serve.py trains per tag a
  ``LinearSVC(class_weight='balanced', C=0.01, tol=1e-6, max_iter=10000)`` with the tag's
  papers as positives and every other paper as negatives, and ranks by decision_function.
- ``ZoteroSimilarity``: TideDra/zotero-arxiv-daily recommender.py ``rerank_paper``: the
  library sorted newest first, weights ``1/(1+log10(rank))`` normalised to sum 1, and a
  candidate's score ``10 * sum_j weight_j * cos(candidate, library_j)``. It encodes abstracts
  with GIST-small; here the instance's MiniLM vectors of title and abstract are used.
- ``ScholarInboxLogreg``: Scholar Inbox (Flicke et al., 2025): a per-user logistic
  regression over dense paper embeddings, trained on the reader's explicit ratings, with
  random papers as negatives where the reader rated few.
- ``Trending`` (community votes; newest where there are none) and ``Newest``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from paperwire.recommend import Corpus, Profile, Recommendation
from paperwire.recommend.features import FeatureSpace, posix, word_vectorizer
from paperwire.recommend.linear import BACKGROUND, feature_space, recency_weights

__all__ = ["ANCHORS", "ArxivSanitySvm", "Newest", "ScholarInboxLogreg", "ScoredModel",
           "Trending", "ZoteroSimilarity"]


@dataclass
class ScoredModel:
    """A model that is a score function over candidate ids (no reasons, no calibration)."""

    score: Callable[[list[str]], tuple[list[str], NDArray[np.float64]]]

    def rank(self, candidates: Sequence[str], *, limit: int | None = None
             ) -> list[Recommendation]:
        ids, scores = self.score(list(dict.fromkeys(candidates)))
        order = np.argsort(-scores, kind="stable")[:limit]
        return [Recommendation(ids[k], float(scores[k]), 0.0) for k in order]

    def threshold(self, precision: float) -> float | None:
        return None


def _nothing(ids: list[str]) -> tuple[list[str], NDArray[np.float64]]:
    return [], np.zeros(0)


def _newest_first(profile: Profile) -> list[str]:
    seen = sorted(profile.positives, key=lambda s: s.at or datetime.min, reverse=True)
    return list(dict.fromkeys(s.arxiv_id for s in seen))


class ArxivSanitySvm:
    """arxiv-sanity-lite's per-tag SVM (see the module docstring)."""

    name = "arxiv-sanity-svm"

    def __init__(self) -> None:
        self._built: tuple[int, list[str], dict[str, int], sp.csr_matrix] | None = None

    def _features(self, corpus: Corpus, space: FeatureSpace
                  ) -> tuple[list[str], dict[str, int], sp.csr_matrix]:
        if self._built is None or self._built[0] != id(space):
            ids = list(space.ids)
            texts, authors = corpus.texts(ids), corpus.authors(ids)
            docs = [" ".join([texts.get(i, ""), " ".join(authors.get(i, ()))]) for i in ids]
            small = len(ids) < 200  # a test's corpus cannot afford compute.py's pruning
            vectorizer = word_vectorizer(min_df=1 if small else 5,
                                         max_df=1.0 if small else 0.1)
            x = sp.csr_matrix(vectorizer.fit_transform(docs))
            self._built = (id(space), ids, {p: k for k, p in enumerate(ids)}, x)
        return self._built[1], self._built[2], self._built[3]

    def train(self, profile: Profile, corpus: Corpus, *, now: datetime | None = None
              ) -> ScoredModel:
        positives = set(_newest_first(profile))
        space = feature_space(corpus, list(positives))
        ids, index, x = self._features(corpus, space)
        # Its database holds every paper up to now: those are the negatives.
        published = space.rows(ids).published
        known = np.isnan(published) | (published < posix(now)) if now else np.ones(len(ids),
                                                                                   bool)
        y = np.asarray([i in positives for i in ids]) & known
        if not y.any():
            return ScoredModel(_nothing)
        clf = LinearSVC(class_weight="balanced", C=0.01, tol=1e-6, max_iter=10000)
        clf.fit(x[known], y[known].astype(int))

        def score(cands: list[str]) -> tuple[list[str], NDArray[np.float64]]:
            got = [c for c in cands if c in index]
            if not got:
                return [], np.zeros(0)
            return got, np.asarray(clf.decision_function(x[[index[c] for c in got]]))

        return ScoredModel(score)


class ZoteroSimilarity:
    """zotero-arxiv-daily's recency-weighted similarity to the library."""

    name = "zotero-similarity"

    def train(self, profile: Profile, corpus: Corpus, *, now: datetime | None = None
              ) -> ScoredModel:
        library = _newest_first(profile)
        ids, vectors = corpus.vectors(library)
        if not ids:
            return ScoredModel(_nothing)
        weight = recency_weights(len(ids))
        weight = weight / weight.sum()

        def score(cands: list[str]) -> tuple[list[str], NDArray[np.float64]]:
            got, vecs = corpus.vectors(cands)
            return got, np.asarray((vecs @ vectors.T) @ weight * 10, dtype=np.float64)

        return ScoredModel(score)


class ScholarInboxLogreg:
    """Scholar Inbox's per-user logistic regression over dense embeddings."""

    name = "scholar-inbox-logreg"

    def train(self, profile: Profile, corpus: Corpus, *, now: datetime | None = None
              ) -> ScoredModel:
        pos_ids, pos = corpus.vectors(_newest_first(profile))
        if not pos_ids:
            return ScoredModel(_nothing)
        rated = {s.arxiv_id for s in profile.negatives}
        drawn = corpus.background(BACKGROUND, before=now, seed=1)
        others = [i for i in dict.fromkeys([*rated, *drawn]) if i not in set(pos_ids)]
        _, neg = corpus.vectors(others)
        if not len(neg):
            return ScoredModel(_nothing)
        clf = LogisticRegression(class_weight="balanced", max_iter=1000)
        clf.fit(np.vstack([pos, neg]), np.r_[np.ones(len(pos)), np.zeros(len(neg))])

        def score(cands: list[str]) -> tuple[list[str], NDArray[np.float64]]:
            got, vecs = corpus.vectors(cands)
            if not got:
                return [], np.zeros(0)
            return got, np.asarray(clf.decision_function(vecs), dtype=np.float64)

        return ScoredModel(score)


def _newest_scores(corpus: Corpus, cands: list[str]) -> tuple[list[str], NDArray[np.float64]]:
    space = feature_space(corpus, cands)
    rows = space.rows(cands, corpus)
    return rows.ids, np.nan_to_num(rows.published, nan=0.0)


class Newest:
    """The newest candidates first: what a reader sees with no model at all."""

    name = "newest"

    def train(self, profile: Profile, corpus: Corpus, *, now: datetime | None = None
              ) -> ScoredModel:
        return ScoredModel(lambda cands: _newest_scores(corpus, cands))


class Trending:
    """The most voted candidates first; newest first where none has a vote."""

    name = "trending"

    def train(self, profile: Profile, corpus: Corpus, *, now: datetime | None = None
              ) -> ScoredModel:
        def score(cands: list[str]) -> tuple[list[str], NDArray[np.float64]]:
            ids, newest = _newest_scores(corpus, cands)
            pop = corpus.popularity(ids, at=now)
            votes = np.asarray([pop.get(i, 0.0) for i in ids])
            if not votes.any():
                return ids, newest
            # Newest breaks ties: a tiny fraction of a vote, never enough to pass one.
            order = np.argsort(np.argsort(newest)) / max(len(ids), 1)
            return ids, votes + 1e-6 * order

        return ScoredModel(score)


ANCHORS: tuple[Callable[[], object], ...] = (ArxivSanitySvm, ZoteroSimilarity,
                                             ScholarInboxLogreg, Trending, Newest)
