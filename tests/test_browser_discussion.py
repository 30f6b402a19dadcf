"""The discussion in a real headless Chromium over a real server on 127.0.0.1, under the
strict CSP: a signed-in reader posts a comment with math and a reply without a page reload
(static/comments.js), and with JavaScript off the same plain forms post and come back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.app import make_app
from tests.browser import open_page, require_chromium
from tests.helpers import PASSWORD, paper
from tests.live_server import serve

require_chromium()
# Chromium tests run in `make test` (CI), not in a bare `pytest`: see pyproject's markers.
pytestmark = pytest.mark.heavy
from playwright.sync_api import Page, expect  # noqa: E402

ID = "2501.00001"


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    users = [("ann@example.org", "user", "Ann"), ("bob@example.org", "user", "Bob")]
    with make_app(tmp_path_factory.mktemp("browser-discussion"), papers=[paper(ID)],
                  base_url="", users=users) as site, serve(site.app) as url:
        yield url


def _sign_in(page: Page, address: str) -> None:
    page.goto(f"/signin?next=/papers/{ID}")
    page.fill("#email", address)
    page.fill("#password", PASSWORD)
    page.click("form.account-form button[type=submit]")
    page.wait_for_url(f"**/papers/{ID}")


def _watch(page: Page) -> list[str]:
    errors: list[str] = []
    # Script errors and CSP refusals ("Refused to ...") arrive as console errors.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and not m.text.startswith("Failed to load resource") else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400
            else None)
    return errors


def test_comment_with_math_and_a_reply_without_a_reload(origin: str) -> None:
    with open_page(origin) as page:
        errors = _watch(page)
        _sign_in(page, "ann@example.org")
        page.evaluate("window.stillHere = true")  # gone if anything reloaded the page
        page.fill("#comment-body", "Energy: $E = mc^2$, see **this**.")
        page.click("form.comment-form button[type=submit]")
        comment = page.locator("article.comment").first
        expect(comment.locator(".comment-body math")).to_have_count(1)
        expect(comment.locator(".comment-body strong")).to_have_text("this")
        expect(page.locator("#discussion-h")).to_contain_text("(1)")
        comment.locator("details.comment-reply summary").click()
        comment.locator("form.comment-form textarea").fill("A reply with $\\alpha$")
        comment.locator("form.comment-form button[type=submit]").click()
        reply = page.locator("article.comment .replies article.comment")
        expect(reply).to_have_count(1)
        expect(reply.locator("math")).to_have_count(1)
        assert page.evaluate("window.stillHere") is True
        page.reload()  # the server kept both
        expect(page.locator("article.comment .replies article.comment")).to_have_count(1)
        assert not errors, errors  # CSP violations and script errors show up here


def test_plain_forms_without_javascript(origin: str) -> None:
    with open_page(origin, javascript=False) as page:
        _sign_in(page, "bob@example.org")
        page.fill("#comment-body", "No script here: $x_1$")
        page.click("form.comment-form button[type=submit]")
        page.wait_for_url(f"**/papers/{ID}#c*")
        posted = page.locator("article.comment", has_text="No script here")
        expect(posted.locator("math")).to_have_count(1)
