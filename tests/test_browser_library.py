"""Saving a paper from a card and exporting the collection in a real headless Chromium over a
real server on 127.0.0.1: the Save button works without a reload (static/save.js under the
strict CSP), the paper is in the Reading list, and its BibTeX export downloads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

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
def origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    lines = arxiv_lines(10, start=40_000)
    with make_app(tmp_path_factory.mktemp("browser-library"), lines=lines, index=True,
                  base_url="", users=[("ann@example.org", "user", "Ann")]) as site, \
            serve(site.app) as url:
        yield url


@pytest.fixture
def page(origin: str) -> Iterator[Page]:
    with open_page(origin) as opened:
        yield opened


def test_save_from_a_card_and_export_the_collection(page: Page, tmp_path: Path) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and not m.text.startswith("Failed to load resource") else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400
            else None)
    page.goto("/signin?next=/")
    page.fill("#email", "ann@example.org")
    page.fill("#password", PASSWORD)
    page.click("form.account-form button[type=submit]")
    page.wait_for_url("**/")
    card = page.locator("article.paper").first
    arxiv_id = card.locator("form.save").get_attribute("data-arxiv-id")
    assert arxiv_id
    button = card.locator("form.save button")
    expect(button).to_have_text("Save")
    page.evaluate("window.stillHere = true")  # gone if the click reloaded the page
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(button).to_have_text("Saved")
    assert page.evaluate("window.stillHere") is True
    page.reload()  # the server kept it, and marks it on the card
    expect(page.locator(f'form.save[data-arxiv-id="{arxiv_id}"] button').first
           ).to_have_text("Saved")
    page.goto("/library")
    page.click("text=Reading list")
    expect(page.locator("h1")).to_have_text("Reading list")
    with page.expect_download() as caught:
        page.click("text=BibTeX")
    saved = tmp_path / "reading.bib"
    caught.value.save_as(saved)
    text = saved.read_text(encoding="utf-8")
    assert f"eprint = {{{arxiv_id}}}" in text
    listed = json.loads(page.request.get("/library.json").text())
    assert listed["collections"][0]["items"] == 1
    assert not errors, errors



@pytest.mark.parametrize("width", [1280, 390])
def test_library_pages_fit_and_pass_axe(origin: str, width: int) -> None:
    from tests.browser import open_page, overflow, sign_in_page, violations

    with open_page(origin, width=width, audit=True) as page:
        sign_in_page(page, "ann@example.org", PASSWORD, "/library")
        page.goto("/")
        page.locator("article.paper form.save button").first.click()
        page.goto("/library")
        page.click("text=Reading list")
        for url in ("/library", page.url):
            page.goto(url)
            assert overflow(page) <= 0, (url, width, overflow(page))
            bad = violations(page, ("serious", "critical"))
            assert not bad, (url, width, bad)
