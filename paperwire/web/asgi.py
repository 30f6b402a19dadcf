"""The plain-ASGI middleware pattern that the app's middlewares share, and the body cap.

Not Starlette's ``BaseHTTPMiddleware``: it wraps each response in extra tasks and streams, a
tenth of a cached page's time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import anyio.to_thread
from fastapi import HTTPException, Request
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HTTPMiddleware:
    """Passes anything but HTTP through; subclasses implement ``handle`` for HTTP."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def editing_headers(send: Send, edit: Callable[[MutableHeaders], None]) -> Send:
    """``send``, with ``edit`` applied to the response's headers as they go out."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            edit(MutableHeaders(scope=message))
        await send(message)

    return sending


class BodyTooLarge(HTTPException):
    """A 413: raised from ``receive`` as the body passes its cap. FastAPI re-raises an
    HTTPException met while reading a body, so the app's error handler answers it; raised
    while a middleware reads (the CSRF check), ``BodyLimit`` answers it itself."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is too large: {limit:,} bytes at most")


ErrorPage = Callable[[Request, int, str], Response]


class BodyLimit(HTTPMiddleware):
    """Caps every request body at ``limit`` bytes before anything reads it: a declared
    Content-Length over the cap is refused at once, unread; a body sent without one (chunked)
    is counted as it streams and refused as it passes the cap, so no more than ``limit``
    bytes are ever buffered. ``larger`` maps path prefixes to their own cap (an upload
    route); the longest matching prefix wins. ``error_page`` renders the 413."""

    def __init__(self, app: ASGIApp, limit: int, error_page: ErrorPage,
                 larger: Mapping[str, int] | None = None) -> None:
        super().__init__(app)
        self.limit = limit
        self.error_page = error_page
        self.larger = larger if larger is not None else {}

    def limit_for(self, path: str) -> int:
        matches = [p for p in self.larger if path.startswith(p)]
        return self.larger[max(matches, key=len)] if matches else self.limit

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.capped(scope, receive, send, self.app, sending, lambda: started)

    async def capped(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp,
                     sending: Send, started: Callable[[], bool]) -> None:
        """Run ``app`` with ``receive`` capped, its answer going out through ``sending``
        (which ``started`` says has begun a response); a 413 goes out through ``send``."""
        limit = self.limit_for(scope.get("path", ""))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, receive, send, limit)
            return
        seen = 0

        async def counting() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            await app(scope, counting, sending)
        except BodyTooLarge:
            if started():
                raise
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        request = Request(scope, receive)
        error = BodyTooLarge(limit)
        response = await anyio.to_thread.run_sync(self.error_page, request, 413,
                                                  str(error.detail))
        # The rest of the body is not read: the client must not reuse this connection.
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            # A length with more digits than any cap is over it; never int() a huge string.
            return int(text) if text.isdigit() and len(text) <= 18 else 2**63
    return None
