"""Followed authors in the digest: their new papers in a section of their own, each told once."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from paperwire import authors
from paperwire.digest import Composer, send_digests
from paperwire.mail import OutboxMailer
from tests.app import make_app
from tests.helpers import paper

USERS = [("ann@example.org", "user", "Ann")]
PAPERS = [paper("2503.00001", title="Engines of 13 March", authors=("Charles Babbage",),
                listed_on=date(2025, 3, 13)),
          paper("2503.00002", title="Engines of 14 March", authors=("Charles Babbage", "X Y"),
                listed_on=date(2025, 3, 14)),
          paper("2503.00003", title="Notes of 14 March", authors=("Ada Lovelace",),
                listed_on=date(2025, 3, 14))]


def _followed(digest: object) -> list[str]:
    sections = [s for s in digest.sections  # type: ignore[attr-defined]
                if s.title == "New from authors you follow"]
    return [p.arxiv_id for s in sections for p in s.papers]


def test_a_followed_authors_new_paper_reaches_the_digest_once(tmp_path: Path,
                                                              database_url: str) -> None:
    with make_app(tmp_path, database_url, papers=PAPERS, users=USERS) as built:
        store, settings = built.store, built.settings
        ann = store.user_by_email("ann@example.org")
        assert ann is not None
        authors.follow(store, ann, slug="charles-babbage")
        store.upsert_subscription(ann.email, status="active", trending=False, user_id=ann.id)

        def compose(day: date) -> object:
            [sub] = store.subscriptions(status="active")
            return Composer(settings, store).compose(sub, "daily", day)

        assert _followed(compose(date(2025, 3, 13))) == ["2503.00001"]
        report = send_digests(settings, store, "daily", date(2025, 3, 13),
                              mailer=OutboxMailer(store))
        assert report.sent == 1
        # The next day's digest tells the next paper only (and never Ada's: not followed).
        assert _followed(compose(date(2025, 3, 14))) == ["2503.00002"]
        send_digests(settings, store, "daily", date(2025, 3, 14), mailer=OutboxMailer(store))
        assert _followed(compose(date(2025, 3, 15))) == []
