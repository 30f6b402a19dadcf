"""create_app(settings): the ASGI app, its middleware, error handlers and routers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio.to_thread
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import FileResponse, Response
from starlette.routing import Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from paperwire import accounts
from paperwire.background import Runner
from paperwire.convergence import IndexSync
from paperwire.errors import IndexDamaged
from paperwire.mcp import McpHttpApp, streamable_http_app
from paperwire.settings import Settings
from paperwire.store import Store
from paperwire.web.accounts import router as accounts_router
from paperwire.web.admin import pages_router as admin_forms
from paperwire.web.admin import router as admin_api
from paperwire.web.api import router as api_router
from paperwire.web.authors import install as install_authors
from paperwire.web.citing import register_citation_formats
from paperwire.web.community import pages_router as community_forms
from paperwire.web.community import router as community_api
from paperwire.web.discussion import api_router as discussion_api
from paperwire.web.discussion import forms_router as discussion_forms
from paperwire.web.discussion import install as install_discussion
from paperwire.web.discussion import pages_router as discussion_pages
from paperwire.web.feeds import router as feeds_router
from paperwire.web.for_you import install as install_for_you
from paperwire.web.for_you_profiles import router as for_you_profiles
from paperwire.web.kept_pages import KeptPages
from paperwire.web.library import router as library_router
from paperwire.web.library_api import router as library_api
from paperwire.web.library_groups import router as library_groups
from paperwire.web.notifications import install as install_notifications
from paperwire.web.openapi import openapi_document
from paperwire.web.pages import router as pages_router
from paperwire.web.params import clean_parameters
from paperwire.web.security import Gateway
from paperwire.web.security import install as install_accounts
from paperwire.web.site import STATIC, Site, error_response
from paperwire.web.stats import install as install_stats
from paperwire.web.subscriptions import install as install_subscriptions

# Content Security Policy: nothing but this origin, so a paper title that slipped past
# escaping still could not run a script or pull in a third-party resource.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
# Views are synchronous (the store is); Starlette runs them in a pool of 40 threads, which on
# a small machine only queue on the GIL and the connection pool (bench/web.py: a quarter of
# the samples waiting on a lock). A few threads per worker keep the cores busy.
VIEW_THREADS = 8
log = logging.getLogger("paperwire.web")


# Headers every response carries.
SECURITY_HEADERS = (("X-Content-Type-Options", "nosniff"), ("Content-Security-Policy", CSP),
                    ("Referrer-Policy", "same-origin"))


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


MCP_PATH = "/mcp"
# A 60 kB home page leaves as 11 kB at level 1 (10 kB at 5), for 0.35 ms of CPU (0.64 ms at
# 5): the server's CPU is what bench/web.py holds to 300 pages a second.
GZIP_LEVEL = 1
GZIP_MIN_BYTES = 1000


async def _favicon(request: Request) -> Response:
    # Browsers and crawlers ask for /favicon.ico whatever a page links: the same SVG, so the
    # request is not a 404 in every console.
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})


def _lifespan(mcp_app: McpHttpApp) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = VIEW_THREADS
        site: Site = app.state.site
        if site.settings.queue_runner == "web":
            # One per process: rows are claimed atomically, so processes and hosts share.
            site.runner = Runner(site.settings, site.store)
            site.runner.start()
        site.warm_recommender()
        if site.settings.index_sync_seconds > 0:
            # Each process tries; the one holding the home's writer lock syncs the files.
            site.index_sync = IndexSync(site.settings, site.store)
            site.index_sync.start()
        try:
            # A mounted app's own lifespan never runs: the MCP session manager starts here.
            async with mcp_app.lifespan():
                yield
        finally:
            if site.runner is not None:
                site.runner.stop()
                site.runner = None
            if site.index_sync is not None:
                await anyio.to_thread.run_sync(site.index_sync.stop)
                site.index_sync = None

    return lifespan


def _mcp_app(site: Site) -> McpHttpApp:
    return streamable_http_app(
        site.settings, site.store, path=MCP_PATH,
        token_user=lambda token: accounts.api_token_user(site.store, token),
        anonymous_per_minute=site.settings.mcp_anonymous_per_minute)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    response = error_response(request, exc.status_code, str(exc.detail))
    # What the exception says about itself goes out too: a 405's Allow, a 401's challenge.
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def _bad_parameters(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ())[1:]) or "request"
        message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        problems.append(f"{where}: {message}")
    return error_response(request, 400, "; ".join(problems))


async def _index_damaged(request: Request, exc: Exception) -> Response:
    # Searches that can go on without the damaged index already did (with a note); the rest
    # say what is wrong, as a 503: it clears once `paperwire index` has rebuilt the index.
    assert isinstance(exc, IndexDamaged)
    return error_response(request, 503, exc.public)


async def _crashed(request: Request, exc: Exception) -> Response:
    # Never a stack trace to the client; the server log still has it.
    return error_response(request, 500, "the server hit an unexpected error; it has been "
                          "logged")


def create_app(settings: Settings, store: Store | None = None) -> FastAPI:
    """The whole web app over ``store`` (opened from ``settings`` when not given)."""
    site = Site(settings, store if store is not None else Store.open(settings))
    site.store.keep_credentials(settings.session_cache_seconds)
    mcp_app = _mcp_app(site)
    if settings.public_url is None:
        log.warning("PAPERWIRE_BASE_URL is not set: feeds take their links from each "
                    "request's Host header, and mail links point at %s; set it to the "
                    "site's public address", settings.base_url)
    register_citation_formats(site.formats)
    # Swagger UI and ReDoc load from CDNs; /api/docs is rendered here from the same schema.
    # Every route's query and path parameters are checked for control characters first.
    app = FastAPI(title="paperwire", version="0.1.0", openapi_url="/api/openapi.json",
                  lifespan=_lifespan(mcp_app), docs_url=None, redoc_url=None,
                  dependencies=[Depends(clean_parameters)],
                  description="Search and browse arXiv papers held by this instance.")
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
    app.state.site = site
    install_accounts(app, site)
    site.page_keeper = KeptPages()
    # One layer: format suffix, security headers, body cap (no body is read past it, the
    # CSRF check's included), user and CSRF. Upload routes add {path prefix: bytes} to
    # body_limits.
    app.state.body_limits = {}
    app.add_middleware(Gateway, formats=site.formats, headers=SECURITY_HEADERS,
                       limit=settings.max_body_bytes, error_page=error_response,
                       larger=app.state.body_limits)
    # Outermost, so every answer (pages, JSON, feeds, errors) leaves compressed when asked.
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES, compresslevel=GZIP_LEVEL)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _bad_parameters)
    app.add_exception_handler(IndexDamaged, _index_damaged)
    app.add_exception_handler(Exception, _crashed)
    app.mount("/static", CachedStatic(directory=STATIC), name="static")
    app.router.routes.append(Route("/favicon.ico", _favicon, include_in_schema=False))
    # Routes are matched in order: the pages people open most come first. /papers/{id:path}
    # takes only GET, so the POST forms under /papers/{id}/… still reach their routers.
    app.include_router(discussion_pages)  # before /papers/{id:path}: …/discussion
    app.include_router(pages_router)
    app.include_router(community_api)  # before api's /api/papers/{id:path}
    app.include_router(discussion_api)
    app.include_router(admin_api)
    app.include_router(library_api)
    app.include_router(api_router)
    app.include_router(feeds_router)
    install_stats(app)
    install_authors(app)
    app.include_router(accounts_router)
    install_subscriptions(app)  # also exempts its one-click unsubscribe from CSRF
    install_notifications(app)  # the same for comment notices
    install_for_you(app)  # the same for mailed "not interested" links; /api/recommendations
    app.include_router(for_you_profiles)
    install_discussion(site)  # the templates' discussion_html
    app.include_router(community_forms)
    app.include_router(discussion_forms)
    app.include_router(admin_forms)
    app.include_router(library_groups)  # before /library/groups/{id}: …/join
    app.include_router(library_router)
    # Agents authenticate by Bearer token (or read anonymously), never by cookie: no CSRF.
    # A plain route, not a Mount, so POST /mcp is served without a redirect to /mcp/.
    app.router.routes.append(Route(MCP_PATH, mcp_app, include_in_schema=False))
    app.state.csrf_exempt.add(MCP_PATH)
    return app


def app_from_env() -> FastAPI:
    """The app built from PAPERWIRE_* variables: the factory each `paperwire serve` worker
    process calls (`paperwire serve` exports its resolved settings before starting them)."""
    return create_app(Settings.from_env())
