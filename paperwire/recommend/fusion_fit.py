"""Fit the fusion (paperwire.recommend.fusion) on an eval folder's readers, before any test day.

Each reader's events before their first test day are split by time: the earlier 60 % of
their days train a content-only profile model (as the product would hold it then), and each
later day with a kept paper is a slate to rank: the papers seen that day, the kept ones as
positives. One logistic regression over every reader's slates gives the fusion's weights.
Nothing of a test day is read, so the same fit applies to any folder in the format.

A day's slate is the papers ``votes.jsonl`` says were featured that day; a folder without
featured days falls back to the papers published that day (UTC).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from paperwire.recommend import Corpus
from paperwire.recommend.dataset import RecommendSet
from paperwire.recommend.fusion import (
    FEATURES,
    Fusion,
    Slates,
    reader_habits,
    slate_features,
    team_sizes,
)
from paperwire.recommend.linear import LinearRanker, feature_space

__all__ = ["FusionFit", "fit_fusion", "folder_slates"]

FIT_SHARE = 0.6  # the share of a reader's training days their fitting model sees


@dataclass(frozen=True)
class FusionFit:
    """The fitted fusion (None when the folder gave no slate to fit on) and its slates."""

    fusion: Fusion | None
    slates: Slates
    readers: int = 0
    slate_count: int = 0
    source: str = ""

    def as_dict(self) -> dict[str, Any]:
        weights = dict(zip(FEATURES, self.fusion.weights, strict=True)) if self.fusion \
            else None
        return {"weights": weights, "readers": self.readers, "slates": self.slate_count,
                "slates_from": self.source}


def folder_slates(data: RecommendSet, corpus: Corpus) -> tuple[Slates, str]:
    """Day -> the papers seen that day: featured days from the votes, else published days."""
    days: dict[date, list[str]] = defaultdict(list)
    featured = [v for v in data.votes if v.featured_on is not None]
    if featured:
        for vote in featured:
            assert vote.featured_on is not None
            days[vote.featured_on].append(vote.arxiv_id)
        source = "featured days (votes.jsonl)"
    else:
        space = feature_space(corpus, sorted(data.corpus_ids))
        for pid, at in zip(space.ids, space.published, strict=True):
            if np.isfinite(at):
                days[datetime.fromtimestamp(float(at), UTC).date()].append(pid)
        source = "published days (corpus.jsonl)"
    frozen = {d: tuple(ids) for d, ids in days.items()}
    return (lambda day: frozen.get(day, ())), source


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def _reader_slates(data: RecommendSet, corpus: Corpus, user: str, until: datetime,
                   slates: Slates) -> list[tuple[NDArray[np.float64], NDArray[np.bool_]]]:
    """One reader's fitting slates (features, kept), from events before ``until``."""
    events = sorted((e for e in data.positives.get(user, ()) if e.at < until),
                    key=lambda e: e.at)
    days = sorted({e.at.date() for e in events})
    cut = int(round(len(days) * FIT_SHARE))
    if cut < 1 or cut >= len(days):
        return []
    start = _midnight(days[cut])
    profile = data.profile(user, start)
    model = LinearRanker().train(profile, corpus, now=start)
    positives = sorted(profile.positives, key=lambda s: s.at or datetime.min, reverse=True)
    habit = reader_habits(positives, slates, feature_space(corpus, []), corpus)
    out = []
    for day in days[cut:]:
        kept = {e.arxiv_id for e in events if e.at.date() == day}
        rows, content = model.scores(list(dict.fromkeys(slates(day))))
        label = np.asarray([i in kept for i in rows.ids])
        if len(rows.ids) < 2 or not label.any() or label.all():
            continue
        pop = corpus.popularity(rows.ids)
        votes = np.asarray([pop.get(i, 0.0) for i in rows.ids])
        team = rows.team if rows.team is not None else team_sizes(corpus, rows.ids)
        out.append((slate_features(np.asarray(content), rows.published, votes, habit, team),
                    label))
    return out


def fit_fusion(data: RecommendSet, corpus: Corpus, found: tuple[Slates, str],
               users: Sequence[str] | None = None) -> FusionFit:
    """The fusion over every reader's slates before their first test day."""
    slates, source = found
    first: dict[str, datetime] = {}
    for test in data.tests:
        first[test.user] = min(first.get(test.user, test.start), test.start)
    fitted: list[tuple[NDArray[np.float64], NDArray[np.bool_]]] = []
    readers = 0
    for user in users if users is not None else sorted(first):
        got = _reader_slates(data, corpus, user, first.get(user, datetime.max), slates)
        readers += bool(got)
        fitted.extend(got)
    try:
        fusion = Fusion.fit(fitted)
    except ValueError:
        fusion = None
    return FusionFit(fusion, slates, readers, len(fitted), source)
