"""Users, passwords, sessions, API tokens and sign-in throttling, over the Store.

Passwords are hashed with argon2id (argon2-cffi) and rehashed on sign-in when the hasher's
parameters change. Session and API tokens are random; only their SHA-256 is stored, so a
copy of the database cannot be replayed as a browser or a client.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import unicodedata
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from paperwire.errors import PaperwireError
from paperwire.models import User
from paperwire.store.database import utcnow

if TYPE_CHECKING:
    from paperwire.settings import Settings
    from paperwire.store import Store

ROLES = ("user", "moderator", "admin")
API_TOKEN_PREFIX = "pw_"
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 hashes any length; a cap keeps one request from costing much
MAX_DISPLAY_NAME = 100
_EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


class AccountError(PaperwireError):
    """Bad account input (an address, password or name); ``str()`` says what to change."""


class WrongCredentials(AccountError):
    """Wrong address or password; deliberately says nothing about which."""

    def __init__(self) -> None:
        super().__init__("wrong address or password")


class Throttled(AccountError):
    """Too many failed sign-ins lately; ``retry_after`` is in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after} seconds")
        self.retry_after = retry_after


# --- input ----------------------------------------------------------------------------------
def normalize_email(text: str) -> str:
    email = text.strip().lower()
    if len(email) > 320 or not _EMAIL.match(email):
        raise AccountError(f"{text.strip()[:80]!r} is not an e-mail address")
    return email


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password may have at most {MAX_PASSWORD} characters")
    return password


def clean_display_name(text: str) -> str:
    # Control and format characters (RTL overrides, zero-width joiners) could disguise a name.
    name = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C").strip()
    name = " ".join(name.split())
    if not name:
        raise AccountError("the display name must not be empty")
    if len(name) > MAX_DISPLAY_NAME:
        raise AccountError(f"the display name may have at most {MAX_DISPLAY_NAME} characters")
    return name


# --- passwords ------------------------------------------------------------------------------
def hasher() -> PasswordHasher:
    """argon2id with argon2-cffi's current recommended parameters (RFC 9106 low-memory)."""
    return PasswordHasher()


def hash_password(password: str, ph: PasswordHasher | None = None) -> str:
    return (ph or hasher()).hash(password)


def verify_password(stored_hash: str, password: str, ph: PasswordHasher | None = None
                    ) -> tuple[bool, str | None]:
    """(matches, a new hash when the stored one was made with other parameters)."""
    ph = ph or hasher()
    try:
        ph.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    return True, ph.hash(password) if ph.check_needs_rehash(stored_hash) else None


# A hash to verify against when the address is unknown, so a miss costs the same time as a
# wrong password and timing does not reveal which addresses have accounts.
_DUMMY_HASH: str | None = None


def _dummy_hash(ph: PasswordHasher) -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = ph.hash(secrets.token_urlsafe(16))
    return _DUMMY_HASH


# --- tokens ---------------------------------------------------------------------------------
def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


# --- flows ----------------------------------------------------------------------------------
def sign_up(store: Store, email: str, password: str, display_name: str,
            ph: PasswordHasher | None = None) -> tuple[User, bool]:
    """(the account, whether it was created now). A taken address returns the existing
    account and False; callers must answer the same either way (no enumeration)."""
    email = normalize_email(email)
    check_password(password)
    name = clean_display_name(display_name)
    existing = store.user_by_email(email)
    if existing is not None:
        return existing, False
    created = store.create_user(email, hash_password(password, ph), name)
    if created is None:  # another request took the address in between
        taken = store.user_by_email(email)
        assert taken is not None
        return taken, False
    return created, True


def throttle_keys(email: str, client_ip: str | None) -> list[tuple[str, int]]:
    """Keys failures are counted under, each with its own multiplier of the limit: one
    address, and one client address (shared by many people behind a NAT, hence looser)."""
    keys = [(f"email:{email.strip().lower()[:320]}", 1)]
    if client_ip:
        keys.append((f"ip:{client_ip}", 4))
    return keys


def check_throttle(store: Store, settings: Settings, email: str, client_ip: str | None,
                   now: datetime | None = None) -> None:
    """Raise Throttled when the address or the client has failed too often lately."""
    now = now or utcnow()
    window = timedelta(minutes=settings.login_window_minutes)
    for key, factor in throttle_keys(email, client_ip):
        count, oldest = store.count_attempts(key, now - window)
        if count >= settings.login_max_failures * factor and oldest is not None:
            wait = (oldest + window - now).total_seconds()
            raise Throttled(max(1, math.ceil(wait)))


def authenticate(store: Store, settings: Settings, email: str, password: str,
                 client_ip: str | None, ph: PasswordHasher | None = None) -> User:
    """The account for these credentials; WrongCredentials or Throttled otherwise."""
    ph = ph or hasher()
    check_throttle(store, settings, email, client_ip)
    found = store.credentials(email.strip().lower()) if len(password) <= MAX_PASSWORD else None
    if found is None:
        ph_ok = False
        if len(password) <= MAX_PASSWORD:
            verify_password(_dummy_hash(ph), password, ph)
    else:
        user, stored = found
        ph_ok, new_hash = verify_password(stored, password, ph)
        if ph_ok and new_hash is not None:
            store.set_password(user.id, new_hash, end_sessions=False)
    if found is None or not ph_ok:
        for key, _ in throttle_keys(email, client_ip):
            store.record_attempt(key)
        raise WrongCredentials()
    store.clear_attempts(throttle_keys(email, None)[0][0])
    return found[0]


def start_session(store: Store, settings: Settings, user: User) -> str:
    """A new session for ``user``; returns the token that goes in the cookie."""
    token = new_session_token()
    store.create_session(user.id, token_hash(token),
                         utcnow() + timedelta(days=settings.session_days))
    return token


def session_user(store: Store, settings: Settings, token: str) -> User | None:
    found = resolve_session(store, settings, token)
    return found[0] if found else None


def resolve_session(store: Store, settings: Settings, token: str) -> tuple[User, bool] | None:
    """(user, whether the session's expiry moved, so the cookie's should too)."""
    if not token or len(token) > 200:
        return None
    return store.resolve_session(token_hash(token), timedelta(days=settings.session_days))


def api_token_user(store: Store, token: str) -> User | None:
    if not token.startswith(API_TOKEN_PREFIX) or len(token) > 200:
        return None
    return store.api_token_user(token_hash(token))


def may_mail(store: Store, settings: Settings, kind: str, address: str) -> bool:
    """Whether a form may mail ``address`` a ``kind`` message now (and count it if so): at
    most PAPERWIRE_MAILS_PER_ADDRESS_PER_HOUR of a kind per address, so a form cannot be
    used to flood a stranger's inbox. Callers answer the same either way."""
    key = f"mail-{kind}:{address.lower()}"
    count, _ = store.count_attempts(key, utcnow() - timedelta(hours=1))
    if count >= settings.mails_per_address_per_hour:
        return False
    store.record_attempt(key)
    return True
