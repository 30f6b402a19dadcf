"""Papers as BibTeX: arXiv-style ``@misc`` entries, ``@article`` once a DOI or journal-ref exists.

Text is escaped for BibTeX and LaTeX (``& % # _ { } ~ ^ \\`` outside math; unicode stays
UTF-8, which bibtex and biber pass through); formulas keep their LaTeX between ``$``, unless
their braces do not balance, when they are escaped like prose.
"""

from __future__ import annotations

import re

from paperwire.formats.cite import Exportable, ExportItem, as_items, cite_keys, name_parts, year
from paperwire.formats.latex import split_math

__all__ = ["bibtex_entry", "escape_bibtex", "to_bibtex"]

_SPECIAL = re.compile(r"[\\{}&%#_~^$]")
_REPLACEMENTS = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%",
                 "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                 "$": r"\$"}
_SPACE = re.compile(r"\s\s|[^\S ]")  # whitespace that is not one plain space
_SPACES = re.compile(r"\s+")
_AND = re.compile(r"\band\b", re.I)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def escape_prose(text: str) -> str:
    """Plain text safe inside a braced BibTeX field, with every special character escaped."""
    text = _SPACES.sub(" ", text) if _SPACE.search(text) else text
    return _SPECIAL.sub(_replace, text) if _SPECIAL.search(text) else text


def _replace(match: re.Match[str]) -> str:
    return _REPLACEMENTS[match.group(0)]


def escape_bibtex(text: str) -> str:
    """arXiv text (prose with ``$…$`` math) for a BibTeX field: prose escaped, math kept."""
    out: list[str] = []
    for segment in split_math(text):
        if segment.math and _balanced(segment.text) and "$" not in segment.text:
            out.append(f"${' '.join(segment.text.split())}$")
        else:
            out.append(escape_prose(segment.source if segment.math else segment.text))
    return "".join(out)


def _balanced(latex: str) -> bool:
    depth = 0
    i = 0
    while i < len(latex):
        ch = latex[i]
        if ch == "\\":
            i += 2
            continue
        depth += (ch == "{") - (ch == "}")
        if depth < 0:
            return False
        i += 1
    return depth == 0 and not latex.endswith("\\")


def _names(names: tuple[str, ...]) -> str:
    # "Family, Given": the one form every BibTeX reader splits the same way. A family name
    # with "and" in it would split the list, so it is braced.
    written = []
    for name in names:
        parts = name_parts(name)
        family = escape_prose(parts.family)
        if _AND.search(family):
            family = "{" + family + "}"
        written.append(f"{family}, {escape_prose(parts.given)}" if parts.given else family)
    return " and ".join(written)


def bibtex_entry(item: ExportItem, key: str) -> str:
    """One entry, fields in a fixed order, so exports diff cleanly."""
    paper = item.paper
    kind = "article" if paper.doi or paper.journal_ref else "misc"
    fields: list[tuple[str, str]] = [("title", escape_bibtex(paper.title)),
                                     ("author", _names(paper.authors))]
    if paper.journal_ref:
        fields.append(("journal", escape_prose(paper.journal_ref)))
    if (y := year(paper)) is not None:
        fields.append(("year", str(y)))
    if paper.published:
        fields.append(("month", _MONTHS[paper.published.month - 1]))
    fields += [("eprint", paper.arxiv_id), ("archivePrefix", "arXiv")]
    if paper.primary_category:
        fields.append(("primaryClass", paper.primary_category))
    if paper.doi:
        fields.append(("doi", escape_prose(paper.doi)))
    fields += [("url", paper.abs_url), ("abstract", escape_bibtex(paper.abstract))]
    if item.note:
        fields.append(("annote", escape_prose(item.note)))
    if item.tags:
        fields.append(("keywords", escape_prose(", ".join(item.tags))))
    body = ",\n".join(f"  {name} = {_value(name, value)}" for name, value in fields)
    return f"@{kind}{{{key},\n{body}\n}}\n"


def _value(name: str, value: str) -> str:
    return value if name == "month" else "{" + value + "}"


def to_bibtex(what: Exportable) -> str:
    """A paper, or a collection's items, as a .bib file (entries in the order given)."""
    items = as_items(what)
    keys = cite_keys(i.paper for i in items)
    return "\n".join(bibtex_entry(i, keys[i.paper.arxiv_id]) for i in items)
