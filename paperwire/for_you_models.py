"""For you's trained models: trained once per profile version, kept in the store for every
process, and retrained off the request path.

A model is trained on the profile's signals as read after its version was (a vote landing in
between makes the next view retrain again, never claim a newer version than it saw), saved
whole with that version and the feature space it indexes (paperwire.recommend.saved), and
reused by any process whose feature space has the same key: other web hosts, the digest,
`paperwire recommend train`. A damaged or foreign row is ignored and retrained over.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, TimeoutError
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from paperwire.for_you import RecProfile, gather, strong_positives
from paperwire.recommend import Corpus, Model, Profile, Ranker, Signal
from paperwire.recommend.corpus import StoreCorpus
from paperwire.recommend.features import FeatureSpace
from paperwire.recommend.saved import (
    SavedModelError,
    dump,
    dump_vocabulary,
    load,
    space_from_vocabulary,
    space_key,
)
from paperwire.recommend.scoring import LinearModel
from paperwire.store import Store

log = logging.getLogger(__name__)
REFIT_GROWTH = 1.25  # FeatureSpace.stale's: a quarter more papers than it was fitted on

# One build of the feature space per store (StoreCorpus keeps the result per store too):
# a view asks how it is going instead of queueing behind it.
_BUILDS: weakref.WeakKeyDictionary[Store, Future[Any]] = weakref.WeakKeyDictionary()
_BUILDS_LOCK = threading.Lock()


def space_ready(corpus: Corpus, store: Store, timeout: float | None) -> bool:
    """Whether the corpus's feature space is built, waiting up to ``timeout`` seconds (None:
    as long as it takes) while one thread per store builds it; True for a corpus without
    one. A failed build is retried by the next call."""
    features = getattr(corpus, "features", None)
    if not callable(features):
        return True
    with _BUILDS_LOCK:
        build = _BUILDS.get(store)
        if build is None or (build.done() and build.exception() is not None):
            build = Future()
            _BUILDS[store] = build
            threading.Thread(target=_build, args=(build, features), daemon=True,
                             name="paperwire-for-you-space").start()
    try:
        build.result(timeout)
    except TimeoutError:
        return False
    return True


def _build(build: Future[Any], features: Callable[[], Any]) -> None:
    try:
        build.set_result(features())
    except BaseException as exc:  # noqa: BLE001 (handed to whoever waits on it)
        build.set_exception(exc)


class SharedCorpus(StoreCorpus):
    """The product's StoreCorpus: its feature space is built with the vocabulary kept in
    the store (transformed, not fitted), so every web host, the digest and the CLI share one
    ``space_key`` and each other's models, across restarts and ingests, until the papers
    have grown by a quarter; then one refits and keeps the new vocabulary."""

    def _build_features(self) -> FeatureSpace:
        ids, texts, authors, times, vectors = self.columns()
        kept = self.store.rec_vocabulary(vectors=vectors is not None)
        if kept is not None and len(ids) <= REFIT_GROWTH * kept["built_with"]:
            try:
                return space_from_vocabulary(kept["data"], ids, texts, authors, times, vectors)
            except SavedModelError as exc:
                log.warning("the kept vocabulary cannot be used (%s); refitting", exc)
        space = FeatureSpace.fit(ids, texts, authors, times, vectors)
        self.store.save_rec_vocabulary(space_key(space), vectors=space.vectors is not None,
                                       built_with=space.built_with,
                                       data=dump_vocabulary(space))
        return space


@dataclass(frozen=True)
class Trained:
    """A profile's model, what it was trained on, and the profile version it stands for.
    ``profile`` and ``positives`` are the reader's current signals when an older model is
    served while a retrain runs (its "not interested" papers then leave the page at once)."""

    model: Model
    profile: Profile
    positives: int
    version: str = ""


def _signals_data(profile: Profile) -> dict[str, Any]:
    return {"signals": [[s.arxiv_id, s.kind, s.at.isoformat() if s.at else None, s.weight]
                        for s in profile.signals],
            "authors": list(profile.authors), "seed_text": profile.seed_text,
            "trending": profile.trending}


def _profile_of(data: dict[str, Any]) -> Profile:
    return Profile(signals=tuple(Signal(str(i), str(k), datetime.fromisoformat(at) if at
                                        else None, float(w))
                                 for i, k, at, w in data["signals"]),
                   authors=tuple(data["authors"]), seed_text=str(data["seed_text"]),
                   trending=float(data["trending"]))


class ModelStore:
    """Trains profiles' models and keeps them in the store (for a LinearModel over the
    corpus's own feature space; any other model is trained and not kept)."""

    def __init__(self, store: Store, corpus: Corpus, ranker: Ranker) -> None:
        self.store = store
        self.corpus = corpus
        self.ranker = ranker
        self.trainings = 0
        self.loads = 0
        self._lock = threading.Lock()

    @property
    def ranker_key(self) -> str:
        """The ranker as kept models name it: a fused ranker's weights are part of it, so
        a model of other weights (or none) is retrained, not served as this one."""
        return str(getattr(self.ranker, "key", self.ranker.name))

    def space(self) -> FeatureSpace | None:
        features = getattr(self.corpus, "features", None)
        space = features() if callable(features) else None
        return space if isinstance(space, FeatureSpace) else None

    def stored(self, profile: RecProfile, row: dict[str, Any] | None = None
               ) -> Trained | None:
        """The kept model of the profile when it was trained by this ranker over this
        feature space (whatever its version), else None."""
        row = row if row is not None else self.store.rec_model(profile.id)
        if row is None or row["ranker"] != self.ranker_key:
            return None
        space = self.space()
        if space is None or row["space_key"] != space_key(space):
            return None
        try:
            model, extra = load(row["data"], space, self.corpus)
            signals = _profile_of(extra)
        except (SavedModelError, KeyError, TypeError, ValueError) as exc:
            log.warning("profile %s: its kept model cannot be used (%s); retraining",
                        profile.id, exc)
            return None
        with self._lock:
            self.loads += 1
        return Trained(model, signals, strong_positives(signals), row["version"])

    def train(self, profile: RecProfile) -> Trained:
        """Train the profile's model for its current version, and keep it in the store."""
        version = self.store.rec_version(profile.row())
        read_at = datetime.now(UTC).replace(tzinfo=None)
        started = time.perf_counter()
        signals = gather(self.store, profile)
        model = self.ranker.train(signals, self.corpus)
        space = self.space()
        if isinstance(model, LinearModel) and space is not None and model.space is space:
            data = dump(model, _signals_data(signals))  # calibrates: three refits
            train_ms = (time.perf_counter() - started) * 1000
            self.store.save_rec_model(profile.id, version=version, space_key=space_key(space),
                                      ranker=self.ranker_key, read_at=read_at,
                                      train_ms=train_ms, data=data)
        with self._lock:
            self.trainings += 1
        return Trained(model, signals, strong_positives(signals), version)

    def stale(self, profiles: Iterable[RecProfile]) -> list[RecProfile]:
        """Those of ``profiles`` whose kept model is missing, of another ranker or feature
        space, or of an older version (one version read per profile)."""
        info = self.store.rec_models_info()
        return [p for p in profiles if not self.usable(info.get(p.id))
                or info[p.id]["version"] != self.store.rec_version(p.row())]

    def usable(self, row: dict[str, Any] | None) -> bool:
        """Whether a kept model (``Store.rec_models_info``'s row) is one this process can
        serve, whatever its version: this ranker's, over this feature space."""
        space = self.space()
        return (row is not None and space is not None and row["ranker"] == self.ranker_key
                and row["space_key"] == space_key(space))


