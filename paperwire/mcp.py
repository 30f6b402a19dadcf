"""The MCP server: paperwire's search, trending and papers for agents, on the official SDK.

``build_server(settings, store)`` declares the tools and resources (their work is done by
paperwire.mcp_tools over the same modules the web uses). Two ways to reach it:

- stdio, for desktop clients: ``run_stdio(settings)``, or ``python -m paperwire.mcp`` with
  settings from the environment;
- streamable HTTP, for mounting in the web app: ``streamable_http_app(...)``. A request
  carrying ``Authorization: Bearer pw_…`` must carry a live personal API token (else 401);
  a request without one is anonymous, read-only and limited per client address.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any
from urllib.parse import urlsplit

import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import ToolAnnotations
from pydantic import Field
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from paperwire.errors import PaperwireError
from paperwire.mcp_tools import (
    LISTING_LIMIT,
    MAX_LIMIT,
    Mode,
    NotOnInstance,
    PaperDetail,
    Papers,
    Period,
    SearchResult,
    SimilarResult,
    TrendingResult,
)
from paperwire.models import User
from paperwire.settings import Settings
from paperwire.store import Store

__all__ = ["McpHttpApp", "build_server", "caller", "require_user", "run_stdio",
           "streamable_http_app"]

INSTRUCTIONS = ("Search and browse the arXiv papers this paperwire instance holds: search by "
                "keywords or meaning, trending papers of a day, week or month, a paper's "
                "details with BibTeX, and papers similar to one. Paper ids are arXiv ids such "
                "as 2503.11731.")
READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
ANONYMOUS_PER_MINUTE = Settings().mcp_anonymous_per_minute

Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT, description=f"1 to {MAX_LIMIT}")]
Day = Annotated[str | None, Field(max_length=10, description="YYYY-MM-DD")]
PaperId = Annotated[str, Field(min_length=1, max_length=64,
                               description="an arXiv id, e.g. 2503.11731 (a version or abs "
                                           "URL is accepted)")]
Category = Annotated[str | None, Field(max_length=32, description="e.g. cs.CL, or an "
                                                                  "archive such as cs")]


def build_server(settings: Settings, store: Store, papers: Papers | None = None
                 ) -> MCPServer[Any]:
    """The MCP server over ``store``: tools search, trending, get_paper, similar; resources
    ``paper://{arxiv_id}`` and ``listing://{YYYY-MM-DD}`` (markdown)."""
    ops = papers or Papers(settings, store)
    server: MCPServer[Any] = MCPServer("paperwire", title="paperwire",
                                       instructions=INSTRUCTIONS, version="0.1.0",
                                       log_level="WARNING")
    _add_tools(server, ops)
    _add_resources(server, ops)
    return server


def _add_tools(server: MCPServer[Any], ops: Papers) -> None:
    @server.tool(annotations=READ_ONLY)
    def search(query: Annotated[str, Field(min_length=1, max_length=1_000)],
               mode: Annotated[Mode | None, Field(description="default: hybrid, or lexical "
                                                  "where search by meaning is off")] = None,
               category: Annotated[list[Annotated[str, Field(max_length=32)]],
                                   Field(max_length=10, description="any of these, e.g. "
                                         "cs.CL or cs")] = [],  # noqa: B006 (never mutated)
               since: Day = None, until: Day = None,
               author: Annotated[str | None, Field(max_length=200)] = None,
               limit: Limit = 10) -> SearchResult:
        """Search papers by keywords and meaning, best first."""
        return ops.search(query, mode, tuple(dict.fromkeys(category)), since, until, author,
                          limit)

    @server.tool(annotations=READ_ONLY)
    def trending(period: Period = "day",
                 date: Annotated[str | None, Field(max_length=10, description="YYYY-MM-DD, a "
                                                   "day in the window (default: the latest "
                                                   "day with papers)")] = None,
                 category: Category = None, limit: Limit = 20) -> TrendingResult:
        """Papers of a day, week or month by trending score, with how each score came about."""
        return ops.trending(period, date, category, limit)

    @server.tool(annotations=READ_ONLY)
    def get_paper(id: PaperId) -> PaperDetail:
        """A paper: abstract, authors, categories, dates, abs/PDF links and BibTeX."""
        return ops.get_paper(id)

    @server.tool(annotations=READ_ONLY)
    def similar(id: PaperId, limit: Limit = 10) -> SimilarResult:
        """Papers nearest in meaning to a stored paper (by shared keywords where meaning is
        off)."""
        return ops.similar(id, limit)


def _add_resources(server: MCPServer[Any], ops: Papers) -> None:
    @server.resource("paper://{arxiv_id}", mime_type="text/markdown",
                     description="A paper as markdown: authors, links, abstract, BibTeX.")
    def paper(arxiv_id: str) -> str:
        return _read(lambda: ops.paper_markdown(arxiv_id))

    @server.resource("listing://{day}", mime_type="text/markdown",
                     description=f"A day's listing as markdown, newest first (at most "
                                 f"{LISTING_LIMIT} papers).")
    def listing(day: str) -> str:
        return _read(lambda: ops.listing_markdown(day))


def _read(make: Callable[[], str]) -> str:
    # A resource answers a protocol error, not a tool result: the same message, as one.
    try:
        return make()
    except NotOnInstance as exc:
        raise ResourceNotFoundError(str(exc)) from None
    except ToolError as exc:
        raise ResourceError(str(exc)) from None


# --- who is asking ----------------------------------------------------------------------------
def caller(ctx: Context[Any]) -> User | None:
    """The token holder behind a tool call over HTTP; None over stdio or when anonymous."""
    request = ctx.request_context.request
    scope = getattr(request, "scope", None)
    user = scope.get("state", {}).get("mcp_user") if isinstance(scope, dict) else None
    return user if isinstance(user, User) else None


