"""The jobs table: work a request queued for the background runner, claimed like the outbox.

A job is ``queued``, ``running`` while a runner holds it, then ``done`` or ``failed`` with a
message for its status page. Claims are compare-and-set on ``attempts``, as in outbox.py; a
claim older than ``stale_after`` is taken over (its runner is presumed dead).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from paperwire.store.schema import jobs

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    key: str
    user_id: int | None
    payload: dict[str, Any]
    status: str
    attempts: int
    message: str | None
    result: dict[str, Any] | None
    created_at: datetime
    finished_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "key": self.key, "status": self.status,
                "message": self.message, "result": self.result,
                "created_at": self.created_at.isoformat(),
                "finished_at": self.finished_at.isoformat() if self.finished_at else None}


def _job(row: Any) -> Job:
    return Job(row.id, row.kind, row.key, row.user_id, dict(row.payload or {}), row.status,
               row.attempts, row.message, row.result, row.created_at, row.finished_at)


def add(conn: Connection, kind: str, key: str, user_id: int | None, payload: dict[str, Any],
        message: str, now: datetime) -> Job:
    """Queue a job, or return the same user's unfinished job of this kind and key."""
    open_job = conn.execute(select(jobs).where(
        jobs.c.kind == kind, jobs.c.key == key, jobs.c.user_id == user_id,
        jobs.c.status.in_((QUEUED, RUNNING))).order_by(jobs.c.id.desc()).limit(1)).first()
    if open_job is not None:
        return _job(open_job)
    job_id = conn.execute(jobs.insert().values(
        kind=kind, key=key, user_id=user_id, payload=payload, status=QUEUED, attempts=0,
        next_attempt_at=now, message=message, created_at=now).returning(jobs.c.id)).scalar_one()
    found = get(conn, int(job_id))
    assert found is not None
    return found


def get(conn: Connection, job_id: int) -> Job | None:
    row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
    return _job(row) if row is not None else None


def claim_due(conn: Connection, now: datetime, stale_after: timedelta, limit: int
              ) -> list[Job]:
    """Claim up to ``limit`` due jobs (queued, or held by a stale claim)."""
    due = or_(and_(jobs.c.status == QUEUED, jobs.c.next_attempt_at <= now),
              and_(jobs.c.status == RUNNING, jobs.c.claimed_at < now - stale_after))
    seen = conn.execute(select(jobs.c.id, jobs.c.attempts, jobs.c.status).where(due)
                        .order_by(jobs.c.id).limit(limit)).all()
    claimed = []
    for row in seen:
        won = conn.execute(jobs.update().where(
            jobs.c.id == row.id, jobs.c.attempts == row.attempts, jobs.c.status == row.status,
        ).values(status=RUNNING, claimed_at=now, attempts=row.attempts + 1)).rowcount
        if won == 1:
            found = get(conn, row.id)
            assert found is not None
            claimed.append(found)
    return claimed


def finish(conn: Connection, job: Job, status: str, message: str, now: datetime,
           result: dict[str, Any] | None = None) -> bool:
    """Settle a claimed job; False when its claim was taken over meanwhile."""
    return conn.execute(jobs.update().where(
        jobs.c.id == job.id, jobs.c.status == RUNNING, jobs.c.attempts == job.attempts
    ).values(status=status, message=message, result=result, claimed_at=None,
             finished_at=now)).rowcount == 1


def progress(conn: Connection, job: Job, message: str) -> bool:
    """Say how far a claimed job has come (its status page shows it); False when its claim
    was taken over meanwhile."""
    return conn.execute(jobs.update().where(
        jobs.c.id == job.id, jobs.c.status == RUNNING, jobs.c.attempts == job.attempts
    ).values(message=message)).rowcount == 1
