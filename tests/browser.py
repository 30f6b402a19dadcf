"""What the Chromium tests share: Debian's browser (skipping clearly where it or Playwright is
missing), its launch flags, and a page opened on a live server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = Path("/usr/bin/chromium")
# Quiet, offline, unsandboxed (containers): nothing leaves 127.0.0.1 during the tests.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-quic", "--no-first-run",
                 "--disable-sync"]


def require_chromium() -> None:
    """Skip the calling test module, saying why, without Debian's chromium or Playwright."""
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} "
                    "(scripts/install-test-deps.sh installs it)", allow_module_level=True)
    pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright "
                        "package (pip install -e '.[test]'); its own browser download is "
                        "not used")


@contextmanager
def open_page(base_url: str, *, javascript: bool = True) -> Iterator[Page]:
    """A fresh browser context and page whose relative URLs go to ``base_url`` (scripts
    off with ``javascript=False``)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=CHROMIUM_ARGS)
        try:
            ctx = browser.new_context(base_url=base_url, java_script_enabled=javascript)
            ctx.set_default_timeout(10_000)
            yield ctx.new_page()
        finally:
            browser.close()
