"""Shared test helpers: the one paper factory, users, the CSRF token, forms, mailed links."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from starlette.testclient import TestClient

from paperwire import accounts
from paperwire.background import Runner
from paperwire.models import Paper, User
from paperwire.settings import Settings
from paperwire.store import Store

PASSWORD = "correct horse battery"
BASE = "http://127.0.0.1:8000"
PUBLISHED = datetime(2025, 1, 2, 3, 4, 5)
_CSRF = re.compile(r'name="csrf-token" content="([0-9a-f]+)"')


def paper(arxiv_id: str = "2501.00001", **changes: Any) -> Paper:
    """A valid paper with few fields set (it has a publication date, as every arXiv record
    does); ``changes`` are Paper fields. The primary category follows the first of
    ``categories`` unless given."""
    fields: dict[str, Any] = {
        "arxiv_id": arxiv_id, "title": f"Paper {arxiv_id}", "abstract": "An abstract.",
        "authors": ("A. Author",), "categories": ("cs.CL",), "version": 1,
        "published": PUBLISHED, "source": "test"}
    fields.update(changes)
    if "primary_category" not in fields:  # a paper given no categories names its own
        fields["primary_category"] = fields["categories"][0]
    return Paper(**fields)


def make_user(store: Store, address: str = "ann@example.org", *, role: str = "user",
              verified: bool = True, name: str = "Ann") -> User:
    """A user signed up through accounts (a real password hash), verified and granted
    ``role`` as asked."""
    user, created = accounts.sign_up(store, address, PASSWORD, name)
    assert created
    if verified:
        store.mark_verified(user.id)
    if role != "user":
        store.set_role(user.email, role)
    found = store.user_by_id(user.id)
    assert found is not None
    return found


def csrf_in(html: str) -> str:
    """The CSRF token a page carries in its <meta name="csrf-token">."""
    found = _CSRF.search(html)
    assert found, "every page carries its CSRF token"
    return found.group(1)


def csrf(client: TestClient, path: str = "/about") -> str:
    """This browser's CSRF token, read from a page."""
    return csrf_in(client.get(path).text)


def post_form(client: TestClient, path: str, data: dict[str, str], **kwargs: Any) -> Any:
    """POST a form as the page's own form would, with the browser's CSRF token."""
    return client.post(path, data={**data, "csrf_token": csrf(client)}, **kwargs)


def call_api(client: TestClient, method: str, path: str, **kwargs: Any) -> Any:
    """An API request as the site's script makes it, with the X-CSRF-Token header."""
    headers = {"X-CSRF-Token": csrf(client), **kwargs.pop("headers", {})}
    return client.request(method, path, headers=headers, **kwargs)


def sign_in(client: TestClient, address: str, password: str = PASSWORD) -> TestClient:
    """Sign ``client`` in through the sign-in form; fails unless the form accepts it."""
    answer = post_form(client, "/signin", {"email": address, "password": password},
                       follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client


def mailed_link(store: Store, to: str, kind: str, path: str, base: str = BASE) -> str:
    """The site-relative ``path?token=…`` link in the latest ``kind`` mail to ``to``."""
    [message] = store.outbox(to=to, kind=kind)[:1]
    parsed = email.message_from_string(message["message"], policy=email.policy.default)
    body = parsed.get_body(("plain",))
    assert body is not None
    match = re.search(re.escape(base + path) + r"\?token=\S+", body.get_content())
    assert match, f"no {path} link in the {kind} mail"
    return match.group(0).removeprefix(base)


def follow_mailed_link(client: TestClient, link: str, **fields: str) -> Any:
    """Open a mailed ``path?token=…`` link as its reader does: its page (which must change
    nothing), then the page's button, a POST of the token with the page's CSRF token and
    whatever else the form asks for (``fields``, e.g. the password a confirmation needs)."""
    page = client.get(link)
    assert page.status_code == 200, page.text
    path, _, query = link.partition("?")
    [token] = parse_qs(query)["token"]
    return client.post(path, data={"token": token, "csrf_token": csrf_in(page.text), **fields})


def run_queues(store: Store, settings: Settings) -> int:
    """Deliver queued mail and run queued jobs once, here (what the background runner does
    in a web process or the worker); how many rows were taken."""
    return Runner(settings, store).run_once()
