"""Subscriptions and saved searches, the digest send ledger, and the worker's claimed slots."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, and_, delete, func, select, update

from paperwire.models import LedgerEntry, SavedSearch, SearchSpec, Subscription
from paperwire.store.schema import digest_sends, saved_searches, subscriptions, worker_runs


def _search(row: Row[Any]) -> SavedSearch:
    filters = row.filters or {}
    return SavedSearch(id=row.id, subscription_id=row.subscription_id, query=row.query,
                       categories=tuple(filters.get("categories") or ()),
                       author=filters.get("author"), token=row.token,
                       created_at=row.created_at)


def _subscription(row: Row[Any], searches: Sequence[SavedSearch]) -> Subscription:
    return Subscription(id=row.id, email=row.email, period=row.period,
                        trending=bool(row.trending), categories=tuple(row.categories or ()),
                        status=row.status, token=row.token, user_id=row.user_id,
                        created_at=row.created_at, confirmed_at=row.confirmed_at,
                        last_digest_on=row.last_digest_on, bounce_reason=row.bounce_reason,
                        searches=tuple(searches))


def _load(conn: Connection, where: Any) -> list[Subscription]:
    rows = list(conn.execute(select(subscriptions).where(where).order_by(subscriptions.c.id)))
    by_sub: dict[int, list[SavedSearch]] = {row.id: [] for row in rows}
    if rows:
        # One query for all searches (IN over ids would hit parameter limits at 10k+ rows).
        query = select(saved_searches).order_by(saved_searches.c.id)
        if len(rows) < 500:
            query = query.where(saved_searches.c.subscription_id.in_(list(by_sub)))
        for srow in conn.execute(query):
            if srow.subscription_id in by_sub:
                by_sub[srow.subscription_id].append(_search(srow))
    return [_subscription(row, by_sub[row.id]) for row in rows]


def find(conn: Connection, *, email: str | None = None, token: str | None = None,
         sub_id: int | None = None) -> Subscription | None:
    if email is not None:
        where = subscriptions.c.email == email.strip().lower()
    elif token is not None:
        where = subscriptions.c.token == token
    else:
        where = subscriptions.c.id == sub_id
    found = _load(conn, where)
    return found[0] if found else None


def list_subscriptions(conn: Connection, *, status: str | None = None,
                       period: str | None = None, user_id: int | None = None
                       ) -> list[Subscription]:
    where: list[ColumnElement[bool]] = [subscriptions.c.id.is_not(None)]
    if status is not None:
        where.append(subscriptions.c.status == status)
    if period is not None:
        where.append(subscriptions.c.period == period)
    if user_id is not None:
        where.append(subscriptions.c.user_id == user_id)
    return _load(conn, and_(*where))


def upsert(conn: Connection, email: str, *, period: str, trending: bool,
           categories: Sequence[str], searches: Sequence[SearchSpec], status: str,
           user_id: int | None, now: datetime) -> int:
    """Create the address's subscription or update its preferences; saved searches are added
    (an identical one is kept, not doubled). ``status`` active confirms; pending leaves an
    existing status alone."""
    email = email.strip().lower()
    existing = conn.execute(select(subscriptions).where(subscriptions.c.email == email)
                            ).one_or_none()
    values: dict[str, Any] = {"period": period, "trending": trending,
                              "categories": list(categories)}
    if user_id is not None:
        values["user_id"] = user_id
    if existing is None:
        inserted = conn.execute(subscriptions.insert().values(
            email=email, status=status, token=secrets.token_urlsafe(24), created_at=now,
            confirmed_at=now if status == "active" else None, user_id=user_id,
            period=period, trending=trending, categories=list(categories)))
        sub_id = int(inserted.inserted_primary_key[0])  # type: ignore[index]
    else:
        sub_id = int(existing.id)
        if status == "active":
            values.update(status="active", confirmed_at=now, unsubscribed_at=None,
                          bounced_at=None, bounce_reason=None)
        conn.execute(update(subscriptions).where(subscriptions.c.id == sub_id).values(values))
    have = {(s.query, s.categories, s.author) for s in
            map(_search, conn.execute(select(saved_searches)
                                      .where(saved_searches.c.subscription_id == sub_id)))}
    for spec in searches:
        key = (spec.query, tuple(spec.categories), spec.author)
        if key in have:
            continue
        have.add(key)
        conn.execute(saved_searches.insert().values(
            subscription_id=sub_id, query=spec.query, token=secrets.token_urlsafe(24),
            filters={"categories": list(spec.categories), "author": spec.author},
            created_at=now))
    return sub_id


def set_status(conn: Connection, sub_id: int, status: str, now: datetime,
               reason: str | None = None) -> None:
    values: dict[str, Any] = {"status": status}
    if status == "active":
        values.update(confirmed_at=now, unsubscribed_at=None, bounced_at=None,
                      bounce_reason=None)
    elif status == "unsubscribed":
        values["unsubscribed_at"] = now
    elif status == "bounced":
        values.update(bounced_at=now, bounce_reason=reason)
    conn.execute(update(subscriptions).where(subscriptions.c.id == sub_id).values(values))


def remove(conn: Connection, email: str) -> bool:
    result = conn.execute(delete(subscriptions)
                          .where(subscriptions.c.email == email.strip().lower()))
    return bool(result.rowcount)


def saved_search(conn: Connection, token: str) -> tuple[SavedSearch, str] | None:
    """A saved search by its feed token, with its subscription's status."""
    row = conn.execute(
        select(saved_searches, subscriptions.c.status.label("sub_status"))
        .join(subscriptions, subscriptions.c.id == saved_searches.c.subscription_id)
        .where(saved_searches.c.token == token)).one_or_none()
    return (_search(row), str(row.sub_status)) if row is not None else None


