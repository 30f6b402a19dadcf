"""Schemathesis over /api/openapi.json against the in-process app: no input makes a 5xx, and
every answer is one the document describes (status code, content type, body schema).

Requests are sent anonymously and with a moderator's API token, so the write endpoints
(votes, submissions, moderation) are exercised past authentication; submissions reach a
loopback arXiv that knows no paper.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from paperwire import accounts
from tests.app import make_app
from tests.replay_server import ReplayServer, Reply
from tests.shared_data import SHARED_DATA, arxiv_lines, require

# Multi-process, fuzz and cluster tests run in `make test` (CI), not in a bare `pytest`.
pytestmark = pytest.mark.heavy

EMPTY_FEED = (SHARED_DATA / "arxiv" / "fixtures" / "api-atom" / "recorded-json"
              / "id_0000.0000_s0_m100_8b51d9633a68.json")

@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory, module_database_url: str
             ) -> Iterator[tuple[FastAPI, str]]:
    recorded = json.loads(require(EMPTY_FEED).read_text(encoding="utf-8"))
    with ReplayServer() as arxiv:
        arxiv.add(lambda seen: True, Reply(200, recorded["body"], [
            ("Content-Type", "application/atom+xml; charset=UTF-8")]))
        with make_app(tmp_path_factory.mktemp("fuzz"), module_database_url,
                      lines=arxiv_lines(20, start=40_000), index=True,
                      arxiv_api_url=arxiv.url + "/api/query", request_delay=0.0,
                      max_retries=0, http_timeout=5.0,
                      users=[("mod@example.org", "moderator", "Ann")]) as site:
            moderator = site.store.user_by_email("mod@example.org")
            assert moderator is not None
            token = accounts.new_api_token()
            site.store.create_api_token(moderator.id, "fuzz", accounts.token_hash(token))
            yield site.app, token


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
LONG = "9" * 5000
# The classes of input issue 11 found crashing, sent on purpose: overflowing days, integers
# past Python's digit limit, NUL bytes where text is stored or looked up.
EXPLICIT: list[tuple[str, str, dict[str, object]]] = [
    ("GET", "/api/trending", {"query": {"date": "9999-12-31", "period": "week"}}),
    ("GET", "/api/trending", {"query": {"date": "9999-12-31", "period": "month"}}),
    ("GET", "/api/trending", {"query": {"page": LONG}}),
    ("GET", "/api/search", {"query": {"q": "graphs", "page": LONG, "per_page": LONG}}),
    ("GET", "/api/search", {"query": {"q": "graphs", "until": "9999-12-31"}}),
    ("GET", "/api/search", {"query": {"q": "graphs", "author": "%"}}),
    ("GET", "/api/votes", {"query": {"ids": "\x00"}}),
    ("GET", "/api/search", {"query": {"q": "\x00"}}),
    ("POST", "/api/submissions/{submission_id}/hide",
     {"path_parameters": {"submission_id": LONG}, "body": {"reason": "spam"}}),
    ("POST", "/api/papers/{arxiv_id}/hide",
     {"path_parameters": {"arxiv_id": "2501.00001"}, "body": {"reason": "\u0000"}}),
    ("POST", "/api/submissions", {"body": {"arxiv_id": "2501.00001\x00"}}),
]


def test_the_openapi_document_is_valid_and_documents_our_errors(
        fuzz_app: tuple[FastAPI, str]) -> None:
    app, _ = fuzz_app
    document = app.openapi()
    validate(document)  # type: ignore[arg-type]
    assert "HTTPValidationError" not in str(document)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)
            for code in ("400", "401"):
                assert responses[code]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"}, (method, path, code)
            if method in ("post", "put", "delete"):
                assert {"403", "413"} <= set(responses), (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)


def test_a_method_not_allowed_says_which_are(fuzz_app: tuple[FastAPI, str]) -> None:
    app, token = fuzz_app
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        answer = client.put("/api/stats", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 405 and answer.headers["allow"] == "GET"
    assert answer.json()["status"] == 405


@pytest.mark.parametrize(("method", "path", "parts"), EXPLICIT,
                         ids=[f"{m} {p} {sorted(k)}" for m, p, k in EXPLICIT])
def test_explicit_cases_conform(fuzz_app: tuple[FastAPI, str], method: str, path: str,
                                parts: dict[str, object]) -> None:
    app, token = fuzz_app
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    case = schema[path][method].Case(**parts)  # type: ignore[arg-type]
    for headers in ({}, {"Authorization": f"Bearer {token}"}):
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)
        assert response.status_code in (400, 401, 403), (headers, response.text[:300])


def test_no_input_makes_a_server_error(fuzz_app: tuple[FastAPI, str]) -> None:
    app, token = fuzz_app
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=40, deadline=None, database=None,
                             suppress_health_check=list(HealthCheck))
        def conforms(case: schemathesis.Case) -> None:
            for headers in ({}, {"Authorization": f"Bearer {token}"}):
                response = case.call(headers=headers)
                case.validate_response(response, checks=CHECKS, headers=headers)

        conforms()
