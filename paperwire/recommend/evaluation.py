"""`paperwire eval recommend`: every ranker, on one folder, in one run, by the same metrics.

The folder (paperwire.recommend.dataset) is loaded into a throwaway SQLite store (or one
kept under ``home`` between runs) and indexed by the product's indexer. For each test day
each user's profile holds only the events strictly before that day; the ranker trains on it
and ranks the day's candidates. A test whose user has no positive by then is a miss for
every ranker, never skipped. Models are trained once per distinct profile (a user whose
events do not change between two test days is not retrained), at that profile's first test
day. Metrics come from paperwire.evaluate (ir-measures), so search and recommendations are
measured by the same code.

paperwire's row is the profile's linear model fused with recency and votes
(paperwire.recommend.fusion). The fusion is fitted across the folder's readers on their
events before their first test day only (paperwire.recommend.fusion_fit); the row
"paperwire-content" is the same linear model without it.
"""

from __future__ import annotations

import tempfile
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from paperwire.errors import SourceError
from paperwire.evaluate import RANKING_METRICS, Qrels, Run, evaluate
from paperwire.recommend import Model, Ranker
from paperwire.recommend.anchors import (
    ArxivSanitySvm,
    Newest,
    ScholarInboxLogreg,
    Trending,
    ZoteroSimilarity,
)
from paperwire.recommend.corpus import StoreCorpus
from paperwire.recommend.dataset import RecommendSet, TestDay, load_folder
from paperwire.recommend.fusion_fit import FusionFit, fit_fusion, folder_slates
from paperwire.recommend.linear import LinearRanker

__all__ = ["Calibrated", "RecommendResult", "default_rankers", "evaluate_recommend"]

TARGET_PRECISION = 0.6
DEPTH = 50  # the deepest metric is recall@50


def default_rankers(fitted: FusionFit | None = None) -> list[Ranker]:
    """paperwire's ranker (fused when ``fitted`` holds a fusion), its content-only model,
    the three anchors, trending and newest."""
    fusion = fitted.fusion if fitted is not None else None
    slates = fitted.slates if fitted is not None else None
    return [LinearRanker(fusion=fusion, slates=slates),
            LinearRanker(name="paperwire-content"), ArxivSanitySvm(), ZoteroSimilarity(),
            ScholarInboxLogreg(), Trending(), Newest()]


@dataclass
class Calibrated:
    """Test-day precision above each profile's threshold for ``target`` precision."""

    target: float = TARGET_PRECISION
    shown: int = 0
    kept: int = 0
    days: int = 0
    estimated_per_day: list[float] = field(default_factory=list)
    estimated_precision: list[float] = field(default_factory=list)
    profiles: int = 0

    @property
    def precision(self) -> float | None:
        return self.kept / self.shown if self.shown else None

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target, "precision": self.precision, "shown": self.shown,
                "kept": self.kept, "test_days": self.days, "profiles": self.profiles,
                "shown_per_test_day": self.shown / self.days if self.days else None,
                "estimated_per_day_p50": _median(self.estimated_per_day),
                "estimated_precision_p50": _median(self.estimated_precision)}


@dataclass
class RecommendResult:
    users: int
    tests: int
    rankers: dict[str, dict[str, float]]
    train_ms: dict[str, list[float]]
    calibration: Calibrated
    groups: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    fusion: dict[str, Any] = field(default_factory=dict)

    def train_ms_p50(self, name: str = "paperwire") -> float:
        return _median(self.train_ms.get(name, [])) or 0.0

    def as_json(self) -> dict[str, Any]:
        """The object `eval recommend --json` prints last (issue 14's shape)."""
        return {"users": self.users, "tests": self.tests, "rankers": self.rankers,
                "train_ms_p50": self.train_ms_p50()}

    def details(self) -> dict[str, Any]:
        return {"calibration": self.calibration.as_dict(), "groups": self.groups,
                "fusion": self.fusion,
                "train_ms_p50_by_ranker": {k: _median(v) for k, v in self.train_ms.items()}}


def _median(values: Sequence[float]) -> float | None:
    return float(np.median(values)) if len(values) else None


def _run_ranker(ranker: Ranker, data: RecommendSet, corpus: StoreCorpus, tests: list[TestDay],
                calibrated: Calibrated | None) -> tuple[Run, list[float]]:
    run: Run = {}
    seconds: list[float] = []
    models: dict[tuple[str, tuple[str, ...]], Model] = {}
    for test in tests:
        profile = data.profile(test.user, test.start)
        if not profile.positives:
            run[test.key] = {}  # a miss, for every ranker
            continue
        key = (test.user, tuple(sorted(f"{s.kind}:{s.arxiv_id}" for s in profile.signals)))
        if key not in models:
            started = time.perf_counter()
            models[key] = ranker.train(profile, corpus, now=test.start)
            seconds.append(time.perf_counter() - started)
            if calibrated is not None:
                _estimate(models[key], calibrated)
        model = models[key]
        ranked = model.rank(test.candidates, limit=DEPTH)
        run[test.key] = {r.arxiv_id: float(DEPTH - k) for k, r in enumerate(ranked)}
        if calibrated is not None:
            _measure(model, test, ranked_all=model.rank(test.candidates), out=calibrated)
    return run, seconds


