"""Store methods of mail and queued work: the outbox queue, jobs, subscriptions, the ledger.

Saved searches, the digest ledger and the worker's runs too; the SQL is in outbox.py, jobs.py
and subscriptions.py.

Mixed into ``Store`` (import that, not this); kept apart so each area's door stays small.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import Engine

from paperwire.models import LedgerEntry, SavedSearch, SearchSpec, Subscription
from paperwire.store import jobs as _jobs
from paperwire.store import outbox as _outbox
from paperwire.store import recommend as _rec
from paperwire.store import subscriptions as _subs
from paperwire.store.database import (
    utcnow,
    write_transaction,
)


class MailMethods:
    engine: Engine

    # --- outbox (mail composed by the site, and its delivery queue: store/outbox.py) ----
    def record_mail(self, message: EmailMessage, *, kind: str, status: str = "queued",
                    note: str | None = None) -> int:
        """Keep the message with ``status`` (queued: for the sender to deliver); the same
        Message-ID again is the same row. Returns its id."""
        with write_transaction(self.engine) as conn:
            return _outbox.record_mail(conn, message, kind, utcnow(), status, note)

    def outbox(self, to: str | None = None, kind: str | None = None, limit: int = 50,
               status: str | None = None) -> list[dict[str, Any]]:
        """Recorded messages, newest first (``to``, ``kind`` and ``status`` narrow them)."""
        with self.engine.connect() as conn:
            return _outbox.outbox_messages(conn, to, kind, limit, status)

    def claim_mail(self, stale_after: timedelta, limit: int = 20) -> list[_outbox.Claimed]:
        """Claim due queued messages for this sender (see store/outbox.py)."""
        with write_transaction(self.engine) as conn:
            return _outbox.claim_due(conn, utcnow(), stale_after, limit)

    def mark_mail(self, claim: _outbox.Claimed, status: str, *, error: str | None = None,
                  retry_at: datetime | None = None) -> bool:
        with write_transaction(self.engine) as conn:
            return _outbox.mark(conn, claim, status, utcnow(), error=error, retry_at=retry_at)

    def mail_queue_counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return _outbox.queue_counts(conn)

    # --- jobs a request queued (store/jobs.py) ---------------------------------------------
    def add_job(self, kind: str, key: str, user_id: int | None, payload: dict[str, Any],
                message: str) -> _jobs.Job:
        with write_transaction(self.engine) as conn:
            return _jobs.add(conn, kind, key, user_id, payload, message, utcnow())

    def job(self, job_id: int) -> _jobs.Job | None:
        with self.engine.connect() as conn:
            return _jobs.get(conn, job_id)

    def claim_jobs(self, stale_after: timedelta, limit: int = 4) -> list[_jobs.Job]:
        with write_transaction(self.engine) as conn:
            return _jobs.claim_due(conn, utcnow(), stale_after, limit)

    def finish_job(self, job: _jobs.Job, status: str, message: str,
                   result: dict[str, Any] | None = None) -> bool:
        with write_transaction(self.engine) as conn:
            return _jobs.finish(conn, job, status, message, utcnow(), result)

    # --- subscriptions, saved searches, digest sends, worker runs (store/subscriptions.py)
    def upsert_subscription(self, email: str, *, period: str = "daily", trending: bool = True,
                            categories: Sequence[str] = (),
                            searches: Sequence[SearchSpec] = (),
                            status: str = "pending", user_id: int | None = None
                            ) -> Subscription:
        """Create or update the address's subscription (see subscriptions.upsert)."""
        with write_transaction(self.engine) as conn:
            sub_id = _subs.upsert(conn, email, period=period, trending=trending,
                                  categories=categories, searches=searches, status=status,
                                  user_id=user_id, now=utcnow())
            found = _subs.find(conn, sub_id=sub_id)
        assert found is not None
        return found

    def subscription(self, *, email: str | None = None, token: str | None = None,
                     sub_id: int | None = None) -> Subscription | None:
        with self.engine.connect() as conn:
            return _subs.find(conn, email=email, token=token, sub_id=sub_id)

    def subscriptions(self, *, status: str | None = None, period: str | None = None,
                      user_id: int | None = None) -> list[Subscription]:
        with self.engine.connect() as conn:
            return _subs.list_subscriptions(conn, status=status, period=period,
                                            user_id=user_id)

    def set_subscription_status(self, sub_id: int, status: str, reason: str | None = None
                                ) -> None:
        with write_transaction(self.engine) as conn:
            _subs.set_status(conn, sub_id, status, utcnow(), reason)

    def remove_subscription(self, email: str) -> bool:
        with write_transaction(self.engine) as conn:
            return _subs.remove(conn, email)

    def saved_search(self, token: str) -> tuple[SavedSearch, str] | None:
        """A saved search by feed token, with its subscription's status."""
        with self.engine.connect() as conn:
            return _subs.saved_search(conn, token)

    def rotate_feed_token(self, search_id: int) -> str | None:
        """A new feed token for the saved search (None when there is no such search)."""
        with write_transaction(self.engine) as conn:
            return _subs.rotate_search_token(conn, search_id)

    def digest_ledger(self, period_key: str) -> dict[int, dict[str, Any]]:
        with self.engine.connect() as conn:
            return _subs.ledger(conn, period_key)

    def claim_digests(self, entries: Iterable[LedgerEntry], status: str = "sending", *,
                      recommended: Sequence[tuple[int, str]] = ()) -> None:
        """Record entries as about to be sent (or skipped), in one transaction, with the
        (profile, paper) pairs their For-you sections recommend (the shown ledger)."""
        entries = list(entries)
        with write_transaction(self.engine) as conn:
            _subs.claim(conn, entries, status, utcnow())
            if recommended and entries:
                _rec.record_shown(conn, recommended, "digest", entries[0].period_key,
                                  utcnow())

    def mark_digest(self, sub_id: int, period_key: str, status: str, *,
                    error: str | None = None, as_of: date | None = None) -> None:
        with write_transaction(self.engine) as conn:
            _subs.mark(conn, sub_id, period_key, status, utcnow(), error=error, as_of=as_of)

    def digest_counts(self, period_key: str) -> dict[str, int]:
        with self.engine.connect() as conn:
            return _subs.ledger_counts(conn, period_key)

    def claim_worker_slot(self, job: str, slot: str, *, resume_running: bool = False
                          ) -> str | None:
        """"claimed" when this process now owns (job, slot); "resumed" when it was left
        running by a worker that died (only with ``resume_running``, under the job's lock);
        None when another run has it."""
        with write_transaction(self.engine) as conn:
            return _subs.claim_run(conn, job, slot, utcnow(), resume_running=resume_running)

    def finish_worker_slot(self, job: str, slot: str, status: str, log: str) -> None:
        with write_transaction(self.engine) as conn:
            _subs.finish_run(conn, job, slot, status, log, utcnow())

    def worker_runs(self, limit: int = 50) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return _subs.runs(conn, limit)
