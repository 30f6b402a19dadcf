"""A real uvicorn server on 127.0.0.1 with the app's ASGI lifespan on (live_server.py has it
off), for apps that start work in their lifespan, such as the MCP endpoint."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

from tests.live_server import free_port


@contextlib.contextmanager
def serve_with_lifespan(app: ASGIApp, startup_timeout: float = 10.0) -> Iterator[str]:
    """Serve ``app`` on a free loopback port; yields the origin (``http://127.0.0.1:PORT``)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
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
