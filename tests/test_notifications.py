"""Comment notices by mail, against a real SMTP server on loopback: who hears of what (by
choice), batching (one mail per reader per interval, holding all since the last), nothing
of hidden comments or papers, never twice (a sender that dies after its claim), one-click
unsubscribe per kind, and the author badge."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from paperwire import discussion, library, notifications
from paperwire.background import run_jobs
from paperwire.mail_queue import STALE_AFTER, deliver_due
from paperwire.models import User
from paperwire.settings import Settings
from paperwire.store import Store
from paperwire.store import notices as notices_sql
from paperwire.store.database import utcnow
from tests.app import make_app, make_settings
from tests.helpers import make_user, paper, post_form, sign_in
from tests.smtp_server import SmtpServer, running_smtp_server

ID = "2501.00001"
DELAY = timedelta(seconds=301)  # past the default notice_delay_seconds (300)
HOUR = timedelta(hours=1, seconds=1)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


def _settings(home: Path, database_url: str = "", smtp: SmtpServer | None = None) -> Settings:
    return make_settings(home, database_url, smtp_url=smtp.url if smtp else "",
                         secret_key="s" * 40)


@pytest.fixture
def site(tmp_path: Path, database_url: str, smtp: SmtpServer
         ) -> Iterator[tuple[Store, Settings]]:
    settings = _settings(tmp_path, database_url, smtp)
    with Store.open(settings) as store:
        store.write_batch([paper(ID), paper("2501.00002")])
        yield store, settings


def _people(store: Store) -> tuple[User, User, User]:
    return (make_user(store, "ann@example.org", name="ann"),
            make_user(store, "bob@example.org", name="bob"),
            make_user(store, "cat@example.org", name="cat"))


def _pass(store: Store, settings: Settings, at: datetime) -> notifications.NoticeReport:
    """A notice pass at ``at``, then a delivery pass."""
    report = notifications.send_notices(settings, store, at)
    deliver_due(settings, store)
    return report


def test_a_reply_is_one_mail_and_two_in_the_window_are_one_with_both(
        site: tuple[Store, Settings], smtp: SmtpServer) -> None:
    store, settings = site
    ann, bob, cat = _people(store)
    top = discussion.post(store, settings, ann, ID, "What is $x$?").comment
    discussion.post(store, settings, bob, ID, "First answer", parent_id=top["id"])
    t0 = utcnow()
    assert _pass(store, settings, t0).mailed == 0  # waits: more may come
    discussion.post(store, settings, cat, ID, "Second answer", parent_id=top["id"])
    assert _pass(store, settings, t0 + DELAY).mailed == 1
    [mail] = smtp.sink.to("ann@example.org")
    text = mail.message.get_body(("plain",)).get_content()
    assert "First answer" in text and "Second answer" in text
    assert "bob replied to you" in text and "2 new comments" in mail.message["Subject"]
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Within the hour nothing more goes, however often the pass runs; then one mail with
    # everything since.
    assert _pass(store, settings, t0 + DELAY * 2).mailed == 0
    discussion.post(store, settings, bob, ID, "Third", parent_id=top["id"])
    discussion.post(store, settings, cat, ID, "Fourth", parent_id=top["id"])
    assert _pass(store, settings, t0 + DELAY * 3).mailed == 0
    assert len(smtp.sink.to("ann@example.org")) == 1
    assert _pass(store, settings, t0 + DELAY + HOUR).mailed == 1
    later = smtp.sink.to("ann@example.org")[1].message.get_body(("plain",)).get_content()
    assert "Third" in later and "Fourth" in later and "First answer" not in later
    assert len(smtp.sink.messages) == 2  # bob and cat hear nothing of their own replies
    assert store.notice_counts(ann.id) == {"sent": 4}


def test_a_sender_that_dies_after_its_claim_sends_nothing_twice(
        site: tuple[Store, Settings], smtp: SmtpServer) -> None:
    store, settings = site
    ann, bob, _ = _people(store)
    top = discussion.post(store, settings, ann, ID, "Question").comment
    discussion.post(store, settings, bob, ID, "Answer", parent_id=top["id"])
    at = utcnow() + DELAY
    assert notifications.send_notices(settings, store, at).mailed == 1
    [held] = store.claim_mail(STALE_AFTER, 20)  # a sender claims it, and dies
    assert held.kind == "notice"
    assert deliver_due(settings, store) == 0 and smtp.sink.messages == []
    # The rerun: the notices are settled, so no second mail is composed; the dead
    # sender's claim is taken over once it is stale, and sent once.
    assert notifications.send_notices(settings, store, at + HOUR * 3).mailed == 0
    assert deliver_due(settings, store, stale_after=timedelta(0)) == 1
    assert deliver_due(settings, store, stale_after=timedelta(0)) == 0
    assert notifications.send_notices(settings, store, at + HOUR * 6).mailed == 0
    assert len(smtp.sink.to("ann@example.org")) == 1 and len(smtp.sink.messages) == 1


def test_a_post_only_queues_its_notices_and_a_crashed_fan_out_writes_them_once(
        site: tuple[Store, Settings], smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
        ) -> None:
    store, settings = site
    ann, bob, cat = _people(store)
    top = discussion.post(store, settings, ann, ID, "Question").comment
    discussion.post(store, settings, bob, ID, "Answer", parent_id=top["id"])
    discussion.post(store, settings, cat, ID, "Another answer", parent_id=top["id"])
    assert store.notice_counts(ann.id) == {}  # written off the posting transaction
    assert run_jobs(settings, store) == 0  # the job runner leaves them to the notice pass
    real, written = notices_sql.record, []

    def dies_on_the_second(conn: Any, comment_id: int, *args: Any, **kwargs: Any) -> int:
        if written:  # the first comment's notices are written, in the transaction
            raise RuntimeError("the process died")
        written.append(comment_id)
        return real(conn, comment_id, *args, **kwargs)

    monkeypatch.setattr(notices_sql, "record", dies_on_the_second)
    with pytest.raises(RuntimeError):
        store.fan_out_notices()
    monkeypatch.setattr(notices_sql, "record", real)
    assert store.notice_counts(ann.id) == {}  # nothing half-written: all still queued
    assert store.fan_out_notices() == 3 and store.fan_out_notices() == 0
    assert store.notice_counts(ann.id) == {"pending": 2}
    at = utcnow() + DELAY
    assert _pass(store, settings, at).mailed == 1
    assert _pass(store, settings, at + HOUR * 3).mailed == 0
    [mail] = smtp.sink.to("ann@example.org")
    text = mail.message.get_body(("plain",)).get_content()
    assert "Answer" in text and "Another answer" in text and len(smtp.sink.messages) == 1


def test_two_senders_racing_for_one_readers_notices(site: tuple[Store, Settings]) -> None:
    store, settings = site
    ann, bob, _ = _people(store)
    top = discussion.post(store, settings, ann, ID, "Question").comment
    discussion.post(store, settings, bob, ID, "Answer", parent_id=top["id"])
    store.fan_out_notices()  # what a notice pass does first
    at = utcnow() + DELAY
    _, prefs, rows = store.pending_notices(ann.id, at)
    told, settled, dropped = notifications.sort_out(prefs, rows)
    mail = notifications.message(settings, ann.id, ann.email, told, min(settled))
    quiet = at - HOUR
    assert store.take_notices(ann.id, settled, dropped, mail, at, quiet) is not None
    assert store.take_notices(ann.id, settled, dropped, mail, at, quiet) is None
    assert len(store.outbox(kind="notice")) == 1


def test_hidden_deleted_and_held_comments(site: tuple[Store, Settings],
                                          smtp: SmtpServer) -> None:
    store, settings = site
    ann, bob, cat = _people(store)
    mod = make_user(store, "mod@example.org", name="mod", role="moderator")
    top = discussion.post(store, settings, ann, ID, "Question").comment
    hidden = discussion.post(store, settings, bob, ID, "Rude", parent_id=top["id"]).comment
    discussion.moderate(store, mod, hidden["id"], "hide", "rude")
    gone = discussion.post(store, settings, bob, ID, "Oops", parent_id=top["id"]).comment
    discussion.delete(store, bob, gone["id"])
    on_other = discussion.post(store, settings, ann, "2501.00002", "Other").comment
    discussion.post(store, settings, bob, "2501.00002", "Reply there", parent_id=on_other["id"])
    store.hide_paper("2501.00002", "withdrawn", mod.id, "mod")
    at = utcnow() + DELAY
    report = _pass(store, settings, at)
    assert report.mailed == 0 and report.dropped == 3 and smtp.sink.messages == []
    # A comment waiting for approval: its notice waits too, and goes once approved.
    held_settings = settings.replace(comments_first_approved=5)
    waiting = discussion.post(store, held_settings, cat, ID, "New here",
                              parent_id=top["id"])
    assert waiting.held
    assert _pass(store, settings, at + HOUR).mailed == 0
    discussion.moderate(store, mod, waiting.comment["id"], "approve")
    assert _pass(store, settings, at + HOUR * 2).mailed == 1
    [mail] = smtp.sink.to("ann@example.org")
    assert "New here" in mail.message.get_body(("plain",)).get_content()


def test_a_reader_who_saved_the_paper_hears_of_new_comments_on_it(
        site: tuple[Store, Settings], smtp: SmtpServer) -> None:
    store, settings = site
    ann, _, _ = _people(store)
    eve = make_user(store, "eve@example.org", name="eve")
    library.save(store, eve, ID)
    assert store.readers_who_saved(ID) == [eve.id]
    discussion.post(store, settings, ann, ID, "Before eve chose")  # "saved" is off at first
    notifications.set_choices(store, eve.id, {"saved": True})
    discussion.post(store, settings, ann, ID, "On a paper eve saved")
    _pass(store, settings, utcnow() + DELAY)
    [mail] = smtp.sink.to("eve@example.org")
    text = mail.message.get_body(("plain",)).get_content()
    assert "On a paper eve saved" in text and "Before eve chose" not in text


def test_who_hears_of_what_by_choice(site: tuple[Store, Settings], smtp: SmtpServer) -> None:
    store, settings = site
    ann, bob, cat = _people(store)
    dan = make_user(store, "dan@example.org", name="dan")
    store.set_vote(dan.id, ID, True)
    author = store.author("a-author")
    assert author is not None
    claim = store.claim_author(author["id"], cat.id)
    store.decide_claim(claim["id"], "confirmed", None)
    assert store.notice_prefs(dan.id) == {"reply": True, "mention": True, "authored": False,
                                          "saved": False, "voted": False}
    discussion.post(store, settings, ann, ID, "Before they chose")
    notifications.set_choices(store, dan.id, {"voted": True})
    notifications.set_choices(store, cat.id, {"authored": True})
    notifications.set_choices(store, bob.id, {"mention": False})
    discussion.post(store, settings, ann, ID, "Hello @bob and @dan")
    assert store.readers_who_saved(ID) == []  # nobody keeps the paper in a library
    assert _pass(store, settings, utcnow() + DELAY).mailed == 2
    assert smtp.sink.to("bob@example.org") == []  # turned mentions off
    [to_dan] = smtp.sink.to("dan@example.org")
    dan_text = to_dan.message.get_body(("plain",)).get_content()
    # Mentioned and a voter: one line, named by the more personal reason.
    assert "ann mentioned you" in dan_text and "Before they chose" not in dan_text
    [to_cat] = smtp.sink.to("cat@example.org")
    assert "commented on your paper" in to_cat.message.get_body(("plain",)).get_content()
    with pytest.raises(ValueError, match="no kind of notice"):
        notifications.set_choices(store, dan.id, {"everything": True})


def test_one_click_unsubscribe_and_the_account_form(tmp_path: Path, smtp: SmtpServer
                                                   ) -> None:
    users = [("ann@example.org", "user", "ann"), ("bob@example.org", "user", "bob")]
    with make_app(tmp_path, papers=[paper(ID)], users=users, smtp_url=smtp.url,
                  secret_key="s" * 40) as built:
        store, settings = built.store, built.settings
        ann = store.user_by_email("ann@example.org")
        bob = store.user_by_email("bob@example.org")
        assert ann is not None and bob is not None
        top = discussion.post(store, settings, ann, ID, "Question").comment
        discussion.post(store, settings, bob, ID, "Answer", parent_id=top["id"])
        _pass(store, settings, utcnow() + DELAY)
        [mail] = smtp.sink.to("ann@example.org")
        link = str(mail.message["List-Unsubscribe"]).strip("<>")
        path = link.removeprefix(settings.base_url)
        browser = built.client()
        page = browser.get(path)
        assert page.status_code == 200 and "replies to your comments" in page.text
        # A mail client's one-click POST: no session, no CSRF token.
        assert browser.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
        assert store.notice_prefs(ann.id)["reply"] is False
        assert browser.get(path[:-3] + "xyz").status_code == 400  # altered
        signed = sign_in(built.client(), "ann@example.org")
        account = signed.get("/account.json").json()
        assert {n["kind"]: n["enabled"] for n in account["notifications"]}["reply"] is False
        post_form(signed, "/account/notifications", {"notify_reply": "on",
                                                     "notify_voted": "on"})
        assert store.notice_prefs(ann.id) == {"reply": True, "mention": False,
                                              "authored": False, "saved": False,
                                              "voted": True}


def test_author_badge_on_page_json_and_feed(tmp_path: Path) -> None:
    users = [("cat@example.org", "user", "cat"), ("ann@example.org", "user", "ann")]
    with make_app(tmp_path, papers=[paper(ID)], users=users) as built:
        store, settings = built.store, built.settings
        cat = store.user_by_email("cat@example.org")
        ann = store.user_by_email("ann@example.org")
        assert cat is not None and ann is not None
        discussion.post(store, settings, cat, ID, "We wrote this")
        discussion.post(store, settings, ann, ID, "I read it")
        client = built.client()
        assert "author-badge" not in client.get(f"/papers/{ID}").text
        author = store.author("a-author")
        assert author is not None
        claim = store.claim_author(author["id"], cat.id)
        store.decide_claim(claim["id"], "confirmed", None)
        page = client.get(f"/papers/{ID}").text  # the cached thread followed the claim
        assert page.count("author-badge") == 1
        listed = client.get(f"/api/papers/{ID}/comments").json()["comments"]
        assert {c["author"]: c["paper_author"] for c in listed} == {"cat": True, "ann": False}
        feed = client.get(f"/papers/{ID}/discussion.atom").text
        assert "cat (author)" in feed and "ann (author)" not in feed
