"""Cite this paper: BibTeX, RIS and CSL-JSON as formats of any page that carries papers.

A paper's page carries its paper (``Page.citable``), a list page its feed's papers, so
``/papers/ID.bib`` is one paper and ``/search.bib?q=…`` the page of hits; a page with no
papers does not offer them (404). The files come from paperwire.formats, as collection
exports do, so a paper has the same cite key everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import Request
from starlette.responses import Response

from paperwire.formats import latex
from paperwire.formats.bibtex import to_bibtex
from paperwire.formats.cite import ExportItem
from paperwire.formats.csl import to_csl_json
from paperwire.formats.ris import to_ris
from paperwire.models import Paper
from paperwire.web.renderers import Format, Page, Registry, papers_of

__all__ = ["CITATION_FORMATS", "cite_links", "highwire", "register_citation_formats"]


def _renderer(export: Callable[[Sequence[Paper | ExportItem]], str], media_type: str
              ) -> Callable[[Request, Page], Response]:
    def render(request: Request, page: Page) -> Response:
        return Response(export(list(papers_of(page))), status_code=page.status,
                        headers=dict(page.headers), media_type=media_type)

    return render


def _offers(page: Page) -> bool:
    return bool(papers_of(page))


CITATION_FORMATS = (
    Format("bibtex", ".bib", "application/x-bibtex; charset=utf-8",
           _renderer(to_bibtex, "application/x-bibtex; charset=utf-8"), _offers),
    Format("ris", ".ris", "application/x-research-info-systems",
           _renderer(to_ris, "application/x-research-info-systems"), _offers),
    Format("csl-json", ".csl.json", "application/vnd.citationstyles.csl+json",
           _renderer(to_csl_json, "application/vnd.citationstyles.csl+json"), _offers),
)


def register_citation_formats(formats: Registry) -> None:
    """Add BibTeX, RIS and CSL-JSON to an app's format registry (once, as it is built)."""
    for fmt in CITATION_FORMATS:
        formats.register(fmt)


def cite_links(path: str) -> dict[str, Any]:
    """The download links of a page's citation files, by format name."""
    return {fmt.name: {"url": path + fmt.suffix, "label": _LABELS[fmt.name],
                       "type": fmt.media_type.split(";")[0],
                       "filename": path.rsplit("/", 1)[-1].replace("/", "_") + fmt.suffix}
            for fmt in CITATION_FORMATS}


_LABELS = {"bibtex": "BibTeX", "ris": "RIS", "csl-json": "CSL-JSON"}


def _journal_title(journal_ref: str) -> str:
    # A journal-ref is "Phys. Rev. D 101, 012345 (2020)": the title is the part before the
    # volume (its first number), which is what citation_journal_title wants.
    head = re.split(r"\s\d|\(", journal_ref, maxsplit=1)[0]
    return head.strip(" ,;:") or journal_ref.strip()


def highwire(paper: Paper) -> list[tuple[str, str]]:
    """Highwire Press ``citation_*`` meta tags (name, content) for a paper's page, as the
    Zotero Connector and Google Scholar read them; text, with formulas as plain text."""
    tags = [("citation_title", latex.to_text(paper.title))]
    tags += [("citation_author", name) for name in paper.authors]
    day = paper.published.date() if paper.published else paper.listed_on
    if day is not None:
        tags.append(("citation_publication_date", f"{day:%Y/%m/%d}"))
        tags.append(("citation_online_date", f"{day:%Y/%m/%d}"))
    tags += [("citation_arxiv_id", paper.arxiv_id), ("citation_pdf_url", paper.pdf_url)]
    if paper.doi:
        tags.append(("citation_doi", paper.doi))
    if paper.journal_ref:
        tags.append(("citation_journal_title", _journal_title(paper.journal_ref)))
    return tags
