"""Comments' Markdown as safe HTML: CommonMark (markdown-it-py) with ``$…$`` and ``$$…$$``
math as MathML Core (formats.mathml), sanitised by an allow-list (nh3) before the formulas
go in.

No raw HTML passes: markdown-it escapes it (``html`` off), and nh3 then keeps only the tags
and attributes below, links with http(s)/mailto only and ``rel="nofollow ugc"``. Formulas
are rendered apart (mathml writes them from its own allow-list with escaped text) and put
in for place holders after sanitising, since nh3 would strip MathML. ``@name`` becomes a
mention span; the names are returned, for the store to record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from markupsafe import escape
from mdit_py_plugins.dollarmath import dollarmath_plugin

from paperwire.formats.latex import Segment
from paperwire.formats.mathml import formula_html

__all__ = ["MENTION", "RenderedComment", "render_comment"]

TAGS = frozenset({"p", "br", "em", "strong", "del", "code", "pre", "blockquote", "ul", "ol",
                  "li", "a", "h3", "h4", "h5", "h6", "hr", "span", "table", "thead",
                  "tbody", "tr", "th", "td"})
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}  # span's class: CLASSES
CLASSES = {"span": {"mention"}}
SCHEMES = frozenset({"http", "https", "mailto"})
MENTION = re.compile(r"@([A-Za-z0-9][A-Za-z0-9_.-]{0,31})")
# The placeholders' private-use characters are taken out of what a reader wrote first, so
# no one can plant a placeholder of their own.
_OPEN, _CLOSE = "\ue200", "\ue201"
_PLACEHOLDER = re.compile(f"{_OPEN}(\\d+){_CLOSE}")
MAX_FORMULAS = 200


@dataclass(frozen=True)
class RenderedComment:
    """A comment's HTML and the names it mentions (``@name``, in order, without repeats)."""

    html: str
    mentions: tuple[str, ...]


def _mention_rule(state: StateInline, silent: bool) -> bool:
    if state.src[state.pos] != "@":
        return False
    if state.pos > 0 and (state.src[state.pos - 1].isalnum() or state.src[state.pos - 1] in "._-"):
        return False  # an address such as ann@example.org is no mention
    found = MENTION.match(state.src, state.pos)
    if found is None:
        return False
    if not silent:
        token = state.push("mention", "", 0)
        token.content = found.group(1)
    state.pos = found.end()
    return True


class _Renderer:
    """One rendering: collects formulas (as placeholders) and mentions while markdown-it
    walks the tokens."""

    def __init__(self) -> None:
        self.formulas: list[str] = []
        self.mentions: dict[str, None] = {}

    def formula(self, latex: str, display: bool) -> str:
        source = f"$${latex}$$" if display else f"${latex}$"
        html = (formula_html(Segment(latex, source, True, display))
                if len(self.formulas) < MAX_FORMULAS else None)
        self.formulas.append(html if html is not None else str(escape(source)))
        return f"{_OPEN}{len(self.formulas) - 1}{_CLOSE}"

    def mention(self, name: str) -> str:
        self.mentions.setdefault(name)
        return f'<span class="mention">@{escape(name)}</span>'


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    """The one parser (built on first use); each rendering's state travels in ``env``."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.disable("image")  # the page loads nothing from elsewhere (CSP): ![x](y) stays text
    md.use(dollarmath_plugin, allow_space=True, double_inline=True)
    md.inline.ruler.push("mention", _mention_rule)

    def inline(self: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict,
               env: EnvType) -> str:
        return str(env["into"].formula(tokens[idx].content, display=False))

    def block(self: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict,
              env: EnvType) -> str:
        return f"<p>{env['into'].formula(tokens[idx].content.strip(), display=True)}</p>\n"

    def double(self: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict,
               env: EnvType) -> str:
        return str(env["into"].formula(tokens[idx].content.strip(), display=True))

    def mention(self: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict,
                env: EnvType) -> str:
        return str(env["into"].mention(tokens[idx].content))

    md.add_render_rule("math_inline", inline)
    md.add_render_rule("math_inline_double", double)
    md.add_render_rule("math_block", block)
    md.add_render_rule("math_block_label", block)
    md.add_render_rule("mention", mention)
    return md


def _clean(html: str) -> str:
    attributes: dict[str, Any] = ATTRIBUTES
    return nh3.clean(html, tags=set(TAGS), attributes=attributes, allowed_classes=CLASSES,
                     url_schemes=set(SCHEMES), link_rel="nofollow ugc", strip_comments=True)


def render_comment(body: str) -> RenderedComment:
    """``body`` (Markdown with math) as sanitised HTML, and the names it mentions."""
    into = _Renderer()
    text = body.replace(_OPEN, "").replace(_CLOSE, "")
    html = _clean(_parser().render(text, {"into": into}))
    html = _PLACEHOLDER.sub(lambda m: into.formulas[int(m.group(1))], html)
    return RenderedComment(html.strip(), tuple(into.mentions))
