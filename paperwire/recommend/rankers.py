"""The rankers an instance can use, by name, the one it uses unless told otherwise, and the
calls product code makes around a trained model (its estimate, warming the feature space).

    corpus = StoreCorpus(store, searcher)          # cheap: the feature space is per store
    model = default_ranker().train(profile, corpus, now=now)    # after every vote
    recs = model.rank(candidate_ids, limit=50)     # reasons included
    t = model.threshold(0.6)                       # digest cut-off, None if history is thin
    est = estimate(model, 0.6)                     # "about N papers a day, about P % ..."
"""

from __future__ import annotations

from collections.abc import Callable

from paperwire.recommend import Model, Ranker
from paperwire.recommend.calibration import Estimate
from paperwire.recommend.corpus import StoreCorpus
from paperwire.recommend.fusion import PRODUCT
from paperwire.recommend.linear import LinearRanker
from paperwire.recommend.nearest import NearestSeed
from paperwire.recommend.scoring import LinearModel

__all__ = ["RANKERS", "Estimate", "default_ranker", "estimate", "make_ranker", "warm"]

RANKERS: dict[str, Callable[[], Ranker]] = {
    # The content model fused with recency and votes: it beat the content model alone and
    # every anchor on the HF submitters set (BENCHMARKS.md).
    "paperwire": lambda: LinearRanker(fusion=PRODUCT),
    "paperwire-content": lambda: LinearRanker(name="paperwire-content"),
    "nearest": NearestSeed}
DEFAULT = "paperwire"


def make_ranker(name: str) -> Ranker:
    try:
        return RANKERS[name]()
    except KeyError:
        raise ValueError(f"unknown ranker {name!r} (choose {', '.join(sorted(RANKERS))})"
                         ) from None


def default_ranker() -> Ranker:
    return make_ranker(DEFAULT)


def estimate(model: Model, precision: float = 0.6) -> Estimate | None:
    """What ``model.threshold(precision)`` lets through, by the profile's own history
    (``Estimate.text()`` is the page's sentence); None for a model that cannot say."""
    return model.estimate(precision) if isinstance(model, LinearModel) else None


def warm(corpus: StoreCorpus) -> None:
    """Build the store's feature space now (seconds per 10k papers; call it at start-up
    and after a large ingest, off the request path), so no page waits for it."""
    corpus.features()
