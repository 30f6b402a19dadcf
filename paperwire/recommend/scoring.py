"""A trained profile's model: its terms per candidate, the ranking, and reasons read off them."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from paperwire.recommend import Corpus, Reason, Recommendation
from paperwire.recommend.calibration import Calibration, Estimate
from paperwire.recommend.features import FeatureSpace, Rows
from paperwire.recommend.fusion import Fusion, Habits, team_sizes

__all__ = ["MEANING", "Design", "LinearModel", "Terms", "design", "stack"]

# Block weights in the joint row (each block is at most unit length). MiniLM at half the
# words' weight: on the HF submitters set 0.5 beat 1 and 2 and 0.25 on both halves of the
# users (BENCHMARKS.md); the words carry names and terms a 384-d vector blurs.
MEANING = 0.5
AUTHORS = 1.0
FOLLOWED = 1.0  # a followed author adds this much log-odds
NEAR_FLOOR = 0.5  # a "not interested" pulls neighbours down by this times their cosine to it
TERMS = ("words", "meaning", "authors", "followed", "recent", "team", "trending")


def stack(a: Rows, b: Rows) -> Rows:
    vectors = (np.vstack([a.vectors, b.vectors]) if a.vectors is not None
               and b.vectors is not None else None)
    team = (np.concatenate([a.team, b.team]) if a.team is not None and b.team is not None
            else None)
    return Rows([*a.ids, *b.ids], sp.csr_matrix(sp.vstack([a.words, b.words])), vectors,
                sp.csr_matrix(sp.vstack([a.authors, b.authors])),
                np.concatenate([a.published, b.published]), team)


def joint(rows: Rows) -> sp.csr_matrix:
    blocks: list[sp.spmatrix] = [rows.words]
    if rows.vectors is not None:
        blocks.append(sp.csr_matrix(MEANING * rows.vectors))
    blocks.append(AUTHORS * rows.authors)
    return sp.csr_matrix(sp.hstack(blocks))


def _row(m: sp.csr_matrix, k: int) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
    """Row ``k``'s columns and values, straight from the CSR arrays (slicing a row builds a
    matrix: too slow for every shown card)."""
    lo, hi = int(m.indptr[k]), int(m.indptr[k + 1])
    return m.indices[lo:hi], m.data[lo:hi]


def _subset(rows: Rows, at: NDArray[np.int64]) -> Rows:
    return Rows([rows.ids[int(k)] for k in at], sp.csr_matrix(rows.words[at]),
                rows.vectors[at] if rows.vectors is not None else None,
                sp.csr_matrix(rows.authors[at]), rows.published[at],
                rows.team[at] if rows.team is not None else None)


@dataclass(frozen=True)
class Terms:
    """A fitted model's weights, split back into its blocks."""

    words: NDArray[np.float32]
    vectors: NDArray[np.float32] | None
    authors: NDArray[np.float32]
    bias: float


@dataclass(frozen=True)
class Design:
    """The training rows: positives, then negatives, then background; weights balanced."""

    x: sp.csr_matrix
    y: NDArray[np.int64]
    w: NDArray[np.float64]
    background: NDArray[np.bool_]
    n_words: int
    n_vectors: int

    def split(self, coef: NDArray[np.float64], bias: float) -> Terms:
        # float32 like the rows: a month of candidates is not upcast on every page view;
        # rounded to float16 first, as the model is kept (paperwire.recommend.saved), so the
        # process that trained it ranks exactly as every process that loads it.
        a, b = self.n_words, self.n_words + self.n_vectors
        w = coef.astype(np.float16).astype(np.float32)
        return Terms(w[:a], MEANING * w[a:b] if self.n_vectors else None,
                     AUTHORS * w[b:], bias)


def design(pos: Rows, pos_w: NDArray[np.float64], neg: Rows, neg_w: NDArray[np.float64],
           bg: Rows) -> Design:
    rows = stack(stack(pos, neg), bg)
    y = np.concatenate([np.ones(len(pos.ids)), np.zeros(len(neg.ids) + len(bg.ids))])
    # Balanced, as arxiv-sanity's SVM: the positives together weigh as much as the
    # background together. A "not interested" is as strong as one positive (times its
    # signal weight): a handful of them must move the model, not drown in the background.
    each = 1.0 / max(len(pos.ids), 1)
    w = np.concatenate([pos_w / max(pos_w.sum(), 1e-12), neg_w * each,
                        np.full(len(bg.ids), 1.0 / max(len(bg.ids), 1))])
    w *= len(w) / 2
    background = np.concatenate([np.zeros(len(pos.ids) + len(neg.ids), dtype=bool),
                                 np.ones(len(bg.ids), dtype=bool)])
    n_vectors = rows.vectors.shape[1] if rows.vectors is not None else 0
    return Design(joint(rows), y.astype(np.int64), w, background, rows.words.shape[1],
                  n_vectors)


