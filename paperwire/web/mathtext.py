"""Template filters for text with LaTeX math: MathML in the page, plain text where markup
cannot go (<title>, meta tags), and card snippets cut between formulas, never inside one."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment
from markupsafe import Markup

from paperwire.formats import latex, mathml

__all__ = ["install", "math_html", "math_snippet", "plain"]


def math_html(text: str | None) -> Markup:
    """``text`` escaped, its formulas as MathML Core (formats.mathml caches each text)."""
    return mathml.to_html(text or "")


def plain(text: str | None) -> str:
    """``text`` with its formulas as readable text, for places that take no markup."""
    return latex.to_text(text or "")


@lru_cache(maxsize=4096)
def _cut(text: str, limit: int) -> str:
    # Prose is cut at a word; a formula is kept whole or left out, so no "$" is stranded.
    out: list[str] = []
    used = 0
    for segment in latex.split_math(text):
        size = len(segment.text)
        if used + size <= limit:
            out.append(segment.source)
            used += size
            continue
        if not segment.math:
            room = segment.source[:max(0, limit - used)]
            out.append(room.rsplit(" ", 1)[0] if " " in room else room)
        return "".join(out).rstrip(" ,;:") + "…"
    return "".join(out)


def math_snippet(text: str | None, limit: int = 280) -> Markup:
    """The start of ``text``, about ``limit`` visible characters, as HTML with MathML."""
    return mathml.to_html(_cut(text or "", limit))


def install(env: Environment) -> None:
    """Register the filters ``math``, ``math_snippet`` and ``plain`` on a Jinja environment."""
    env.filters.update(math=math_html, math_snippet=math_snippet, plain=plain)
