"""The followed-authors feed: a private Atom address, shown once, renewed or revoked at will."""

from __future__ import annotations

import re
from pathlib import Path

import feedparser

from tests.app import make_app
from tests.helpers import paper, post_form, sign_in

USERS = [("ann@example.org", "user", "Ann"), ("bob@example.org", "user", "Bob")]
PAPERS = [paper("2501.00001", title="Engines", authors=("Charles Babbage",)),
          paper("2501.00002", title="Notes", authors=("Ada Lovelace",)),
          paper("2501.00003", title="Difference engines", authors=("Charles Babbage", "X Y"))]


def _new_feed(client: object) -> str:
    answer = post_form(client, "/following/feed", {"action": "new"})  # type: ignore[arg-type]
    assert answer.status_code == 200, answer.text
    [url] = re.findall(r'class="feed-url">([^<]+)<', answer.text)
    return url.removeprefix("http://testserver")


def test_the_feed_carries_followed_authors_papers_until_revoked(tmp_path: Path,
                                                                 database_url: str) -> None:
    with make_app(tmp_path, database_url, papers=PAPERS, users=USERS) as built:
        ann = sign_in(built.client(), "ann@example.org")
        post_form(ann, "/authors/charles-babbage/follow", {"on": "1"})
        url = _new_feed(ann)
        # A feed reader has no session: the address alone opens it.
        reader = built.client()
        answer = reader.get(url)
        assert answer.status_code == 200 and "private" in answer.headers["cache-control"]
        feed = feedparser.parse(answer.content)
        assert not feed.bozo, feed.bozo_exception
        assert {e.title for e in feed.entries} == {"Engines", "Difference engines"}
        assert reader.get(url.removesuffix(".atom") + ".json").json()["papers"]
        # The page says a feed exists but never shows its address again.
        page = ann.get("/following").text
        assert "Make a new feed address" in page and url.split("/")[-1] not in page
        # Renewing ends the old address; revoking ends the new one.
        renewed = _new_feed(ann)
        assert renewed != url and reader.get(url).status_code == 404
        assert reader.get(renewed).status_code == 200
        post_form(ann, "/following/feed", {"action": "revoke"})
        assert reader.get(renewed).status_code == 404
        assert ann.get("/following.json").json()["has_feed"] is False


def test_making_a_feed_needs_the_signed_in_reader_and_csrf(tmp_path: Path,
                                                         database_url: str) -> None:
    with make_app(tmp_path, database_url, papers=PAPERS, users=USERS) as built:
        anon = built.client()
        assert anon.post("/following/feed", data={"action": "new"}).status_code in (401, 403)
        bob = sign_in(built.client(), "bob@example.org")
        assert bob.post("/following/feed", data={"action": "new"}).status_code == 403
        assert post_form(bob, "/following/feed", {"action": "bogus"}).status_code == 400
        assert anon.get("/feeds/following/" + "x" * 43 + ".atom").status_code == 404
        assert anon.get("/feeds/following/" + "x" * 101 + ".atom").status_code == 400
