"""create_app(settings): the ASGI app, its shared state, content negotiation and error pages."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paperwire.index.indexer import IndexPaths
from paperwire.mail import Mailer, mailer_for
from paperwire.models import Paper
from paperwire.search import Searcher, embedder_factory
from paperwire.settings import Settings
from paperwire.store import Store

HERE = Path(__file__).parent
STATIC = HERE / "static"
# Content Security Policy: nothing but this origin, so a paper title that slipped past
# escaping still could not run a script or pull in a third-party resource.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


class Site:
    """What every view needs: settings, the store, templates and the (lazy) searcher."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.templates = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html", "xml"], default=True),
            trim_blocks=True, lstrip_blocks=True)
        self.templates.globals["static"] = self.static_url
        self._searcher: Searcher | None = None
        self._lock = threading.Lock()
        self._asset_versions: dict[str, str] = {}
        self.cache = ViewCache()
        self.mailer: Mailer = mailer_for(settings, store)

    @property
    def searcher(self) -> Searcher:
        # Built on first use and kept: the embedder inside loads once per app, not per request.
        if self._searcher is None:
            with self._lock:
                if self._searcher is None:
                    s = self.settings
                    self._searcher = Searcher(
                        self.store, IndexPaths.for_home(s.home),
                        embedder_factory(s.embedder, s.embed_threads),
                        extra_categories=s.extra_categories)
        self._searcher.refresh()
        return self._searcher

    def index_version(self) -> tuple[float, ...]:
        """Modification times of the index files a view may read (a cache key part)."""
        # The indexes' own state files: each is rewritten whenever its index changes.
        paths = IndexPaths.for_home(self.settings.home)
        files = [*paths.root.glob("vectors-*.json"), paths.lexical / "paperwire-sync.json"]
        return tuple(sorted(p.stat().st_mtime for p in files if p.exists()))

    def static_url(self, name: str) -> str:
        # A content hash in the URL lets browsers cache the file for long and still see edits.
        version = self._asset_versions.get(name)
        if version is None:
            version = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]
            self._asset_versions[name] = version
        return f"/static/{name}?v={version}"

    # --- listings ------------------------------------------------------------------------
    def papers_between(self, since: date | None, until: date | None, *,
                       category: str | None = None, limit: int = 30, offset: int = 0
                       ) -> tuple[list[Paper], int]:
        return self.store.papers_between(since, until, category=category, limit=limit,
                                         offset=offset)

    def day_before(self, day: date) -> date | None:
        return self.store.day_before(day)

    def day_after(self, day: date) -> date | None:
        return self.store.day_after(day)

    def latest_day(self) -> date | None:
        return self.store.latest_day()


class ViewCache:
    """A small, thread-safe LRU of computed view data; callers put the data version in the key,
    so entries for old data just age out. A paper's page takes two entries of a few KB each;
    2,048 entries keep ~1,000 pages (~20 MB), and a busy site cycling through more than the
    cache holds would miss on every view (LRU), so the size errs on the large side."""

    def __init__(self, size: int = 2048) -> None:
        self._data: OrderedDict[Any, Any] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)


class SecurityHeaders:
    """Headers every response carries (CSP, nosniff, referrer policy). Plain ASGI: the
    ``@app.middleware("http")`` form wraps each response in extra tasks and streams, a
    tenth of a cached page's time."""

    HEADERS = (("X-Content-Type-Options", "nosniff"), ("Content-Security-Policy", CSP),
               ("Referrer-Policy", "same-origin"))

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.HEADERS:
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, sending)


