"""Signing in and voting in a real headless Chromium over a real server on 127.0.0.1: the
vote button counts live (static/vote.js under the strict CSP) and works without reloading."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from tests.app import make_app
from tests.browser import open_page, require_chromium
from tests.helpers import PASSWORD
from tests.live_server import serve
from tests.shared_data import arxiv_lines

require_chromium()
# Chromium tests run in `make test` (CI), not in a bare `pytest`: see pyproject's markers.
pytestmark = pytest.mark.heavy
from playwright.sync_api import Page, expect  # noqa: E402


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    lines = arxiv_lines(10, start=40_000)
    with make_app(tmp_path_factory.mktemp("browser-votes"), lines=lines, index=True,
                  base_url="", users=[("ann@example.org", "user", "Ann")]) as site, \
            serve(site.app) as url:
        yield url, json.loads(lines[0])["id"]


@pytest.fixture
def page(origin: tuple[str, str]) -> Iterator[Page]:
    with open_page(origin[0]) as opened:
        yield opened


def test_sign_in_and_vote_without_a_reload(page: Page, origin: tuple[str, str]) -> None:
    errors: list[str] = []
    # Script errors and CSP refusals ("Refused to ...") arrive as console errors; failed
    # loads as responses (the browser's own /favicon.ico probe is not the page's).
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and not m.text.startswith("Failed to load resource") else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400
            else None)
    arxiv_id = origin[1]
    page.goto(f"/signin?next=/papers/{arxiv_id}")
    page.fill("#email", "ann@example.org")
    page.fill("#password", PASSWORD)
    page.click("form.account-form button[type=submit]")
    page.wait_for_url(f"**/papers/{arxiv_id}")
    expect(page.locator("nav.account")).to_contain_text("Ann")
    button = page.locator("article.paper-full form.vote button")
    expect(button).to_have_attribute("aria-pressed", "false")
    page.evaluate("window.stillHere = true")  # gone if the click reloaded the page
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(button.locator(".vote-count")).to_have_text("1")
    assert page.evaluate("window.stillHere") is True
    page.reload()  # the server kept it
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(button.locator(".vote-count")).to_have_text("1")
    button.click()
    expect(button.locator(".vote-count")).to_have_text("0")
    assert not errors, errors  # CSP violations and script errors show up here


def test_a_signed_out_vote_leads_to_sign_in(page: Page, origin: tuple[str, str]) -> None:
    page.goto(f"/papers/{origin[1]}")
    page.locator("article.paper-full form.vote button").click()
    page.wait_for_url(re.compile(r".*/signin\?next=.*"))
    expect(page.locator("h1")).to_have_text("Sign in")


def test_counts_come_with_the_page_no_second_request(page: Page,
                                                     origin: tuple[str, str]) -> None:
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/votes" in r.url else None)
    page.goto("/")
    counts = page.locator("article.paper form.vote .vote-count")
    expect(counts.first).to_have_text(re.compile(r"^\d+$"))
    title = page.locator("article.paper h3 a").first.inner_text()
    page.goto(f"/search?q={' '.join(title.split()[:3])}&mode=lexical")
    expect(page.locator("article.paper form.vote .vote-count").first).to_have_text(
        re.compile(r"^\d+$"))
    page.locator("article.paper h3 a").first.click()  # a paper page and its similar papers
    expect(page.locator("article.paper-full form.vote .vote-count")).to_have_text(
        re.compile(r"^\d+$"))
    page.wait_for_load_state("networkidle")
    # Listings, search results and paper pages carry their counts: no second request.
    assert asked == []
