"""Users, passwords, sessions and API tokens over the Store, with their throttles applied.

Passwords are hashed with argon2id (argon2-cffi) and rehashed on sign-in when the hasher's
parameters change. Session and API tokens are random; only their SHA-256 is stored, so a
copy of the database cannot be replayed as a browser or a client.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from paperwire import throttle
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


class NotAllowed(AccountError):
    """The account may not do this (yet); ``str()`` says what it needs first."""


class Throttled(throttle.Throttled, AccountError):
    """Too many failed sign-ins (or sign-ups, resets) lately; ``retry_after`` is in seconds."""

    def __init__(self, retry_after: int, what: str = "failed sign-ins") -> None:
        super().__init__(retry_after, what)


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
def _reserve(store: Store, checks: list[throttle.Check], what: str) -> throttle.Reservation:
    try:
        return throttle.reserve(store, checks, what)
    except throttle.Throttled as exc:
        raise Throttled(exc.retry_after, what) from None


def sign_up(store: Store, email: str, password: str, display_name: str,
            ph: PasswordHasher | None = None, *, settings: Settings | None = None,
            client_ip: str | None = None) -> tuple[User, bool]:
    """(the account, whether it was created now). A taken address returns the existing
    account and False; callers must answer the same either way (no enumeration). Given
    ``settings`` and ``client_ip``, one client may sign up PAPERWIRE_SIGNUPS_PER_IP_PER_HOUR
    times an hour (each costs a hash and a mail); Throttled past that."""
    email = normalize_email(email)
    check_password(password)
    name = clean_display_name(display_name)
    if settings is not None and client_ip:
        _reserve(store, [(throttle.client_limit(settings, "signup"), client_ip)], "sign-ups")
    existing = store.user_by_email(email)
    if existing is not None:
        return existing, False
    created = store.create_user(email, hash_password(password, ph), name)
    if created is None:  # another request took the address in between
        taken = store.user_by_email(email)
        assert taken is not None
        return taken, False
    return created, True


def reserve_reset(store: Store, settings: Settings, client_ip: str | None) -> None:
    """Count a password-reset request from ``client_ip``; Throttled past
    PAPERWIRE_RESETS_PER_IP_PER_HOUR, whichever addresses the requests name."""
    if client_ip:
        _reserve(store, [(throttle.client_limit(settings, "reset"), client_ip)],
                 "password-reset requests")


def check_throttle(store: Store, settings: Settings, email: str, client_ip: str | None,
                   now: datetime | None = None) -> None:
    """Raise Throttled when the address or the client has failed too often lately."""
    try:
        throttle.check(store, throttle.sign_in_checks(settings, email, client_ip), now=now)
    except throttle.Throttled as exc:
        raise Throttled(exc.retry_after) from None


def authenticate(store: Store, settings: Settings, email: str, password: str,
                 client_ip: str | None, ph: PasswordHasher | None = None) -> User:
    """The account for these credentials; WrongCredentials or Throttled otherwise.

    The attempt is reserved (counted as a failure) before the password is checked, so
    concurrent guesses cannot all slip under the limit; success takes it back."""
    ph = ph or hasher()
    checks = throttle.sign_in_checks(settings, email, client_ip)
    reservation = _reserve(store, checks, "failed sign-ins")
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
        raise WrongCredentials()
    reservation.release()
    throttle.clear(store, *checks[0])  # the address's earlier failures are forgiven
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


# --- the rules that end old credentials ---------------------------------------------------
# Anyone may sign up with any address and sign in before confirming it, so until the owner
# proves the inbox (a verification or reset link) the account may be someone else's. Proving
# it therefore ends every session and API token made before (Store.mark_verified and
# Store.set_password do it in one transaction with the change), and an unconfirmed account
# gets no API tokens at all: nothing made before the proof survives it.
def confirm_address(store: Store, user: User) -> bool:
    """Mark ``user``'s address confirmed, ending earlier sessions and tokens; False when it
    was confirmed already (then nothing ends)."""
    return store.mark_verified(user.id)


def reset_password(store: Store, user: User, password: str,
                   ph: PasswordHasher | None = None) -> None:
    """Set a new password from a reset link: every session and token ends, and the address is
    confirmed (the link reached its inbox)."""
    store.set_password(user.id, hash_password(check_password(password), ph),
                       end_sessions=True)
    store.mark_verified(user.id)


def create_api_token(store: Store, user: User, name: str) -> dict[str, object]:
    """A new API token for ``user``: {id, name, token}; the token is shown once, only its
    hash is kept. NotAllowed for an account whose address is not confirmed."""
    if not user.verified:
        raise NotAllowed("confirm your e-mail address before creating API tokens")
    name = " ".join(name.split())[:100] or "API token"
    secret = new_api_token()
    return {"id": store.create_api_token(user.id, name, token_hash(secret)), "name": name,
            "token": secret}


def kept_credential(store: Store, kind: str, token: str) -> User | None:
    """``resolve_session``'s user (``kind`` "session") or ``api_token_user``'s ("token") as
    this process has it kept, with no database read or write due; None when they must ask
    (store/credential_cache.py). Cheap enough for an event loop: no I/O."""
    if not token or len(token) > 200:
        return None
    return store.kept_credential(kind, token_hash(token))


def api_token_user(store: Store, token: str) -> User | None:
    if not token.startswith(API_TOKEN_PREFIX) or len(token) > 200:
        return None
    return store.api_token_user(token_hash(token))


def may_mail(store: Store, settings: Settings, kind: str, address: str) -> bool:
    """Whether a form may mail ``address`` a ``kind`` message now (and count it if so): at
    most PAPERWIRE_MAILS_PER_ADDRESS_PER_HOUR of a kind per address, so a form cannot be
    used to flood a stranger's inbox. Callers answer the same either way."""
    return throttle.allow(store, throttle.mail_limit(settings, kind), address.lower())
