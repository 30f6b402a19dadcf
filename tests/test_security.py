"""Security of the community features, tested through the app's own endpoints: CSRF, session
fixation, sign-in throttling, escaping of user-supplied text, hidden papers, roles, API tokens,
votes and submissions (against the loopback arXiv replay server)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from paperwire import accounts
from paperwire.settings import Settings
from paperwire.store import utcnow
from tests.app import WebApp, make_app
from tests.helpers import BASE, PASSWORD, call_api, csrf, make_user, post_form, run_queues
from tests.replay_server import ReplayServer, replay_fixture  # noqa: F401  (the fixture)
from tests.shared_data import SHARED_DATA, arxiv_lines, require

DAY = "2025-12-24"
SECRET = "2512.00001"  # the paper moderators hide
TWIN = "2512.00002"  # its near-duplicate, whose similar papers would include it
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> Iterator[WebApp]:
    lines = arxiv_lines(30, start=40_000)
    for arxiv_id, extra in ((SECRET, ""), (TWIN, " revisited")):
        lines.append(json.dumps({
            "id": arxiv_id, "title": f"Zebrafish quasar alignment{extra}",
            "summary": "Zebrafish quasar alignment under heavy zebrafish quasar noise.",
            "authors": ["Zed Quasar"], "categories": ["astro-ph.GA"],
            "first_seen": DAY}) + "\n")
    with make_app(tmp_path_factory.mktemp("security"), module_database_url, lines=lines,
                  index=True, login_max_failures=5) as site:
        for address, role, verified in (("mod@example.org", "moderator", True),
                                        ("user@example.org", "user", True),
                                        ("new@example.org", "user", False)):
            make_user(site.store, address, role=role, verified=verified,
                      name=address.split("@")[0])
        yield site


def client_for(app: WebApp, address: str | None = None) -> TestClient:
    """A browser: signed in as ``address`` (through the sign-in form), or anonymous."""
    return app.client(signed_in=address)


form, api = post_form, call_api


# --- CSRF -----------------------------------------------------------------------------------
def all_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, Route]]:
    for route in routes:
        if isinstance(route, Route):
            yield prefix, route
        elif hasattr(route, "original_router"):  # FastAPI's included routers
            yield from all_routes(route.original_router.routes,
                                  prefix + route.include_context.prefix)


def unsafe_routes(app: WebApp) -> list[tuple[str, str]]:
    """(method, concrete path) of every state-changing route, parameters filled in."""
    found = []
    for prefix, route in all_routes(app.app.routes):
        for method in sorted((route.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}):
            found.append((method, re.sub(r"\{[^}]+\}", "1", prefix + route.path)))
    return sorted(set(found))


def test_every_state_changing_endpoint_refuses_a_request_without_the_csrf_token(
        app: WebApp) -> None:
    exempt: set[str] = app.app.state.csrf_exempt
    routes = [(m, p) for m, p in unsafe_routes(app) if not any(p.startswith(e) for e in exempt)]
    assert ("POST", "/signin") in routes and ("PUT", "/api/papers/1/vote") in routes
    assert len(routes) >= 20
    moderator = client_for(app, "mod@example.org")
    stranger = client_for(app)
    foreign = csrf(stranger)  # a valid token, but for another browser
    for method, path in routes:
        missing = moderator.request(method, path, data={"reason": "x"})
        assert missing.status_code == 403, (method, path, missing.status_code)
        wrong = moderator.request(method, path, data={"csrf_token": foreign, "reason": "x"})
        assert wrong.status_code == 403, (method, path)
        header = moderator.request(method, path, headers={"X-CSRF-Token": foreign})
        assert header.status_code == 403, (method, path)
    # Nothing happened: still signed in, nothing hidden.
    assert moderator.get("/api/me").json()["email"] == "mod@example.org"
    assert app.store.hidden_row_ids() == frozenset()


def test_csrf_refusal_is_explained_and_a_token_lets_the_form_through(app: WebApp) -> None:
    client = client_for(app, "user@example.org")
    refused = client.post("/signout", headers={"Accept": "application/json"})
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]
    assert form(client, "/signout", {}, follow_redirects=False).status_code == 303
    assert client.get("/api/me").status_code == 401


# --- sessions and sign-in -------------------------------------------------------------------
def test_session_fixation_a_cookie_set_before_sign_in_is_not_the_one_after(app: WebApp
                                                                          ) -> None:
    client = app.client()
    client.cookies.set("pw_session", "attacker-chosen-session-id-000000000",
                       domain="127.0.0.1")
    answer = form(client, "/signin", {"email": "user@example.org", "password": PASSWORD},
                  follow_redirects=False)
    assert answer.status_code == 303
    after = client.cookies["pw_session"]
    assert after != "attacker-chosen-session-id-000000000"
    # A real session planted beforehand (the attacker's own) is ended at sign-in, too.
    planted = client_for(app, "mod@example.org").cookies["pw_session"]
    victim = app.client()
    victim.cookies.set("pw_session", planted, domain="127.0.0.1")
    form(victim, "/signin", {"email": "user@example.org", "password": PASSWORD},
         follow_redirects=False)
    assert victim.cookies["pw_session"] not in (planted, after)
    assert victim.get("/api/me").json()["email"] == "user@example.org"
    assert accounts.session_user(app.store, Settings(), planted) is None


def test_an_active_session_slides_and_so_does_its_cookie(app: WebApp) -> None:
    from sqlalchemy import select, update

    from paperwire.store.schema import sessions

    client = client_for(app, "user@example.org")
    token = client.cookies["pw_session"]
    quiet = client.get("/about")
    assert not any(c.startswith("pw_session=") for c in quiet.headers.get_list("set-cookie"))
    # It shows who is signed in (and carries their CSRF token): no cache may keep it.
    assert quiet.headers["cache-control"] == "private, no-store"
    hashed = accounts.token_hash(token)
    then = utcnow() - timedelta(days=20)
    with app.store.engine.begin() as conn:  # as if last seen 20 days ago
        conn.execute(update(sessions).where(sessions.c.token_hash == hashed)
                     .values(last_seen_at=then, expires_at=then + timedelta(days=30)))
    # Written behind the store, as another process would: forgotten as its bound would.
    app.store.credential_cache.forget()
    seen = client.get("/about")
    [renewed] = [c for c in seen.headers.get_list("set-cookie") if c.startswith("pw_session=")]
    assert renewed.startswith(f"pw_session={token};") and "Max-Age=2592000" in renewed
    with app.store.engine.connect() as conn:
        expires = conn.execute(select(sessions.c.expires_at)
                               .where(sessions.c.token_hash == hashed)).scalar_one()
    assert expires > utcnow() + timedelta(days=29)


def test_secure_cookies_when_served_over_https(tmp_path: Path, database_url: str) -> None:
    with make_app(tmp_path, database_url, base_url="https://papers.example.org",
                  users=[("ann@example.org", "user", "Ann")]) as site:
        answer = form(site.client(), "/signin", {"email": "ann@example.org",
                                                 "password": PASSWORD}, follow_redirects=False)
    cookies = answer.headers.get_list("set-cookie")
    assert any(c.startswith("pw_session=") and "Secure" in c and "HttpOnly" in c
               for c in cookies)


def test_brute_force_sign_in_is_throttled(app: WebApp) -> None:
    make_user(app.store, "target@example.org")
    client = client_for(app)
    for _ in range(5):
        wrong = form(client, "/signin", {"email": "target@example.org", "password": "guess!!!"})
        assert wrong.status_code == 401
    refused = form(client, "/signin", {"email": "target@example.org", "password": PASSWORD})
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    assert "too many failed sign-ins" in refused.text
    assert "pw_session" not in client.cookies


# --- escaping -------------------------------------------------------------------------------
def test_user_supplied_text_comes_back_escaped(app: WebApp) -> None:
    store = app.store
    evil = make_user(store, "evil@example.org", name=XSS)
    submission, _ = store.add_submission(TWIN, evil.id, f"note {XSS}")
    moderator = client_for(app, "mod@example.org")
    hidden = api(moderator, "POST", f"/api/papers/{SECRET}/hide", json={"reason": XSS})
    assert hidden.status_code == 200 and hidden.json()["hidden"]["reason"] == XSS
    try:
        pages = [client_for(app, "evil@example.org").get("/account").text,
                 moderator.get(f"/papers/{TWIN}").text,
                 moderator.get(f"/papers/{SECRET}").text]
        for html in pages:
            assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in pages[0]  # name in header
        assert "Submitted by &lt;script&gt;" in pages[1] and "note &lt;script&gt;" in pages[1]
        assert "&lt;img src=x onerror=alert(1)&gt;" in pages[2]  # the reason on the banner
        # The JSON twins carry the text as data, served as JSON (never sniffed as HTML).
        data = moderator.get(f"/papers/{TWIN}.json")
        assert data.headers["content-type"].startswith("application/json")
        assert data.headers["x-content-type-options"] == "nosniff"
        assert data.json()["community"]["submission"]["submitted_by"] == XSS
    finally:
        api(moderator, "POST", f"/api/papers/{SECRET}/unhide")
        store.hide_submission(submission, "cleanup", None, "test")


# --- hidden papers --------------------------------------------------------------------------
def visible_everywhere(client: TestClient) -> dict[str, bool]:
    """Where SECRET shows up for this client."""
    search = client.get("/search.json", params={"q": "zebrafish quasar"}).json()
    api_search = client.get("/api/search", params={"q": "zebrafish quasar"}).json()
    twin = client.get(f"/api/papers/{TWIN}").json()
    return {
        "page": client.get(f"/papers/{SECRET}").status_code == 200,
        "page json": client.get(f"/papers/{SECRET}.json").status_code == 200,
        "api": client.get(f"/api/papers/{SECRET}").status_code == 200,
        "api vote": client.get(f"/api/papers/{SECRET}/vote").status_code == 200,
        "api votes": SECRET in client.get("/api/votes", params={"ids": SECRET}).json()["votes"],
        "search": SECRET in [h["arxiv_id"] for h in search["hits"]],
        "api search": SECRET in [h["arxiv_id"] for h in api_search["hits"]],
        "search html": f"/papers/{SECRET}" in client.get(
            "/search", params={"q": "zebrafish quasar"}).text,
        "similar": SECRET in [h["arxiv_id"] for h in twin["similar"]],
        "trending": SECRET in [p["arxiv_id"] for p in client.get(
            "/index.json", params={"date": DAY}).json()["papers"]],
        "api trending": SECRET in [p["arxiv_id"] for p in client.get(
            "/api/trending", params={"date": DAY}).json()["papers"]],
        "search feed": SECRET in client.get("/feeds/search.atom",
                                            params={"q": "zebrafish"}).text,
        "category feed": SECRET in client.get("/feeds/category/astro-ph.GA.atom").text,
        "trending feed": SECRET in client.get("/feeds/trending.atom",
                                              params={"date": DAY}).text,
    }


def test_a_hidden_paper_is_unreachable_until_unhidden(app: WebApp) -> None:
    anonymous, user = client_for(app), client_for(app, "user@example.org")
    moderator = client_for(app, "mod@example.org")
    everywhere = visible_everywhere(anonymous)
    assert all(everywhere.values()), everywhere
    hidden = form(moderator, f"/papers/{SECRET}/hide", {"reason": "duplicate of a spam run"},
                  follow_redirects=False)
    assert hidden.status_code == 303
    try:
        for who in (anonymous, user):
            seen = visible_everywhere(who)
            assert not any(seen.values()), seen
        assert anonymous.get(f"/papers/{SECRET}").text.count("no paper 2512.00001") == 1
        page = moderator.get(f"/papers/{SECRET}")
        assert page.status_code == 200 and "duplicate of a spam run" in page.text
        assert moderator.get(f"/papers/{SECRET}.json").json()["hidden"]["hidden_by"] == "mod"
    finally:
        unhidden = form(moderator, f"/papers/{SECRET}/unhide", {}, follow_redirects=False)
        assert unhidden.status_code == 303
    back = visible_everywhere(anonymous)
    assert all(back.values()), back


def test_an_ordinary_user_cannot_moderate(app: WebApp) -> None:
    user, anonymous = client_for(app, "user@example.org"), client_for(app)
    calls = [("POST", f"/api/papers/{SECRET}/hide", {"json": {"reason": "x"}}),
             ("POST", f"/api/papers/{SECRET}/unhide", {}),
             ("POST", "/api/submissions/1/hide", {"json": {"reason": "x"}}),
             ("POST", "/api/submissions/1/unhide", {})]
    for method, path, kwargs in calls:
        assert api(user, method, path, **kwargs).status_code == 403, path
        assert api(anonymous, method, path, **kwargs).status_code == 401, path
    for path in (f"/papers/{SECRET}/hide", f"/papers/{SECRET}/unhide", "/submissions/1/hide",
                 "/submissions/1/unhide"):
        assert form(user, path, {"reason": "x"}).status_code == 403, path
    assert app.store.hidden_row_ids() == frozenset()


# --- votes and API tokens -------------------------------------------------------------------
def test_votes_need_a_confirmed_account_and_toggle(app: WebApp) -> None:
    anonymous = client_for(app)
    refused = api(anonymous, "PUT", f"/api/papers/{TWIN}/vote")
    assert refused.status_code == 401 and "sign in" in refused.json()["error"]
    unconfirmed = client_for(app, "new@example.org")
    assert api(unconfirmed, "PUT", f"/api/papers/{TWIN}/vote").status_code == 403
    user = client_for(app, "user@example.org")
    start = anonymous.get(f"/api/papers/{TWIN}/vote").json()["votes"]
    first = api(user, "PUT", f"/api/papers/{TWIN}/vote").json()
    again = api(user, "PUT", f"/api/papers/{TWIN}/vote").json()
    assert first == again and first["voted"] and first["votes"] == start + 1
    assert api(user, "DELETE", f"/api/papers/{TWIN}/vote").json()["votes"] == start
    # The plain form toggles and sends the browser back where it was.
    toggled = form(user, f"/papers/{TWIN}/vote", {}, follow_redirects=False,
                   headers={"Referer": f"{BASE}/search?q=zebrafish"})
    assert toggled.status_code == 303 and toggled.headers["location"] == "/search?q=zebrafish"
    states = user.get("/api/votes", params={"ids": f"{TWIN},{SECRET}"}).json()["votes"]
    assert states[TWIN]["voted"] and states[TWIN]["votes"] == start + 1
    assert user.get(f"/papers/{TWIN}.json").json()["community"]["voted"]
    # Search results and similar papers carry the counts, and this reader's own votes.
    [hit] = [h for h in user.get("/api/search", params={"q": "zebrafish quasar"})
             .json()["hits"] if h["arxiv_id"] == TWIN]
    assert (hit["votes"], hit["voted"]) == (start + 1, True)
    [seen] = [h for h in anonymous.get("/search.json", params={"q": "zebrafish quasar"})
              .json()["hits"] if h["arxiv_id"] == TWIN]
    assert (seen["votes"], seen["voted"]) == (start + 1, False)
    assert api(user, "PUT", "/api/papers/2512.99999/vote").status_code == 404
    form(user, f"/papers/{TWIN}/vote", {})  # back as it was


def test_an_api_token_works_until_revoked(app: WebApp) -> None:
    browser = client_for(app, "user@example.org")
    created = form(browser, "/account/tokens", {"name": "my script"})
    token = re.search(r'<code class="token">(pw_[^<]+)</code>', created.text)
    assert created.status_code == 200 and token
    secret = token.group(1)
    assert secret not in browser.get("/account").text  # shown once only
    script = app.client()  # no cookies, no CSRF token: the Bearer suffices
    bearer = {"Authorization": f"Bearer {secret}"}
    voted = script.put(f"/api/papers/{TWIN}/vote", headers=bearer)
    assert voted.status_code == 200 and voted.json()["voted"]
    assert script.delete(f"/api/papers/{TWIN}/vote", headers=bearer).status_code == 200
    [listed] = browser.get("/account.json").json()["tokens"]
    revoked = form(browser, f"/account/tokens/{listed['id']}/revoke", {},
                   follow_redirects=False)
    assert revoked.status_code == 303
    after = script.put(f"/api/papers/{TWIN}/vote", headers=bearer)
    assert after.status_code == 401 and after.headers["content-type"].startswith(
        "application/json")
    # Someone else's token id is not found on your account.
    other = client_for(app, "mod@example.org")
    assert form(other, f"/account/tokens/{listed['id']}/revoke", {}).status_code == 404


# --- submissions ----------------------------------------------------------------------------
RECORDED = SHARED_DATA / "arxiv" / "fixtures" / "api-atom" / "recorded-json" / \
    "id_1605.08386_s0_m100_199195aa31ad.json"


@pytest.fixture
def arxiv(replay: ReplayServer) -> ReplayServer:
    recorded = json.loads(require(RECORDED).read_text(encoding="utf-8"))
    replay.add(lambda seen: seen.path == "/api/query" and "1605.08386" in (
        seen.param("id_list") or ""), _reply(recorded))
    return replay


def _reply(recorded: dict[str, Any]) -> Any:
    from tests.replay_server import Reply

    return Reply(recorded["status_code"], recorded["body"],
                 [("Content-Type", "application/atom+xml; charset=UTF-8")])


@contextmanager
def submission_app(tmp_path: Path, database_url: str, replay: ReplayServer,
                   window_days: int) -> Iterator[WebApp]:
    with make_app(tmp_path, database_url, arxiv_api_url=replay.url + "/api/query",
                  request_delay=0.0, max_retries=0, submission_window_days=window_days,
                  users=[("ann@example.org", "user", "Ann"),
                         ("bob@example.org", "user", "Bob")]) as site:
        yield site


def test_an_old_paper_is_refused_with_the_reason(tmp_path: Path, database_url: str,
                                                 arxiv: ReplayServer) -> None:
    with submission_app(tmp_path, database_url, arxiv, 14) as app:
        refused_an_old_paper(app, arxiv)


def refused_an_old_paper(app: WebApp, arxiv: ReplayServer) -> None:
    ann = client_for(app, "ann@example.org")
    queued = api(ann, "POST", "/api/submissions",
                 json={"arxiv_id": "https://arxiv.org/abs/1605.08386v1"})
    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    run_queues(app.store, app.settings)
    refused = ann.get(queued.json()["status_url"]).json()
    assert refused["status"] == "failed" and refused["result"] == {"status": 422}
    assert re.search(r"1605\.08386 was first published on 2016-05-\d\d, \d+ days ago; "
                     r"this instance takes submissions of papers from the last 14 days",
                     refused["message"])
    assert app.store.get_paper("1605.08386") is None  # nothing half-written
    assert [s.param("id_list") for s in arxiv.requests] == ["1605.08386"]


def test_a_submission_is_fetched_credited_and_a_duplicate_becomes_an_upvote(
        tmp_path: Path, database_url: str, arxiv: ReplayServer) -> None:
    with submission_app(tmp_path, database_url, arxiv, 100 * 365) as app:
        submitted_credited_and_upvoted(app, arxiv)


def submitted_credited_and_upvoted(app: WebApp, arxiv: ReplayServer) -> None:
    ann, bob = client_for(app, "ann@example.org"), client_for(app, "bob@example.org")
    bad = api(ann, "POST", "/api/submissions", json={"arxiv_id": "not an id"})
    assert bad.status_code == 400 and "not an arXiv identifier" in bad.json()["error"]
    queued = api(ann, "POST", "/api/submissions",
                 json={"arxiv_id": "arXiv:1605.08386", "note": "a classic"})
    assert queued.status_code == 202, queued.text
    assert queued.headers["location"] == queued.json()["status_url"]
    assert ann.get(queued.json()["status_url"]).json()["status"] == "queued"
    assert bob.get(queued.json()["status_url"]).status_code == 404  # not Bob's to see
    run_queues(app.store, app.settings)
    done = ann.get(queued.json()["status_url"]).json()
    assert done["status"] == "done", done
    assert done["result"]["created"] and done["result"]["votes"] == 1
    page = ann.get("/papers/1605.08386.json").json()
    assert page["paper"]["title"] and page["community"]["submission"]["submitted_by"] == "Ann"
    assert page["community"]["submission"]["note"] == "a classic"
    assert "Submitted by Ann" in ann.get("/papers/1605.08386").text
    day = page["paper"]["date"]
    [card] = [p for p in ann.get("/index.json", params={"date": day}).json()["papers"]
              if p["arxiv_id"] == "1605.08386"]
    assert card["submitted_by"] == "Ann"
    again = form(bob, "/submit", {"arxiv_id": "1605.08386", "note": "me too"},
                 follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/papers/1605.08386"
    state = bob.get("/api/papers/1605.08386/vote").json()
    assert state["votes"] == 2 and state["voted"]
    assert app.store.submissions_for(["1605.08386"])["1605.08386"]["note"] == "a classic"
    assert len(arxiv.requests) == 1  # the duplicate asked arXiv nothing


@pytest.mark.parametrize("target", ["//evil.example/", "/\t/evil.example", "/\\evil.example",
                                    "https://evil.example/", "javascript:alert(1)"])
def test_sign_in_never_redirects_off_site(app: WebApp, target: str) -> None:
    client = app.client()
    answer = form(client, "/signin", {"email": "user@example.org", "password": PASSWORD,
                                      "next": target}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/"
