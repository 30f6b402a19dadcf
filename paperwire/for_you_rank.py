"""For you, ranked: a profile's trained model (cached by the profile's version), the recent
papers it ranks with their reasons, the estimate line, cold-start papers to rate, and the
few papers a digest sends.

Training runs only when what the profile trains on has changed (``Store.rec_version``) or
the indexes have; every other view ranks with the model it already has.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray

from paperwire.for_you import ForYouError, RecProfile, gather, strong_positives
from paperwire.for_you_models import (
    ModelStore,
    Retrainer,
    SharedCorpus,
    Trained,
    TrainReport,
    space_ready,
    train_stale,
)
from paperwire.recommend import Corpus, Ranker, Recommendation
from paperwire.recommend.features import FeatureSpace
from paperwire.recommend.rankers import default_ranker
from paperwire.search import Searcher
from paperwire.store import Store

WINDOWS = {"day": 1, "week": 7, "month": 30}
PRECISION = 0.6  # the digest's target: about this share of what it sends is kept
FALLBACK_PROBABILITY = 0.6  # a model that cannot calibrate yet sends only its surest
COLD_START = 5  # below this many positives the page asks for seeds
BOUNDARY = 10  # papers offered to rate on a cold start
MAX_CANDIDATES = 5_000  # a month of a busy instance; the newest are kept beyond
MAX_LIMIT = 100
DIGEST_PAPERS = 10
# A digest serves each profile's kept model, older or not, and trains only those that have
# none (a new profile, a refitted vocabulary) for at most this long in all: at 0.5-1.7 s a
# model, a cold instance of 10,000 readers would otherwise train for hours inside the run.
# Past it a profile gets no For-you section this time; the worker's `train_stale` (bounded
# too: WORKER_TRAIN_BUDGET_S) and `paperwire recommend-train` catch up.
DIGEST_TRAIN_BUDGET_S = 120.0
WORKER_TRAIN_BUDGET_S = 600.0
POPULARITY_TTL_S = 60.0
SEEN_AFTER = timedelta(hours=1)  # "hide seen": shown on an earlier visit than this one
SPACE_WAIT_S = 10.0  # a view waits this long for the feature space, then gets a 503
SPACE_RETRY_AFTER_S = 15  # the 503's Retry-After: the build takes about a minute


class CachedCorpus:
    """A Corpus in front of another that keeps what it read of each paper (vectors, titles,
    texts, authors), up to ``size`` papers: a digest run or a web process asks for the same
    recent papers over and over."""

    def __init__(self, inner: Corpus, size: int = 30_000) -> None:
        self.inner = inner
        self.size = size
        self._lock = threading.Lock()
        self._parts: dict[str, OrderedDict[str, Any]] = {
            k: OrderedDict() for k in ("texts", "titles", "authors", "vectors")}
        # The last few candidate lists' matrices: every view of a window ranks the same list.
        self._matrices: OrderedDict[tuple[str, ...], tuple[list[str], NDArray[np.float32]]] = \
            OrderedDict()
        # And their votes (the fusion's votes term reads them on every view and for every
        # digest section), for POPULARITY_TTL_S: a ranking may lag the votes by that much.
        self._popularity: OrderedDict[tuple[str, ...], tuple[float, dict[str, float]]] = \
            OrderedDict()

    def _cached(self, part: str, ids: Sequence[str], fetch: Any) -> dict[str, Any]:
        kept = self._parts[part]
        with self._lock:
            found = {i: kept[i] for i in ids if i in kept}
        missing = [i for i in dict.fromkeys(ids) if i not in found]
        if missing:
            fresh = fetch(missing)
            with self._lock:
                for i in missing:
                    # None marks "unknown" so it is not asked for again.
                    kept[i] = fresh.get(i)
                while len(kept) > self.size:
                    kept.popitem(last=False)
            found.update({i: fresh.get(i) for i in missing})
        return {i: v for i, v in found.items() if v is not None}

    def texts(self, ids: Sequence[str]) -> dict[str, str]:
        return self._cached("texts", ids, self.inner.texts)

    def titles(self, ids: Sequence[str]) -> dict[str, str]:
        return self._cached("titles", ids, self.inner.titles)

    def authors(self, ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        return self._cached("authors", ids, self.inner.authors)

    def vectors(self, ids: Sequence[str]) -> tuple[list[str], NDArray[np.float32]]:
        key = tuple(ids)
        with self._lock:
            kept = self._matrices.get(key)
        if kept is not None:
            return list(kept[0]), kept[1]
        order, matrix = self._vectors(ids)
        if len(ids) >= 100:  # a candidate list, not a handful of positives
            with self._lock:
                self._matrices[key] = (order, matrix)
                while len(self._matrices) > 8:
                    self._matrices.popitem(last=False)
        return list(order), matrix

    def _vectors(self, ids: Sequence[str]) -> tuple[list[str], NDArray[np.float32]]:
        def fetch(missing: list[str]) -> dict[str, NDArray[np.float32]]:
            got, vecs = self.inner.vectors(missing)
            return {i: vecs[k] for k, i in enumerate(got)}

        found = self._cached("vectors", ids, fetch)
        order = [i for i in ids if i in found]
        if not order:
            return [], np.zeros((0, 384), dtype=np.float32)
        return order, np.vstack([found[i] for i in order]).astype(np.float32, copy=False)

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32] | None:
        return self.inner.embed(texts)

    def features(self) -> FeatureSpace | None:
        """The inner corpus's feature space (StoreCorpus keeps one per store). Without this
        pass-through every training fitted a vocabulary on its own few thousand rows: slower
        (most of a retrain's 2.2 s) and not the space ``paperwire eval recommend`` measures."""
        features = getattr(self.inner, "features", None)
        space = features() if callable(features) else None
        return space if isinstance(space, FeatureSpace) else None

    def published(self, ids: Sequence[str]) -> dict[str, datetime | None]:
        times = getattr(self.inner, "published", None)
        return times(ids) if callable(times) else {}

    def background(self, n: int, *, before: datetime | None = None, seed: int = 0
                   ) -> list[str]:
        return self.inner.background(n, before=before, seed=seed)

    def day_slates(self, days: Sequence[date]) -> dict[date, list[str]]:
        """The inner corpus's days (passed through, as ``features``: without them the
        product's fused model would have no habits, unlike the one the eval measures)."""
        read = getattr(self.inner, "day_slates", None)
        found: dict[date, list[str]] = read(days) if callable(read) else {}
        return found

    def popularity(self, ids: Sequence[str], *, at: datetime | None = None
                   ) -> dict[str, float]:
        if at is not None or len(ids) < 100:  # a handful of positives: read as they are
            return self.inner.popularity(ids, at=at)
        key, now = tuple(ids), time.monotonic()
        with self._lock:
            kept = self._popularity.get(key)
        if kept is not None and now - kept[0] < POPULARITY_TTL_S:
            return kept[1]
        found = self.inner.popularity(ids)
        with self._lock:
            self._popularity[key] = (now, found)
            while len(self._popularity) > 8:
                self._popularity.popitem(last=False)
        return found


def product_corpus(store: Store, searcher: Searcher | None) -> CachedCorpus:
    """The corpus the web, the digest and the CLI rank with: one shared feature space."""
    return CachedCorpus(SharedCorpus(store, searcher))


def train_stale_models(store: Store, searcher: Searcher | None, *, progress: bool = False,
                       budget_s: float | None = None) -> TrainReport:
    """Train every digest profile whose kept model is stale (the worker before a digest,
    with a budget; `paperwire recommend-train`, without), missing models first."""
    one_blas_thread()
    return train_stale(ModelStore(store, product_corpus(store, searcher), default_ranker()),
                       progress=progress, budget_s=budget_s)


@dataclass
class ForYou:
    """What the page, feed, API and CLI show for one profile and window."""

    profile: RecProfile
    window: str
    since: date | None
    until: date | None
    ranked: list[Recommendation]
    shown: list[Recommendation]
    threshold: float | None
    positives: int
    boundary: list[Recommendation] = field(default_factory=list)

    @property
    def cold(self) -> bool:
        return self.positives < COLD_START

    def estimate(self) -> dict[str, Any] | None:
        """"about N papers a day, about P % of them like ones you saved", from the model's
        own threshold; None when it gives none."""
        if self.threshold is None or self.since is None or self.until is None:
            return None
        days = (self.until - self.since).days + 1
        above = [r for r in self.ranked if r.score >= self.threshold]
        per_day = len(above) / days
        share = (sum(r.probability for r in above) / len(above)) if above else PRECISION
        text = (f"about {round(per_day)} paper{'s' if round(per_day) != 1 else ''} a day, "
                f"about {round(100 * share)} % of them like ones you saved")
        return {"per_day": round(per_day, 2), "precision": round(share, 3), "text": text}


def window_days(window: str, latest: date) -> tuple[date, date]:
    if window not in WINDOWS:
        raise ValueError(f"window: choose {', '.join(WINDOWS)}")
    return latest - timedelta(days=WINDOWS[window] - 1), latest


@functools.cache
def one_blas_thread() -> None:
    """Numpy's BLAS on one thread, for the whole process, once. A profile's matrices are
    small (hundreds of candidates by a few hundred positives), where OpenBLAS's threads cost
    far more than they save on a busy machine: 300x384 by 384x50 took 41 ms on its two
    threads under load, 0.5 ms on one. Web views and digests run in parallel anyway."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


class Recommender:
    """One per process (the web keeps it on its Site): each profile's model for the version
    of what it trains on, from memory, from the store (trained by another process), or
    trained here and kept in both. A view never waits for a retrain when an older model
    exists: it ranks with that one while ``models.Retrainer`` trains the new one."""

    def __init__(self, store: Store, corpus: Corpus, ranker: Ranker | None = None,
                 size: int = 512, *, background: bool = True,
                 train_budget_s: float | None = None) -> None:
        one_blas_thread()
        self.store = store
        self.corpus = corpus
        self.ranker = ranker or default_ranker()
        self.models = ModelStore(store, corpus, self.ranker)
        self._kept: OrderedDict[int, tuple[Hashable, Trained]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()
        self._windows: OrderedDict[tuple[str, str], tuple[date | None, date | None,
                                                          list[str]]] = OrderedDict()
        self.retrainer = Retrainer(self._retrain_queued) if background else None
        # A view waits this long for the feature space, then is told to come back; a
        # batch (digest, CLI: background=False) waits as long as it takes.
        self.space_wait_s: float | None = SPACE_WAIT_S if background else None
        # What ``digest_picks`` may spend training profiles that have no kept model (None:
        # no limit), and how many it left without a section for want of it.
        self.train_budget_s = train_budget_s
        self.deferred = 0

    @property
    def trainings(self) -> int:
        """How many models this process trained (tests and benches read it)."""
        return self.models.trainings

    def trained(self, profile: RecProfile, salt: Hashable = None, *, keep: bool = True,
                wait: bool = False) -> Trained:
        """The profile's model for its current version (``salt``: the indexes' version, a
        part of the memory's key). When only an older model is at hand it is served with
        the current signals and a retrain is queued, unless ``wait`` (or there is no
        background trainer). ``keep=False`` keeps nothing in this process's memory (a
        digest run reads each profile once)."""
        version = self.store.rec_version(profile.row())
        with self._lock:
            kept = self._kept.get(profile.id)
            if kept is not None and kept[0] == (version, salt):
                self._kept.move_to_end(profile.id)
                return kept[1]
        stored = self.models.stored(profile)
        if stored is not None and stored.version == version:
            if keep:
                self._remember(profile.id, (version, salt), stored)
            return stored
        older = kept[1] if kept is not None else stored
        if older is not None and not wait and self.retrainer is not None:
            self.retrainer.queue(profile, salt)
            signals = gather(self.store, profile)
            return replace(older, profile=signals, positives=strong_positives(signals))
        return self._retrain(profile, salt, keep=keep)

    def _retrain_queued(self, profile: RecProfile, salt: Hashable = None) -> Trained | None:
        # Read again: the edit that made it stale may have changed what it trains on.
        row = self.store.rec_profile(profile.id)
        return self._retrain(RecProfile.from_row(row), salt) if row is not None else None

    def _retrain(self, profile: RecProfile, salt: Hashable = None, *, keep: bool = True
                 ) -> Trained:
        trained = self.models.train(profile)
        if keep:
            self._remember(profile.id, (trained.version, salt), trained)
        return trained

    def _remember(self, profile_id: int, key: Hashable, trained: Trained) -> None:
        with self._lock:
            self._kept[profile_id] = (key, trained)
            self._kept.move_to_end(profile_id)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)

    def rank(self, trained: Trained, candidates: Sequence[str], exclude: set[str],
             limit: int | None = None) -> list[Recommendation]:
        known = {s.arxiv_id for s in trained.profile.signals}
        wanted = [c for c in candidates if c not in exclude and c not in known]
        return trained.model.rank(wanted, limit=limit) if wanted else []

    def window(self, window: str) -> tuple[date | None, date | None, list[str]]:
        """The window's days and candidate papers, read once per version of the papers."""
        key = (window, self.store.data_version())
        with self._lock:
            kept = self._windows.get(key)
        if kept is not None:
            return kept
        latest = self.store.latest_day()
        since, until = window_days(window, latest) if latest else (None, None)
        found = (since, until, self.store.rec_candidates(since, until, MAX_CANDIDATES)
                 if since is not None and until is not None else [])
        with self._lock:
            self._windows[key] = found
            while len(self._windows) > 16:
                self._windows.popitem(last=False)
        return found

    def for_you(self, profile: RecProfile, window: str = "week", *, limit: int = 30,
                hide_seen: bool = False, salt: Hashable = None, now: datetime | None = None
                ) -> ForYou:
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit: give 1 to {MAX_LIMIT}")
        if not space_ready(self.corpus, self.store, self.space_wait_s):
            raise ForYouError("For you is getting ready (its word index is built after a "
                              "restart, about a minute): try again shortly", 503,
                              retry_after=SPACE_RETRY_AFTER_S)
        since, until, candidates = self.window(window)
        trained = self.trained(profile, salt)
        exclude: set[str] = set()
        if hide_seen:
            exclude = (self.store.rec_shown(profile.id, "digest")
                       | self.store.rec_shown(profile.id, "page",
                                              before=(now or datetime.now()) - SEEN_AFTER))
        threshold = trained.model.threshold(PRECISION)
        # The estimate counts every paper above the threshold, and a cold start rates the
        # least sure: only then is the whole window ranked with its reasons.
        everything = threshold is not None or trained.positives < COLD_START
        ranked = self.rank(trained, candidates, exclude, None if everything else limit)
        result = ForYou(profile, window, since, until, ranked, ranked[:limit], threshold,
                        trained.positives)
        if result.cold:
            result.boundary = boundary(ranked, candidates, exclude)
        return result

    def digest_picks(self, profile: RecProfile, candidates: Sequence[str], key: str
                     ) -> list[Recommendation]:
        """What the profile's For-you section sends: candidates above its threshold (or,
        uncalibrated, FALLBACK_PROBABILITY) that no earlier digest recommended, at most
        DIGEST_PAPERS; none on a day with nothing good enough. The kept model is used
        whatever its version (with the reader's current signals); only a profile with none
        is trained, within ``train_budget_s``, else it gets nothing this time."""
        trained = self._digest_model(profile)
        if trained is None:
            return []
        earlier = self.store.rec_shown(profile.id, "digest", other_than=key)
        # Best first by score, and a model's probability rises with its score: what passes
        # is a prefix of the ranking, so only its head is built.
        ranked = self.rank(trained, candidates, earlier, DIGEST_PAPERS)
        cut = trained.model.threshold(PRECISION)
        kept = [r for r in ranked if (r.score >= cut if cut is not None
                                      else r.probability >= FALLBACK_PROBABILITY)]
        return kept[:DIGEST_PAPERS]


    def _digest_model(self, profile: RecProfile) -> Trained | None:
        stored = self.models.stored(profile)
        if stored is not None:
            if stored.version == self.store.rec_version(profile.row()):
                return stored
            signals = gather(self.store, profile)
            return replace(stored, profile=signals, positives=strong_positives(signals))
        if self.train_budget_s is not None and self.train_budget_s <= 0:
            self.deferred += 1
            return None
        started = time.perf_counter()
        try:
            return self._retrain(profile, keep=False)
        finally:
            if self.train_budget_s is not None:
                self.train_budget_s -= time.perf_counter() - started


def boundary(ranked: Sequence[Recommendation], candidates: Sequence[str], exclude: set[str]
             ) -> list[Recommendation]:
    """About BOUNDARY papers to rate: those the model is least sure of (probability nearest
    one half), or, with nothing to rank by yet, an even spread of the newest."""
    if ranked:
        return sorted(ranked, key=lambda r: abs(r.probability - 0.5))[:BOUNDARY]
    pool = [c for c in candidates if c not in exclude]
    step = max(1, len(pool) // BOUNDARY)
    return [Recommendation(c, 0.0, 0.5) for c in pool[::step][:BOUNDARY]]


def reasons_data(rec: Recommendation) -> list[dict[str, Any]]:
    """A recommendation's reasons as JSON: what the model computed, in its own terms."""
    return [{"kind": r.kind, "text": r.text, "papers": list(r.papers), "words": list(r.words),
             "share": round(r.share, 4)} for r in rec.reasons]
