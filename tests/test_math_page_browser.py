"""A real paper page with math, from the 75k sample, in Debian's Chromium under the site's
own strict CSP: the visible title and abstract show no raw ``$``, and each <math> element
lays out with a size (MathML Core, no script, no stylesheet of its own)."""

from __future__ import annotations

from pathlib import Path

import pytest

from paperwire.formats.mathml import render
from tests.app import make_app
from tests.browser import open_page, require_chromium
from tests.live_server import serve
from tests.shared_data import arxiv_records

require_chromium()
# Chromium tests run in `make test` (CI), not in a bare `pytest`: see pyproject's markers.
pytestmark = pytest.mark.heavy


def _math_lines() -> tuple[list[str], str]:
    import json

    records = [r for r in arxiv_records(3000)
               if r["summary"].count("$") >= 2 and "\\$" not in r["summary"]
               and not render(r["summary"]).fallbacks and render(r["summary"]).formulas]
    assert records, "the sample's first 3,000 papers have math"
    return [json.dumps(r) + "\n" for r in records[:5]], records[0]["id"]


def test_a_paper_page_renders_its_math(tmp_path: Path) -> None:
    lines, arxiv_id = _math_lines()
    with make_app(tmp_path, lines=lines, base_url="") as site, serve(site.app) as origin, \
            open_page(origin) as page:
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        response = page.goto(f"/papers/{arxiv_id}")
        assert response is not None and response.status == 200
        assert "script-src" in (response.headers.get("content-security-policy") or "")
        visible = page.inner_text("article.paper-full h1") + page.inner_text(
            "article.paper-full .abstract")
        assert "$" not in visible
        boxes = page.eval_on_selector_all(
            "article.paper-full .abstract math, article.paper-full h1 math",
            "els => els.map(e => { const r = e.getBoundingClientRect();"
            " return [r.width, r.height]; })")
        assert boxes, "no <math> on the page"
        assert all(w > 0 and h > 0 for w, h in boxes), boxes
        assert not [e for e in errors if "Content Security Policy" in e], errors