def rotate_search_token(conn: Connection, search_id: int) -> str | None:
    """Give a saved search a new feed token (the old feed address stops working)."""
    token = secrets.token_urlsafe(24)
    result = conn.execute(update(saved_searches).where(saved_searches.c.id == search_id)
                          .values(token=token))
    return token if result.rowcount else None


# --- the digest send ledger -------------------------------------------------------------------
def ledger(conn: Connection, period_key: str) -> dict[int, dict[str, Any]]:
    """The ledger rows of one period key, by subscription id."""
    rows = conn.execute(select(digest_sends).where(digest_sends.c.period_key == period_key))
    return {row.subscription_id: dict(row._mapping) for row in rows}


def claim(conn: Connection, entries: Iterable[LedgerEntry], status: str, now: datetime
          ) -> None:
    """Write each entry's row with ``status`` (sending: one more attempt), unless it is
    already marked sent: a sent row is final."""
    entries = list(entries)
    known = {row.subscription_id: row for row in conn.execute(
        select(digest_sends.c.subscription_id, digest_sends.c.status, digest_sends.c.id)
        .where(digest_sends.c.period_key.in_(sorted({e.period_key for e in entries}))))} \
        if entries else {}
    bump = 1 if status == "sending" else 0
    for e in entries:
        row = known.get(e.subscription_id)
        if row is None:
            conn.execute(digest_sends.insert().values(
                subscription_id=e.subscription_id, period=e.period, period_key=e.period_key,
                message_id=e.message_id, status=status, attempts=bump, papers=list(e.papers),
                created_at=now, updated_at=now))
        elif row.status != "sent":
            conn.execute(update(digest_sends).where(digest_sends.c.id == row.id).values(
                status=status, attempts=digest_sends.c.attempts + bump,
                papers=list(e.papers), updated_at=now))


def mark(conn: Connection, sub_id: int, period_key: str, status: str, now: datetime, *,
         error: str | None = None, as_of: date | None = None) -> None:
    values: dict[str, Any] = {"status": status, "updated_at": now, "last_error": error}
    if status == "sent":
        values["sent_at"] = now
    conn.execute(update(digest_sends).where(digest_sends.c.subscription_id == sub_id,
                                            digest_sends.c.period_key == period_key)
                 .values(values))
    if status == "sent" and as_of is not None:
        conn.execute(update(subscriptions).where(subscriptions.c.id == sub_id)
                     .values(last_digest_on=as_of))


def ledger_counts(conn: Connection, period_key: str) -> dict[str, int]:
    rows = conn.execute(select(digest_sends.c.status, func.count())
                        .where(digest_sends.c.period_key == period_key)
                        .group_by(digest_sends.c.status))
    return {str(status): int(n) for status, n in rows}


# --- worker runs --------------------------------------------------------------------------
def claim_run(conn: Connection, job: str, slot: str, now: datetime, *,
              resume_running: bool = False) -> str | None:
    """Claim (job, slot): "claimed", or "resumed" when ``resume_running`` and the slot is
    still marked running (its worker died: the caller holds the job's lock, so no live
    worker can be running it), else None. Runs under the writer lock, so the check and the
    insert cannot interleave with another worker's."""
    taken = conn.execute(select(worker_runs.c.status).where(
        worker_runs.c.job == job, worker_runs.c.slot == slot)).first()
    if taken is None:
        conn.execute(worker_runs.insert().values(job=job, slot=slot, status="running",
                                                 started_at=now))
        return "claimed"
    if resume_running and taken.status == "running":
        conn.execute(update(worker_runs).where(worker_runs.c.job == job,
                                               worker_runs.c.slot == slot)
                     .values(started_at=now))
        return "resumed"
    return None


def finish_run(conn: Connection, job: str, slot: str, status: str, log: str,
               now: datetime) -> None:
    conn.execute(update(worker_runs).where(worker_runs.c.job == job, worker_runs.c.slot == slot)
                 .values(status=status, log=log, finished_at=now))


def runs(conn: Connection, limit: int = 50) -> list[dict[str, Any]]:
    rows = conn.execute(select(worker_runs).order_by(worker_runs.c.id.desc()).limit(limit))
    return [dict(row._mapping) for row in rows]
