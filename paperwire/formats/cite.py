"""What every citation format shares: export items, cite keys, years and name parts.

One ``cite_keys`` serves BibTeX, RIS and CSL-JSON, so a paper has the same key in each
export of the same collection: ``author2026word`` (first author's surname folded to ASCII,
year, first significant title word), with ``a``, ``b``, … appended to all but the first of a
clash, in arXiv-id order (older ids keep the plain key, so adding a paper never renames an
earlier one).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bibtexparser.middlewares.names import parse_single_name_into_parts

from paperwire.formats.latex import split_math
from paperwire.models import Paper

MAX_NOTE_CHARS = 10_000
MAX_TAGS = 100
MAX_TAG_CHARS = 200

# Words a title may start with that say nothing about it (as Better BibTeX and Google
# Scholar skip them).
_STOPWORDS = frozenset(str.split("""a an and are as at be but by can do does for from how i if
    in into
    is it its new not of on or our the their this to towards toward under using via vs we what
    when where which who why with without"""))
_OLD_ID_YEAR = re.compile(r"/(\d{2})\d{5}$")
_NEW_ID_YEAR = re.compile(r"^(\d{2})\d{2}\.")


@dataclass(frozen=True)
class ExportItem:
    """A paper as one entry of an export, with a collection's per-item note and tags."""

    paper: Paper
    note: str | None = None
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.note is not None and len(self.note) > MAX_NOTE_CHARS:
            raise ValueError(f"note on {self.paper.arxiv_id} is {len(self.note):,} characters "
                             f"(limit {MAX_NOTE_CHARS:,})")
        if len(self.tags) > MAX_TAGS or any(len(t) > MAX_TAG_CHARS for t in self.tags):
            raise ValueError(f"tags on {self.paper.arxiv_id}: at most {MAX_TAGS} tags of "
                             f"{MAX_TAG_CHARS} characters each")


Exportable = Paper | ExportItem | Sequence[Paper | ExportItem]


def as_items(what: Exportable) -> list[ExportItem]:
    """One paper, one item, or a list of either, as a list of items."""
    if isinstance(what, Paper | ExportItem):
        what = [what]
    return [w if isinstance(w, ExportItem) else ExportItem(w) for w in what]


def year(paper: Paper) -> int | None:
    """The year of the first version: from ``published``, else from the arXiv id."""
    if paper.published:
        return paper.published.year
    match = _NEW_ID_YEAR.match(paper.arxiv_id) or _OLD_ID_YEAR.search(paper.arxiv_id)
    if not match:
        return None
    yy = int(match.group(1))
    return (1900 if yy >= 91 else 2000) + yy  # arXiv began in 1991


def ascii_fold(text: str) -> str:
    """Lower-case ASCII letters and digits only: "Müller-Łukasz" → "mullerlukasz"."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ł", "l").replace("Ł", "L")
                                       .replace("ø", "o").replace("Ø", "O")
                                       .replace("ß", "ss").replace("đ", "d"))
    return re.sub(r"[^a-z0-9]", "", decomposed.encode("ascii", "ignore").decode().lower())


@dataclass(frozen=True)
class NameParts:
    """A personal name split as BibTeX does: given names, then family (with von part)."""

    given: str
    family: str


def _simple(name: str) -> list[str] | None:
    # "Ada King Lovelace": no comma, brace, or lower-case (von) word, so BibTeX's rule is
    # plain: the last word is the family name. Most names are so, and an export of
    # thousands skips the general splitter for them (bench/library.py).
    words = name.split()
    if (len(words) < 2 or any(c in name for c in ",{\\~")
            or any(not w[:1].isupper() for w in words)):
        return None
    return words


def name_parts(name: str) -> NameParts:
    """Split "Jean-Pierre van der Berg" into given "Jean-Pierre", family "van der Berg"."""
    words = _simple(name)
    if words is not None:
        return NameParts(given=" ".join(words[:-1]), family=words[-1])
    parts = parse_single_name_into_parts(name, strict=False)
    family = " ".join([*parts.von, *parts.last])
    given = " ".join([*parts.first, *parts.jr])
    return NameParts(given=given, family=family or name)


def _title_word(title: str) -> str:
    prose = " ".join(s.text for s in split_math(title) if not s.math)
    for word in re.split(r"[\s\-–—/:]+", prose):
        folded = ascii_fold(word)
        if folded and not folded.isdigit() and folded not in _STOPWORDS:
            return folded
    return "paper"


def base_key(paper: Paper) -> str:
    """The undisambiguated key: ``author2026word``."""
    # The surname without its von part ("van der Berg" → "berg"), as Google Scholar and
    # Better BibTeX key it.
    simple = _simple(paper.authors[0]) if paper.authors else None
    last = simple[-1:] if simple is not None else parse_single_name_into_parts(
        paper.authors[0], strict=False).last if paper.authors else []
    surname = ascii_fold(" ".join(last))
    surname = re.sub(r"^[0-9]+", "", surname) or "anon"
    return f"{surname}{year(paper) or ''}{_title_word(paper.title)}"


def cite_keys(papers: Iterable[Paper]) -> dict[str, str]:
    """arXiv id → cite key, unique within ``papers``, the same whatever their order."""
    by_base: dict[str, list[str]] = {}
    for paper in papers:
        ids = by_base.setdefault(base_key(paper), [])
        if paper.arxiv_id not in ids:
            ids.append(paper.arxiv_id)
    keys: dict[str, str] = {}
    taken = set(by_base)
    for base in sorted(by_base):
        for i, arxiv_id in enumerate(sorted(by_base[base])):
            key = base if i == 0 else _free(base, i, taken)
            taken.add(key)
            keys[arxiv_id] = key
    return keys


def _free(base: str, start: int, taken: set[str]) -> str:
    n = start
    while True:
        key = base + _suffix(n)
        if key not in taken:
            return key
        n += 1


def _suffix(n: int) -> str:
    # 1 → a, 26 → z, 27 → aa: as many letters as a clash needs.
    letters = ""
    while n > 0:
        n, rem = divmod(n - 1, 26)
        letters = chr(ord("a") + rem) + letters
    return letters
