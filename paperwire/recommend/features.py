"""Corpus-wide features a profile's model reads: TF-IDF words, MiniLM vectors, author tokens.

Built once per corpus (the vocabulary, the IDF and every paper's rows) and reused by every
profile: training and ranking then only slice rows, so a page never featurises candidates.
Papers the space has not seen (added since it was built) are featurised on first use with
the same vocabulary and kept; ``FeatureSpace.stale`` says when a rebuild is worth it. A paper
featurised before it was embedded (ingested, not yet indexed) gets a zero vector row, so the
rows stay aligned with ``ids``, and its vector is looked up again, at most once a minute.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer

from paperwire.recommend import Corpus

__all__ = ["FeatureSpace", "Rows", "posix", "team_of", "word_vectorizer"]

# arxiv-sanity-lite's compute.py settings (sublinear tf, l2 rows, uni+bigrams, English stop
# words): on the HF set they beat a larger or unpruned vocabulary, and a reader can check them.
MAX_WORDS = 20_000
MIN_DF = 5
MAX_DF = 0.1
DIM = 384
VECTOR_RETRY_S = 60.0  # how often papers featurised without a vector are looked up again


def word_vectorizer(*, max_features: int = MAX_WORDS, min_df: int = MIN_DF,
                    max_df: float = MAX_DF) -> TfidfVectorizer:
    return TfidfVectorizer(
        input="content", encoding="utf-8", decode_error="replace", strip_accents="unicode",
        lowercase=True, analyzer="word", stop_words="english",
        token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b", ngram_range=(1, 2),
        max_features=max_features, norm="l2", use_idf=True, smooth_idf=True,
        sublinear_tf=True, max_df=max_df, min_df=min_df, dtype=np.float32)


@dataclass(frozen=True)
class Rows:
    """Some papers' features, in the order asked (unknown ids left out)."""

    ids: list[str]
    words: sp.csr_matrix  # l2-normalised TF-IDF
    vectors: NDArray[np.float32] | None  # unit rows (zero where a paper has none)
    authors: sp.csr_matrix  # 1/sqrt(#authors) per known author token
    published: NDArray[np.float64]  # POSIX seconds (nan where unknown)
    team: NDArray[np.float64] | None = None  # log(1 + #authors), all of them (team_sizes)


