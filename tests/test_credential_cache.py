"""What a web process keeps of sessions and API tokens (store/credential_cache.py), on SQLite
and PostgreSQL: changes made through the process apply at once; one made behind it (another
process, the CLI) within the bound and never later; a kept session never outlives its
expiry; and ``session_cache_seconds=0`` reads every request."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from paperwire import accounts
from paperwire.store import Store, credential_cache
from paperwire.store.credential_cache import CredentialCache
from paperwire.store.database import utcnow
from tests.app import WebApp, make_app
from tests.helpers import make_user, post_form

USERS = [("ann@example.org", "user", "ann")]


def _me(client: TestClient) -> str | None:
    answer = client.get("/api/me")
    return answer.json().get("email") if answer.status_code == 200 else None


def _twin(site: WebApp, client: TestClient) -> TestClient:
    """Another browser holding ``client``'s session cookie (a copied or stolen one)."""
    other = site.client()
    other.cookies.set("pw_session", client.cookies["pw_session"])
    return other


def _behind(site: WebApp) -> Store:
    """The same database, as another process sees it."""
    return Store.open(site.settings, migrate_schema=False)


def _later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    now = credential_cache.time.monotonic() + seconds
    monkeypatch.setattr(credential_cache.time, "monotonic", lambda: now)


def test_a_sign_out_here_ends_the_session_at_once(tmp_path: Path, database_url: str) -> None:
    with make_app(tmp_path, database_url, users=USERS, session_cache_seconds=60) as site:
        ann = site.client(signed_in="ann@example.org")
        thief = _twin(site, ann)
        assert _me(thief) == _me(ann) == "ann@example.org"  # both kept now
        assert post_form(ann, "/signout", {}, follow_redirects=False).status_code == 303
        assert _me(thief) is None


def test_a_role_change_or_reset_here_shows_at_once(tmp_path: Path, database_url: str) -> None:
    with make_app(tmp_path, database_url, users=USERS, session_cache_seconds=60) as site:
        ann = site.client(signed_in="ann@example.org")
        assert ann.get("/api/me").json()["role"] == "user"
        site.store.set_role("ann@example.org", "moderator")
        assert ann.get("/api/me").json()["role"] == "moderator"
        user = site.store.user_by_email("ann@example.org")
        assert user is not None
        accounts.reset_password(site.store, user, "another long password 99")
        assert _me(ann) is None


def test_a_revoked_token_is_refused_at_once(tmp_path: Path, database_url: str) -> None:
    with make_app(tmp_path, database_url, users=USERS, session_cache_seconds=60) as site:
        user = site.store.user_by_email("ann@example.org")
        assert user is not None
        made = accounts.create_api_token(site.store, user, "script")
        bearer = site.client(headers={"Authorization": f"Bearer {made['token']}"})
        assert _me(bearer) == "ann@example.org"
        assert site.store.revoke_api_token(user.id, int(str(made["id"])))
        assert bearer.get("/api/me").status_code == 401


def test_a_sign_out_elsewhere_applies_within_the_bound(tmp_path: Path, database_url: str,
                                                       monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    with make_app(tmp_path, database_url, users=USERS, session_cache_seconds=5) as site:
        ann = site.client(signed_in="ann@example.org")
        assert _me(ann) == "ann@example.org"
        other = _behind(site)
        try:
            user = other.user_by_email("ann@example.org")
            assert user is not None
            assert other.delete_sessions(user.id) == 1
            made = accounts.create_api_token(other, user, "x")
            bearer = site.client(headers={"Authorization": f"Bearer {made['token']}"})
            assert _me(bearer) == "ann@example.org"
            assert other.revoke_api_token(user.id, int(str(made["id"])))
        finally:
            other.close()
        # Kept for up to the bound (this is the bound, not a promise to keep it)...
        assert _me(ann) == "ann@example.org"
        # ...and never past it.
        _later(monkeypatch, 5.01)
        assert _me(ann) is None
        assert bearer.get("/api/me").status_code == 401


def test_with_no_cache_every_request_reads(tmp_path: Path, database_url: str) -> None:
    with make_app(tmp_path, database_url, users=USERS, session_cache_seconds=0) as site:
        ann = site.client(signed_in="ann@example.org")
        assert _me(ann) == "ann@example.org"
        other = _behind(site)
        try:
            user = other.user_by_email("ann@example.org")
            assert user is not None
            other.delete_sessions(user.id)
        finally:
            other.close()
        assert _me(ann) is None


def test_a_kept_session_never_outlives_its_expiry(tmp_path: Path, database_url: str) -> None:
    with make_app(tmp_path, database_url, users=USERS) as site:
        store = site.store
        store.keep_credentials(60)
        user = store.user_by_email("ann@example.org")
        assert user is not None
        store.create_session(user.id, "hash-a", utcnow() + timedelta(milliseconds=1))
        # Not found (expired by the time it is read), or found and kept only until expiry.
        store.resolve_session("hash-a", timedelta(days=30))
        known = store.credential_cache.get("session", "hash-a", utcnow() + timedelta(
            seconds=1))
        assert known is None
        assert store.resolve_session("hash-a", timedelta(days=30)) is None


def test_a_read_from_before_a_change_is_not_kept(tmp_path: Path, database_url: str) -> None:
    with make_app(tmp_path, database_url, users=USERS) as site:
        cache = CredentialCache(60)
        bob = make_user(site.store, "bob@example.org")
        generation = cache.generation
        cache.forget()  # a sign-out committed while the read was under way
        cache.put("session", "h", bob, utcnow(), None, generation)
        assert cache.get("session", "h", utcnow()) is None
        cache.put("session", "h", bob, utcnow(), None, cache.generation)
        assert cache.get("session", "h", utcnow()) is not None


def test_the_bound_is_checked() -> None:
    for wrong in (-1, 61):
        with pytest.raises(ValueError, match="0 to 60"):
            CredentialCache(wrong)
