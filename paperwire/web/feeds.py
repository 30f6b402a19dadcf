"""The feed addresses under /feeds: Atom (``.atom``) or JSON, never an HTML page.

/feeds/trending and /feeds/search are the list pages' own views (so a feed and its page
cannot disagree); /feeds/category/{code} is the newest papers of a category.
"""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Request
from starlette.exceptions import HTTPException

from paperwire.formats.atom import FEED_SIZE
from paperwire.models import Filters
from paperwire.search import QueryError, check_filters
from paperwire.web.cards import card
from paperwire.web.pages import category_url, search_page, trending_page
from paperwire.web.renderers import Feed, Page, page_route
from paperwire.web.site import site_of

router = APIRouter(prefix="/feeds", include_in_schema=False)


@page_route(router, "/trending")
def trending_feed(request: Request) -> Page:
    """?period=day|week|month&date=YYYY-MM-DD, as on /trending."""
    return replace(trending_page(request), template=None)


@page_route(router, "/search")
def search_feed(request: Request) -> Page:
    """?q=…, as on /search; the first FEED_SIZE hits."""
    return replace(search_page(request), template=None)


@page_route(router, "/category/{code}")
def category_feed(request: Request, code: str) -> Page:
    site = site_of(request)
    try:
        check_filters(Filters(categories=(code,)), site.settings.extra_categories)
    except QueryError as exc:
        raise HTTPException(404, str(exc)) from None
    papers, _ = site.store.papers_between(None, None, category=code, limit=FEED_SIZE)
    title = f"paperwire: newest papers in {code}"
    return Page(None, {"title": title, "category": code, "papers": [card(p) for p in papers]},
                feed=Feed(title, category_url(code), papers))
