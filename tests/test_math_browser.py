"""Real abstracts rendered to MathML Core show as math in Debian's Chromium, with no script
and no stylesheet (the page's CSP forbids both): no raw ``$`` is left, and every formula
lays out with a size."""

from __future__ import annotations

from html import escape

import pytest

from paperwire.formats.mathml import render
from tests.browser import open_page, require_chromium
from tests.formats_data import math_abstracts

require_chromium()
# Chromium tests run in `make test` (CI), not in a bare `pytest`: see pyproject's markers.
pytestmark = pytest.mark.heavy

CSP = "default-src 'none'; script-src 'none'; style-src 'none'"


def page_html() -> tuple[str, int]:
    chosen = [p for p in math_abstracts(60)
              if not render(p.abstract).fallbacks and "\\$" not in p.abstract][:8]
    assert len(chosen) == 8
    body = "".join(f"<article><h2>{render(p.title).html}</h2><p>{render(p.abstract).html}</p>"
                   f"</article>" for p in chosen)
    count = sum(render(p.abstract).formulas + render(p.title).formulas for p in chosen)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{escape(CSP)}">'
            f"<title>math</title></head><body>{body}</body></html>"), count


def test_real_abstracts_render_as_mathml_in_chromium() -> None:
    html, formulas = page_html()
    with open_page("http://127.0.0.1/") as page:
        page.set_content(html)
        visible = page.inner_text("body")
        assert "$" not in visible
        boxes = page.eval_on_selector_all(
            "math", "els => els.map(e => { const r = e.getBoundingClientRect();"
                    " return [r.width, r.height, getComputedStyle(e).display]; })")
    assert len(boxes) == formulas
    for width, height, display in boxes:
        assert width > 0 and height > 0
        assert display in ("math", "inline math", "block math"), display
