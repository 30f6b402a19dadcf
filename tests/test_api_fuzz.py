"""Schemathesis over /api/openapi.json against the in-process app: no input makes a 5xx.

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

from paperwire import accounts
from tests.app import make_app
from tests.replay_server import ReplayServer, Reply
from tests.shared_data import SHARED_DATA, arxiv_lines, require

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


def test_no_input_makes_a_server_error(fuzz_app: tuple[FastAPI, str],
                                       module_database_url: str) -> None:
    app, token = fuzz_app
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    if module_database_url.startswith("postgresql"):
        # Known: a NUL byte in stored or looked-up text (ids, a hide reason) reaches
        # PostgreSQL, which refuses it with a 500; SQLite keeps it. test_web.py pins the case
        # with a strict xfail. Until it is fixed, the PostgreSQL run sends no NUL bytes.
        schema.config.generation.update(allow_x00=False)
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=40, deadline=None, database=None,
                             suppress_health_check=list(HealthCheck))
        def never_5xx(case: schemathesis.Case) -> None:
            for headers in ({}, {"Authorization": f"Bearer {token}"}):
                response = case.call(headers=headers)
                assert response.status_code < 500, (case.method, case.formatted_path,
                                                    response.status_code,
                                                    response.text[:300])

        never_5xx()
