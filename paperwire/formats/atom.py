"""Papers as an Atom feed (RFC 4287), written by feedgen; no knowledge of the web app.

Entry ids are the paper's arXiv abs URL: stable across requests, feeds and versions, so
readers never see a paper twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time

from feedgen.feed import FeedGenerator

from paperwire.formats.latex import to_text
from paperwire.models import Paper

MEDIA_TYPE = "application/atom+xml; charset=utf-8"
FEED_SIZE = 50  # entries in a feed of search results or of a category
# XML 1.0 cannot carry most control characters; lxml refuses them, so drop them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


def stamp(paper: Paper) -> datetime:
    """When the paper last changed, as an aware datetime (its listing day at worst)."""
    moment = paper.updated or paper.published
    if moment is None:
        moment = datetime.combine(paper.listed_on or date(1991, 8, 14), time.min)
    return moment.replace(tzinfo=UTC)


def feed(papers: Iterable[Paper], *, title: str, self_url: str, html_url: str,
         base_url: str, related: Mapping[str, tuple[str, str]] | None = None) -> bytes:
    """The feed of ``papers`` (in the given order), identified by ``self_url``; entries link
    to their pages under ``base_url`` (no trailing slash), and to ``related[arxiv_id]``
    (title, absolute URL) where given (a recommendation's "not interested")."""
    fg = FeedGenerator()
    fg.id(self_url)
    fg.title(xml_text(title))
    fg.author({"name": "paperwire"})  # required when an entry might lack authors
    fg.link(href=self_url, rel="self", type="application/atom+xml")
    fg.link(href=html_url, rel="alternate", type="text/html")
    fg.generator("paperwire")
    stamps = [_entry(fg, paper, base_url, (related or {}).get(paper.arxiv_id))
              for paper in papers]
    # The feed changed when its newest entry did; an empty feed says "now".
    fg.updated(max(stamps) if stamps else datetime.now(UTC))
    body: bytes = fg.atom_str(pretty=True)
    return body


def _entry(fg: FeedGenerator, paper: Paper, base_url: str,
           related: tuple[str, str] | None = None) -> datetime:
    fe = fg.add_entry(order="append")
    fe.id(paper.abs_url)
    # Feed readers show text: formulas as readable text, without their $ delimiters.
    fe.title(xml_text(to_text(paper.title)))
    updated = stamp(paper)
    fe.updated(updated)
    if paper.published:
        fe.published(paper.published.replace(tzinfo=UTC))
    for name in paper.authors:
        fe.author({"name": xml_text(name)})
    fe.link(href=f"{base_url}/papers/{paper.arxiv_id}", rel="alternate", type="text/html")
    fe.link(href=paper.pdf_url, rel="related", type="application/pdf", title="PDF")
    if related is not None:
        fe.link(href=related[1], rel="related", type="text/html", title=xml_text(related[0]))
    fe.summary(xml_text(to_text(paper.abstract)), type="text")
    for code in paper.categories:
        fe.category(term=code)
    return updated
