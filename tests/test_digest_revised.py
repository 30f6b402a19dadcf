"""A new version of a paper a reader saved or upvoted becomes a digest line ("updated to v3"),
told once, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from paperwire import library
from paperwire.digest import Composer, send_digests
from paperwire.digest_render import render_text
from paperwire.mail import OutboxMailer
from tests.app import make_app
from tests.helpers import paper

TITLE = "New versions of papers you saved or upvoted"
USERS = [("ann@example.org", "user", "Ann")]
MARCH_14 = datetime(2025, 3, 14, 18)
PAPERS = [
    paper("2503.00001", title="Saved, now v3", version=3, updated=MARCH_14),
    paper("2503.00002", title="Upvoted, now v2", version=2, updated=MARCH_14),
    paper("2503.00003", title="Neither saved nor upvoted", version=4, updated=MARCH_14),
    paper("2503.00004", title="Upvoted, still v1", version=1, updated=MARCH_14),
    paper("2503.00005", title="Saved, revised long ago", version=2,
          updated=datetime(2024, 1, 5)),
]


def _revised(digest: object) -> list[str]:
    sections = [s for s in digest.sections if s.title == TITLE]  # type: ignore[attr-defined]
    return [p.arxiv_id for s in sections for p in s.papers]


def test_a_new_version_of_a_saved_or_upvoted_paper_is_a_digest_line_once(
        tmp_path: Path, database_url: str) -> None:
    with make_app(tmp_path, database_url, papers=PAPERS, users=USERS) as built:
        store, settings = built.store, built.settings
        ann = store.user_by_email("ann@example.org")
        assert ann is not None
        library.save(store, ann, "2503.00001")
        library.save(store, ann, "2503.00005")
        store.set_vote(ann.id, "2503.00002", True)
        store.set_vote(ann.id, "2503.00004", True)
        store.upsert_subscription(ann.email, status="active", trending=False, user_id=ann.id)

        def compose(day: date) -> object:
            [sub] = store.subscriptions(status="active")
            return Composer(settings, store).compose(sub, "daily", day)

        digest = compose(date(2025, 3, 14))
        assert _revised(digest) == ["2503.00002", "2503.00001"]  # newest first, id breaks
        text = render_text(digest, "http://x", "http://x/u")  # type: ignore[arg-type]
        assert "   2503.00001 · cs.CL · 2025-01-02 · updated to v3\n" in text
        assert "   2503.00002 · cs.CL · 2025-01-02 · updated to v2\n" in text
        report = send_digests(settings, store, "daily", date(2025, 3, 14),
                              mailer=OutboxMailer(store))
        assert report.sent == 1
        # The next digest covers the days after this one: the versions are not told again.
        assert _revised(compose(date(2025, 3, 15))) == []
