"""What the Chromium tests share: Debian's browser (skipping clearly where it or Playwright is
missing), its launch flags, a page opened on a live server, and the axe-core audit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = Path("/usr/bin/chromium")
# Quiet, offline, unsandboxed (containers): nothing leaves 127.0.0.1 during the tests.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-quic", "--no-first-run",
                 "--disable-sync"]
AXE = Path(__file__).resolve().parent / "js" / "node_modules" / "axe-core" / "axe.min.js"


def require_chromium() -> None:
    """Skip the calling test module, saying why, without Debian's chromium or Playwright."""
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} "
                    "(scripts/install-test-deps.sh installs it)", allow_module_level=True)
    pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright "
                        "package (pip install -e '.[test]'); its own browser download is "
                        "not used")


@contextmanager
def open_page(base_url: str, *, javascript: bool = True, width: int | None = None,
              audit: bool = False) -> Iterator[Page]:
    """A fresh browser context and page whose relative URLs go to ``base_url`` (scripts
    off with ``javascript=False``; a 900 px high window ``width`` wide). ``audit``: the
    page will take axe-core (``violations``), so the test skips where it is not installed
    and the CSP, which would refuse the injected script, is bypassed for this page only."""
    from playwright.sync_api import sync_playwright

    if audit and not AXE.exists():
        pytest.skip(f"axe-core is not installed at {AXE}: run `npm install --prefix tests/js`")
    viewport = {"width": width, "height": 900} if width is not None else None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=CHROMIUM_ARGS)
        try:
            ctx = browser.new_context(base_url=base_url, java_script_enabled=javascript,
                                      bypass_csp=audit, viewport=viewport)  # type: ignore[arg-type]
            ctx.set_default_timeout(10_000)
            yield ctx.new_page()
        finally:
            browser.close()


def sign_in_page(page: Page, address: str, password: str, then: str) -> None:
    """Sign in through the form, landing on ``then``."""
    page.goto(f"/signin?next={then}")
    page.fill("#email", address)
    page.fill("#password", password)
    page.click("form.account-form button[type=submit]")
    page.wait_for_url(f"**{then}")


def overflow(page: Page) -> int:
    """How far the page is wider than the window (> 0: it scrolls sideways)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def violations(page: Page, impacts: tuple[str, ...] | None = None) -> list[Any]:
    """axe-core's violations on the page as (rule, impact, first targets), of ``impacts``
    only when given (an ``audit`` page of ``open_page``)."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in found["violations"] if impacts is None or v["impact"] in impacts]
