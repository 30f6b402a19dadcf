"""LaTeX in titles and abstracts as MathML Core, inside escaped HTML (a Markup for Jinja).

latex2mathml converts each formula; its output is then parsed and rewritten from an
allow-list of MathML Core elements and attributes, so nothing from the input can reach the
page as markup, and what Chromium and Firefox cannot render without script (``mfenced``,
``menclose``, most ``mathvariant`` values) never ships. A formula that fails anywhere falls
back to its source text, escaped.
"""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache

from latex2mathml.converter import convert
from markupsafe import Markup, escape

from paperwire.formats.latex import Segment, split_math, to_text

__all__ = ["Rendered", "render", "to_html", "to_text"]

_NS = "{http://www.w3.org/1998/Math/MathML}"
# MathML Core's elements (w3.org/TR/mathml-core §3), less the ones latex2mathml never writes.
_ELEMENTS = frozenset(str.split("""math merror mfrac mi mmultiscripts mn mo mover mpadded mphantom
    mprescripts mroot mrow ms mspace msqrt mstyle msub msubsup msup mtable mtd mtext mtr
    munder munderover none semantics"""))
_ATTRIBUTES = frozenset(str.split("""display displaystyle scriptlevel stretchy fence form separator
    lspace rspace minsize maxsize largeop movablelimits symmetric accent accentunder
    linethickness width height depth voffset columnspan rowspan"""))
# Core renders only mathvariant="normal" (on mi); other variants become the Unicode
# mathematical alphanumerics that the variant stands for, as Core's own UA rules do.
_VARIANT_NAMES = {"bold": "BOLD", "italic": "ITALIC", "bold-italic": "BOLD ITALIC",
                  "double-struck": "DOUBLE-STRUCK", "script": "SCRIPT",
                  "bold-script": "BOLD SCRIPT", "fraktur": "FRAKTUR",
                  "bold-fraktur": "BOLD FRAKTUR", "sans-serif": "SANS-SERIF",
                  "bold-sans-serif": "SANS-SERIF BOLD", "monospace": "MONOSPACE"}


class _Unsupported(Exception):
    """latex2mathml wrote something we will not ship (unknown command, element, bad XML)."""


@dataclass(frozen=True)
class Rendered:
    """HTML for a text, and how its formulas fared: ``formulas`` found, ``fallbacks`` among
    them shown as source text."""

    html: Markup
    formulas: int
    fallbacks: int


def to_html(text: str) -> Markup:
    """``text`` as safe HTML with every formula it can convert as ``<math>``."""
    return render(text).html


@lru_cache(maxsize=8192)
def render(text: str) -> Rendered:
    """``text`` as safe HTML, counting formulas and fallbacks (cached: titles and abstracts
    repeat across pages)."""
    parts: list[str] = []
    formulas = fallbacks = 0
    for segment in split_math(text):
        if not segment.math:
            parts.append(str(escape(segment.text)))
            continue
        formulas += 1
        html = formula_html(segment)
        if html is None:
            fallbacks += 1
            html = str(escape(segment.source))
        parts.append(html)
    return Rendered(Markup("".join(parts)), formulas, fallbacks)


def formula_html(segment: Segment) -> str | None:
    """One formula as a ``<math>`` element, or None where it cannot be rendered faithfully."""
    display = "block" if segment.display else "inline"
    attempts = [segment.text]
    if "<" in segment.text or ">" in segment.text:
        # latex2mathml copies \\text{<think>} into mtext unescaped, which is not XML; a second
        # try swaps in private-use stand-ins, which the serialiser turns back (as text: in
        # math, < then reads as an identifier, so the first try keeps it an operator).
        attempts.append(segment.text.replace("<", _LT).replace(">", _GT))
    for latex in attempts:
        try:
            return _serialise(ET.fromstring(convert(latex, display=display)))
        except (_Unsupported, ET.ParseError, RecursionError):
            continue
        except Exception:  # noqa: BLE001  (latex2mathml raises many kinds on bad LaTeX)
            return None
    return None


_LT, _GT = "\ue000", "\ue001"
_RESTORE = str.maketrans({_LT: "<", _GT: ">"})


def _text(value: str | None) -> str:
    return str(escape((value or "").translate(_RESTORE)))


def _serialise(element: ET.Element) -> str:
    tag = element.tag.removeprefix(_NS)
    if tag not in _ELEMENTS:
        raise _Unsupported(tag)
    variant = element.get("mathvariant")
    attrs = "".join(f' {name}="{escape(value)}"' for name, value in sorted(element.items())
                    if name in _ATTRIBUTES)
    if variant == "normal" and tag == "mi":
        attrs += ' mathvariant="normal"'
    text = element.text or ""
    if tag in ("mi", "mo") and text.startswith("\\") and len(text) > 1:
        raise _Unsupported(text)  # latex2mathml passes unknown commands through as text
    if variant in _VARIANT_NAMES and tag in ("mi", "mn"):
        text = _styled(text, _VARIANT_NAMES[variant])
    inner = _text(text) + "".join(_serialise(child) + _text(child.tail) for child in element)
    return f"<{tag}{attrs}>{inner}</{tag}>"


def _styled(text: str, style: str) -> str:
    return "".join(_styled_char(ch, style) for ch in text)


@lru_cache(maxsize=4096)
def _styled_char(ch: str, style: str) -> str:
    name = unicodedata.name(ch, "")
    for plain, kind in (("LATIN CAPITAL LETTER ", "CAPITAL"), ("LATIN SMALL LETTER ", "SMALL"),
                        ("GREEK CAPITAL LETTER ", "CAPITAL"), ("GREEK SMALL LETTER ", "SMALL"),
                        ("DIGIT ", "DIGIT")):
        if name.startswith(plain):
            letter = name.removeprefix(plain)
            try:
                return unicodedata.lookup(f"MATHEMATICAL {style} {kind} {letter}")
            except KeyError:
                return ch
    return ch


# Re-exported so callers need one import for both renderings.
to_text = to_text
