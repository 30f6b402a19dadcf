"""Accounts in the database: users, sessions and API tokens."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.exc import IntegrityError

from paperwire.models import User
from paperwire.store.schema import api_tokens, sessions, users

# Sliding expiry writes at most this often per session, not on every request.
_TOUCH_EVERY = timedelta(minutes=10)
_USER_COLUMNS = (users.c.id, users.c.email, users.c.display_name, users.c.role,
                 users.c.email_verified_at)


def _user(row: Any) -> User:
    return User(id=row.id, email=row.email, display_name=row.display_name, role=row.role,
                verified=row.email_verified_at is not None)


def _active() -> Any:
    return users.c.disabled_at.is_(None)


def create_user(conn: Connection, email: str, password_hash: str, display_name: str,
                role: str, now: datetime) -> User | None:
    """The new account, or None when the address is taken."""
    if conn.execute(select(users.c.id).where(users.c.email == email)).first() is not None:
        return None
    try:
        with conn.begin_nested():
            new_id = conn.execute(users.insert().values(
                email=email, password_hash=password_hash, display_name=display_name,
                role=role, created_at=now).returning(users.c.id)).scalar_one()
    except IntegrityError:
        return None
    return User(id=new_id, email=email, display_name=display_name, role=role)


def user_by_email(conn: Connection, email: str) -> User | None:
    row = conn.execute(select(*_USER_COLUMNS).where(users.c.email == email.lower(),
                                                    _active())).first()
    return _user(row) if row else None


def user_by_id(conn: Connection, user_id: int) -> User | None:
    row = conn.execute(select(*_USER_COLUMNS).where(users.c.id == user_id, _active())).first()
    return _user(row) if row else None


def credentials(conn: Connection, email: str) -> tuple[User, str] | None:
    row = conn.execute(select(*_USER_COLUMNS, users.c.password_hash)
                       .where(users.c.email == email.lower(), _active())).first()
    return (_user(row), row.password_hash) if row else None


def list_users(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(*_USER_COLUMNS, users.c.created_at).order_by(users.c.id))
    return [{"id": r.id, "email": r.email, "display_name": r.display_name, "role": r.role,
             "verified": r.email_verified_at is not None,
             "created_at": r.created_at.isoformat()} for r in rows]


def update_user(conn: Connection, user_id: int, **values: Any) -> bool:
    result = conn.execute(update(users).where(users.c.id == user_id).values(**values))
    return bool(result.rowcount)


# --- sessions -------------------------------------------------------------------------------
def create_session(conn: Connection, user_id: int, token_hash: str, expires_at: datetime,
                   now: datetime) -> None:
    # Expired sessions are swept here, on sign-in, rather than by a separate job.
    conn.execute(delete(sessions).where(sessions.c.expires_at < now))
    conn.execute(sessions.insert().values(token_hash=token_hash, user_id=user_id,
                                          created_at=now, expires_at=expires_at,
                                          last_seen_at=now))


def session_lookup(conn: Connection, token_hash: str, now: datetime
                   ) -> tuple[User, datetime, datetime] | None:
    """The session's user, when it was last seen and when it expires, if it has not."""
    row = conn.execute(
        select(*_USER_COLUMNS, sessions.c.last_seen_at, sessions.c.expires_at)
        .join(users, users.c.id == sessions.c.user_id)
        .where(sessions.c.token_hash == token_hash, sessions.c.expires_at > now, _active())
    ).first()
    return (_user(row), row.last_seen_at, row.expires_at) if row else None


def touch_session(conn: Connection, token_hash: str, now: datetime, lifetime: timedelta
                  ) -> None:
    conn.execute(update(sessions).where(sessions.c.token_hash == token_hash)
                 .values(last_seen_at=now, expires_at=now + lifetime))


def needs_touch(last_seen: datetime, now: datetime) -> bool:
    return now - last_seen >= _TOUCH_EVERY


def delete_session(conn: Connection, token_hash: str) -> None:
    conn.execute(delete(sessions).where(sessions.c.token_hash == token_hash))


def delete_sessions(conn: Connection, user_id: int) -> int:
    return int(conn.execute(delete(sessions).where(sessions.c.user_id == user_id)).rowcount)


def end_credentials(conn: Connection, user_id: int, now: datetime) -> None:
    """End every session and revoke every API token of the account made up to ``now``."""
    conn.execute(delete(sessions).where(sessions.c.user_id == user_id,
                                        sessions.c.created_at <= now))
    conn.execute(update(api_tokens).where(
        api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None),
        api_tokens.c.created_at <= now).values(revoked_at=now))


def mark_verified(conn: Connection, user_id: int, now: datetime) -> bool:
    """Confirm the address unless it is confirmed already; True when it was not."""
    result = conn.execute(update(users).where(users.c.id == user_id,
                                              users.c.email_verified_at.is_(None))
                          .values(email_verified_at=now))
    return bool(result.rowcount)


# --- API tokens -----------------------------------------------------------------------------
def create_api_token(conn: Connection, user_id: int, name: str, token_hash: str,
                     now: datetime) -> int:
    return int(conn.execute(api_tokens.insert().values(
        user_id=user_id, name=name, token_hash=token_hash, created_at=now
    ).returning(api_tokens.c.id)).scalar_one())


def api_token_lookup(conn: Connection, token_hash: str) -> tuple[User, int, datetime | None
                                                                  ] | None:
    row = conn.execute(
        select(*_USER_COLUMNS, api_tokens.c.id.label("token_id"), api_tokens.c.last_used_at)
        .join(users, users.c.id == api_tokens.c.user_id)
        .where(api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None),
               _active())
    ).first()
    return (_user(row), row.token_id, row.last_used_at) if row else None


def touch_api_token(conn: Connection, token_id: int, now: datetime) -> None:
    conn.execute(update(api_tokens).where(api_tokens.c.id == token_id)
                 .values(last_used_at=now))


def revoke_api_token(conn: Connection, user_id: int, token_id: int, now: datetime) -> bool:
    result = conn.execute(update(api_tokens).where(
        api_tokens.c.id == token_id, api_tokens.c.user_id == user_id,
        api_tokens.c.revoked_at.is_(None)).values(revoked_at=now))
    return bool(result.rowcount)


def list_api_tokens(conn: Connection, user_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(api_tokens.c.id, api_tokens.c.name, api_tokens.c.created_at,
                               api_tokens.c.last_used_at)
                        .where(api_tokens.c.user_id == user_id,
                               api_tokens.c.revoked_at.is_(None))
                        .order_by(api_tokens.c.id))
    return [{"id": r.id, "name": r.name, "created_at": r.created_at.isoformat(),
             "last_used_at": r.last_used_at.isoformat() if r.last_used_at else None}
            for r in rows]
