"""Atom feeds (RFC 4287) of the list pages: trending, a search, a category.

Built with feedgen, which escapes text and writes valid Atom. Entry ids are the paper's
arXiv abs URL: stable across requests, feeds and versions, so readers never see a paper twice.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from feedgen.feed import FeedGenerator
from starlette.exceptions import HTTPException
from starlette.responses import Response

from paperwire.models import Filters, Paper
from paperwire.search import QueryError, check_filters
from paperwire.web import pages

router = APIRouter(prefix="/feeds", include_in_schema=False)

ATOM = "application/atom+xml; charset=utf-8"
FEED_SIZE = 50
# XML 1.0 cannot carry most control characters; lxml refuses them, so drop them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


def _stamp(paper: Paper) -> datetime:
    moment = paper.updated or paper.published
    if moment is None:
        moment = datetime.combine(paper.listed_on or date(1991, 8, 14), time.min)
    return moment.replace(tzinfo=UTC)


def atom(request: Request, title: str, html_url: str, papers: list[Paper]) -> Response:
    """The feed of ``papers`` (in the given order) with an id that is this feed's URL."""
    base = str(request.base_url).rstrip("/")
    query = sorted(request.query_params.multi_items())
    self_url = f"{base}{request.url.path}" + (f"?{urlencode(query)}" if query else "")
    fg = FeedGenerator()
    fg.id(self_url)
    fg.title(_xml_text(title))
    fg.author({"name": "paperwire"})  # required when an entry might lack authors
    fg.link(href=self_url, rel="self", type="application/atom+xml")
    fg.link(href=base + html_url, rel="alternate", type="text/html")
    fg.generator("paperwire")
    stamps = []
    for paper in papers:
        fe = fg.add_entry(order="append")
        fe.id(paper.abs_url)
        fe.title(_xml_text(paper.title))
        stamp = _stamp(paper)
        stamps.append(stamp)
        fe.updated(stamp)
        if paper.published:
            fe.published(paper.published.replace(tzinfo=UTC))
        for name in paper.authors:
            fe.author({"name": _xml_text(name)})
        fe.link(href=f"{base}/papers/{paper.arxiv_id}", rel="alternate", type="text/html")
        fe.link(href=paper.pdf_url, rel="related", type="application/pdf", title="PDF")
        fe.summary(_xml_text(paper.abstract), type="text")
        for code in paper.categories:
            fe.category(term=code)
    # The feed changed when its newest entry did; an empty feed says "now".
    fg.updated(max(stamps) if stamps else datetime.now(UTC))
    body: bytes = fg.atom_str(pretty=True)
    return Response(body, media_type=ATOM)


@router.get("/trending.atom")
def trending_feed(request: Request) -> Response:
    q = request.query_params
    period = pages.check_choice(q.get("period", "day"), "period", pages.PERIODS)
    day = pages.parse_day(q["date"]) if q.get("date") else None
    data = pages.trending_data(pages.site_of(request), day, period)
    papers = _papers(request, [p["arxiv_id"] for p in data["papers"]])
    return atom(request, f"paperwire: papers of {data['label']}",
                pages.day_url(date.fromisoformat(data["date"]), period), papers)


@router.get("/search.atom")
def search_feed(request: Request) -> Response:
    args = pages.search_args(request)
    if not args["q"].strip():
        raise HTTPException(400, "q is required: /feeds/search.atom?q=your+words")
    try:
        data = pages.search_data(pages.site_of(request), **{**args, "page": 1},
                                 per_page=FEED_SIZE)
    except QueryError as exc:
        raise HTTPException(400, str(exc)) from None
    papers = _papers(request, [h["arxiv_id"] for h in data["hits"]])
    return atom(request, f"paperwire: search for {args['q']}",
                "/search?" + urlencode({"q": args["q"]}), papers)


@router.get("/category/{code}.atom")
def category_feed(request: Request, code: str) -> Response:
    site = pages.site_of(request)
    try:
        check_filters(Filters(categories=(code,)), site.settings.extra_categories)
    except QueryError as exc:
        raise HTTPException(404, str(exc)) from None
    papers, _ = site.papers_between(None, None, category=code, limit=FEED_SIZE)
    return atom(request, f"paperwire: newest papers in {code}", "/", papers)


def _papers(request: Request, ids: list[str]) -> list[Paper]:
    """The full papers behind a page's data, in the page's order."""
    found = pages.site_of(request).store.get_papers(ids)
    return [found[i] for i in ids if i in found]
