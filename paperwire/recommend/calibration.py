"""A profile's digest threshold and its estimate, from its own history (cross-validated scores).

The model is refitted on folds of the profile's own training rows; each positive and each
background paper gets a score from a model that never saw it. Precision at a threshold t is
then estimated for the stream the reader will see, where positives are rare:

    precision(t) = prior * TPR(t) / (prior * TPR(t) + (1 - prior) * FPR(t))

with TPR the share of held-out positives scoring at least t, FPR the share of held-out
background papers, and the prior the share of papers published over the profile's history
that the reader kept. The same numbers give the page's estimate: about
``papers_per_day * (prior * TPR + (1 - prior) * FPR)`` papers a day, ``precision`` of them
like ones the reader saved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Calibration", "Estimate", "MIN_HELD_OUT"]

MIN_HELD_OUT = 6  # positives needed before a threshold means anything


@dataclass(frozen=True)
class Estimate:
    """What a threshold lets through: about ``per_day`` papers a day, ``precision`` of them
    like ones the reader saved."""

    threshold: float
    per_day: float
    precision: float

    def text(self) -> str:
        """The page's sentence; a rarely served profile is counted by the week."""
        if self.per_day >= 0.95:
            often = f"about {self.per_day:.0f} papers a day"
        elif self.per_day * 7 >= 0.95:
            often = f"about {7 * self.per_day:.0f} papers a week"
        else:
            often = "fewer than one paper a week"
        return f"{often}, about {100 * self.precision:.0f} % of them like ones you saved"


@dataclass(frozen=True)
class Calibration:
    """Held-out scores of a profile's positives and of background papers."""

    positives: NDArray[np.float64]
    background: NDArray[np.float64]
    prior: float
    papers_per_day: float

    def _rates(self, t: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        # Add-one smoothing: a threshold above every held-out background paper must not
        # claim a false-positive rate of exactly zero.
        pos, bg = np.sort(self.positives), np.sort(self.background)
        above_pos = len(pos) - np.searchsorted(pos, t, side="left")
        above_bg = len(bg) - np.searchsorted(bg, t, side="left")
        return (above_pos + 0.5) / (len(pos) + 1), (above_bg + 0.5) / (len(bg) + 1)

    def _precision(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        tpr, fpr = self._rates(t)
        kept = self.prior * tpr
        out: NDArray[np.float64] = kept / (kept + (1 - self.prior) * fpr)
        return out

    def precision_at(self, t: float) -> float:
        return float(self._precision(np.asarray([t]))[0])

    def threshold(self, precision: float) -> float | None:
        """The lowest held-out score whose estimated precision reaches ``precision``; None
        when the history is too thin, or no score reaches it."""
        if not 0 < precision < 1:
            raise ValueError(f"precision must lie in (0, 1), not {precision}")
        if len(self.positives) < MIN_HELD_OUT or not len(self.background):
            return None
        cuts = np.unique(np.concatenate([self.positives, self.background]))
        good = cuts[self._precision(cuts) >= precision]
        return float(good.min()) if len(good) else None

    def estimate(self, precision: float) -> Estimate | None:
        t = self.threshold(precision)
        if t is None:
            return None
        rates = self._rates(np.asarray([t]))
        tpr, fpr = float(rates[0][0]), float(rates[1][0])
        per_day = self.papers_per_day * (self.prior * tpr + (1 - self.prior) * fpr)
        return Estimate(t, per_day, self.precision_at(t))
