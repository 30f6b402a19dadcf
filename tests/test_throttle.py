"""The one throttle: attempts reserved before the work they guard, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from alembic import command
from argon2 import PasswordHasher
from sqlalchemy import text

from paperwire import accounts, throttle
from paperwire.accounts import Throttled, WrongCredentials
from paperwire.settings import Settings
from paperwire.store import Store
from paperwire.store.database import _alembic_config, utcnow
from paperwire.subscriptions import may_send_confirmation

PASSWORD = "correct horse battery"


class CountingHasher(PasswordHasher):
    """argon2's own hasher, counting the verifications it really performs."""

    def __init__(self) -> None:
        super().__init__(time_cost=2, memory_cost=4096, parallelism=1)
        self.verified = 0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        with self._lock:
            self.verified += 1
        return super().verify(hash, password)


def _race(n: int, attempt: Any) -> list[str]:
    """Run ``attempt`` in n threads released at once; what each ended with."""
    start = threading.Barrier(n)

    def one(i: int) -> str:
        start.wait()
        try:
            attempt(i)
        except throttle.Throttled:
            return "throttled"
        except WrongCredentials:
            return "wrong"
        return "ok"

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


@pytest.mark.parametrize("client_ips", [False, True], ids=["no-ip", "one-ip-each"])
def test_concurrent_wrong_passwords_check_no_more_than_the_limit(store: Store,
                                                                 client_ips: bool) -> None:
    ph = CountingHasher()
    accounts.sign_up(store, "ann@example.org", PASSWORD, "Ann", ph=ph)
    settings = Settings(login_max_failures=5)

    def guess(i: int) -> None:
        accounts.authenticate(store, settings, "ann@example.org", f"wrong guess {i}",
                              f"10.0.0.{i}" if client_ips else None, ph=ph)

    outcomes = _race(24, guess)
    assert ph.verified <= settings.login_max_failures
    assert outcomes.count("wrong") == ph.verified
    assert outcomes.count("throttled") == 24 - ph.verified
    # Refused guesses are not counted, so guessing on one at a time reaches the limit exactly.
    while ph.verified < settings.login_max_failures:
        with pytest.raises(WrongCredentials):
            guess(100)
    with pytest.raises(Throttled):  # the right password is refused too, now
        accounts.authenticate(store, settings, "ann@example.org", PASSWORD, None, ph=ph)
    assert ph.verified == settings.login_max_failures


def test_successful_sign_ins_do_not_use_up_the_clients_allowance(store: Store) -> None:
    accounts.sign_up(store, "ann@example.org", PASSWORD, "Ann")
    settings = Settings(login_max_failures=1)  # four per client IP
    for _ in range(10):
        assert accounts.authenticate(store, settings, "ann@example.org", PASSWORD, "10.0.0.1")
    with pytest.raises(WrongCredentials):
        accounts.authenticate(store, settings, "ann@example.org", "wrong pass", "10.0.0.1")
    with pytest.raises(Throttled):
        accounts.authenticate(store, settings, "ann@example.org", PASSWORD, "10.0.0.1")


def test_sign_ups_per_client_are_limited_before_any_hash(store: Store) -> None:
    ph = CountingHasher()
    hashed: list[str] = []
    original = ph.hash

    def counting_hash(password: str | bytes, *, salt: bytes | None = None) -> str:
        hashed.append("x")
        return original(password, salt=salt)

    ph.hash = counting_hash  # type: ignore[method-assign]
    settings = Settings(signups_per_ip_per_hour=3)
    for i in range(3):
        accounts.sign_up(store, f"u{i}@example.org", PASSWORD, "U", ph=ph, settings=settings,
                         client_ip="10.0.0.9")
    with pytest.raises(Throttled) as refused:
        accounts.sign_up(store, "u9@example.org", PASSWORD, "Visit http://evil.example",
                         ph=ph, settings=settings, client_ip="10.0.0.9")
    assert 0 < refused.value.retry_after <= 3600
    assert "too many sign-ups" in str(refused.value)
    assert len(hashed) == 3 and store.user_by_email("u9@example.org") is None
    # Another client is not affected.
    accounts.sign_up(store, "u9@example.org", PASSWORD, "U", ph=ph, settings=settings,
                     client_ip="10.0.0.10")


def test_reset_requests_per_client_are_limited(store: Store) -> None:
    settings = Settings(resets_per_ip_per_hour=2)
    accounts.reserve_reset(store, settings, "10.0.0.1")
    accounts.reserve_reset(store, settings, "10.0.0.1")
    with pytest.raises(Throttled, match="too many password-reset requests"):
        accounts.reserve_reset(store, settings, "10.0.0.1")
    accounts.reserve_reset(store, settings, "10.0.0.2")


def test_concurrent_reservations_pass_no_more_than_the_limit(store: Store) -> None:
    limit = throttle.Limit("test", 3, timedelta(minutes=5))
    outcomes = _race(16, lambda i: throttle.reserve(store, [(limit, "k")]))
    assert 0 < outcomes.count("ok") <= 3


def test_refused_reservations_are_not_kept(store: Store) -> None:
    limit = throttle.Limit("test", 2, timedelta(minutes=5))
    assert throttle.allow(store, limit, "k") and throttle.allow(store, limit, "k")
    for _ in range(5):
        assert not throttle.allow(store, limit, "k")
    assert store.count_attempts("test:k", utcnow() - timedelta(hours=1))[0] == 2


def test_subscribe_and_mail_limits_share_the_throttle(store: Store) -> None:
    settings = Settings(subscribe_per_ip_per_hour=2, mails_per_address_per_hour=1)
    assert may_send_confirmation(store, settings, "a@example.org", "10.0.0.1") == (True, 0)
    assert may_send_confirmation(store, settings, "a@example.org", "10.0.0.1") == (False, 0)
    send, wait = may_send_confirmation(store, settings, "b@example.org", "10.0.0.1")
    assert not send and 0 < wait <= 3600


def test_the_rename_keeps_the_attempts(database_url: str) -> None:
    with Store.from_url(database_url, migrate_schema=False) as bare, \
            bare.engine.begin() as conn:
        config = _alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, "0005")
        conn.execute(text("INSERT INTO login_attempts (key, attempted_at) "
                          "VALUES ('email:ann@example.org', :now)"), {"now": utcnow()})
    with Store.from_url(database_url) as store:
        assert store.count_attempts("email:ann@example.org",
                                    utcnow() - timedelta(hours=1))[0] == 1
        assert throttle.allow(store, throttle.Limit("email", 5, timedelta(hours=1)),
                              "ann@example.org")  # ids continue after the kept row