def _estimate(model: Model, out: Calibrated) -> None:
    estimate = getattr(model, "estimate", None)
    found = estimate(out.target) if callable(estimate) else None
    if found is not None:
        out.profiles += 1
        out.estimated_per_day.append(found.per_day)
        out.estimated_precision.append(found.precision)


def _measure(model: Model, test: TestDay, *, ranked_all: Sequence[Any], out: Calibrated
             ) -> None:
    t = model.threshold(out.target)
    if t is None:
        return
    shown = [r.arxiv_id for r in ranked_all if r.score >= t]
    out.days += 1
    out.shown += len(shown)
    out.kept += sum(1 for s in shown if s in test.relevant)


def _open(data: RecommendSet, base: Path, embedder: Any, progress: bool
          ) -> tuple[Any, StoreCorpus]:
    from paperwire.index.indexer import update_index
    from paperwire.ingest import ingest
    from paperwire.search import Searcher
    from paperwire.settings import Settings
    from paperwire.sources.files import JsonlSource
    from paperwire.store import Store

    store = Store.from_url(f"sqlite:///{base / 'recommend.db'}")
    if store.count_papers() != len(data.corpus_ids):
        report = ingest(JsonlSource(data.corpus_path), store, progress=progress)
        if report.rejected:
            store.close()
            raise SourceError(f"{data.corpus_path}: {report.rejected} papers rejected "
                              "(see `paperwire ingest jsonl` for each line)")
        if data.votes:
            store.upsert_external_votes("eval", list(data.votes))
    searcher = Searcher.from_settings(Settings(home=base), store,
                                      meaning=embedder is not None, embedder=embedder)
    update_index(store, searcher.paths, embedder, progress=progress,
                 vectors=searcher.vectors)
    return store, StoreCorpus(store, searcher if embedder is not None else None)


def _qrels(tests: Sequence[TestDay]) -> Qrels:
    return {t.key: dict.fromkeys(t.relevant, 1) for t in tests}


def evaluate_recommend(root: Path | str, *, embedder: Any = None, home: Path | None = None,
                       rankers: Sequence[Ranker] | None = None, half: int | None = None,
                       groups: Sequence[str] = (), progress: bool = False
                       ) -> RecommendResult:
    """Every ranker (paperwire's and the anchors by default) on the folder at ``root``.
    ``half`` keeps only the users whose name hashes to 0 or 1 (tune on one, check on the
    other); ``groups`` names users whose metrics are also reported apart from the rest."""
    data = load_folder(root)
    tests = [t for t in data.tests
             if half is None or zlib.crc32(t.user.encode()) % 2 == half]
    if not tests:
        raise SourceError(f"{root}: no test days for half {half}")
    with tempfile.TemporaryDirectory(prefix="paperwire-recommend-") as tmp:
        base = home or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        store, corpus = _open(data, base, embedder, progress)
        try:
            corpus.features()  # built once, before any ranker's clock starts
            fitted = fit_fusion(data, corpus, folder_slates(data, corpus)) \
                if rankers is None else None
            result = _evaluate(data, corpus, tests, rankers or default_rankers(fitted),
                               groups)
            if fitted is not None:
                result.fusion = fitted.as_dict()
            return result
        finally:
            store.close()


def _evaluate(data: RecommendSet, corpus: StoreCorpus, tests: list[TestDay],
              rankers: Sequence[Ranker], groups: Sequence[str]) -> RecommendResult:
    qrels = _qrels(tests)
    named = set(groups)
    parts = {"named": _qrels([t for t in tests if t.user in named]),
             "others": _qrels([t for t in tests if t.user not in named])} if named else {}
    calibrated = Calibrated()
    rows: dict[str, dict[str, float]] = {}
    split: dict[str, dict[str, dict[str, float]]] = {k: {} for k in parts if parts[k]}
    train_ms: dict[str, list[float]] = {}
    corpus.features()  # built once, before any ranker's clock starts
    for ranker in rankers:
        own = calibrated if ranker.name == "paperwire" else None
        run, seconds = _run_ranker(ranker, data, corpus, tests, own)
        rows[ranker.name] = evaluate(run, qrels, RANKING_METRICS)
        for part, judged in parts.items():
            if judged:
                split[part][ranker.name] = evaluate(run, judged, RANKING_METRICS)
        train_ms[ranker.name] = [1000 * s for s in seconds]
    return RecommendResult(users=len({t.user for t in tests}), tests=len(tests),
                           rankers=rows, train_ms=train_ms, calibration=calibrated,
                           groups=split)
