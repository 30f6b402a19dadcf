"""Home, search, a paper and a past week (and about, the API docs, subscribe and sign-in) in a
real Chromium at 1280 and 390 px: axe-core finds no violation of any impact, nothing scrolls
sideways, the console stays clean (no favicon 404), the layout uses a desktop width, and the
score explanation opens from the keyboard."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from paperwire.models import ExternalVote
from tests.app import make_app
from tests.browser import open_page, overflow, require_chromium, violations
from tests.helpers import paper
from tests.live_server import serve

require_chromium()
# Chromium tests run in `make test` (CI), not in a bare `pytest`: see pyproject's markers.
pytestmark = pytest.mark.heavy

DAY = date(2025, 6, 2)
PAST = date(2025, 5, 12)
PAPERS = [paper(f"2506.{n:05d}", title=f"Sparse attention, part {n}", listed_on=DAY,
                authors=("Ada Lovelace", "Charles Babbage"), version=2,
                abstract=f"Sparse attention over long documents, study {n}. "
                         "Code: https://github.com/s/sparse-attention." * (n % 2))
          for n in range(1, 9)]
PAPERS += [paper("2505.00001", title="Sparse attention in a past week", listed_on=PAST)]
PAGES = ["/", "/search?q=sparse+attention", "/papers/2506.00001", f"/date/{PAST}?period=week",
         "/about", "/api/docs", "/subscribe", "/signin"]


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with make_app(tmp_path_factory.mktemp("browser-pages"), papers=PAPERS, index=True,
                  base_url="") as site, serve(site.app) as url:
        site.store.upsert_external_votes("hf-daily", [ExternalVote("2506.00001", 163)])
        yield url


@pytest.mark.parametrize("width", [1280, 390])
def test_pages_pass_axe_fit_and_keep_a_clean_console(origin: str, width: int,
                                                     tmp_path: Path) -> None:
    with open_page(origin, width=width, audit=True) as page:
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        for n, url in enumerate(PAGES):
            page.goto(url)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(tmp_path / f"{width}-{n}.png"))
            assert overflow(page) <= 0, (url, width, overflow(page))
            bad = violations(page)
            assert not bad, (url, width, bad)
        assert not errors, errors


def test_desktop_width_filters_closed_and_the_score_opens_by_keyboard(origin: str) -> None:
    with open_page(origin, width=1280) as page:
        page.goto("/")
        # Cards fill a desktop screen in two columns, not a ~580 px strip.
        main = page.locator("main").bounding_box()
        assert main is not None and main["width"] >= 1100
        boxes = [page.locator("article.paper").nth(i).bounding_box() for i in (0, 1)]
        assert boxes[0] and boxes[1] and boxes[0]["y"] == boxes[1]["y"]
        summary = page.locator("details.score summary").first
        explanation = page.locator("details.score .explanation").first
        assert not explanation.is_visible()
        summary.focus()
        page.keyboard.press("Enter")
        assert explanation.is_visible() and "prior" in explanation.inner_text()
        page.goto("/search?q=sparse+attention")
        assert page.locator("form[role=search]").count() == 1
        assert not page.locator("input[name=since]").is_visible()  # filters closed
        page.click("details.filters summary")
        assert page.locator("input[name=since]").get_attribute("type") is None
        assert page.locator("h2.count").inner_text().startswith("9 papers match")
        # On a phone the header leaves the screen to the content.
        page.set_viewport_size({"width": 390, "height": 800})
        page.goto("/")
        header = page.locator("header.site").bounding_box()
        assert header is not None and header["height"] <= 120, header
