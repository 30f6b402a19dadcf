"""The community flow end to end on SQLite and on a real PostgreSQL, through two app
instances sharing one database, as two web processes of a deployment would: sign-up and
verification, a vote seen by the other process at once, trending, and moderation."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from paperwire.models import Paper
from tests.app import make_app
from tests.helpers import PASSWORD, csrf_in, follow_mailed_link, mailed_link, paper
from tests.helpers import post_form as post

TODAY = datetime.now(UTC).date()


def topical(arxiv_id: str) -> Paper:
    return paper(arxiv_id, title=f"Paper {arxiv_id} on graph learning",
                 abstract="We study graph learning.", categories=("cs.LG",), listed_on=TODAY)


@pytest.mark.heavy
def test_two_web_processes_share_votes_trending_and_moderation(database_url: str,
                                                               tmp_path: Path) -> None:
    # Both "processes" sign with one configured key, as a multi-machine site must.
    papers = [topical("2511.00001"), topical("2511.00002")]
    with make_app(tmp_path, database_url, papers=papers, secret_key="s" * 40) as first, \
            make_app(tmp_path, database_url, secret_key="s" * 40) as second:
        one, two = first.store, second.store
        with first.client() as a, second.client() as b:
            # Sign up on one process, follow the mailed link on the other.
            answer = post(a, "/signup", {"email": "ann@example.org", "password": PASSWORD,
                                         "display_name": "Ann"})
            assert answer.status_code == 200
            assert "Address confirmed" in follow_mailed_link(b, mailed_link(
                two, "ann@example.org", "verify", "/verify"), password=PASSWORD).text
            signed_in = post(b, "/signin", {"email": "ann@example.org", "password": PASSWORD})
            assert signed_in.status_code == 200
            # Vote through process b; process a's cached trending list follows at once.
            assert a.get("/trending.json").json()["papers"][0]["arxiv_id"] == "2511.00002"
            before = a.get("/papers/2511.00001.json").json()["community"]
            assert (before["votes"], before["voted"]) == (0, False)
            page = b.get("/papers/2511.00001")
            assert page.status_code == 200
            voted = b.put("/api/papers/2511.00001/vote",
                          headers={"X-CSRF-Token": csrf_in(page.text)})
            assert voted.status_code == 200 and voted.json()["votes"] == 1
            top = a.get("/trending.json").json()["papers"][0]
            assert (top["arxiv_id"], top["votes"]) == ("2511.00001", 1)
            assert "1 vote" in top["explanation"]
            # Process a's cached paper page follows too, and Ann's own vote shows on b.
            assert a.get("/papers/2511.00001.json").json()["community"]["votes"] == 1
            assert b.get("/papers/2511.00001.json").json()["community"]["voted"] is True
            # A moderator hides it on process a (from the shell); b stops showing it.
            one.hide_paper("2511.00001", "duplicate", None, "cli")
            assert b.get("/papers/2511.00001").status_code == 404
            assert [p["arxiv_id"] for p in b.get("/trending.json").json()["papers"]] == [
                "2511.00002"]
            one.unhide_paper("2511.00001", None, "cli")
            assert b.get("/papers/2511.00001").status_code == 200
