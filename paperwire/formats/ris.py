"""Papers as RIS (the format of EndNote, Zotero and Mendeley imports): GEN, or JOUR once
a DOI or journal-ref exists; notes as N1, tags as KW."""

from __future__ import annotations

from paperwire.formats.cite import Exportable, ExportItem, as_items, cite_keys, name_parts, year

__all__ = ["ris_entry", "to_ris"]


def _line(tag: str, value: str) -> str:
    # RIS is line-based: a value with a line break would start a bogus tag.
    return f"{tag}  - {' '.join(value.split())}"


def ris_entry(item: ExportItem, key: str) -> str:
    paper = item.paper
    lines = [_line("TY", "JOUR" if paper.doi or paper.journal_ref else "GEN"),
             _line("ID", key), _line("TI", paper.title)]
    for name in paper.authors:
        parts = name_parts(name)
        lines.append(_line("AU", f"{parts.family}, {parts.given}" if parts.given
                           else parts.family))
    if (y := year(paper)) is not None:
        lines.append(_line("PY", str(y)))
    if paper.published:
        lines.append(_line("DA", f"{paper.published:%Y/%m/%d}/"))
    if paper.journal_ref:
        lines.append(_line("JO", paper.journal_ref))
    lines += [_line("AB", paper.abstract), _line("UR", paper.abs_url),
              _line("AN", f"arXiv:{paper.arxiv_id}")]
    if paper.doi:
        lines.append(_line("DO", paper.doi))
    if paper.primary_category:
        lines.append(_line("M3", paper.primary_category))
    if item.note:
        lines.append(_line("N1", item.note))
    lines += [_line("KW", tag) for tag in item.tags]
    lines.append("ER  - ")
    return "\n".join(lines) + "\n"


def to_ris(what: Exportable) -> str:
    """A paper, or a collection's items, as a .ris file."""
    items = as_items(what)
    keys = cite_keys(i.paper for i in items)
    return "\n".join(ris_entry(i, keys[i.paper.arxiv_id]) for i in items)
