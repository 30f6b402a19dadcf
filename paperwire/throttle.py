"""One throttle: at most so many attempts under a key within a window, counted in the store.

It guards sign-in (failures per address and per client), mail per address and kind, and
sign-ups, password resets and subscribes per client. An attempt is reserved before the work
it guards (a password check, a mail), and the count includes it, so concurrent requests
cannot all pass a check made before any of them was recorded. Work that should not count
after all (a sign-in that succeeded) releases its reservation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from paperwire.errors import PaperwireError
from paperwire.store.database import utcnow

if TYPE_CHECKING:
    from paperwire.settings import Settings
    from paperwire.store import Store

HOUR = timedelta(hours=1)
ClientAction = Literal["subscribe", "signup", "reset"]


class Throttled(PaperwireError):
    """Over a limit; ``retry_after`` is in seconds."""

    def __init__(self, retry_after: int, what: str = "attempts") -> None:
        super().__init__(f"too many {what}; try again in {retry_after} seconds")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Limit:
    """At most ``attempts`` under one key of kind ``name`` within ``window``."""

    name: str
    attempts: int
    window: timedelta

    def key(self, subject: str) -> str:
        return f"{self.name}:{subject}"


Check = tuple[Limit, str]  # a limit and the subject (address, client IP) it applies to


@dataclass
class Reservation:
    """Attempts reserved by ``reserve``; they count until released."""

    store: Store
    ids: list[int] = field(default_factory=list)

    def release(self) -> None:
        self.store.release_attempts(self.ids)
        self.ids.clear()


def _wait(oldest: datetime | None, window: timedelta, now: datetime) -> int:
    if oldest is None:
        return max(1, math.ceil(window.total_seconds()))
    return max(1, math.ceil((oldest + window - now).total_seconds()))


def reserve(store: Store, checks: Sequence[Check], what: str = "attempts") -> Reservation:
    """Reserve one attempt under each check's key; Throttled (with nothing kept) when any
    of them is then over its limit, counting the one just reserved."""
    now = utcnow()
    held = Reservation(store)
    for limit, subject in checks:
        attempt, counted, oldest = store.reserve_attempt(limit.key(subject), now - limit.window)
        held.ids.append(attempt)
        if counted > limit.attempts:
            held.release()
            raise Throttled(_wait(oldest, limit.window, now), what)
    return held


def judge(checks: Sequence[Check], counts: Sequence[tuple[int, datetime | None]],
          now: datetime, what: str = "attempts") -> None:
    """``reserve``'s rule for work that records its attempts in the transaction that does
    the work (so a refusal keeps nothing): Throttled when a check is over its limit, given
    what was counted under its key, the attempt just recorded included ((count, oldest))."""
    for (limit, _), (counted, oldest) in zip(checks, counts, strict=True):
        if counted > limit.attempts:
            raise Throttled(_wait(oldest, limit.window, now), what)


def allow(store: Store, limit: Limit, subject: str) -> bool:
    """Reserve an attempt if within the limit (it then counts); whether it was."""
    try:
        reserve(store, [(limit, subject)])
    except Throttled:
        return False
    return True


def check(store: Store, checks: Sequence[Check], what: str = "attempts",
          now: datetime | None = None) -> None:
    """Throttled when a check's key is already at its limit; reserves nothing."""
    now = now or utcnow()
    for limit, subject in checks:
        counted, oldest = store.count_attempts(limit.key(subject), now - limit.window)
        if counted >= limit.attempts:
            raise Throttled(_wait(oldest, limit.window, now), what)


def clear(store: Store, limit: Limit, subject: str) -> None:
    store.clear_attempts(limit.key(subject))


# --- the limits paperwire applies -------------------------------------------------------------
def sign_in_checks(settings: Settings, email: str, client_ip: str | None) -> list[Check]:
    """Failed sign-ins per address, and per client (looser: many people share a NAT)."""
    window = timedelta(minutes=settings.login_window_minutes)
    checks = [(Limit("email", settings.login_max_failures, window), email.strip().lower()[:320])]
    if client_ip:
        checks.append((Limit("ip", settings.login_max_failures * 4, window), client_ip))
    return checks


def mail_limit(settings: Settings, kind: str) -> Limit:
    """Mails of one kind a form may send to one address (subject: the address)."""
    return Limit(f"mail-{kind}", settings.mails_per_address_per_hour, HOUR)


def client_limit(settings: Settings, action: ClientAction) -> Limit:
    """Requests of one kind one client may make (subject: the client IP)."""
    attempts = {"subscribe": settings.subscribe_per_ip_per_hour,
                "signup": settings.signups_per_ip_per_hour,
                "reset": settings.resets_per_ip_per_hour}[action]
    return Limit(f"{action}-ip", attempts, HOUR)
