"""Papers as CSL-JSON (citeproc's input; Zotero and Pandoc read it): ``article`` for
preprints, ``article-journal`` once a DOI or journal-ref exists."""

from __future__ import annotations

import json
from typing import Any

from paperwire.formats.cite import Exportable, ExportItem, as_items, cite_keys, name_parts, year
from paperwire.formats.latex import to_text

__all__ = ["csl_item", "to_csl", "to_csl_json"]


def csl_item(item: ExportItem, key: str) -> dict[str, Any]:
    paper = item.paper
    data: dict[str, Any] = {
        "id": key,
        "type": "article-journal" if paper.doi or paper.journal_ref else "article",
        "title": to_text(paper.title),
        "author": [_author(name) for name in paper.authors],
        "number": paper.arxiv_id,
        "URL": paper.abs_url,
        "abstract": to_text(paper.abstract),
        "publisher": "arXiv",
    }
    if paper.published:
        day = paper.published
        data["issued"] = {"date-parts": [[day.year, day.month, day.day]]}
    elif (y := year(paper)) is not None:
        data["issued"] = {"date-parts": [[y]]}
    if paper.journal_ref:
        data["container-title"] = paper.journal_ref
    if paper.doi:
        data["DOI"] = paper.doi
    if item.note:
        data["annote"] = item.note
    if item.tags:
        data["keyword"] = ", ".join(item.tags)
    return data


def _author(name: str) -> dict[str, str]:
    parts = name_parts(name)
    if not parts.given:
        return {"literal": name}
    return {"family": parts.family, "given": parts.given}


def to_csl(what: Exportable) -> list[dict[str, Any]]:
    """A paper, or a collection's items, as CSL-JSON items (plain data)."""
    items = as_items(what)
    keys = cite_keys(i.paper for i in items)
    return [csl_item(i, keys[i.paper.arxiv_id]) for i in items]


def to_csl_json(what: Exportable) -> str:
    """The same, serialised: a JSON array with one item per line, UTF-8 kept. Not
    ``indent=``: the standard library's C encoder serves only unindented output, and the
    pure-Python one took most of a 5,000-item export's time."""
    items = [json.dumps(item, ensure_ascii=False) for item in to_csl(what)]
    return "[\n" + ",\n".join(items) + "\n]\n" if items else "[]\n"
