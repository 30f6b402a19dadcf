"""The plain-ASGI middleware pattern that the app's middlewares share.

Not Starlette's ``BaseHTTPMiddleware``: it wraps each response in extra tasks and streams, a
tenth of a cached page's time.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import MutableHeaders
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
