"""The scheduled pipeline: harvest → index → digest, once a day at ``worker_time``.

With PAPERWIRE_QUEUE_RUNNER=worker it also runs the background runner (background.py):
queued mail and queued submissions are its work then, not the web processes'.

Each job's run is a slot, ``YYYY-MM-DDTHH:MM`` in ``worker_timezone``, claimed in the
``worker_runs`` table before the job starts; the claim is unique per (job, slot), so a
restarted worker, or a second one on another machine, never runs a slot twice. Each job runs
under a lock that dies with its process: a slot left "running" by a worker that was killed is
resumed by the next one (every job is safe to rerun), never skipped. A slot whose
time has passed today is due; a missed day is not caught up automatically (run
``paperwire digest send --as-of DAY`` for it).

arXiv's announcement days: arXiv announces new papers Sunday to Thursday at 20:00 US
Eastern, and those listings carry the next day's date, Monday to Friday. There is nothing
new on Saturday or Sunday, so on those days harvest, index and the daily digest are
recorded as skipped; the weekly digest goes out on ``worker_weekly_day`` (default Saturday,
after the week's last listing) whatever the day.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from paperwire.errors import Busy, ConfigError
from paperwire.settings import Settings
from paperwire.store import Store

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ANNOUNCEMENT_DAYS = frozenset(range(5))  # Monday … Friday
JOBS = ("harvest", "index", "digest-daily", "digest-weekly")


@dataclass(frozen=True)
class Schedule:
    at: time
    zone: ZoneInfo
    weekly_day: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Schedule:
        try:
            at = time.fromisoformat(settings.worker_time)
        except ValueError:
            raise ConfigError(f"PAPERWIRE_WORKER_TIME={settings.worker_time!r}: expected "
                              "HH:MM") from None
        try:
            zone = ZoneInfo(settings.worker_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"PAPERWIRE_WORKER_TIMEZONE={settings.worker_timezone!r}: not "
                              "an IANA time zone (e.g. UTC, Europe/Berlin)") from None
        day = settings.worker_weekly_day.strip().lower()
        if day not in WEEKDAYS:
            raise ConfigError(f"PAPERWIRE_WORKER_WEEKLY_DAY={day!r}: expected one of "
                              f"{', '.join(WEEKDAYS)}")
        return cls(at, zone, WEEKDAYS.index(day))

    def today(self, now: datetime) -> tuple[date, bool]:
        """The local day of ``now`` and whether its slot time has come."""
        local = now.astimezone(self.zone)
        return local.date(), local.time().replace(tzinfo=None) >= self.at

    def slot(self, day: date) -> str:
        return f"{day.isoformat()}T{self.at.strftime('%H:%M')}"

    def due(self, now: datetime) -> list[tuple[str, str, str | None]]:
        """(job, slot, reason it is skipped or None) for the jobs due at ``now``."""
        day, reached = self.today(now)
        if not reached:
            return []
        quiet = None if day.weekday() in ANNOUNCEMENT_DAYS else (
            f"{WEEKDAYS[day.weekday()]}: arXiv lists nothing new on this day")
        jobs: list[tuple[str, str, str | None]] = [
            (job, self.slot(day), quiet) for job in ("harvest", "index", "digest-daily")]
        if day.weekday() == self.weekly_day:
            jobs.append(("digest-weekly", self.slot(day), None))
        return jobs


@dataclass(frozen=True)
class RunLine:
    job: str
    slot: str
    status: str  # done | failed | skipped | taken (another worker had claimed the slot)
    log: str

    def __str__(self) -> str:
        return f"{self.job} {self.slot}: {self.status} — {self.log}"


def run_due(settings: Settings, store: Store, now: datetime | None = None, *,
            harvest: bool = True, log: Callable[[RunLine], None] = lambda _line: None
            ) -> list[RunLine]:
    """Claim and run every job due now, in pipeline order; each is logged as it ends."""
    schedule = Schedule.from_settings(settings)
    now = now or datetime.now(UTC)
    day, _ = schedule.today(now)
    lines = []
    for job, slot, quiet in schedule.due(now):
        if job == "harvest" and not harvest:
            continue
        try:
            # The job's lock dies with its holder, so a slot still marked running while we
            # hold it was left by a worker killed mid-job: resume it (every job is safe to
            # rerun: harvests resume, the index catches up, digests send only what is missing).
            with store.exclusive(f"worker:{job}"):
                line = _run_slot(settings, store, job, slot, quiet, day)
        except Busy:
            line = RunLine(job, slot, "taken", "running in another worker right now")
        lines.append(line)
        log(line)
    return lines


def _run_slot(settings: Settings, store: Store, job: str, slot: str, quiet: str | None,
              day: date) -> RunLine:
    claim = store.claim_worker_slot(job, slot, resume_running=True)
    if claim is None:
        return RunLine(job, slot, "taken", "already run by an earlier or other worker")
    if quiet:
        line = RunLine(job, slot, "skipped", quiet)
    else:
        try:
            done = _run_job(settings, store, job, day)
            line = RunLine(job, slot, "done", f"resumed; {done}" if claim == "resumed" else done)
        except Exception as exc:  # noqa: BLE001 (logged and recorded; the next job runs)
            line = RunLine(job, slot, "failed", f"{type(exc).__name__}: {exc}")
    store.finish_worker_slot(job, slot, line.status, line.log)
    return line


def _run_job(settings: Settings, store: Store, job: str, day: date) -> str:
    if job == "harvest":
        return _harvest(settings, store, day)
    if job == "index":
        from paperwire.index.indexer import update_index
        from paperwire.search import Searcher

        searcher = Searcher.from_settings(settings, store)
        return update_index(store, searcher.paths, searcher.embedder, progress=False,
                            vectors=searcher.vectors).summary()
    from paperwire.digest import send_digests
    from paperwire.for_you_rank import WORKER_TRAIN_BUDGET_S, train_stale_models
    from paperwire.mail import batch_mailer
    from paperwire.search import Searcher

    period = "weekly" if job == "digest-weekly" else "daily"
    # For-you models the web has not retrained yet are trained first, missing ones first,
    # for at most WORKER_TRAIN_BUDGET_S (a cold instance catches up over several runs, or
    # with `paperwire recommend-train`); the digest serves older models as they are.
    trained = train_stale_models(store, Searcher.from_settings(settings, store),
                                 budget_s=WORKER_TRAIN_BUDGET_S)
    report = send_digests(settings, store, period, day, mailer=batch_mailer(settings, store))
    if not report.ok:
        raise RuntimeError(report.summary() + "; " + "; ".join(report.errors[:3]))
    return f"{report.summary()}; {trained}" if trained.profiles else report.summary()


def _harvest(settings: Settings, store: Store, day: date) -> str:
    from paperwire.ingest import ingest
    from paperwire.sources.oai import OAISource

    done = []
    for set_spec in settings.worker_harvest_sets:
        source = OAISource(settings, set_spec, limits=settings.limits())
        if store.load_state(source.state_key) is None:
            # A first harvest starts a few days back, not at the beginning of the set (all
            # of cs is ~700k records: days of polite requests); later ones continue from
            # where the last one ended.
            start = day - timedelta(days=settings.worker_first_harvest_days)
            source = OAISource(settings, set_spec, from_date=start, limits=settings.limits())
        report = ingest(source, store, progress=False)
        done.append(f"{set_spec}: {report.summary()}")
        if report.interrupted:
            raise RuntimeError(report.summary())
        done.append(_read_listing(settings, store, set_spec))
    return "; ".join(done) or "no sets configured (PAPERWIRE_WORKER_HARVEST_SETS)"


def _read_listing(settings: Settings, store: Store, set_spec: str) -> str:
    """The set's announcement feed, after its OAI-PMH harvest: the listing days and announce
    types OAI-PMH does not carry. A feed that cannot be read is logged, not fatal: the
    harvest has the papers, and their computed days stand until the next announcement."""
    from paperwire.errors import PaperwireError
    from paperwire.ingest import ingest_listing
    from paperwire.sources.listing import ListingSource

    # OAI sets name an archive under its group (physics:hep-th); feeds name the archive.
    feed = set_spec.rsplit(":", 1)[-1]
    try:
        source = ListingSource(settings, feed, endpoint=settings.arxiv_listing_url,
                               limits=settings.limits())
        report = ingest_listing(source, store, progress=False)
    except PaperwireError as exc:
        return f"listing {feed}: not read ({type(exc).__name__}: {exc})"
    return f"{report.summary()} (feed {feed})"


def run_forever(settings: Settings, store: Store, *, harvest: bool = True,
                log: Callable[[RunLine], None] = lambda _line: None,
                poll_s: float = 60.0) -> None:
    """Check for due jobs every ``poll_s`` seconds until interrupted; with
    PAPERWIRE_QUEUE_RUNNER=worker, deliver queued mail and run queued submissions too."""
    from paperwire.background import Runner

    Schedule.from_settings(settings)  # refuse bad settings at start, not at 06:00
    runner = Runner(settings, store) if settings.queue_runner == "worker" else None
    if runner is not None:
        runner.start()
    try:
        while True:
            run_due(settings, store, harvest=harvest, log=log)
            _time.sleep(poll_s)
    finally:
        if runner is not None:
            runner.stop()
