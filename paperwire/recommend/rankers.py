"""The rankers an instance can use, by name, and the one it uses unless told otherwise."""

from __future__ import annotations

from collections.abc import Callable

from paperwire.recommend import Ranker
from paperwire.recommend.linear import LinearRanker
from paperwire.recommend.nearest import NearestSeed

__all__ = ["RANKERS", "default_ranker", "make_ranker"]

RANKERS: dict[str, Callable[[], Ranker]] = {"paperwire": LinearRanker, "nearest": NearestSeed}
DEFAULT = "paperwire"  # beats the anchors on the HF submitters set: see BENCHMARKS.md


def make_ranker(name: str) -> Ranker:
    try:
        return RANKERS[name]()
    except KeyError:
        raise ValueError(f"unknown ranker {name!r} (choose {', '.join(sorted(RANKERS))})"
                         ) from None


def default_ranker() -> Ranker:
    return make_ranker(DEFAULT)
