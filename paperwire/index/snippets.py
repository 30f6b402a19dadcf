"""Which words of an abstract a query matched: the marks of a search hit's snippet."""

from __future__ import annotations

import re
from collections.abc import Callable

_WORD = re.compile(r"\w+")
# The English stemmer only rewrites a word's ending: a stem and its (lowercased) words share
# all but the stem's last two characters at most ("ability" → "abl"; "studies" → "studi").
_STEM_SLACK = 2


def candidate_words(terms: set[str]) -> re.Pattern[str] | None:
    """The whole words of ASCII text that can stem to one of ``terms``: those starting with
    a term less its last ``_STEM_SLACK`` characters (after any underscores, which the
    analyser splits at). A superset; each is still stemmed.
    None when a term is not ASCII (its words need not start like it)."""
    if not terms or not all(t.isascii() for t in terms):
        return None
    prefixes = {t[:max(1, len(t) - _STEM_SLACK)] for t in terms}
    alternatives = "|".join(sorted(map(re.escape, prefixes), key=len, reverse=True))
    return re.compile(rf"(?<!\w)_*(?:{alternatives})\w*", re.IGNORECASE | re.ASCII)


def matched_words(abstract: str, terms: set[str], words: re.Pattern[str] | None,
                  stem: Callable[[str], str]) -> list[tuple[int, int]]:
    """Where the words of ``abstract`` whose ``stem`` is among ``terms`` are; ``words`` is
    ``candidate_words(terms)``."""
    if not terms:
        return []
    # Most words of an abstract share no prefix with any term: only the words that start
    # like one are stemmed. Outside ASCII a word and its stem may differ anywhere (case
    # folding, accents), so such an abstract has every word stemmed.
    found = (words.finditer(abstract) if words is not None and abstract.isascii()
             else _WORD.finditer(abstract))
    return [(m.start(), m.end()) for m in found if stem(m.group()) in terms]
