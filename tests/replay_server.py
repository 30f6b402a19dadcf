"""A real HTTP server on 127.0.0.1 that replays recorded responses and scripted faults.

Tests configure routes (a path and query, or a predicate) with a sequence of replies: the
recorded arXiv answers, "503 with Retry-After, then 200", a connection dropped half-way
through the body, a reply that comes too late. Every request is recorded, so tests can check
what the client sent (the resumption token, the id_list) and when it sent it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

# Hop-by-hop and framing headers from a recording describe the original connection, not ours.
_DROP_HEADERS = {"transfer-encoding", "content-length", "connection", "keep-alive"}

DROP_MID_BODY = "drop-mid-body"  # send headers and half the body, then close the connection
CLOSE_WITHOUT_REPLY = "close-without-reply"  # close the connection without a status line


@dataclass(frozen=True)
class Reply:
    """One scripted response."""

    status: int = 200
    body: bytes | str = b""
    headers: Sequence[tuple[str, str]] = ()
    fault: str | None = None  # DROP_MID_BODY or CLOSE_WITHOUT_REPLY
    delay: float = 0.0  # seconds to wait before answering (to provoke client timeouts)

    @property
    def data(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


@dataclass(frozen=True)
class Seen:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    at: float  # time.monotonic() on arrival

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


Responder = Reply | Callable[[Seen], Reply]
Matcher = Callable[[Seen], bool]


@dataclass
class _Route:
    matches: Matcher
    replies: list[Responder]
    served: int = 0

    def next_reply(self, seen: Seen) -> Reply:
        # Replies are served in order; the last one keeps being served after that.
        responder = self.replies[min(self.served, len(self.replies) - 1)]
        self.served += 1
        return responder(seen) if callable(responder) else responder


def match_url(path_and_query: str) -> Matcher:
    """Match a request with this path and the same query arguments, in any order."""
    parts = urlsplit(path_and_query)
    wanted = sorted(parse_qsl(parts.query, keep_blank_values=True))

    def matches(seen: Seen) -> bool:
        got = sorted((k, v) for k, values in seen.query.items() for v in values)
        return seen.path == parts.path and got == wanted

    return matches


@dataclass
class ReplayServer:
    """Start with ``with ReplayServer() as server:`` or through the ``replay`` fixture."""

    routes: list[_Route] = field(default_factory=list)
    requests: list[Seen] = field(default_factory=list)
    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def add(self, match: str | Matcher, *replies: Responder) -> None:
        """Serve ``replies`` in turn to requests matching a "/path?query" or a predicate."""
        if not replies:
            raise ValueError("a route needs at least one reply")
        matcher = match_url(match) if isinstance(match, str) else match
        self.routes.append(_Route(matcher, list(replies)))

    def add_recorded(self, exchanges: list[dict[str, Any]]) -> None:
        """Replay recorded exchanges ({path, status, response, rawHeaders}); the same request
        recorded twice (503, then 200) is answered in the recorded order."""
        by_path: dict[str, list[Responder]] = {}
        for exchange in exchanges:
            by_path.setdefault(exchange["path"], []).append(recorded_reply(exchange))
        for path, replies in by_path.items():
            self.add(path, *replies)

    def __enter__(self) -> ReplayServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        handler = type("Handler", (_Handler,), {"replay": self})
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _answer(self, seen: Seen) -> Reply:
        with self._lock:
            self.requests.append(seen)
            for route in self.routes:
                if route.matches(seen):
                    return route.next_reply(seen)
        return Reply(404, f"no recorded response for {seen.path}?{seen.query}",
                     [("Content-Type", "text/plain")])


def recorded_reply(exchange: dict[str, Any]) -> Reply:
    raw = exchange.get("rawHeaders") or []
    pairs = [(raw[i], raw[i + 1]) for i in range(0, len(raw) - 1, 2)]
    headers = [(k, v) for k, v in pairs if k.lower() not in _DROP_HEADERS]
    return Reply(exchange["status"], exchange.get("response") or "", headers)


def load_exchanges(path: Path) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return data


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up on a fault we scripted is expected, not worth a traceback


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx's connection pool expects
    replay: ReplayServer

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query: dict[str, list[str]] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            query.setdefault(key, []).append(value)
        seen = Seen(self.command, parts.path, query, dict(self.headers.items()),
                    time.monotonic())
        reply = self.replay._answer(seen)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.fault == CLOSE_WITHOUT_REPLY:
            self._hang_up()
            return
        data = reply.data
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if reply.fault == DROP_MID_BODY:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self._hang_up()
            return
        self.wfile.write(data)

    def _hang_up(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):  # the client may have hung up already
            self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean; tests read ReplayServer.requests instead


class RecordingSleep:
    """A stand-in for time.sleep that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture(name="replay")
def replay_fixture() -> Iterator[ReplayServer]:
    """A started ReplayServer, stopped after the test."""
    with ReplayServer() as server:
        yield server


def split(items: list[Any]) -> tuple[list[Any], list[Any], list[Any]]:
    """A source's items sorted into (papers, rejections, checkpoints)."""
    from paperwire.models import Checkpoint, Paper, Rejection

    return ([i for i in items if isinstance(i, Paper)],
            [i for i in items if isinstance(i, Rejection)],
            [i for i in items if isinstance(i, Checkpoint)])
