"""Feeds link to the configured public address, whatever Host a request claims."""

from __future__ import annotations

from pathlib import Path

from tests.app import make_app
from tests.helpers import paper

PUBLIC = "https://papers.example.org"


def test_feed_links_use_the_base_url_not_the_host_header(tmp_path: Path) -> None:
    with make_app(tmp_path, papers=[paper()], base_url=PUBLIC + "/") as site:
        client = site.client()
        for url in ("/feeds/trending.atom?date=2025-01-02", "/feeds/category/cs.CL.atom",
                    "/feeds/search.atom?q=graphs"):
            answer = client.get(url, headers={"Host": "evil.example"})
            assert answer.status_code == 200, (url, answer.text[:200])
            assert "evil.example" not in answer.text, url
            assert f'href="{PUBLIC}/' in answer.text and f"<id>{PUBLIC}/" in answer.text
            assert answer.headers["cache-control"] == "public, max-age=300"


def test_without_a_base_url_feeds_follow_the_request(tmp_path: Path) -> None:
    with make_app(tmp_path, papers=[paper()]) as site:  # base_url left at its default
        answer = site.client().get("/feeds/category/cs.CL.atom",
                                   headers={"Host": "papers.local:8080"})
    assert 'href="http://papers.local:8080/papers/2501.00001"' in answer.text
