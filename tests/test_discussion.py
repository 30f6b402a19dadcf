"""The discussion's rules on SQLite and PostgreSQL: post, reply, edit, delete, vote, report,
hide, lock; held first comments, repeated text, and the view version following comments."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from paperwire import discussion
from paperwire.discussion import DiscussionError
from paperwire.settings import Settings
from paperwire.store import Store
from paperwire.store.comment_schema import comments
from paperwire.store.database import utcnow
from paperwire.throttle import Throttled
from tests.helpers import make_user, paper

ID = "2501.00001"


@pytest.fixture
def settings(tmp_path: object) -> Settings:
    return Settings(home=tmp_path, embedder="none", progress=False)  # type: ignore[arg-type]


@pytest.fixture
def ready(store: Store) -> Store:
    store.write_batch([paper(ID), paper("2501.00002")])
    return store


def _thread(store: Store, order: str = "newest") -> list[dict[str, object]]:
    shown, _ = discussion.thread(store.discussion_view(ID), order)
    return shown


def test_post_reply_edit_delete_vote(ready: Store, settings: Settings) -> None:
    ann = make_user(ready, "ann@example.org", name="ann")
    bob = make_user(ready, "bob@example.org", name="bob")
    before = ready.view_version()
    first = discussion.post(ready, settings, ann, ID, "Nice: $x^2$ @bob").comment
    assert ready.view_version() != before  # every page cached on it shows the comment
    assert "<math" in first["html"] and 'class="mention"' in first["html"]
    reply = discussion.post(ready, settings, bob, ID, "Thanks", parent_id=first["id"]).comment
    # A reply to a reply joins its thread: one level deep.
    nested = discussion.post(ready, settings, ann, ID, "Sure", parent_id=reply["id"]).comment
    assert nested["parent_id"] == first["id"]
    [top] = _thread(ready)
    assert [r["id"] for r in top["replies"]] == [reply["id"], nested["id"]]  # type: ignore[index]
    edited = discussion.edit(ready, settings, ann, first["id"], "Nice: $y$")
    assert edited["edited_at"] and "<mi>y</mi>" in edited["html"]
    with pytest.raises(DiscussionError) as refused:
        discussion.edit(ready, settings, bob, first["id"], "mine now")
    assert refused.value.status == 403
    assert discussion.vote(ready, bob, first["id"], True)["votes"] == 1
    assert discussion.vote(ready, bob, first["id"], True)["votes"] == 1  # idempotent
    discussion.delete(ready, ann, first["id"])
    [top] = _thread(ready)
    assert top["html"] == "[deleted]" and top["author"] is None and len(top["replies"]) == 2  # type: ignore[arg-type]
    discussion.delete(ready, bob, reply["id"])
    discussion.delete(ready, ann, nested["id"])
    assert _thread(ready) == []  # a deleted comment without replies leaves no trace


def test_edit_window_closes(ready: Store, settings: Settings) -> None:
    ann = make_user(ready)
    posted = discussion.post(ready, settings, ann, ID, "first words").comment
    with ready.engine.begin() as conn:
        stamp = conn.execute(select(comments.c.created_at)).scalar_one()
        conn.execute(update(comments).values(created_at=stamp - timedelta(minutes=16)))
    with pytest.raises(DiscussionError, match="15 minutes"):
        discussion.edit(ready, settings, ann, posted["id"], "later words")


def test_only_verified_accounts_comment(ready: Store, settings: Settings) -> None:
    unconfirmed = make_user(ready, verified=False)
    with pytest.raises(DiscussionError) as refused:
        discussion.post(ready, settings, unconfirmed, ID, "hello")
    assert refused.value.status == 403
    with pytest.raises(DiscussionError):
        discussion.post(ready, settings, None, ID, "hello")


def test_order_top(ready: Store, settings: Settings) -> None:
    ann, bob = make_user(ready), make_user(ready, "bob@example.org", name="bob")
    low = discussion.post(ready, settings, ann, ID, "one").comment
    discussion.post(ready, settings, ann, ID, "two")
    discussion.vote(ready, bob, low["id"], True)
    assert [c["body"] for c in _thread(ready, "top")] == ["one", "two"]
    assert [c["body"] for c in _thread(ready, "newest")] == ["two", "one"]


def test_report_hide_restore_and_lock(ready: Store, settings: Settings) -> None:
    ann, bob = make_user(ready), make_user(ready, "bob@example.org", name="bob")
    mod = make_user(ready, "mod@example.org", role="moderator", name="Mo")
    posted = discussion.post(ready, settings, ann, ID, "rude words").comment
    assert discussion.report(ready, bob, posted["id"], "rude")
    assert not discussion.report(ready, bob, posted["id"], "again")
    [queued] = ready.comment_queue()
    assert queued["reports"] == ["rude"]
    with pytest.raises(DiscussionError):
        discussion.moderate(ready, bob, posted["id"], "hide", "no")
    discussion.moderate(ready, mod, posted["id"], "hide", "abuse")
    assert _thread(ready) == [] and ready.comment_counts([ID]) == {}
    assert ready.comment_queue() == []
    assert ready.moderation_log(1)[0]["action"] == "hide-comment"
    with pytest.raises(DiscussionError):  # nobody votes on what they cannot see
        discussion.vote(ready, bob, posted["id"], True)
    discussion.moderate(ready, mod, posted["id"], "restore")
    assert ready.comment_counts([ID]) == {ID: 1}
    discussion.lock(ready, mod, ID, True, "flame war")
    with pytest.raises(DiscussionError) as refused:
        discussion.post(ready, settings, ann, ID, "more")
    assert refused.value.status == 409
    discussion.lock(ready, mod, ID, False)
    discussion.post(ready, settings, ann, ID, "more")


def test_hidden_paper_takes_its_comments(ready: Store, settings: Settings) -> None:
    ann = make_user(ready)
    discussion.post(ready, settings, ann, ID, "hello")
    assert ready.discussed_papers()[1] == 1
    ready.hide_paper(ID, "spam", None, "cli")
    assert ready.comment_counts([ID]) == {} and ready.discussed_papers() == ([], 0)
    assert _thread(ready) == []


def test_first_comments_wait_and_links_from_new_accounts(ready: Store, tmp_path: object
                                                         ) -> None:
    strict = Settings(home=tmp_path, embedder="none", comments_first_approved=1)  # type: ignore[arg-type]
    ann = make_user(ready)
    mod = make_user(ready, "mod@example.org", role="moderator", name="Mo")
    held = discussion.post(ready, strict, ann, ID, "my first")
    assert held.held and _thread(ready) == []
    mine, _ = discussion.thread(ready.discussion_view(ID, ann.id), viewer=ann)
    assert [c["held"] for c in mine] == [True]  # its author sees it, marked waiting
    discussion.moderate(ready, mod, held.comment["id"], "approve")
    assert len(_thread(ready)) == 1
    # Approved once, but the account is a day old at most: a link still waits.
    linked = discussion.post(ready, strict, ann, ID, "see [this](https://spam.example)")
    assert linked.held
    assert not discussion.post(ready, strict, ann, ID, "no link here").held


def test_repeated_text_and_rate_limit(ready: Store, tmp_path: object) -> None:
    tight = Settings(home=tmp_path, embedder="none", comments_per_hour=2)  # type: ignore[arg-type]
    ann = make_user(ready)
    discussion.post(ready, tight, ann, ID, "Same words")
    with pytest.raises(DiscussionError) as refused:
        discussion.post(ready, tight, ann, ID, "same   WORDS")
    assert refused.value.status == 409
    discussion.post(ready, tight, ann, ID, "other words")
    with pytest.raises(Throttled) as throttled:
        discussion.post(ready, tight, ann, ID, "third words")
    assert throttled.value.retry_after > 0
    # Refusals are decided in the transaction that would have stored the comment: neither
    # the repeated text nor the throttled one left an attempt or a row behind.
    since = utcnow() - timedelta(hours=1)
    assert ready.count_attempts(f"comment-user:{ann.id}", since)[0] == 2
    assert ready.comment_counts([ID]) == {ID: 2}