def require_user(ctx: Context[Any]) -> User:
    """For the tools that write (collections, for you): refuse anonymous callers."""
    user = caller(ctx)
    if user is None:
        raise ToolError("this tool needs a personal API token: send "
                        "`Authorization: Bearer pw_…` (create one under Account → API tokens)")
    return user


# --- stdio --------------------------------------------------------------------------------
def run_stdio(settings: Settings) -> None:
    """Serve over stdin/stdout until the client closes them (what `paperwire mcp` runs)."""
    store = Store.open(settings)
    try:
        build_server(settings, store).run("stdio")
    finally:
        store.close()


# --- streamable HTTP ------------------------------------------------------------------------
class AnonymousLimit:
    """At most ``per_minute`` requests per client address per minute (one process's count)."""

    MAX_KEYS = 10_000

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError(f"the anonymous MCP limit must be 1 or more (got {per_minute})")
        self.per_minute = per_minute
        self._clock = clock
        self._counts: dict[str, tuple[int, int]] = {}  # address -> (minute, requests)
        self._lock = threading.Lock()

    def wait(self, key: str) -> int:
        """0 when the request may go ahead (and count it), else seconds until it may."""
        now = self._clock()
        minute = int(now // 60)
        with self._lock:
            if len(self._counts) >= self.MAX_KEYS:
                self._counts = {k: v for k, v in self._counts.items() if v[0] == minute}
            seen, count = self._counts.get(key, (minute, 0))
            count = count if seen == minute else 0
            if count >= self.per_minute:
                return max(1, math.ceil((minute + 1) * 60 - now))
            self._counts[key] = (minute, count + 1)
            return 0


class TokenGate:
    """ASGI middleware in front of the MCP endpoint: a Bearer token must be live (401
    otherwise) and names the caller; no token means anonymous and rate limited (429)."""

    def __init__(self, app: ASGIApp, token_user: Callable[[str], User | None],
                 limit: AnonymousLimit) -> None:
        self.app = app
        self.token_user = token_user
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        auth = Headers(scope=scope).get("authorization")
        if auth is not None:
            scheme, _, token = auth.partition(" ")
            token = token.strip()
            user = (await anyio.to_thread.run_sync(self.token_user, token)
                    if scheme.lower() == "bearer" and token else None)
            if user is None:
                await _refuse_token(scope, receive, send)
                return
            scope.setdefault("state", {})["mcp_user"] = user
        else:
            client = scope.get("client")
            wait = self.limit.wait(client[0] if client else "?")
            if wait:
                await JSONResponse(
                    {"error": f"too many anonymous requests: at most {self.limit.per_minute} "
                              f"a minute; retry in {wait} s, or send a personal API token"},
                    429, headers={"Retry-After": str(wait)})(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _refuse_token(scope: Scope, receive: Receive, send: Send) -> None:
    message = ("invalid API token: send `Authorization: Bearer pw_…` with a live personal "
               "API token, or no Authorization header to read anonymously")
    await JSONResponse({"error": message}, 401, headers={
        "WWW-Authenticate": 'Bearer error="invalid_token"'})(scope, receive, send)


class McpHttpApp:
    """The MCP endpoint as an ASGI app. Its session manager must run while it serves: served
    on its own, the ASGI lifespan starts it; mounted, the host's lifespan enters
    ``lifespan()`` (a Starlette Mount does not run a mounted app's lifespan). A session
    manager runs only once, so a host started again (as test clients do) gets a fresh one."""

    def __init__(self, server: MCPServer[Any], make_app: Callable[[], ASGIApp]) -> None:
        self.server = server
        self._make_app = make_app
        self._started = False
        self.app = make_app()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        if self._started:
            self.app = self._make_app()  # a new session manager, behind the same gate
        self._started = True
        async with self.server.session_manager.run():
            yield


def streamable_http_app(settings: Settings, store: Store, *,
                        token_user: Callable[[str], User | None],
                        anonymous_per_minute: int = ANONYMOUS_PER_MINUTE,
                        path: str = "/mcp", server: MCPServer[Any] | None = None,
                        clock: Callable[[], float] = time.monotonic) -> McpHttpApp:
    """The server over streamable HTTP at ``path`` (``"/"`` when mounted at /mcp), stateless
    with JSON answers, so any worker of several can serve any request. ``token_user`` maps
    a Bearer token to its user (``lambda t: accounts.api_token_user(store, t)``)."""
    mcp_server = server or build_server(settings, store)
    limit = AnonymousLimit(anonymous_per_minute, clock)

    def make_app() -> ASGIApp:
        inner = mcp_server.streamable_http_app(
            streamable_http_path=path, stateless_http=True, json_response=True,
            transport_security=_allowed_hosts(settings))
        return TokenGate(inner, token_user, limit)

    return McpHttpApp(mcp_server, make_app)


def _allowed_hosts(settings: Settings) -> TransportSecuritySettings:
    # DNS-rebinding protection: the site's own host (from its public address) and loopback.
    base = urlsplit(settings.base_url)
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost"]
    origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    if base.netloc:
        hosts.append(base.netloc)
        origins.append(f"{base.scheme}://{base.netloc}")
    return TransportSecuritySettings(enable_dns_rebinding_protection=True,
                                     allowed_hosts=hosts, allowed_origins=origins)


def main() -> None:
    """``python -m paperwire.mcp``: stdio with settings from PAPERWIRE_* variables."""
    try:
        run_stdio(Settings.from_env())
    except PaperwireError as exc:
        print(f"paperwire mcp: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
