"""Request bodies are capped before anything reads them, and a bad token is refused unread."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from paperwire.web import create_app
from paperwire.web.asgi import BodyLimit
from tests.app import make_app, make_settings
from tests.helpers import call_api, paper

LIMIT = 4096


@pytest.fixture()
def site(tmp_path: Path) -> Iterator[TestClient]:
    with make_app(tmp_path, papers=[paper()], max_body_bytes=LIMIT,
                  users=[("ann@example.org", "user", "Ann")]) as built:
        yield built.client(signed_in="ann@example.org", raise_server_exceptions=False)


def test_a_body_over_the_declared_cap_is_a_413_in_the_usual_error_shape(
        site: TestClient) -> None:
    for path in ("/api/submissions", "/api/papers/2501.00001/hide", "/submit"):
        answer = call_api(site, "POST", path, content=b'{"arxiv_id": "' + b"1" * LIMIT + b'"}',
                          headers={"Content-Type": "application/json"})
        assert answer.status_code == 413, (path, answer.text[:200])
        assert "the request body is too large: 4,096 bytes at most" in answer.text
    form = call_api(site, "POST", "/submit", data={"arxiv_id": "x" * LIMIT},
                    headers={"Accept": "text/html"})
    assert form.status_code == 413 and "4,096 bytes at most" in form.text


def _chunked(total: int) -> Iterator[bytes]:
    yield b'{"arxiv_id": "'
    for _ in range(total // 1024):
        yield b"1" * 1024
    yield b'"}'


def test_a_chunked_body_is_counted_as_it_streams(site: TestClient) -> None:
    # A generator body goes out without Content-Length (Transfer-Encoding: chunked).
    big = call_api(site, "POST", "/api/submissions", content=_chunked(LIMIT * 4),
                   headers={"Content-Type": "application/json"})
    assert big.status_code == 413, big.text[:200]
    small = call_api(site, "POST", "/api/submissions", content=_chunked(1024),
                     headers={"Content-Type": "application/json"})
    assert small.status_code != 413


def test_the_streaming_cap_stops_reading_past_the_limit() -> None:
    read: list[int] = []

    async def app(scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def]
        while True:
            message = await receive()
            read.append(len(message.get("body", b"")))
            if not message.get("more_body"):
                break

    chunks = [{"type": "http.request", "body": b"x" * 1000, "more_body": True}] * 100

    calls: list[int] = []

    async def receive() -> dict:  # type: ignore[type-arg]
        calls.append(1)
        return chunks[len(calls) - 1]

    sent: list[dict] = []  # type: ignore[type-arg]

    async def send(message: dict) -> None:  # type: ignore[type-arg]
        sent.append(message)

    def page(request: object, status: int, message: str) -> object:
        from starlette.responses import PlainTextResponse
        return PlainTextResponse(message, status_code=status)

    capped = BodyLimit(app, limit=2500, error_page=page)  # type: ignore[arg-type]
    asyncio.run(capped({"type": "http", "method": "POST", "path": "/x", "headers": []},
                       receive, send))
    # The app got what fitted; the chunk that crossed the cap was the last one read.
    assert sum(read) == 2000 and len(calls) == 3
    assert sent[0]["status"] == 413


def test_a_route_may_allow_a_larger_body(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, max_body_bytes=LIMIT)
    app: FastAPI = create_app(settings)
    app.state.body_limits["/upload"] = LIMIT * 10

    @app.post("/upload")
    async def upload(request: object) -> dict[str, int]:
        return {"size": len(await request.body())}  # type: ignore[attr-defined]

    with TestClient(app, raise_server_exceptions=False) as client:
        headers = {"Authorization": "Bearer x"}  # refused, but only after the cap's check
        assert client.post("/upload", content=b"x" * LIMIT * 11,
                           headers=headers).status_code == 413
        assert client.post("/upload", content=b"x" * LIMIT * 5,
                           headers=headers).status_code == 401
        assert client.post("/api/submissions", content=b"x" * LIMIT * 5,
                           headers=headers).status_code == 413


def test_an_invalid_bearer_token_is_a_401_before_the_body_is_read(tmp_path: Path) -> None:
    read: list[bytes] = []
    with make_app(tmp_path) as built:
        app = built.app

        async def spying(scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def]
            async def tapped() -> dict:  # type: ignore[type-arg]
                message = await receive()
                if message["type"] == "http.request":
                    read.append(message.get("body", b""))
                return message  # type: ignore[no-any-return]

            await app(scope, tapped, send)

        with TestClient(spying, raise_server_exceptions=False) as client:  # type: ignore[arg-type]
            answer = client.post("/api/submissions", json={"arxiv_id": "2501.00001"},
                                 headers={"Authorization": "Bearer not-a-token"})
    assert answer.status_code == 401, answer.text[:200]
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert "API token is not valid" in answer.json()["error"]
    assert read == []


def test_an_unset_base_url_is_warned_about_once(tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="paperwire.web"):
        create_app(make_settings(tmp_path))
        create_app(make_settings(tmp_path, base_url="https://papers.example.org"))
    warned = [r for r in caplog.records if "PAPERWIRE_BASE_URL is not set" in r.message]
    assert len(warned) == 1
