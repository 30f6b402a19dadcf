"""The background runner: delivers queued mail, runs queued jobs, and writes the notices of
new comments and mails them (notifications.py), off the request path.

Web requests only queue (mail in the outbox, submissions in the jobs table) and return at
once. A Runner works the queues in daemon threads (notices, mail, jobs), so a submission
waiting minutes on arXiv never holds up a verification mail. Where it runs is
PAPERWIRE_QUEUE_RUNNER: ``web`` starts one per web process in the app's lifespan; ``worker``
leaves it to ``paperwire worker``. Any number may run against one database: every row is
claimed atomically (store/outbox.py, store/jobs.py), and a claim whose holder died is taken
over after a timeout. A thread sleeps ``poll_s`` between empty passes, or less when this
process queued something (``wake``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from paperwire import library_jobs, submissions
from paperwire.library import LibraryError
from paperwire.mail_queue import deliver_due
from paperwire.notifications import send_notices
from paperwire.settings import Settings
from paperwire.store import Store
from paperwire.store.jobs import Job

log = logging.getLogger(__name__)

# A fetch from arXiv retries for up to ~155 s; a claim older than this is a dead runner's.
JOB_STALE_AFTER = timedelta(minutes=15)
MAX_JOB_ATTEMPTS = 3  # a job whose runner died this often is failed, not retried forever


def run_jobs(settings: Settings, store: Store, *,
             fetch: submissions.Fetch = submissions.fetch_from_arxiv, limit: int = 4) -> int:
    """One pass over due jobs: claim, run and record each; how many were claimed."""
    claimed = store.claim_jobs(JOB_STALE_AFTER, limit)
    for job in claimed:
        if job.attempts > MAX_JOB_ATTEMPTS:
            store.finish_job(job, "failed", "this submission was interrupted too often; "
                             "please submit it again")
            continue
        if job.kind == library_jobs.JOB_KIND:
            _run_import(settings, store, job)
            continue
        if job.kind != submissions.JOB_KIND:
            store.finish_job(job, "failed", f"unknown kind of job {job.kind!r}")
            continue
        try:
            done = submissions.run_job(store, settings, job, fetch=fetch)
        except submissions.SubmissionError as exc:
            store.finish_job(job, "failed", str(exc), {"status": exc.status})
        except Exception as exc:  # noqa: BLE001 (recorded on the job; the runner goes on)
            log.exception("submission job %s failed", job.id)
            store.finish_job(job, "failed", f"the server hit an unexpected error "
                             f"({type(exc).__name__}); please submit it again")
        else:
            store.finish_job(job, "done", done.message, {
                "arxiv_id": done.arxiv_id, "created": done.created, "votes": done.vote.votes,
                "voted": done.vote.voted, "url": f"/papers/{done.arxiv_id}"})
    return len(claimed)


def _run_import(settings: Settings, store: Store, job: Job,
                fetch: library_jobs.Fetch | None = None) -> None:
    try:
        result = library_jobs.run_import_job(store, settings, job, fetch=fetch)
    except LibraryError as exc:
        store.finish_job(job, "failed", str(exc), {"status": exc.status})
    except Exception as exc:  # noqa: BLE001 (recorded on the job; the runner goes on)
        log.exception("import job %s failed", job.id)
        store.finish_job(job, "failed", f"the server hit an unexpected error "
                         f"({type(exc).__name__}); please import the file again")
    else:
        store.finish_job(job, "done", result["summary"], result)


class Runner:
    """Daemon threads working the mail queue, the job queue and the notices until stopped."""

    def __init__(self, settings: Settings, store: Store, *, poll_s: float = 5.0) -> None:
        self.settings = settings
        self.store = store
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._wakes: list[threading.Event] = []
        self._threads: list[threading.Thread] = []

    def passes(self) -> list[tuple[str, Callable[[], int]]]:
        # Notices first: run_once then delivers the mail a notice pass just queued.
        return [("notices", lambda: send_notices(self.settings, self.store,
                                                 on_queued=self.wake).readers),
                ("mail", lambda: deliver_due(self.settings, self.store)),
                ("jobs", lambda: run_jobs(self.settings, self.store))]

    def run_once(self) -> int:
        """One pass of each queue in this thread (the CLI, tests); how many rows were taken."""
        return sum(work() for _name, work in self.passes())

    def start(self) -> None:
        for name, work in self.passes():
            wake = threading.Event()
            thread = threading.Thread(target=self._loop, args=(work, wake), daemon=True,
                                      name=f"paperwire-{name}")
            self._wakes.append(wake)
            self._threads.append(thread)
            thread.start()

    def wake(self) -> None:
        """Something was queued here: look now rather than at the next poll."""
        for wake in self._wakes:
            wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.wake()
        for thread in self._threads:
            thread.join(timeout)  # a send stuck on a slow server is abandoned (a daemon)

    def _loop(self, work: Callable[[], int], wake: threading.Event) -> None:
        while not self._stop.is_set():
            wake.clear()  # before the pass: what is queued during it wakes the next one
            try:
                busy = work() > 0
            except Exception:  # noqa: BLE001 (a database hiccup must not end the thread)
                log.exception("background pass failed; trying again shortly")
                busy = False
            if not busy:
                wake.wait(self.poll_s)
