"""The web app end to end in a real headless Chromium, over a real server on 127.0.0.1.

Debian's ``chromium`` package driven by Playwright (never a browser Playwright downloads):
scripts/install-test-deps.sh installs the one, the ``test`` extra the other. Every test checks
that the page asked nothing of any host but the test server. Screenshots of the main pages at
desktop and phone widths land in test-artifacts/screenshots/ for a person to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from tests.app import make_app
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium
from tests.live_server import serve
from tests.shared_data import arxiv_lines

require_chromium()
# Chromium tests run in `make test` (CI), not in a bare `pytest`: see pyproject's markers.
pytestmark = pytest.mark.heavy
from playwright.sync_api import (  # noqa: E402
    Browser,
    BrowserContext,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)

SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
VIEWPORTS: dict[str, ViewportSize] = {"desktop": {"width": 1280, "height": 800},
                                      "phone": {"width": 390, "height": 844}}
ATOM = "{http://www.w3.org/2005/Atom}"
QUERY = "language models"


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server over 350 papers: 50 listed on 2025-03-18, 300 on days of December 2025."""
    with make_app(tmp_path_factory.mktemp("browser"),
                  lines=arxiv_lines(50) + arxiv_lines(300, start=40_000), index=True,
                  base_url="") as site, serve(site.app) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _context(browser: Browser, origin: str, viewport: str,
             requests: list[str]) -> BrowserContext:
    ctx = browser.new_context(viewport=VIEWPORTS[viewport],
                              is_mobile=viewport == "phone", has_touch=viewport == "phone",
                              base_url=origin)
    ctx.set_default_timeout(10_000)
    ctx.on("request", lambda request: requests.append(request.url))
    return ctx


def _only_local(requests: list[str], origin: str) -> None:
    foreign = [u for u in requests if not (u.startswith(origin + "/") or u.startswith("data:"))]
    assert requests, "the browser made no requests at all"
    assert not foreign, f"the pages asked hosts other than {origin}: {foreign}"


@pytest.fixture
def page(browser: Browser, origin: str) -> Iterator[Page]:
    """A desktop-sized page; the test fails if anything it loads leaves the test server."""
    requests: list[str] = []
    ctx = _context(browser, origin, "desktop", requests)
    yield ctx.new_page()
    ctx.close()
    _only_local(requests, origin)


def shoot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def search_from_header(page: Page, query: str = QUERY) -> None:
    page.fill("#header-q", query)
    page.press("#header-q", "Enter")
    page.wait_for_url(re.compile(r"/search\?q="))


# --- tests ----------------------------------------------------------------------------------
def test_home_shows_paper_cards_and_the_latest_day(page: Page) -> None:
    response = page.goto("/")
    assert response is not None and response.status == 200
    expect(page.locator("h1 .day")).to_have_text("Dec 29, 2025")
    assert page.locator("h1 small").count() == 0  # the day is said once
    cards = page.locator("article.paper")
    expect(cards).to_have_count(12)  # the sample lists 12 papers on 2025-12-29
    expect(cards.first.locator("h3 a")).to_have_attribute("href", re.compile(r"^/papers/"))
    expect(page.locator("p.count")).to_contain_text("12 papers")
    assert page.title() == "Papers of Dec 29, 2025 · paperwire"


def test_previous_day_changes_the_url_and_the_date(page: Page, origin: str) -> None:
    page.goto("/")
    page.click(".daynav a[rel=prev]")
    page.wait_for_url(f"{origin}/date/2025-12-25")
    expect(page.locator("h1 .day")).to_have_text("Dec 25, 2025")
    expect(page.locator("p.count")).to_contain_text("129 papers")
    page.click(".daynav a[rel=prev]")  # 2025-12-24 has papers; skip none
    page.wait_for_url(f"{origin}/date/2025-12-24")
    expect(page.locator("h1 .day")).to_have_text("Dec 24, 2025")
    page.click(".daynav a[rel=next]")
    page.wait_for_url(f"{origin}/date/2025-12-25")
    page.go_back()
    expect(page).to_have_url(f"{origin}/date/2025-12-24")


def test_search_box_finds_papers_with_highlights(page: Page) -> None:
    page.goto("/")
    search_from_header(page)
    expect(page).to_have_url(re.compile(r"/search\?q=language\+models$"))
    expect(page.locator("#q")).to_have_value(QUERY)
    cards = page.locator("article.paper")
    assert cards.count() > 0
    marks = page.locator("article.paper .snippet mark")
    assert marks.count() > 0
    words = {w.lower() for w in marks.all_inner_texts()}
    assert words & {"language", "languages", "model", "models"}, words
    assert page.title() == f"{QUERY} – search · paperwire"


