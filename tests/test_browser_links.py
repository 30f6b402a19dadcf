"""Code links, the Has code filter and the followed-authors feed in a real Chromium: the
pages fit at 1280 and 390 px and axe-core finds no serious or critical violation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app import make_app
from tests.browser import open_page, overflow, require_chromium, sign_in_page, violations
from tests.helpers import PASSWORD, paper
from tests.live_server import serve

require_chromium()
# Chromium tests run in `make test` (CI), not in a bare `pytest`: see pyproject's markers.
pytestmark = pytest.mark.heavy

PAPERS = [paper("2501.00001", title="Sparse attention for long documents",
                authors=("Charles Babbage",),
                abstract="Sparse attention. Code: https://github.com/s/sparse-attention.",
                comments="Project page: https://s.github.io/sparse-attention"),
          paper("2501.00002", title="Sparse attention without code",
                authors=("Ada Lovelace",), abstract="Sparse attention, no code.")]


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with make_app(tmp_path_factory.mktemp("browser-links"), papers=PAPERS, index=True,
                  base_url="", users=[("ann@example.org", "user", "Ann")]) as site, \
            serve(site.app) as url:
        yield url


@pytest.mark.parametrize("width", [1280, 390])
def test_code_links_search_filter_and_following_feed_fit_and_pass_axe(
        origin: str, width: int, tmp_path: Path) -> None:
    with open_page(origin, width=width, audit=True) as page:
        sign_in_page(page, "ann@example.org", PASSWORD, "/following")
        page.goto("/search?q=sparse+attention&mode=lexical")
        page.click("details.filters summary")  # the filters open on request
        page.check("input[name=code]")
        page.click("form[role=search] button[type=submit], main form button[type=submit]")
        page.wait_for_url("**code=1**")
        assert page.locator("article.paper").count() == 1
        assert page.locator("a.code-link").first.get_attribute("href") == \
            "https://github.com/s/sparse-attention"
        page.goto("/following")
        page.locator("form[action='/following/feed'] button").first.click()
        assert "/feeds/following/" in page.locator("code.feed-url").inner_text()
        # The feed page as the form answered it, then the filtered search and the paper.
        for n, url in enumerate((None, "/search?q=sparse+attention&mode=lexical&code=1",
                                 "/papers/2501.00001")):
            if url is not None:
                page.goto(url)
            page.screenshot(path=str(tmp_path / f"{width}-{n}.png"))
            assert overflow(page) <= 0, (url, width, overflow(page))
            bad = violations(page, ("serious", "critical"))
            assert not bad, (url, width, bad)
