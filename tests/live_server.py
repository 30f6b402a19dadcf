"""A real uvicorn server on 127.0.0.1 in a background thread, for tests that need a socket."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def serve(app: ASGIApp, startup_timeout: float = 10.0, *, lifespan: bool = False
          ) -> Iterator[str]:
    """Serve ``app`` on a free loopback port; yields the origin, e.g. ``http://127.0.0.1:5123``.

    The server stops (and the thread is joined) when the block ends, even after a failure.
    ``lifespan`` runs the app's ASGI lifespan, for apps that start work there (the MCP
    endpoint's session manager, the mail and index runners).
    """
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning",
                                           lifespan="on" if lifespan else "off"))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(5)
            raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
