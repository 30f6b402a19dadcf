"""Where the math is in arXiv's LaTeX-flavoured text: ``$…$``, ``$$…$$``, ``\\(…\\)``, ``\\[…\\]``.

Every format that treats math apart from prose (MathML, plain text, BibTeX) splits with
``split_math`` so they agree on what counts as math. Dollar rules follow pandoc's
``tex_math_dollars``: an opening ``$`` has a non-space right after it, a closing ``$`` has a
non-space right before it (and no digit right after it when the span starts with a digit),
and a dollar that cannot close makes its opener prose, so "costs $5 and $10" stays prose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from latex2mathml.symbols_parser import convert_symbol

MAX_MATH_CHARS = 2_000  # a longer "span" is a stray dollar, not a formula


@dataclass(frozen=True)
class Segment:
    """A run of prose (``math`` False) or one formula: its LaTeX without the delimiters,
    ``source`` with them, and whether it is displayed (``$$``, ``\\[``)."""

    text: str
    source: str
    math: bool = False
    display: bool = False


def split_math(text: str) -> list[Segment]:
    """Prose and math segments that join back (by ``source``) into ``text`` exactly.

    ``\\$`` is an escaped dollar: it stays in the prose, as ``$``. An opener without a
    closer is prose too, so unbalanced dollars never swallow the rest of the text."""
    segments: list[Segment] = []
    prose_start = i = 0
    while (candidate := _CANDIDATE.search(text, i)) is not None:
        i = candidate.start()
        found = _math_at(text, i)
        if found is None:
            i += 2 if text.startswith("\\", i) else 1  # \$ or \\ never opens
            continue
        if i > prose_start:
            segments.append(_prose(text[prose_start:i]))
        segment, i = found
        prose_start = i
        segments.append(segment)
    if prose_start < len(text):
        segments.append(_prose(text[prose_start:]))
    return segments


_CANDIDATE = re.compile(r"[$\\]")


def _prose(source: str) -> Segment:
    return Segment(text=source.replace("\\$", "$"), source=source)


_PAIRS = (("$$", "$$", True), ("\\[", "\\]", True), ("\\(", "\\)", False))


def _math_at(text: str, i: int) -> tuple[Segment, int] | None:
    for opener, closer, display in _PAIRS:
        if text.startswith(opener, i):
            start = i + len(opener)
            end = _find_unescaped(text, closer, start)
            if end is None or not text[start:end].strip():
                return None
            return _math(text, i, start, end, end + len(closer), display)
    if text[i] == "$":
        end = _dollar_close(text, i + 1)
        if end is not None:
            return _math(text, i, i + 1, end, end + 1, False)
    return None


def _math(text: str, i: int, start: int, end: int, after: int,
          display: bool) -> tuple[Segment, int] | None:
    if end - start > MAX_MATH_CHARS:
        return None
    return Segment(text=text[start:end], source=text[i:after], math=True,
                   display=display), after


def _find_unescaped(text: str, closer: str, start: int) -> int | None:
    j = start
    limit = min(len(text), start + MAX_MATH_CHARS + len(closer))
    while j < limit:
        if text[j] == "\\" and not text.startswith(closer, j):
            j += 2
            continue
        if text.startswith(closer, j):
            return j
        j += 1
    return None


def _dollar_close(text: str, start: int) -> int | None:
    if start >= len(text) or text[start].isspace():
        return None
    j = start
    limit = min(len(text), start + MAX_MATH_CHARS + 1)
    while j < limit:
        ch = text[j]
        if ch == "\\":
            j += 2
            continue
        if ch == "$":
            # "$5-$10" is money, but "$\ge$768" is math: a digit after the closer only
            # disqualifies it when the span starts with one too.
            digit_after = j + 1 < len(text) and text[j + 1].isdigit()
            closes = not text[j - 1].isspace() and not (digit_after and text[start].isdigit())
            # A dollar that cannot close means the opener was a stray (currency): give up
            # on it, and let the scan try this dollar as an opener instead.
            return j if closes else None
        j += 1
    return None


_COMMAND = re.compile(r"\\([A-Za-z]+|[{}%$&#_,;:! ])")
_FUNCTIONS = frozenset(str.split("""arccos arcsin arctan arg cos cosh cot coth csc deg det
    dim exp gcd
    hom inf ker lg lim liminf limsup ln log max min Pr sec sin sinh sup tan tanh"""))
_SPACES = {",": " ", ";": " ", ":": " ", "!": "", " ": " ", "quad": " ", "qquad": " "}


def math_to_text(latex: str) -> str:
    """A formula as readable text: symbols as unicode (``\\alpha`` → α, ``\\leq`` → ≤),
    functions by name, and everything else left as LaTeX."""
    def symbol(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in _SPACES:
            return _SPACES[name]
        if name in _FUNCTIONS:
            return name
        code = convert_symbol("\\" + name)
        if code and _is_symbol(name, code):
            return chr(int(code, 16))
        return match.group(0)

    return " ".join(_COMMAND.sub(symbol, latex).split())


def _is_symbol(name: str, code: str) -> bool:
    # convert_symbol also knows a few commands that take arguments or mean spacing; only a
    # single printable character is a fair stand-in.
    try:
        char = chr(int(code, 16))
    except ValueError:
        return False
    return char.isprintable() and not char.isspace() and len(name) > 0


def to_text(text: str) -> str:
    """``text`` with each formula as readable text and without its delimiters (for feeds,
    mail and search snippets)."""
    return "".join(math_to_text(s.text) if s.math else s.text for s in split_math(text))