class CachedStatic(StaticFiles):
    """Static files with a Cache-Control header (StaticFiles sends only ETag/Last-Modified)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            # Pages link assets with ?v=<content hash>, so those URLs never change content.
            versioned = b"v=" in scope.get("query_string", b"")
            response.headers["Cache-Control"] = ("public, max-age=31536000, immutable"
                                                 if versioned else "public, max-age=3600")
        return response


def wants_json(request: Request) -> bool:
    """The JSON twin is asked for by a ``.json`` suffix or an Accept header preferring it;
    everything under /api but its HTML docs is JSON, errors included."""
    path = request.url.path
    if path.endswith(".json") or (path.startswith("/api/") and path != "/api/docs"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def render(request: Request, template: str, data: dict[str, Any], status: int = 200,
           headers: dict[str, str] | None = None) -> Response:
    """One view, two formats: ``data`` as JSON, or the template over the same ``data``."""
    # One URL answers in two formats, so caches must key on Accept too.
    headers = {"Vary": "Accept", **(headers or {})}
    if wants_json(request):
        return JSONResponse(data, status_code=status, headers=headers)
    site: Site = request.app.state.site
    path, query = request.url.path, request.url.query
    json_url = ("/index.json" if path == "/" else path + ".json") + (f"?{query}" if query else "")
    html = site.templates.get_template(template).render(
        data=data, request_path=path, json_url=json_url if status == 200 else None, **data)
    return HTMLResponse(html, status_code=status, headers=headers)


def error_response(request: Request, status: int, message: str) -> Response:
    titles = {400: "Bad request", 401: "Sign in first", 403: "Not allowed", 404: "Not found",
              405: "Method not allowed", 429: "Too many tries", 500: "Something went wrong"}
    data = {"error": message, "status": status, "title": titles.get(status, "Error")}
    return render(request, "error.html", data, status)


# Views are synchronous (the store is); Starlette runs them in a pool of 40 threads, which on
# a small machine only queue on the GIL and the connection pool (bench/web.py: a quarter of
# the samples waiting on a lock). A few threads per worker keep the cores busy.
VIEW_THREADS = 8


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    anyio.to_thread.current_default_thread_limiter().total_tokens = VIEW_THREADS
    yield


def create_app(settings: Settings, store: Store | None = None) -> FastAPI:
    """The whole web app over ``store`` (opened from ``settings`` when not given)."""
    from paperwire.web import accounts, api, community_api, feeds, pages, security, subscriptions

    site = Site(settings, store if store is not None else Store.open(settings))
    # Swagger UI and ReDoc load from CDNs; /api/docs is rendered here from the same schema.
    app = FastAPI(title="paperwire", version="0.1.0", openapi_url="/api/openapi.json",
                  lifespan=_lifespan,
                  docs_url=None, redoc_url=None,
                  description="Search and browse arXiv papers held by this instance.")
    app.state.site = site
    site.templates.filters["highlight"] = pages.highlight

    # Inside SecurityHeaders (added after it), so its 403s get those headers too.
    security.install(app, site)

    app.add_middleware(SecurityHeaders)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return error_response(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def bad_parameters(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ())[1:]) or "request"
            problems.append(f"{where}: {err.get('msg', 'invalid value')}")
        return error_response(request, 400, "; ".join(problems))

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> Response:
        # Never a stack trace to the client; the server log still has it.
        return error_response(request, 500, "the server hit an unexpected error; it has "
                              "been logged")

    app.mount("/static", CachedStatic(directory=STATIC), name="static")
    # Routes are matched in order: the pages people open most come first. /papers/{id:path}
    # takes only GET, so the POST forms under /papers/{id}/… still reach community_api.
    app.include_router(pages.router)
    app.include_router(community_api.router)  # before api's /api/papers/{id:path}
    app.include_router(api.router)
    app.include_router(feeds.router)
    app.include_router(accounts.router)
    subscriptions.install(app)  # also exempts its one-click unsubscribe from CSRF
    app.include_router(community_api.pages_router)
    return app


def app_from_env() -> FastAPI:
    """The app built from PAPERWIRE_* variables: the factory each `paperwire serve` worker
    process calls (`paperwire serve` exports its resolved settings before starting them)."""
    return create_app(Settings.from_env())