class Retrainer:
    """Retrains profiles in one background thread of this process, each profile queued at
    most once at a time; a view that queued one carries on with the older model."""

    def __init__(self, train: Callable[[RecProfile, Hashable], Trained | None]) -> None:
        self._train = train
        self._pending: dict[int, Future[None]] = {}
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._open = threading.Event()
        self._open.set()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Queued retrains wait until the block ends (a test's proof that views don't)."""
        self._open.clear()
        try:
            yield
        finally:
            self._open.set()

    def queue(self, profile: RecProfile, salt: Hashable = None) -> None:
        with self._lock:
            if profile.id in self._pending:
                return
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="paperwire-retrain")
            self._pending[profile.id] = self._pool.submit(self._run, profile, salt)

    def _run(self, profile: RecProfile, salt: Hashable) -> None:
        self._open.wait()
        try:
            self._train(profile, salt)
        except Exception:  # noqa: BLE001 (the next view queues it again)
            log.exception("retraining profile %s failed", profile.id)
        finally:
            with self._lock:
                self._pending.pop(profile.id, None)

    def wait(self, timeout: float = 60.0) -> bool:
        """Wait until nothing is queued (tests, benches); False when ``timeout`` ran out."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                pending = list(self._pending.values())
            if not pending:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with contextlib.suppress(Exception):  # logged in _run
                pending[0].result(timeout=left)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True)
class TrainReport:
    profiles: int
    trained: int
    failed: int
    seconds: float
    deferred: int = 0  # stale, left for the next run: the time budget ran out

    def __str__(self) -> str:
        up_to_date = self.profiles - self.trained - self.failed - self.deferred
        left = f", {self.deferred} left for the next run" if self.deferred else ""
        return (f"{self.trained} of {self.profiles} profiles' models trained "
                f"({up_to_date} up to date, {self.failed} failed{left}) in "
                f"{self.seconds:.1f} s")


def train_stale(models: ModelStore, *, progress: bool = False,
                budget_s: float | None = None) -> TrainReport:
    """Train and keep the model of every profile that sends a digest section and whose kept
    model is stale: run it before the digest (the worker, `paperwire recommend-train`). A
    profile without any kept model comes first (the digest can serve an older model, not a
    missing one). With ``budget_s`` no training starts after that many seconds: the rest
    are left for the next run. A failure is logged and the rest go on."""
    import sys

    from tqdm import tqdm

    started = time.perf_counter()
    everyone = [RecProfile.from_row(row) for rows in models.store.digest_rec_profiles().values()
                for row in rows]
    stale = models.stale(everyone) if everyone else []  # no space built for nobody
    kept = models.store.rec_models_info() if stale else {}
    stale.sort(key=lambda p: models.usable(kept.get(p.id)))  # stable: missing ones first
    failed = trained = 0
    with tqdm(total=len(stale), unit=" profiles", desc="for you models",
              disable=not progress or not sys.stderr.isatty()) as bar:
        for profile in stale:
            if budget_s is not None and time.perf_counter() - started >= budget_s:
                break
            try:
                models.train(profile)
                trained += 1
            except Exception:  # noqa: BLE001 (one profile's failure must not stop the rest)
                log.exception("training profile %s failed", profile.id)
                failed += 1
            bar.update(1)
    return TrainReport(len(everyone), trained, failed, time.perf_counter() - started,
                       len(stale) - trained - failed)
