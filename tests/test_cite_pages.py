"""Cite this paper: a real paper's page offers BibTeX, RIS and CSL-JSON that maintained
parsers read (bibtexparser, rispy, citeproc-py), carries correct Highwire ``citation_*`` meta
tags, and a hidden paper's files are 404 like its page; list pages that carry papers offer
the same files for their papers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import bibtexparser
import pytest
import rispy

from paperwire.formats.latex import to_text
from paperwire.models import Paper
from tests.app import WebApp, make_app
from tests.shared_data import arxiv_lines

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class _Meta(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "meta" and (found.get("name") or "").startswith("citation_"):
            self.tags.append((found["name"] or "", found.get("content") or ""))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    with make_app(tmp_path_factory.mktemp("cite"), lines=arxiv_lines(40), index=True,
                  users=[("mod@example.org", "moderator", "Mo")]) as built:
        yield built


def _real(site: WebApp, *, math: bool = False) -> Paper:
    for _, p in site.store.iter_papers():
        if ("$" in p.title + p.abstract) == math and len(p.authors) > 1:
            return p
    pytest.skip("no such paper in the sample's first lines")


def test_a_paper_page_offers_three_citation_files_that_parse(site: WebApp) -> None:
    paper = _real(site)
    client = site.client()
    page = client.get(f"/papers/{paper.arxiv_id}")
    assert page.status_code == 200
    for suffix in (".bib", ".ris", ".csl.json"):
        assert f'href="/papers/{paper.arxiv_id}{suffix}"' in page.text
    assert "Cite this paper" in page.text and "@misc{" in page.text

    bib = client.get(f"/papers/{paper.arxiv_id}.bib")
    assert bib.headers["content-type"].startswith("application/x-bibtex")
    parsed = bibtexparser.parse_string(bib.text)
    assert not parsed.failed_blocks and len(parsed.entries) == 1
    entry = parsed.entries[0]
    assert entry.fields_dict["eprint"].value == paper.arxiv_id
    assert entry.fields_dict["archivePrefix"].value == "arXiv"

    ris = rispy.loads(client.get(f"/papers/{paper.arxiv_id}.ris").text)
    assert len(ris) == 1 and ris[0]["title"] == paper.title
    assert len(ris[0]["authors"]) == len(paper.authors)

    csl = client.get(f"/papers/{paper.arxiv_id}.csl.json")
    assert csl.headers["content-type"].startswith("application/vnd.citationstyles.csl+json")
    data = json.loads(csl.text)
    citeproc = pytest.importorskip("citeproc", reason="needs citeproc-py (the test extra)")
    from citeproc.source.json import CiteProcJSON

    style = citeproc.CitationStylesStyle("harvard-cite-them-right", validate=False)
    bibliography = citeproc.CitationStylesBibliography(style, CiteProcJSON(data),
                                                       citeproc.formatter.plain)
    bibliography.register(citeproc.Citation([citeproc.CitationItem(data[0]["id"])]))
    rendered = str(bibliography.bibliography()[0])
    assert " ".join(paper.title.split()[:3]) in rendered


def test_the_paper_page_carries_highwire_meta_tags(site: WebApp) -> None:
    paper = _real(site, math=True)
    reader = _Meta()
    reader.feed(site.client().get(f"/papers/{paper.arxiv_id}").text)
    tags = reader.tags
    assert tags[0] == ("citation_title", to_text(paper.title))
    assert [c for n, c in tags if n == "citation_author"] == list(paper.authors)
    day = paper.published.date() if paper.published else paper.listed_on  # the sample: listed
    assert day is not None
    assert ("citation_publication_date", f"{day:%Y/%m/%d}") in tags
    assert ("citation_arxiv_id", paper.arxiv_id) in tags
    assert ("citation_pdf_url", paper.pdf_url) in tags
    assert ("citation_doi" in dict(tags)) == bool(paper.doi)


def test_meta_tags_are_escaped_and_name_the_doi_and_journal(tmp_path: Path) -> None:
    from tests.helpers import paper

    odd = paper("2501.00009", title='Quotes " and <tags> & $x^2$', authors=('A. "Q" B',),
                doi="10.1000/xyz", journal_ref="Phys. Rev. D 101, 012345 (2020)")
    with make_app(tmp_path, papers=[odd]) as built:
        html = built.client().get("/papers/2501.00009").text
    assert '<meta name="citation_title" content="Quotes &#34; and &lt;tags&gt; &amp; x^2">' \
        in html
    assert "<tags>" not in html
    reader = _Meta()
    reader.feed(html)
    assert dict(reader.tags)["citation_author"] == 'A. "Q" B'
    assert dict(reader.tags)["citation_doi"] == "10.1000/xyz"
    assert dict(reader.tags)["citation_journal_title"] == "Phys. Rev. D"


def test_a_hidden_papers_files_are_404_like_its_page(site: WebApp) -> None:
    paper = _real(site)
    site.store.hide_paper(paper.arxiv_id, "spam", None, "cli")
    try:
        client = site.client()
        for suffix in ("", ".bib", ".ris", ".csl.json"):
            assert client.get(f"/papers/{paper.arxiv_id}{suffix}").status_code == 404, suffix
        moderator = site.client(signed_in="mod@example.org")
        assert moderator.get(f"/papers/{paper.arxiv_id}.bib").status_code == 200
    finally:
        site.store.unhide_paper(paper.arxiv_id, None, "cli")


def test_search_and_day_pages_offer_their_papers_as_citation_files(site: WebApp) -> None:
    client = site.client()
    hits = client.get("/search.json?q=learning").json()["hits"]
    assert hits
    bib = bibtexparser.parse_string(client.get("/search.bib?q=learning").text)
    assert [e.fields_dict["eprint"].value for e in bib.entries] == [h["arxiv_id"] for h in hits]
    day = client.get("/index.json").json()
    assert len(rispy.loads(client.get("/index.ris").text)) == len(day["papers"])
    assert client.get("/search.bib?q=zzzqqqxxnotaword").status_code == 404  # no papers
