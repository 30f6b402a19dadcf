"""Security of accounts, tokens and subscriptions (issue 11, items 1, 2, 4, 16, 17), through
the app's own endpoints on SQLite and PostgreSQL: proving the inbox ends what came before,
tokens cannot mint tokens, one rule for who sees a subscription, no attacker's text in mail
to unconfirmed addresses, single-use confirmation by POST, private responses, alert feeds."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from paperwire import accounts
from paperwire.models import SearchSpec, User
from paperwire.store import Store
from tests.app import WebApp, make_app
from tests.helpers import (
    PASSWORD,
    csrf,
    follow_mailed_link,
    mailed_link,
    make_user,
    paper,
    post_form,
)

EVIL = "Visit http://evil.example now"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> Iterator[WebApp]:
    with make_app(tmp_path_factory.mktemp("accounts"), module_database_url,
                  papers=[paper("2501.00001", title="Gaussian splatting")], index=True,
                  signups_per_ip_per_hour=100, resets_per_ip_per_hour=100,
                  subscribe_per_ip_per_hour=100) as site:
        yield site


def _token(store: Store, user: User) -> str:
    """An API token made the way the account page makes one, before any later event."""
    secret = accounts.new_api_token()
    store.create_api_token(user.id, "old", accounts.token_hash(secret))
    return secret


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _mail_text(store: Store, to: str, kind: str) -> str:
    [row] = store.outbox(to=to, kind=kind)[:1]
    parsed = email.message_from_string(row["message"], policy=email.policy.default)
    body = parsed.get_body(("plain",))
    assert body is not None
    return f"{parsed['Subject']}\n{body.get_content()}"


# --- item 1: proving the inbox ends what came before; tokens cannot mint tokens -----------
def test_a_password_reset_ends_every_earlier_token_and_session(app: WebApp) -> None:
    user = make_user(app.store, "reset@example.org")
    secret = _token(app.store, user)
    script, browser = app.client(), app.client(signed_in="reset@example.org")
    assert script.get("/api/me", headers=_bearer(secret)).status_code == 200
    post_form(app.client(), "/password/forgot", {"email": "reset@example.org"})
    link = mailed_link(app.store, "reset@example.org", "reset", "/password/reset")
    owner = app.client()
    page = owner.get(link)
    assert page.status_code == 200
    changed = post_form(owner, "/password/reset", {"token": link.split("token=")[1],
                                                   "password": "a brand new password"})
    assert changed.status_code == 200 and "Password changed" in changed.text
    assert script.get("/api/me", headers=_bearer(secret)).status_code == 401
    assert browser.get("/account", follow_redirects=False).status_code == 303  # signed out
    assert app.store.list_api_tokens(user.id) == []


def test_pre_account_takeover_the_squatters_token_and_session_die_at_the_reset(
        app: WebApp) -> None:
    # Someone signs up with another person's address and signs in, unconfirmed.
    squatter = app.client()
    post_form(squatter, "/signup", {"email": "owner@example.org", "password": PASSWORD,
                                    "display_name": "Squatter"})
    squatter = app.client(signed_in="owner@example.org")
    refused = post_form(squatter, "/account/tokens", {"name": "for later"})
    assert refused.status_code == 403 and "confirm your e-mail address" in refused.text
    user = app.store.user_by_email("owner@example.org")
    assert user is not None and app.store.list_api_tokens(user.id) == []
    # A token made before this rule existed still dies when the owner proves the inbox.
    secret = _token(app.store, user)
    post_form(app.client(), "/password/forgot", {"email": "owner@example.org"})
    link = mailed_link(app.store, "owner@example.org", "reset", "/password/reset")
    post_form(app.client(), "/password/reset", {"token": link.split("token=")[1],
                                                "password": "the owner's own password"})
    confirmed = app.store.user_by_email("owner@example.org")
    assert confirmed is not None and confirmed.verified
    assert app.client().get("/api/me", headers=_bearer(secret)).status_code == 401
    assert squatter.get("/account", follow_redirects=False).status_code == 303


def test_the_owner_cannot_confirm_a_squatters_sign_up_only_replace_it(app: WebApp) -> None:
    # A stranger signs up with the owner's address; the owner opens the mailed link.
    post_form(app.client(), "/signup", {"email": "own@example.org", "password": PASSWORD})
    link = mailed_link(app.store, "own@example.org", "verify", "/verify")
    owner = app.client()
    page = owner.get(link)
    assert 'type="password"' in page.text and 'href="/password/forgot"' in page.text
    for guess in ("", "not the stranger's password"):
        refused = follow_mailed_link(owner, link, password=guess)
        assert refused.status_code == 401 and "reset link" in refused.text
    user = app.store.user_by_email("own@example.org")
    assert user is not None and not user.verified
    # Had the link alone confirmed it, the stranger's password would now open a confirmed
    # account. It still opens only the unconfirmed one, and a reset shuts the stranger out.
    post_form(app.client(), "/password/forgot", {"email": "own@example.org"})
    reset = mailed_link(app.store, "own@example.org", "reset", "/password/reset")
    post_form(app.client(), "/password/reset", {"token": reset.split("token=")[1],
                                                "password": "the owner's own password"})
    stranger = post_form(app.client(), "/signin", {"email": "own@example.org",
                                                   "password": PASSWORD})
    assert stranger.status_code == 401


def test_confirming_with_the_password_signs_in_afresh(app: WebApp) -> None:
    post_form(app.client(), "/signup", {"email": "me@example.org", "password": PASSWORD})
    link = mailed_link(app.store, "me@example.org", "verify", "/verify")
    me = app.client()
    assert "Address confirmed" in follow_mailed_link(me, link, password=PASSWORD).text
    assert me.get("/account.json").json()["user"]["email"] == "me@example.org"


def test_confirming_the_address_ends_earlier_tokens_and_sessions(app: WebApp) -> None:
    post_form(app.client(), "/signup", {"email": "late@example.org", "password": PASSWORD})
    user = app.store.user_by_email("late@example.org")
    assert user is not None
    secret = _token(app.store, user)
    browser = app.client(signed_in="late@example.org")
    link = mailed_link(app.store, "late@example.org", "verify", "/verify")
    assert "Address confirmed" in follow_mailed_link(app.client(), link,
                                                     password=PASSWORD).text
    assert app.client().get("/api/me", headers=_bearer(secret)).status_code == 401
    assert browser.get("/account", follow_redirects=False).status_code == 303
    # Confirming again (an old link) ends nothing more.
    again = app.client(signed_in="late@example.org")
    follow_mailed_link(app.client(), link)
    assert again.get("/account", follow_redirects=False).status_code == 200


def test_a_token_can_neither_mint_tokens_nor_read_or_change_the_account(app: WebApp) -> None:
    user = make_user(app.store, "script@example.org")
    secret = _token(app.store, user)
    [listed] = app.store.list_api_tokens(user.id)
    script = app.client()
    for method, path in (("POST", "/account/tokens"), ("POST", "/account"),
                         ("POST", f"/account/tokens/{listed['id']}/revoke"),
                         ("GET", "/account.json"), ("GET", "/account")):
        answer = script.request(method, path, headers=_bearer(secret), data={"name": "x"})
        assert answer.status_code == 403, (method, path, answer.text)
        assert "API token cannot" in answer.text
    assert [t["id"] for t in app.store.list_api_tokens(user.id)] == [listed["id"]]
    assert script.get("/api/me", headers=_bearer(secret)).status_code == 200  # still works


# --- item 2: one rule for who sees an address's subscription -------------------------------
def test_an_unconfirmed_account_sees_none_of_its_addresss_subscriptions(app: WebApp) -> None:
    app.store.upsert_subscription("reader@example.org", status="active",
                                  searches=[SearchSpec("gaussian splatting")])
    make_user(app.store, "reader@example.org", verified=False)
    holder = app.client(signed_in="reader@example.org")
    form = holder.get("/subscribe.json").json()
    assert form["mine"] is None and form["manage_url"] is None
    assert holder.get("/account.json").json()["subscriptions"] == []
    sub = app.store.subscription(email="reader@example.org")
    assert sub is not None
    for page in ("/subscribe", "/account"):
        html = holder.get(page).text
        assert sub.token not in html and sub.searches[0].token not in html
    user = app.store.user_by_email("reader@example.org")
    assert user is not None
    app.store.mark_verified(user.id)
    owner = app.client(signed_in="reader@example.org")
    assert owner.get("/subscribe.json").json()["manage_url"] == f"/unsubscribe/{sub.token}"
    assert [s["manage_url"] for s in owner.get("/account.json").json()["subscriptions"]] \
        == [f"/unsubscribe/{sub.token}"]


# --- item 4: no user-chosen text in mail to an address that has not confirmed -------------
def test_mail_to_an_unconfirmed_address_carries_no_text_the_requester_chose(
        app: WebApp) -> None:
    post_form(app.client(), "/signup", {"email": "target@example.org", "password": PASSWORD,
                                        "display_name": EVIL})
    post_form(app.client(), "/signup", {"email": "target@example.org", "password": PASSWORD,
                                        "display_name": EVIL})
    post_form(app.client(), "/password/forgot", {"email": "target@example.org"})
    post_form(app.client(), "/subscribe", {"email": "target@example.org", "period": "daily",
                                           "trending": "yes", "query": EVIL})
    for kind in ("verify", "signup-taken", "reset", "confirm"):
        text = _mail_text(app.store, "target@example.org", kind)
        assert "evil.example" not in text and "Visit" not in text, (kind, text)
    # The confirmation page, on this site, shows the query the link would save.
    link = mailed_link(app.store, "target@example.org", "confirm", "/subscribe/confirm")
    assert EVIL in app.client().get(link).text


# --- item 16: confirmation is a POST from the page, and works once ------------------------
def test_a_confirmation_link_works_once_and_never_after_an_unsubscribe(app: WebApp) -> None:
    post_form(app.client(), "/subscribe", {"email": "once@example.org", "period": "daily",
                                           "trending": "yes"})
    link = mailed_link(app.store, "once@example.org", "confirm", "/subscribe/confirm")
    scanner = app.client()
    assert scanner.get(link).status_code == 200
    assert app.store.subscription(email="once@example.org") is None  # the GET did nothing
    assert "You are subscribed" in follow_mailed_link(app.client(), link).text
    sub = app.store.subscription(email="once@example.org")
    assert sub is not None and sub.status == "active"
    reader = app.client()
    token = link.split("token=")[1]
    assert post_form(reader, "/subscribe/confirm", {"token": token}).status_code == 400
    # The unsubscribe link's GET asks; its POST (RFC 8058 one-click, no CSRF) unsubscribes.
    assert "Stop sending" in reader.get(f"/unsubscribe/{sub.token}").text
    after_get = app.store.subscription(email="once@example.org")
    assert after_get is not None and after_get.status == "active"
    assert reader.post(f"/unsubscribe/{sub.token}").status_code == 200
    replay = app.client()
    assert replay.get(link).status_code == 400
    assert post_form(replay, "/subscribe/confirm", {"token": token}).status_code == 400
    gone = app.store.subscription(email="once@example.org")
    assert gone is not None and gone.status == "unsubscribed"


def test_a_verification_link_confirms_only_from_its_page(app: WebApp) -> None:
    post_form(app.client(), "/signup", {"email": "scan@example.org", "password": PASSWORD})
    link = mailed_link(app.store, "scan@example.org", "verify", "/verify")
    assert app.client().get(link).status_code == 200
    user = app.store.user_by_email("scan@example.org")
    assert user is not None and not user.verified
    forged = app.client()
    assert forged.post("/verify", data={"token": link.split("token=")[1]}).status_code == 403
    follow_mailed_link(app.client(), link, password=PASSWORD)
    done = app.store.user_by_email("scan@example.org")
    assert done is not None and done.verified


# --- item 17: private responses; alert feeds end with the subscription, and rotate --------
def test_responses_that_read_the_user_are_kept_by_no_cache(app: WebApp) -> None:
    user = make_user(app.store, "private@example.org")
    browser = app.client(signed_in="private@example.org")
    for path in ("/account.json", "/subscribe.json", "/api/me", "/search.json?q=gaussian",
                 "/about"):
        assert browser.get(path).headers["cache-control"] == "private, no-store", path
    script = app.client()
    answer = script.get("/api/me", headers=_bearer(_token(app.store, user)))
    assert answer.status_code == 200 and answer.headers["cache-control"] == "private, no-store"
    anonymous = app.client().get("/api/stats")
    assert "no-store" not in anonymous.headers.get("cache-control", "")


def _feed_path(browser: TestClient) -> tuple[int, str]:
    [sub] = browser.get("/account.json").json()["subscriptions"]
    [feed] = sub["feeds"]
    return feed["id"], feed["url"]


def test_an_alert_feed_ends_with_its_subscription_and_can_be_rotated(app: WebApp) -> None:
    user = make_user(app.store, "alerts@example.org")
    sub = app.store.upsert_subscription("alerts@example.org", status="active",
                                        user_id=user.id,
                                        searches=[SearchSpec("gaussian splatting")])
    browser = app.client(signed_in="alerts@example.org")
    search_id, old = _feed_path(browser)
    assert browser.get(old).status_code == 200
    other = app.client(signed_in=make_user(app.store, "other@example.org").email)
    assert post_form(other, f"/account/feeds/{search_id}/rotate", {}).status_code == 404
    assert app.client().post(f"/account/feeds/{search_id}/rotate",
                             headers=_bearer(_token(app.store, user))).status_code == 403
    rotated = post_form(browser, f"/account/feeds/{search_id}/rotate", {},
                        follow_redirects=False)
    assert rotated.status_code == 303
    _, new = _feed_path(browser)
    assert new != old and app.client().get(old).status_code == 404
    assert app.client().get(new).status_code == 200
    assert re.search(r"/account/feeds/\d+/rotate", browser.get("/account").text)
    app.client().post(f"/unsubscribe/{sub.token}")
    assert app.client().get(new).status_code == 404
    assert csrf(browser)  # the browser's session is untouched by all this
