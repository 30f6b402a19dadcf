"""Accounts: the store on both backends, password hashing, throttling, and the web flows
(sign-up → verify link from the outbox → sign-in → sign-out; expired and forged links; reset)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from starlette.testclient import TestClient

from paperwire import accounts
from paperwire.accounts import Throttled, WrongCredentials
from paperwire.models import User
from paperwire.settings import Settings
from paperwire.signing import secret_key
from paperwire.store import Store
from tests.app import make_app
from tests.helpers import (
    PASSWORD,
    follow_mailed_link,
    mailed_link,
    make_user,
    paper,
    post_form,
    run_queues,
)
from tests.smtp_server import running_smtp_server


# --- the store, on SQLite and PostgreSQL ------------------------------------------------------
def test_users_are_unique_by_lowercased_address(store: Store) -> None:
    ann = make_user(store, "Ann@Example.org", verified=False)
    assert ann.email == "ann@example.org" and not ann.verified and ann.role == "user"
    assert store.create_user("ann@example.org", "x", "Other") is None
    assert store.user_by_email("ANN@example.org") == ann
    store.mark_verified(ann.id)
    assert store.user_by_id(ann.id) == User(ann.id, ann.email, "Ann", "user", True)
    found = store.credentials("ann@example.org")
    assert found is not None and found[1].startswith("$argon2id$")
    moderator = store.set_role("ann@example.org", "moderator", actor="cli")
    assert moderator is not None and moderator.is_moderator
    assert store.set_role("nobody@example.org", "admin") is None
    assert store.moderation_log()[0]["action"] == "grant"
    assert [u["email"] for u in store.list_users()] == ["ann@example.org"]


def test_sessions_resolve_expire_and_end(store: Store) -> None:
    ann = make_user(store)
    settings = Settings(session_days=30)
    token = accounts.start_session(store, settings, ann)
    assert accounts.session_user(store, settings, token) == ann
    assert accounts.session_user(store, settings, token + "x") is None
    assert accounts.session_user(store, settings, "") is None
    # An expired session is no session.
    store.create_session(ann.id, accounts.token_hash("old"), datetime(2000, 1, 1))
    assert accounts.session_user(store, settings, "old") is None
    other = accounts.start_session(store, settings, ann)
    store.delete_session(accounts.token_hash(token))
    assert accounts.session_user(store, settings, token) is None
    assert accounts.session_user(store, settings, other) == ann
    # A new password ends every session.
    store.set_password(ann.id, accounts.hash_password("another password"))
    assert accounts.session_user(store, settings, other) is None


def test_api_tokens_resolve_until_revoked(store: Store) -> None:
    ann = make_user(store)
    bob = make_user(store, "bob@example.org", name="Bob")
    secret = accounts.new_api_token()
    assert secret.startswith("pw_")
    token_id = store.create_api_token(ann.id, "script", accounts.token_hash(secret))
    assert accounts.api_token_user(store, secret) == ann
    assert accounts.api_token_user(store, "pw_nope") is None
    assert accounts.api_token_user(store, secret.removeprefix("pw_")) is None
    [listed] = store.list_api_tokens(ann.id)
    assert listed["name"] == "script" and listed["last_used_at"] is not None
    assert not store.revoke_api_token(bob.id, token_id)  # not Bob's to revoke
    assert store.revoke_api_token(ann.id, token_id)
    assert accounts.api_token_user(store, secret) is None
    assert store.list_api_tokens(ann.id) == []


def test_hide_and_unhide_a_paper(store: Store) -> None:
    store.write_batch([paper("2501.00001"), paper("2501.00002")])
    mod = make_user(store, role="moderator")
    before = store.data_version()
    store.hide_paper("2501.00001", "spam <b>", mod.id, mod.email)
    hidden = store.hidden_paper("2501.00001")
    assert hidden is not None and hidden["reason"] == "spam <b>" and hidden["hidden_by"] == "Ann"
    assert store.hidden_row_ids() == {store.row_ids(["2501.00001"])["2501.00001"]}
    assert store.data_version() != before  # cached listings are recomputed at once
    papers, total = store.papers_between(None, None)
    assert [p.arxiv_id for p in papers] == ["2501.00002"] and total == 1
    assert store.unhide_paper("2501.00001", None, "cli")
    assert not store.unhide_paper("2501.00001", None, "cli")
    assert store.hidden_paper("2501.00001") is None and store.hidden_row_ids() == frozenset()
    assert store.papers_between(None, None)[1] == 2
    actions = [e["action"] for e in store.moderation_log()]
    assert actions[:2] == ["unhide-paper", "hide-paper"]


def test_submissions_first_submitter_keeps_the_credit(store: Store) -> None:
    store.write_batch([paper("2501.00001")])
    ann, bob = make_user(store), make_user(store, "bob@example.org", name="Bob")
    first, created = store.add_submission("2501.00001", ann.id, "read it")
    assert created
    assert store.add_submission("2501.00001", bob.id, "me too") == (first, False)
    assert store.submissions_for(["2501.00001"])["2501.00001"]["submitted_by"] == "Ann"
    assert store.hide_submission(first, "rude note", None, "cli")
    shown = store.submissions_for(["2501.00001"])["2501.00001"]
    assert shown["hidden"] and shown["note"] is None and shown["submitted_by"] is None
    assert not store.hide_submission(first + 100, "x", None, "cli")


# --- passwords and throttling ---------------------------------------------------------------
def test_sign_in_rehashes_when_the_parameters_change(store: Store) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    user, _ = accounts.sign_up(store, "ann@example.org", PASSWORD, "Ann", ph=weak)
    old = store.credentials(user.email)
    assert old is not None and "m=8192,t=1" in old[1]
    settings = Settings()
    assert accounts.authenticate(store, settings, user.email, PASSWORD, None) == user
    new = store.credentials(user.email)
    assert new is not None and new[1] != old[1] and "m=8192,t=1" not in new[1]
    assert accounts.verify_password(new[1], PASSWORD) == (True, None)


def test_failed_sign_ins_are_throttled_per_address(store: Store) -> None:
    make_user(store)
    settings = Settings(login_max_failures=3, login_window_minutes=15)
    for _ in range(3):
        with pytest.raises(WrongCredentials):
            accounts.authenticate(store, settings, "ann@example.org", "wrong pass", "10.0.0.1")
    with pytest.raises(Throttled) as refused:  # even with the right password now
        accounts.authenticate(store, settings, "ann@example.org", PASSWORD, "10.0.0.2")
    assert 0 < refused.value.retry_after <= 15 * 60
    # An unknown address is throttled the same way: no hint that it has no account.
    for _ in range(3):
        with pytest.raises(WrongCredentials):
            accounts.authenticate(store, settings, "nobody@example.org", "wrong", "10.0.0.3")
    with pytest.raises(Throttled):
        accounts.authenticate(store, settings, "nobody@example.org", "wrong", "10.0.0.3")
    # After the window the address may try again.
    later = accounts.utcnow() + timedelta(minutes=16)
    accounts.check_throttle(store, settings, "ann@example.org", None, now=later)


@pytest.mark.parametrize("bad", ["", "not-an-address", "a@b", "a b@example.org",
                                 "<x>@example.org"])
def test_bad_addresses_are_refused(bad: str) -> None:
    with pytest.raises(accounts.AccountError, match="not an e-mail address"):
        accounts.normalize_email(bad)


def test_display_names_lose_control_characters() -> None:
    assert accounts.clean_display_name("  Ann\u202e \u200b Lee\n") == "Ann Lee"
    with pytest.raises(accounts.AccountError):
        accounts.clean_display_name("\u200b \n")
    with pytest.raises(accounts.AccountError):
        accounts.clean_display_name("x" * 101)


# --- the web flows, on SQLite and PostgreSQL --------------------------------------------------
@pytest.fixture
def site(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, Store, Settings]]:
    with make_app(tmp_path, database_url, login_max_failures=5) as built, \
            built.client() as client:
        yield client, built.store, built.settings


def test_sign_up_verify_sign_in_sign_out(site: tuple[TestClient, Store, Settings]) -> None:
    client, store, _ = site
    answer = post_form(client, "/signup", {"email": "Ann@Example.org", "password": PASSWORD,
                                      "display_name": "Ann"})
    assert answer.status_code == 200 and "sent a message to ann@example.org" in answer.text
    user = store.user_by_email("ann@example.org")
    assert user is not None and not user.verified
    link = mailed_link(store, "ann@example.org", "verify", "/verify")
    assert "Address confirmed" in follow_mailed_link(client, link, password=PASSWORD).text
    assert store.user_by_email("ann@example.org") == User(user.id, user.email, "Ann", "user",
                                                          True)
    signed_in = post_form(client, "/signin", {"email": "ann@example.org", "password": PASSWORD,
                                         "next": "/account"}, follow_redirects=False)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/account"
    cookie = signed_in.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert client.get("/account.json").json()["user"]["email"] == "ann@example.org"
    token = client.cookies["pw_session"]
    out = post_form(client, "/signout", {}, follow_redirects=False)
    assert out.status_code == 303
    # The server forgot the session: replaying the old cookie signs nobody in.
    assert store.session_user(accounts.token_hash(token), timedelta(days=1)) is None
    client.cookies.set("pw_session", token, domain="127.0.0.1")
    assert client.get("/account", follow_redirects=False).status_code == 303


def test_sign_up_with_a_taken_address_answers_the_same(
        site: tuple[TestClient, Store, Settings]) -> None:
    client, store, _ = site
    make_user(store)
    fresh = post_form(client, "/signup", {"email": "new@example.org", "password": PASSWORD})
    taken = post_form(client, "/signup", {"email": "ann@example.org", "password": PASSWORD})
    assert fresh.status_code == taken.status_code == 200
    assert fresh.text.replace("new@", "X@") == taken.text.replace("ann@", "X@")
    assert store.outbox(to="ann@example.org", kind="signup-taken")
    assert not store.outbox(to="ann@example.org", kind="verify")


def test_sign_in_messages_do_not_tell_which_part_was_wrong(
        site: tuple[TestClient, Store, Settings]) -> None:
    client, store, _ = site
    make_user(store)
    wrong_pw = post_form(client, "/signin", {"email": "ann@example.org", "password": "nope nope"})
    no_user = post_form(client, "/signin", {"email": "zed@example.org", "password": "nope nope"})
    assert wrong_pw.status_code == no_user.status_code == 401
    for answer in (wrong_pw, no_user):
        assert "wrong address or password" in answer.text


def _token_made_at(settings: Settings, purpose: str, payload: Any, when: float) -> str:
    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(when)

    made: str = URLSafeTimedSerializer(secret_key(settings), salt=purpose,
                                       signer=Then).dumps(payload)
    return made


def test_expired_and_forged_verify_links_are_refused(
        site: tuple[TestClient, Store, Settings]) -> None:
    client, store, settings = site
    user = make_user(store, verified=False)
    old = _token_made_at(settings, "verify-email", {"uid": user.id, "email": user.email},
                         datetime.now().timestamp() - 49 * 3600)
    expired = client.get(f"/verify?token={old}")
    assert expired.status_code == 400 and "expired" in expired.text
    post_form(client, "/signup", {"email": "zed@example.org", "password": PASSWORD})
    good = mailed_link(store, "zed@example.org", "verify", "/verify")
    forged = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    assert client.get(forged).status_code == 400
    # A reset token is no verification token (each purpose has its own salt).
    other = _token_made_at(settings, "password-reset", {"uid": user.id, "email": user.email},
                           datetime.now().timestamp())
    assert client.get(f"/verify?token={other}").status_code == 400
    assert store.user_by_id(user.id) == user  # still unverified


def test_password_reset(site: tuple[TestClient, Store, Settings]) -> None:
    client, store, settings = site
    user = make_user(store)
    known = post_form(client, "/password/forgot", {"email": "ann@example.org"})
    unknown = post_form(client, "/password/forgot", {"email": "zed@example.org"})
    assert known.text.replace("ann@", "") == unknown.text.replace("zed@", "")
    # Nothing goes to an address without an account: its row is kept, never queued.
    assert [m["status"] for m in store.outbox(to="zed@example.org")] == ["kept"]
    session = accounts.start_session(store, settings, user)
    link = mailed_link(store, "ann@example.org", "reset", "/password/reset")
    assert client.get(link).status_code == 200
    token = link.split("token=")[1]
    done = post_form(client, "/password/reset", {"token": token, "password": "a new password"})
    assert done.status_code == 200 and "Password changed" in done.text
    assert accounts.session_user(store, settings, session) is None  # signed out everywhere
    with pytest.raises(WrongCredentials):
        accounts.authenticate(store, settings, "ann@example.org", PASSWORD, None)
    assert accounts.authenticate(store, settings, "ann@example.org", "a new password", None)
    again = post_form(client, "/password/reset", {"token": token, "password": "third password"})
    assert again.status_code == 400 and "used already" in again.text  # one use only


def test_a_refused_mail_changes_nothing_in_the_answer(tmp_path: Path, database_url: str
                                                      ) -> None:
    # With real SMTP, a recipient the server refuses must not turn sign-up or reset into an
    # error page: the answer would then differ between addresses.
    with running_smtp_server() as smtp:
        smtp.sink.refuse.add("bounce@example.org")
        with make_app(tmp_path, database_url, smtp_url=smtp.url) as built, built.client() as client:
            store = built.store
            ok = post_form(client, "/signup", {"email": "fine@example.org", "password": PASSWORD})
            refused = post_form(client, "/signup", {"email": "bounce@example.org",
                                               "password": PASSWORD})
            assert ok.status_code == refused.status_code == 200
            assert ok.text.replace("fine@", "X@") == refused.text.replace("bounce@", "X@")
            run_queues(store, built.settings)
            assert len(smtp.sink.to("fine@example.org")) == 1
            # The refused message stays in the outbox, failed, for an admin to see.
            [kept] = store.outbox(to="bounce@example.org", kind="verify")
            assert kept["sent_at"] is None and kept["status"] == "failed"
            assert "550" in kept["last_error"]
            reset = post_form(client, "/password/forgot", {"email": "bounce@example.org"})
            assert reset.status_code == 200


def test_reset_requests_cannot_flood_an_inbox(site: tuple[TestClient, Store, Settings]) -> None:
    client, store, settings = site
    make_user(store)
    answers = [post_form(client, "/password/forgot", {"email": "ann@example.org"})
               for _ in range(5)]
    unknown = post_form(client, "/password/forgot", {"email": "zed@example.org"})
    # The same answer every time (and for an unknown address), but only a few mails.
    assert {a.status_code for a in answers} == {unknown.status_code} == {200}
    assert len({a.text.replace("ann@", "X@") for a in answers}) == 1
    assert len(store.outbox(to="ann@example.org", kind="reset")) == \
        settings.mails_per_address_per_hour
