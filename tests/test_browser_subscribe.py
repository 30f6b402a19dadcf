"""Subscribing in a real headless Chromium over a real server on 127.0.0.1: the box on every
page, the confirmation link mailed (read from the outbox), and unsubscribing from the page
the digest links to."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator

import pytest

from paperwire.store import Store
from tests.app import make_app
from tests.browser import open_page, require_chromium
from tests.live_server import serve
from tests.shared_data import arxiv_lines

require_chromium()
# Chromium tests run in `make test` (CI), not in a bare `pytest`: see pyproject's markers.
pytestmark = pytest.mark.heavy
from playwright.sync_api import Page, expect  # noqa: E402


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Store]]:
    # No SMTP: mail goes to the outbox, where the test reads the link a person would click.
    with make_app(tmp_path_factory.mktemp("browser-subscribe"),
                  lines=arxiv_lines(5, start=41_000), base_url="http://placeholder") as built, \
            serve(built.app) as url:
        yield url, built.store


@pytest.fixture
def page(site: tuple[str, Store]) -> Iterator[Page]:
    with open_page(site[0]) as opened:
        yield opened


def mailed_path(store: Store, to: str) -> str:
    [row] = store.outbox(to=to, kind="confirm")[:1]
    body = email.message_from_string(row["message"], policy=email.policy.default)
    text = body.get_body(("plain",))
    assert text is not None
    found = re.search(r"http://placeholder(/subscribe/confirm\?token=\S+)", text.get_content())
    assert found, "the confirmation mail carries a link"
    return found.group(1)


def test_subscribe_from_the_box_confirm_and_unsubscribe(page: Page,
                                                         site: tuple[str, Store]) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and not m.text.startswith("Failed to load resource") else None)
    store = site[1]
    page.goto("/")
    page.fill("#subscribe-email", "reader@example.org")
    page.locator("form.subscribe button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("Check your inbox")
    assert store.subscription(email="reader@example.org") is None  # nothing before the link
    page.goto(mailed_path(store, "reader@example.org"))
    expect(page.locator("h1")).to_have_text("Confirm your subscription")
    assert store.subscription(email="reader@example.org") is None  # a GET changes nothing
    page.locator("main form button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("You are subscribed")
    sub = store.subscription(email="reader@example.org")
    assert sub is not None and sub.status == "active" and sub.trending
    # The digest's unsubscribe link opens a page whose one button ends it, no sign-in.
    page.goto(f"/unsubscribe/{sub.token}")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("Unsubscribed")
    gone = store.subscription(email="reader@example.org")
    assert gone is not None and gone.status == "unsubscribed"
    assert not errors, errors