@dataclass
class LinearModel:
    """One profile's trained model (see paperwire.recommend.linear)."""

    space: FeatureSpace
    corpus: Corpus
    positives: Rows
    followed: frozenset[str] = frozenset()
    trending: float = 0.0
    terms: Terms | None = None
    spread: float = 1.0
    negatives: Rows | None = None
    prior_logit: float = 0.0
    calibrate: Callable[[], Calibration] | None = None
    fusion: Fusion | None = None  # recency and votes, weighed by a model fitted across readers
    habits: Habits = field(default_factory=Habits)
    _calibration: Calibration | None = field(default=None, repr=False)

    def fit(self, terms: Terms, spread: float = 1.0) -> None:
        self.terms, self.spread = terms, max(spread, 1e-6)

    def nearest(self, negatives: Rows) -> None:
        """Below a few positives: score by the nearest positive instead of a fitted model."""
        self.terms, self.negatives = None, negatives

    # --- scores ----------------------------------------------------------------------------
    def term_arrays(self, rows: Rows) -> tuple[dict[str, NDArray[np.float64]],
                                                NDArray[np.int64]]:
        """Each term per candidate, in score units, and each candidate's nearest positive."""
        n = len(rows.ids)
        terms = dict.fromkeys(TERMS, np.zeros(n))
        # A fitted model's scores do not need the nearest positive: found later, for the
        # shown candidates only (a month of candidates times hundreds of positives).
        near = (self._nearest_positive(rows) if self.terms is None
                else np.full(n, -1, dtype=np.int64))
        if self.terms is not None:
            terms["words"] = np.asarray(rows.words @ self.terms.words, dtype=np.float64)
            if rows.vectors is not None and self.terms.vectors is not None:
                terms["meaning"] = np.asarray(rows.vectors @ self.terms.vectors,
                                              dtype=np.float64)
            terms["authors"] = np.asarray(rows.authors @ self.terms.authors,
                                          dtype=np.float64)
        elif len(self.positives.ids):
            terms = {**terms, **self._nearest_terms(rows, near)}
        if self.followed:
            terms["followed"] = FOLLOWED * self._by_followed(rows)
        pop = (self.corpus.popularity(rows.ids) if self.trending > 0 or self.fusion
               else {})
        votes = np.asarray([pop.get(i, 0.0) for i in rows.ids])
        if self.fusion is not None and self.terms is not None:
            terms.update(self._context(rows, terms, votes))
        keep = 1.0 - self.trending
        terms = {k: (keep * v if k in TERMS else v) for k, v in terms.items()}
        if self.trending > 0:
            # Kept apart too: the card says "trending" for the slider's part, and for the
            # fusion's part only where that part is what the paper's votes earned it.
            terms["slider"] = self.trending * self.spread * votes
            terms["trending"] = terms["trending"] + terms["slider"]
        return terms, near

    def _context(self, rows: Rows, terms: dict[str, NDArray[np.float64]],
                 votes: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
        """The fusion's recency and votes terms (paperwire.recommend.fusion), in the
        content score's units; the votes term is the community ("trending") one."""
        assert self.fusion is not None
        content = sum((terms[k] for k in ("words", "meaning", "authors", "followed")),
                      np.zeros(len(rows.ids)))
        team = rows.team if rows.team is not None else team_sizes(self.corpus, rows.ids)
        context = self.fusion.context(content, rows.published, votes, self.habits, team)
        return {"recent": context["recent"], "trending": context["votes"],
                "team": context["team"], "newer": context["newer"],
                "voted": context["voted"], "larger": context["larger"]}

    def _by_followed(self, rows: Rows) -> NDArray[np.float64]:
        """1 where a candidate has a followed author, read from the space's author rows;
        the store is asked only about followed authors the space does not index yet."""
        index = self.space.author_index
        cols = [index[a] for a in self.followed if a in index]
        hit = np.zeros(len(rows.ids), dtype=bool)
        if cols:
            hit = np.asarray((rows.authors[:, cols] != 0).sum(axis=1)).ravel() > 0
        rest = self.followed - set(index)
        if rest:
            lists = self.corpus.authors(rows.ids)
            hit = hit | np.asarray([bool(rest & set(lists.get(i, ()))) for i in rows.ids])
        return np.asarray(hit, dtype=np.float64)

    def _similarities(self, rows: Rows, other: Rows) -> NDArray[np.float64]:
        sims = np.asarray((rows.words @ other.words.T).toarray(), dtype=np.float64)
        if rows.vectors is not None and other.vectors is not None:
            sims = sims + MEANING * (rows.vectors @ other.vectors.T)
        return sims

    def _nearest_positive(self, rows: Rows) -> NDArray[np.int64]:
        """The positive each candidate is nearest to: by the whole row for a nearest-seed
        model (its score is that similarity), by meaning for a fitted one (the "near"
        reason stands for the meaning term), by words where there are no vectors."""
        p = self.positives
        if not len(p.ids) or not len(rows.ids):
            return np.full(len(rows.ids), -1, dtype=np.int64)
        if self.terms is not None and rows.vectors is not None and p.vectors is not None:
            return np.asarray((rows.vectors @ p.vectors.T).argmax(axis=1))
        if self.terms is not None:
            return np.asarray((rows.words @ p.words.T).toarray().argmax(axis=1))
        return np.asarray(self._similarities(rows, p).argmax(axis=1))

    def _nearest_terms(self, rows: Rows, near: NDArray[np.int64]
                       ) -> dict[str, NDArray[np.float64]]:
        p = self.positives
        words = np.asarray(rows.words.multiply(p.words[near]).sum(axis=1)).ravel()
        meaning = np.zeros(len(rows.ids))
        if rows.vectors is not None and p.vectors is not None:
            meaning = MEANING * (rows.vectors * p.vectors[near]).sum(axis=1)
        if self.negatives is not None and len(self.negatives.ids):
            worst = self._similarities(rows, self.negatives).max(axis=1)
            meaning = meaning - NEAR_FLOOR * np.clip(worst, 0, None)
        return {"words": words, "meaning": meaning}

    def scores(self, candidates: Sequence[str]) -> tuple[Rows, NDArray[np.float64]]:
        rows = self.space.rows(list(candidates), self.corpus)
        terms, _ = self.term_arrays(rows)
        bias = (1 - self.trending) * (self.terms.bias if self.terms is not None else 0.0)
        return rows, bias + sum((terms[k] for k in TERMS), np.zeros(len(rows.ids)))

    def rank(self, candidates: Sequence[str], *, limit: int | None = None
             ) -> list[Recommendation]:
        if not len(self.positives.ids) and self.trending <= 0 and not self.followed:
            return []
        rows = self.space.rows(list(dict.fromkeys(candidates)), self.corpus)
        if not rows.ids:
            return []
        terms, near = self.term_arrays(rows)
        bias = (1 - self.trending) * (self.terms.bias if self.terms is not None else 0.0)
        score = bias + sum((terms[k] for k in TERMS), np.zeros(len(rows.ids)))
        order = np.argsort(-score, kind="stable")[:limit]
        if self.terms is not None:
            near[order] = self._nearest_positive(_subset(rows, order))
        # Only the positives a shown reason names: a profile may hold hundreds.
        titles = self.corpus.titles(sorted({self.positives.ids[int(near[k])] for k in order
                                            if near[k] >= 0}))
        out = []
        for k in order:
            k = int(k)
            reasons = self._reasons(rows, k, {t: float(v[k]) for t, v in terms.items()},
                                    int(near[k]), titles)
            out.append(Recommendation(rows.ids[k], float(score[k]),
                                      self._probability(float(score[k])), reasons))
        return out

    def _probability(self, score: float) -> float:
        if self.terms is None:
            return float(np.clip(score / (1 + MEANING), 0.0, 1.0))
        return 1.0 / (1.0 + math.exp(-(score + self.prior_logit)))

    # --- reasons ---------------------------------------------------------------------------
    def _reasons(self, rows: Rows, k: int, terms: dict[str, float], near: int,
                 titles: dict[str, str]) -> tuple[Reason, ...]:
        """Each reason's contribution in score units, and its share of everything that
        speaks for the paper (the positive per-word and per-author products, the positive
        meaning, followed and trending terms)."""
        keep = 1.0 - self.trending
        words, amount, words_for = self._top_words(rows, k, near)
        names, _, authors_for = self._top_authors(rows, k)
        parts = {"words": keep * words_for, "meaning": max(terms["meaning"], 0.0),
                 "authors": keep * authors_for + max(terms["followed"], 0.0),
                 "recent": max(terms["recent"], 0.0), "team": max(terms["team"], 0.0),
                 "trending": max(terms["trending"], 0.0)}
        total = sum(parts.values())
        if total <= 0:
            return ()
        out: list[Reason] = []
        if words and amount > 0:
            out.append(Reason("words", "the words " + ", ".join(f"“{w}”" for w in words),
                              words=tuple(words), share=keep * amount / total,
                              contribution=keep * amount))
        if parts["meaning"] > 0 and near >= 0:
            pid = self.positives.ids[near]
            out.append(Reason("near", f"because you kept “{titles.get(pid, pid)}”",
                              papers=(pid,), share=parts["meaning"] / total,
                              contribution=parts["meaning"]))
        if parts["authors"] > 0:
            shown = names or sorted(self.followed & set(
                self.corpus.authors([rows.ids[k]]).get(rows.ids[k], ())))
            out.append(Reason("author", "by " + ", ".join(shown[:2]), words=tuple(shown[:2]),
                              share=parts["authors"] / total, contribution=parts["authors"]))
        if parts["recent"] > 0:
            out.append(Reason("recent", ("newer" if terms.get("newer", 1) >= 0 else "older")
                              + " than most papers beside it, as the ones you kept",
                              share=parts["recent"] / total, contribution=parts["recent"]))
        if parts["team"] > 0:
            out.append(Reason("team", ("a larger" if terms.get("larger", 1) >= 0 else "a smaller")
                              + " team than most papers beside it, as the ones you kept",
                              share=parts["team"] / total, contribution=parts["team"]))
        if parts["trending"] > 0:
            # A fusion whose reader kept less-voted papers lifts the less-voted ones: the
            # card says so, unless the slider's votes term is the larger part.
            slider = terms.get("slider", 0.0)
            quiet = terms.get("voted", 1) < 0 and slider < parts["trending"] - slider
            out.append(Reason("trending", "fewer votes than most papers beside it, as the "
                              "ones you kept" if quiet else "trending in the community",
                              share=parts["trending"] / total,
                              contribution=parts["trending"]))
        return tuple(sorted(out, key=lambda r: -r.contribution))

    def _top_words(self, rows: Rows, k: int, near: int, n: int = 3
                   ) -> tuple[list[str], float, float]:
        """The ``n`` words adding most, what they add, and what all adding words add."""
        indices, data = _row(rows.words, k)
        if self.terms is not None:
            parts = data * self.terms.words[indices]
        elif near >= 0:
            parts = data * np.asarray(self.positives.words[near, indices].toarray()).ravel()
        else:
            return [], 0.0, 0.0
        top = [j for j in np.argsort(-parts)[:n] if parts[j] > 0]
        vocab = self.space.vocabulary
        return ([str(vocab[indices[j]]) for j in top], float(parts[top].sum()),
                float(parts[parts > 0].sum()))

    def _top_authors(self, rows: Rows, k: int, n: int = 2) -> tuple[list[str], float, float]:
        indices, data = _row(rows.authors, k)
        if self.terms is None or not len(indices):
            return [], 0.0, 0.0
        parts = data * self.terms.authors[indices]
        top = [j for j in np.argsort(-parts)[:n] if parts[j] > 0]
        names = self.space.author_names
        return ([names[indices[j]] for j in top], float(parts[top].sum()),
                float(parts[parts > 0].sum()))

    # --- calibration -----------------------------------------------------------------------
    def calibration(self) -> Calibration | None:
        if self._calibration is None and self.calibrate is not None:
            self._calibration = self.calibrate()
        return self._calibration

    def threshold(self, precision: float) -> float | None:
        cal = self.calibration()
        t = cal.threshold(precision) if cal is not None else None
        return None if t is None else (1 - self.trending) * t

    def estimate(self, precision: float) -> Estimate | None:
        """About how many papers a day pass ``threshold(precision)``, and how many of them
        the reader would keep, by the profile's own history."""
        cal = self.calibration()
        return cal.estimate(precision) if cal is not None else None
