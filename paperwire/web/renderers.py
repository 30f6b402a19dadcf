"""The format registry: a view returns a Page; the registry renders it in the asked format.

The format is chosen by URL suffix (``/search.json``) or by the Accept header.

A view offers a format by what its Page carries: HTML when it names a template, JSON always,
Atom when it carries a Feed (the Paper objects behind a list page). Adding a format is one
``Registry.register(Format(...))``: its suffix is then stripped from GET paths before routing
(``SuffixFormats``), so ``/papers/{id:path}`` never sees ``.bib`` in the id.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from jinja2 import Environment
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from paperwire.formats import atom
from paperwire.formats.cite import ExportItem
from paperwire.models import Paper
from paperwire.web.asgi import HTTPMiddleware


@dataclass(frozen=True)
class Feed:
    """What a list page's feed shows: a title, the page it mirrors, the papers in order."""

    title: str
    html_url: str  # a path on this site
    papers: Sequence[Paper]
    # A feed of something other than papers (a discussion) writes its own body from the
    # base URL and its own address.
    entries: Callable[[str, str], bytes] | None = None


@dataclass(frozen=True)
class Page:
    """A view's answer before it is rendered: ``data`` is the JSON twin and the template's
    context; ``template`` None means the page has no HTML form (a feed-only address)."""

    template: str | None
    data: Mapping[str, Any]
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    feed: Feed | None = None
    # What the citation formats export (a paper's own page; a collection's items, with
    # their notes and tags).
    citable: Sequence[Paper | ExportItem] = ()
    # Set by a view whose HTML is a function of this key with the path and query, and the
    # reader's role (verified, moderator), their name, address and CSRF token aside: the key
    # holds the versions of what the page shows and, for a signed-in reader, everything
    # else it shows of them (votes, saves). The page is then kept (``PageKeeper``) instead
    # of rendered again.
    kept: Hashable | None = None


def papers_of(page: Page) -> Sequence[Paper | ExportItem]:
    """The papers a page carries: the ones it cites, else its feed's (list pages)."""
    if page.citable:
        return page.citable
    return page.feed.papers if page.feed is not None else ()


Render = Callable[[Request, Page], Response]


@dataclass(frozen=True)
class Format:
    """One rendering: ``suffix`` ("" for the default), the media type that asks for it in an
    Accept header, how to render, and which pages it can render."""

    name: str
    suffix: str
    media_type: str
    render: Render
    offers: Callable[[Page], bool] = lambda page: True


class Registry:
    """The formats an app renders, by name, URL suffix and media type."""

    def __init__(self, formats: Sequence[Format] = ()) -> None:
        self._formats: dict[str, Format] = {}
        for fmt in formats:
            self.register(fmt)

    def register(self, fmt: Format) -> None:
        if fmt.name in self._formats:
            raise ValueError(f"a format named {fmt.name!r} is registered already")
        self._formats[fmt.name] = fmt

    def __iter__(self) -> Iterator[Format]:
        return iter(self._formats.values())

    def __getitem__(self, name: str) -> Format:
        return self._formats[name]

    def by_suffix(self, path: str) -> Format | None:
        # The longest suffix wins, so ".csl.json" is not taken for ".json".
        found = [fmt for fmt in self._formats.values()
                 if fmt.suffix and path.endswith(fmt.suffix) and len(path) > len(fmt.suffix) + 1]
        return max(found, key=lambda fmt: len(fmt.suffix), default=None)

    def by_accept(self, accept: str) -> Format | None:
        # Browsers send text/html among many types: only a client that asks for a type and
        # not for HTML gets it.
        if "text/html" in accept:
            return None
        for fmt in self._formats.values():
            if fmt.suffix and fmt.media_type.split(";")[0] in accept:
                return fmt
        return None


class PageKeeper(Protocol):
    """Keeps rendered pages by ``Page.kept`` (``web.kept_pages``), as UTF-8."""

    def page(self, key: Hashable, draw: Callable[[], str]) -> bytes: ...


class Rendering(Protocol):
    """What rendering needs from the app's shared state (``paperwire.web.site.Site``)."""

    templates: Environment
    formats: Registry
    page_keeper: PageKeeper | None

    def base_url(self, request: Request) -> str: ...


def _rendering(request: Request) -> Rendering:
    site: Rendering = request.app.state.site
    return site


def format_of(request: Request) -> str:
    """The format this request asked for: its path's suffix, else its Accept header, else
    HTML; everything under /api but its HTML docs is JSON, errors included."""
    chosen: str | None = request.scope.get("state", {}).get("format")
    if chosen:
        return chosen
    path = request.url.path
    if path.startswith("/api/") and path != "/api/docs":
        return "json"
    fmt = _rendering(request).formats.by_accept(request.headers.get("accept", ""))
    return fmt.name if fmt else "html"