@dataclass
class FeatureSpace:
    """Every known paper's rows, indexed by arXiv id."""

    vectorizer: TfidfVectorizer
    ids: list[str]
    words: sp.csr_matrix
    vectors: NDArray[np.float16] | None
    author_index: dict[str, int]
    authors: sp.csr_matrix
    published: NDArray[np.float64]
    built_with: int = 0
    team: NDArray[np.float64] | None = None  # log(1 + #authors): the fusion's team size
    index: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _vocabulary: NDArray[np.str_] | None = field(default=None, repr=False)
    _author_names: list[str] | None = field(default=None, repr=False)
    _no_vector: set[str] = field(default_factory=set, repr=False)
    _vector_tried: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        if not self.index:
            self.index = {pid: k for k, pid in enumerate(self.ids)}
        self.built_with = self.built_with or len(self.ids)
        if self.team is None:
            self.team = np.zeros(len(self.ids))

    @property
    def vocabulary(self) -> NDArray[np.str_]:
        if self._vocabulary is None:
            self._vocabulary = self.vectorizer.get_feature_names_out()
        return self._vocabulary

    @property
    def author_names(self) -> list[str]:
        if self._author_names is None:
            self._author_names = sorted(self.author_index, key=self.author_index.__getitem__)
        return self._author_names

    @property
    def stale(self) -> bool:
        """True once a quarter more papers were added than the vocabulary was fitted on."""
        return len(self.ids) > 1.25 * max(self.built_with, 1)

    @classmethod
    def build(cls, corpus: Corpus, ids: Sequence[str], *, min_df: int = MIN_DF
              ) -> FeatureSpace:
        """Fit the vocabulary on ``ids`` and featurise them (once per corpus)."""
        ids = list(dict.fromkeys(ids))
        texts = corpus.texts(ids)
        ids = [i for i in ids if i in texts]
        return cls.fit(ids, [texts[i] for i in ids], corpus.authors(ids),
                       _published(corpus, ids), _vectors(corpus, ids), min_df=min_df)

    @classmethod
    def fit(cls, ids: list[str], texts: Sequence[str], authors: dict[str, tuple[str, ...]],
            published: NDArray[np.float64], vectors: NDArray[np.float16] | None, *,
            min_df: int = MIN_DF) -> FeatureSpace:
        """The space over papers already read (``texts`` in the order of ``ids``)."""
        # A tiny corpus (a test's, a new instance's) cannot afford min_df=5.
        vectorizer = word_vectorizer(min_df=min(min_df, max(1, len(ids) // 50)),
                                     max_df=MAX_DF if len(ids) >= 200 else 1.0)
        words = sp.csr_matrix(vectorizer.fit_transform(list(texts)))
        counts: dict[str, int] = {}
        for pid in ids:
            for name in set(authors.get(pid, ())):
                counts[name] = counts.get(name, 0) + 1
        # Authors of one paper only can never link two papers: left out.
        author_index = {a: k for k, a in enumerate(sorted(a for a, c in counts.items()
                                                          if c >= 2))}
        return cls(vectorizer, ids, words, vectors, author_index,
                   _author_rows(ids, authors, author_index), published,
                   team=team_of(ids, authors))

    def ensure(self, corpus: Corpus, ids: Sequence[str]) -> None:
        """Featurise the ``ids`` not yet known (with the fitted vocabulary) and keep them."""
        missing = [i for i in dict.fromkeys(ids) if i not in self.index]
        if not missing:
            return
        with self._lock:
            missing = [i for i in missing if i not in self.index]
            texts = corpus.texts(missing)
            missing = [i for i in missing if i in texts]
            if not missing:
                return
            words = sp.csr_matrix(self.vectorizer.transform([texts[i] for i in missing]))
            lists = corpus.authors(missing)
            authors = _author_rows(missing, lists, self.author_index)
            published = _published(corpus, missing)
            self.words = sp.csr_matrix(sp.vstack([self.words, words]))
            self.authors = sp.csr_matrix(sp.vstack([self.authors, authors]))
            self.published = np.concatenate([self.published, published])
            assert self.team is not None
            self.team = np.concatenate([self.team, team_of(missing, lists)])
            if self.vectors is not None:
                # One row per id whatever the corpus has: none of these papers embedded yet
                # must not shift the rows of every paper featurised after them.
                got, vecs = corpus.vectors(missing)
                rows = np.zeros((len(missing), self.vectors.shape[1]), dtype=np.float16)
                where = {pid: k for k, pid in enumerate(missing)}
                if got:
                    rows[[where[g] for g in got]] = vecs.astype(np.float16)
                self._no_vector.update(set(missing) - set(got))
                self.vectors = np.vstack([self.vectors, rows])
            start = len(self.ids)
            self.ids.extend(missing)
            self.index.update({pid: start + k for k, pid in enumerate(missing)})

    def rows(self, ids: Sequence[str], corpus: Corpus | None = None) -> Rows:
        """The features of ``ids`` (featurising unknown ones first when ``corpus`` is given)."""
        if corpus is not None:
            self.ensure(corpus, ids)
            if self._no_vector:
                self._fill_vectors(corpus, ids)
        known = [i for i in ids if i in self.index]
        at = np.asarray([self.index[i] for i in known], dtype=np.int64)
        vectors = (self.vectors[at].astype(np.float32) if self.vectors is not None
                   else None)
        return Rows(known, sp.csr_matrix(self.words[at]), vectors,
                    sp.csr_matrix(self.authors[at]), self.published[at],
                    self.team[at] if self.team is not None else None)

    def _fill_vectors(self, corpus: Corpus, ids: Sequence[str]) -> None:
        """The vectors of those ``ids`` featurised before they had one, once embedded."""
        now = time.monotonic()
        wanted = [i for i in ids if i in self._no_vector]
        if not wanted or now - self._vector_tried < VECTOR_RETRY_S:
            return
        self._vector_tried = now
        got, vecs = corpus.vectors(wanted)
        if not got or self.vectors is None:
            return
        with self._lock:
            # In place: a reader slicing meanwhile gets the zero row or the vector, both true.
            if not self.vectors.flags.writeable:
                self.vectors = self.vectors.copy()
            self.vectors[[self.index[g] for g in got]] = vecs.astype(np.float16)
            self._no_vector.difference_update(got)

    def papers_per_day(self, since: datetime, until: datetime) -> float:
        """How many papers the space holds published per day in [since, until)."""
        lo, hi = posix(since), posix(until)
        days = max((hi - lo) / 86400.0, 1.0)
        inside = np.count_nonzero((self.published >= lo) & (self.published < hi))
        return float(inside) / days


def team_of(ids: Sequence[str], lists: dict[str, tuple[str, ...]]) -> NDArray[np.float64]:
    """log(1 + number of authors) per paper (0 where unknown): the fusion's team size."""
    return np.log1p(np.asarray([len(lists.get(i, ())) for i in ids], dtype=np.float64))


def _author_rows(ids: Sequence[str], lists: dict[str, tuple[str, ...]],
                 index: dict[str, int]) -> sp.csr_matrix:
    rows, cols, vals = [], [], []
    for r, pid in enumerate(ids):
        known = sorted({index[a] for a in lists.get(pid, ()) if a in index})
        for c in known:
            rows.append(r)
            cols.append(c)
            vals.append(1.0 / np.sqrt(len(known)))
    return sp.csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)),
                         shape=(len(ids), len(index)))


def _vectors(corpus: Corpus, ids: Sequence[str]) -> NDArray[np.float16] | None:
    got, vecs = corpus.vectors(list(ids))
    if not got:
        return None
    out = np.zeros((len(ids), vecs.shape[1]), dtype=np.float16)
    where = {pid: k for k, pid in enumerate(ids)}
    out[[where[g] for g in got]] = vecs.astype(np.float16)
    return out


def _published(corpus: Corpus, ids: Sequence[str]) -> NDArray[np.float64]:
    times = getattr(corpus, "published", None)
    known: dict[str, datetime | None] = times(ids) if callable(times) else {}
    return np.asarray([(posix(t) if (t := known.get(i)) is not None else np.nan)
                       for i in ids], dtype=np.float64)


def posix(at: datetime) -> float:
    """Seconds since the epoch; a naive time is UTC, as the store keeps it."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()
