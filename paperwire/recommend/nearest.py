"""The simplest ranker: each candidate scored by its nearest positive (the cold-start fallback)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from paperwire.recommend import Corpus, Profile, Reason, Recommendation

__all__ = ["NearestModel", "NearestSeed"]


@dataclass
class NearestModel:
    corpus: Corpus
    seed_ids: list[str]
    seeds: NDArray[np.float32]  # unit rows; the pasted text's vector, when any, is last
    negatives: NDArray[np.float32]

    def rank(self, candidates: Sequence[str], *, limit: int | None = None
             ) -> list[Recommendation]:
        ids, vecs = self.corpus.vectors(list(candidates))
        if not ids or not len(self.seeds):
            return []
        sims = vecs @ self.seeds.T
        best = sims.argmax(axis=1)
        scores = sims.max(axis=1)
        if len(self.negatives):
            # A "not interested" pulls its neighbours down by how near they are to it.
            scores = scores - 0.5 * np.clip((vecs @ self.negatives.T).max(axis=1), 0, None)
        titles = self.corpus.titles(self.seed_ids)
        out = []
        for k in np.argsort(-scores, kind="stable")[:limit]:
            j = int(best[k])
            reasons: tuple[Reason, ...] = ()
            if j < len(self.seed_ids):
                near = self.seed_ids[j]
                reasons = (Reason("near", f"because you kept “{titles.get(near, near)}”",
                                  papers=(near,), share=1.0),)
            out.append(Recommendation(ids[k], float(scores[k]),
                                      float(np.clip(scores[k], 0, 1)), reasons))
        return out

    def threshold(self, precision: float) -> float | None:
        return None


class NearestSeed:
    """Cosine similarity to the nearest positive (and the pasted abstract)."""

    name = "nearest"

    def train(self, profile: Profile, corpus: Corpus, *, now: datetime | None = None
              ) -> NearestModel:
        ids, seeds = corpus.vectors([s.arxiv_id for s in profile.positives])
        if profile.seed_text:
            pasted = corpus.embed([profile.seed_text])
            if pasted is not None:
                seeds = np.vstack([seeds, pasted]) if len(seeds) else pasted
        _, negatives = corpus.vectors([s.arxiv_id for s in profile.negatives])
        return NearestModel(corpus, ids, seeds, negatives)