def test_a_result_opens_the_paper_page_and_a_similar_paper(page: Page, origin: str) -> None:
    page.goto("/search?q=" + QUERY.replace(" ", "+"))
    first = page.locator("article.paper h3 a").first
    title, href = first.inner_text(), first.get_attribute("href")
    assert href and href.startswith("/papers/")
    first.click()
    page.wait_for_url(origin + href)
    arxiv_id = href.removeprefix("/papers/")
    expect(page.locator("h1")).to_have_text(title)
    assert len(page.locator("p.abstract").inner_text()) > 100
    expect(page.locator(".paper-full .meta")).to_contain_text(f"arXiv:{arxiv_id}")
    expect(page.get_by_role("link", name="arXiv abstract page")).to_have_attribute(
        "href", f"https://arxiv.org/abs/{arxiv_id}")
    expect(page.locator(".links a", has_text="PDF")).to_have_attribute(
        "href", re.compile(rf"^https://arxiv\.org/pdf/{re.escape(arxiv_id)}(v\d+)?$"))

    # Without an embedder, similar papers come from shared keywords: this one has some.
    similar = page.locator("section.similar article.paper h3 a")
    assert similar.count() > 0, "no similar papers listed"
    other = similar.first.get_attribute("href")
    assert other and other != href
    similar.first.click()
    page.wait_for_url(origin + other)
    expect(page.locator("h1")).not_to_have_text(title)


def test_a_paper_page_has_a_json_twin_naming_the_same_paper(page: Page, origin: str) -> None:
    page.goto("/")
    page.locator("article.paper h3 a").first.click()
    page.wait_for_url(re.compile(r"/papers/"))
    arxiv_id = page.url.rsplit("/papers/", 1)[1]
    title = page.locator("h1").inner_text()
    expect(page.locator("footer a[type='application/json']")).to_have_attribute(
        "href", f"/papers/{arxiv_id}.json")
    response = page.goto(f"/papers/{arxiv_id}.json")
    assert response is not None and response.status == 200
    assert response.headers["content-type"].startswith("application/json")
    data = response.json()
    assert data["paper"]["arxiv_id"] == arxiv_id and data["paper"]["title"] == title


def test_the_trending_feed_link_resolves_to_an_atom_document(page: Page) -> None:
    page.goto("/date/2025-12-24")
    head_link = page.locator("link[rel=alternate][type='application/atom+xml']")
    body_link = page.get_by_role("link", name="Atom feed")
    href = head_link.get_attribute("href")
    assert href and href == body_link.get_attribute("href")
    response = page.goto(href)
    assert response is not None and response.status == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = etree.fromstring(response.body())
    assert feed.tag == f"{ATOM}feed"
    assert len(feed.findall(f"{ATOM}entry")) > 0


def test_keyboard_reaches_the_skip_link_and_the_search_box(page: Page, origin: str) -> None:
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.locator("a.skip")
    expect(skip).to_be_focused()
    expect(skip).to_have_text("Skip to content")
    assert skip.is_visible() and skip.bounding_box() is not None
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{origin}/#main")

    page.goto("/")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "header-q":
            break
    expect(page.locator("#header-q")).to_be_focused()
    page.keyboard.type(QUERY)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=language\+models$"))
    assert page.locator("article.paper").count() > 0


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_screenshots_of_home_search_and_paper(browser: Browser, origin: str,
                                              viewport: str) -> None:
    requests: list[str] = []
    ctx = _context(browser, origin, viewport, requests)
    try:
        page = ctx.new_page()
        overflow: dict[str, int] = {}

        def capture(name: str) -> None:
            shoot(page, f"{name}-{viewport}")
            extra = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if extra > 0:
                overflow[name] = extra

        page.goto("/")
        expect(page.locator("article.paper").first).to_be_visible()
        capture("home")
        page.goto("/search?q=" + QUERY.replace(" ", "+"))
        expect(page.locator("article.paper mark").first).to_be_visible()
        capture("search")
        page.locator("article.paper h3 a").first.click()
        page.wait_for_url(re.compile(r"/papers/"))
        expect(page.locator("p.abstract")).to_be_visible()
        capture("paper")
    finally:
        ctx.close()
    _only_local(requests, origin)
    for name in ("home", "search", "paper"):
        assert (SCREENSHOTS / f"{name}-{viewport}.png").stat().st_size > 1000
    assert not overflow, f"pages wider than the {viewport} viewport (px): {overflow}"
