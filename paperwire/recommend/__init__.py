"""Recommendations for one reader: a profile's model, trained on their signals, ranks papers.

The pieces meet at three small protocols. A ``Corpus`` says what is known of papers (text,
authors, dense vectors) and where to draw background papers from; a ``Ranker`` trains a
``Model`` from one ``Profile``; the model ranks candidate papers and says, for each, why.
The web page, the digest section, the API, the CLI and ``paperwire eval recommend`` all go
through this door, so the reasons a reader sees are the ones the evaluation measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "NEGATIVE_KINDS",
    "POSITIVE_KINDS",
    "Corpus",
    "Model",
    "Profile",
    "Ranker",
    "Reason",
    "Recommendation",
    "Signal",
]

# What a reader did to a paper. The kind fixes the sign; ``Signal.weight`` the strength.
POSITIVE_KINDS = frozenset({"upvote", "saved", "collection", "seed"})
NEGATIVE_KINDS = frozenset({"not_interested", "ignored"})


@dataclass(frozen=True)
class Signal:
    """One thing a reader did to one paper, e.g. saved it on a day, or said not interested."""

    arxiv_id: str
    kind: str
    at: datetime | None = None
    weight: float = 1.0

    @property
    def positive(self) -> bool:
        return self.kind in POSITIVE_KINDS


@dataclass(frozen=True)
class Profile:
    """Everything one profile trains on. ``authors`` are followed authors' keys as the
    Corpus gives them; ``seed_text`` a pasted abstract for a cold start; ``trending`` the
    slider (0 = the reader's taste only, 1 = community trending only)."""

    signals: tuple[Signal, ...] = ()
    authors: tuple[str, ...] = ()
    seed_text: str = ""
    trending: float = 0.0

    @property
    def positives(self) -> tuple[Signal, ...]:
        return tuple(s for s in self.signals if s.positive)

    @property
    def negatives(self) -> tuple[Signal, ...]:
        return tuple(s for s in self.signals if not s.positive)


@dataclass(frozen=True)
class Reason:
    """One reason a paper was recommended, in plain words and as data. ``kind`` is
    "near" (``papers`` are the reader's papers it is nearest to), "words" (``words`` weighed
    most), "author" (a followed author, in ``words``), "recent" (newer, or older, than the
papers ranked beside it, as the reader's kept papers were: a fusion's term), "team" (by a
larger, or smaller, team than the papers beside it: a fusion's term) or "trending"
(community votes: the slider's term, or a fusion's). ``share`` is this
    reason's part of the score, as the model computed it; ``contribution`` the same term in
    score units (taking it away lowers the score by this much)."""

    kind: str
    text: str
    papers: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    share: float = 0.0
    contribution: float = 0.0


@dataclass(frozen=True)
class Recommendation:
    """A ranked paper: its score (higher is better), the calibrated probability that the
    reader would keep it, and the reasons computed from the model's own terms."""

    arxiv_id: str
    score: float
    probability: float
    reasons: tuple[Reason, ...] = field(default=())


class Corpus(Protocol):
    """What a ranker may read about papers. Unknown ids are left out of every answer."""

    def texts(self, ids: Sequence[str]) -> dict[str, str]:
        """Title and abstract, one string per paper."""
        ...

    def titles(self, ids: Sequence[str]) -> dict[str, str]:
        ...

    def authors(self, ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """Author keys (opaque tokens are fine: a ranker only compares them)."""
        ...

    def vectors(self, ids: Sequence[str]) -> tuple[list[str], NDArray[np.float32]]:
        """Unit-length dense vectors of those ids that have one, in the given order."""
        ...

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32] | None:
        """Unit-length vectors of free text (a pasted abstract); None without an embedder."""
        ...

    def background(self, n: int, *, before: datetime | None = None, seed: int = 0
                   ) -> list[str]:
        """Up to ``n`` papers drawn at random (reproducibly), published before ``before``
        when given: the 'everything else' a linear model learns against."""
        ...

    def popularity(self, ids: Sequence[str], *, at: datetime | None = None
                   ) -> dict[str, float]:
        """Community signal per paper, in [0, 1] (0 where there is none)."""
        ...


class Model(Protocol):
    """One profile's trained model."""

    def rank(self, candidates: Sequence[str], *, limit: int | None = None
             ) -> list[Recommendation]:
        """The candidates best first (unknown ids left out), each with its reasons."""
        ...

    def threshold(self, precision: float) -> float | None:
        """The lowest score at which, by this profile's own history, about ``precision`` of
        the papers shown would be ones the reader keeps; None when the history is too thin
        to say."""
        ...


class Ranker(Protocol):
    """Trains one profile's model. Must be fast: it runs again after every vote."""

    name: str

    def train(self, profile: Profile, corpus: Corpus, *, now: datetime | None = None
              ) -> Model:
        ...