def requested_path(request: Request) -> str:
    """The path as the client wrote it, suffix included."""
    path: str = request.scope.get("state", {}).get("requested_path") or request.url.path
    return path


def render(request: Request, page: Page, fmt: str | None = None) -> Response:
    """``page`` in the request's format (or ``fmt``); 404 when the page does not offer it."""
    chosen = _rendering(request).formats[fmt or format_of(request)]
    if not chosen.offers(page):
        raise HTTPException(404, f"{requested_path(request)} is not offered as {chosen.name}")
    response = chosen.render(request, page)
    # One URL answers in several formats, so caches must key on Accept too.
    response.headers["Vary"] = "Accept"
    return response


def _html(request: Request, page: Page) -> Response:
    assert page.template is not None  # offers() said so
    path, query = request.url.path, request.url.query
    json_url = ("/index.json" if path == "/" else path + ".json") + (f"?{query}" if query else "")
    site = _rendering(request)
    template = page.template

    def draw() -> str:
        return site.templates.get_template(template).render(
            data=page.data, request_path=path,
            json_url=json_url if page.status == 200 else None, **page.data)

    keeper = site.page_keeper
    html: str | bytes = (keeper.page((template, page.kept, path, query), draw)
            if keeper is not None and page.kept is not None and page.status == 200 else draw())
    return HTMLResponse(html, status_code=page.status, headers=dict(page.headers))


def _json(request: Request, page: Page) -> Response:
    return JSONResponse(page.data, status_code=page.status, headers=dict(page.headers))


def _atom(request: Request, page: Page) -> Response:
    assert page.feed is not None  # offers() said so
    base = _rendering(request).base_url(request)
    query = sorted(request.query_params.multi_items())
    self_url = f"{base}{requested_path(request)}" + (f"?{urlencode(query)}" if query else "")
    body = (page.feed.entries(base, self_url) if page.feed.entries is not None else
            atom.feed(page.feed.papers, title=page.feed.title, self_url=self_url,
                      html_url=base + page.feed.html_url, base_url=base))
    # Readers poll; a shared cache may keep a feed a few minutes (its links name the
    # configured address, never the Host a request claimed, see Site.base_url).
    headers = {"Cache-Control": FEED_CACHE, **page.headers}
    return Response(body, status_code=page.status, headers=headers, media_type=atom.MEDIA_TYPE)


FEED_CACHE = "public, max-age=300"
HTML = Format("html", "", "text/html", _html, lambda page: page.template is not None)
JSON = Format("json", ".json", "application/json", _json)
ATOM = Format("atom", ".atom", "application/atom+xml", _atom, lambda page: page.feed is not None)


def default_formats() -> Registry:
    return Registry([HTML, JSON, ATOM])


class SuffixFormats(HTTPMiddleware):
    """Strips a registered suffix from the path of a GET or HEAD request before routing and
    records the format, so one route serves every format of a page (``/index.json`` is the
    home page's). /api and /static keep their paths."""

    def __init__(self, app: ASGIApp, formats: Registry) -> None:
        super().__init__(app)
        self.formats = formats

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(strip_suffix(scope, self.formats), receive, send)


def strip_suffix(scope: Scope, formats: Registry) -> Scope:
    """``scope`` with a registered format suffix taken off its path (see SuffixFormats)."""
    path: str = scope.get("path", "")
    if scope["method"] in ("GET", "HEAD") and not path.startswith(("/api/", "/static/")):
        fmt = formats.by_suffix(path)
        if fmt is not None:
            bare = path[:-len(fmt.suffix)]
            bare = "/" if bare == "/index" else bare
            scope.setdefault("state", {}).update(format=fmt.name, requested_path=path)
            return {**scope, "path": bare, "raw_path": bare.encode()}
    return scope


V = TypeVar("V", bound=Callable[..., "Page | Response"])


def page_route(router: APIRouter, *paths: str) -> Callable[[V], V]:
    """Register a view as the GET route of each of ``paths``: the Page it returns is
    rendered in the requested format (a Response, such as a redirect, goes out as it is).
    The view itself is returned unchanged, for reuse; it must take ``request: Request``."""

    def register(view: V) -> V:
        @functools.wraps(view)
        def endpoint(*args: Any, **kwargs: Any) -> Response:
            answer = view(*args, **kwargs)
            if isinstance(answer, Response):
                return answer
            return render(kwargs["request"], answer)

        # FastAPI reads the parameters from here; evaluated now, in the view's own module.
        endpoint.__signature__ = inspect.signature(  # type: ignore[attr-defined]
            view, eval_str=True).replace(return_annotation=Response)
        endpoint.renders_page = True  # type: ignore[attr-defined]  # see tests/test_routes.py
        for path in paths:
            router.add_api_route(path, endpoint, methods=["GET"], response_model=None)
        return view

    return register
