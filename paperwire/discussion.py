"""The discussion under a paper: who may post, edit, delete, vote, report and moderate
comments, the spam rules, and the thread a page shows.

Comments are rendered once, when written (formats.markdown), and the HTML is stored beside
the Markdown: a paper page with hundreds of comments is read far more often than any comment
is written, and Markdown, MathML and the sanitiser cost a millisecond or more each. The
Markdown is kept, so a renderer fix can re-render what is stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from paperwire.errors import NotFound, PaperwireError
from paperwire.formats.markdown import render_comment
from paperwire.models import User
from paperwire.settings import Settings
from paperwire.store import DiscussionView, PostFacts, Store
from paperwire.store.database import utcnow
from paperwire.throttle import HOUR, Limit, Throttled, judge, reserve

__all__ = ["EDIT_WINDOW", "MAX_BODY", "ORDERS", "DiscussionError", "Throttled", "delete",
           "edit", "for_reader", "lock", "moderate", "post", "report", "thread", "visible", "vote"]

EDIT_WINDOW = timedelta(minutes=15)
MAX_BODY = 10_000
MAX_REASON = 1_000
NEW_ACCOUNT = timedelta(days=1)  # links from an account younger than this wait for approval
REPEAT_WINDOW = timedelta(days=1)  # the same text twice within this is refused
ORDERS = ("newest", "top")
DELETED = "[deleted]"


class DiscussionError(PaperwireError):
    """What was asked cannot be done; ``status`` is the HTTP status that says so."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Posted:
    """A comment just written, and whether it waits for a moderator (``held``)."""

    comment: dict[str, Any]
    held: bool


def _verified(user: User | None) -> User:
    if user is None:
        raise DiscussionError(401, "sign in, or send an API token as Authorization: Bearer")
    if not user.verified:
        raise DiscussionError(403, "confirm your e-mail address first (see your account page)")
    return user


def _body(text: str) -> str:
    body = text.strip()
    if not body:
        raise DiscussionError(400, "body: write something first")
    if len(body) > MAX_BODY:
        raise DiscussionError(400, f"body may be {MAX_BODY:,} characters long at most "
                                   f"(got {len(body):,})")
    return body


def _hash(body: str) -> str:
    return hashlib.sha1(" ".join(body.lower().split()).encode()).hexdigest()


def _limits(settings: Settings, user: User, client_ip: str | None) -> list[tuple[Limit, str]]:
    checks = [(Limit("comment-user", settings.comments_per_hour, HOUR), str(user.id))]
    if client_ip:
        checks.append((Limit("comment-ip", settings.comments_per_hour * 4, HOUR), client_ip))
    return checks


def _comment(store: Store, comment_id: int) -> dict[str, Any]:
    found = store.comment(comment_id)
    if found is None:
        raise DiscussionError(404, f"no comment {comment_id}")
    return found


def visible(store: Store, comment_id: int, user: User | None) -> dict[str, Any]:
    """The comment when this user may see it (public, their own, or a moderator); else 404."""
    found = _comment(store, comment_id)
    public = (found["status"] == "visible" and found["hidden_at"] is None
              and store.hidden_paper(found["arxiv_id"]) is None)
    if public or (user is not None and (user.is_moderator or user.id == found["user_id"])):
        return found
    raise DiscussionError(404, f"no comment {comment_id}")


def _parent(store: Store, arxiv_id: str, parent_id: int | None, user: User) -> int | None:
    """The top-level comment a reply hangs under (a reply to a reply joins its thread)."""
    if parent_id is None:
        return None
    parent = visible(store, parent_id, user)
    if parent["arxiv_id"] != arxiv_id:
        raise DiscussionError(400, f"parent_id: comment {parent_id} is on another paper")
    if parent["deleted_at"] is not None and parent["parent_id"] is not None:
        raise DiscussionError(409, f"comment {parent_id} was deleted")
    return int(parent["parent_id"] or parent["id"])


def _held(settings: Settings, user: User, facts: PostFacts, html: str, now: datetime) -> bool:
    """Whether a new comment waits for a moderator."""
    if user.is_moderator:
        return False
    if facts.approved < settings.comments_first_approved:
        return True
    return facts.account_created > now - NEW_ACCOUNT and "<a " in html


def post(store: Store, settings: Settings, user: User | None, arxiv_id: str, text: str,
         parent_id: int | None = None, client_ip: str | None = None) -> Posted:
    """Post a comment (a reply when ``parent_id`` is given) on a stored, visible paper.

    One transaction decides and stores it: the lock, the repeated text, the rate limits
    (a refused comment does not use up the author's hour) and whether it waits for a
    moderator are read where it is written."""
    user = _verified(user)
    body = _body(text)
    parent = _parent(store, arxiv_id, parent_id, user)
    rendered = render_comment(body)
    checks = _limits(settings, user, client_ip)
    now = utcnow()

    def admit(facts: PostFacts) -> str:
        if facts.locked:
            raise DiscussionError(409, f"the discussion of {arxiv_id} is locked")
        if facts.repeated:
            raise DiscussionError(409, "you posted this text already")
        judge(checks, facts.attempts, now, "comments")
        return "held" if _held(settings, user, facts, rendered.html, now) else "visible"

    try:
        comment = store.post_comment(
            arxiv_id, {"user_id": user.id, "parent_id": parent, "body": body,
                       "html": rendered.html, "body_hash": _hash(body), "status": "visible"},
            rendered.mentions, reply_to=tuple(i for i in {parent_id, parent} if i is not None),
            attempts=[(limit.key(subject), now - limit.window) for limit, subject in checks],
            repeat_since=now - REPEAT_WINDOW, admit=admit)
    except NotFound as exc:
        raise DiscussionError(404, str(exc)) from None
    return Posted(comment, comment["status"] == "held")


def _own(store: Store, user: User | None, comment_id: int, verb: str) -> dict[str, Any]:
    user = _verified(user)
    found = visible(store, comment_id, user)
    if found["user_id"] != user.id:
        raise DiscussionError(403, f"only its author may {verb} a comment")
    if found["deleted_at"] is not None:
        raise DiscussionError(409, f"comment {comment_id} was deleted")
    return found


def edit(store: Store, settings: Settings, user: User | None, comment_id: int, text: str,
         client_ip: str | None = None) -> dict[str, Any]:
    """Change one's own comment within EDIT_WINDOW of posting it; the edit is shown."""
    found = _own(store, user, comment_id, "edit")
    assert user is not None
    now = utcnow()
    if datetime.fromisoformat(found["created_at"]) + EDIT_WINDOW < now:
        raise DiscussionError(403, "a comment can be edited for 15 minutes after posting")
    body = _body(text)
    reserve(store, _limits(settings, user, client_ip), "comments")
    rendered = render_comment(body)
    return store.edit_comment(comment_id, {"body": body, "html": rendered.html,
                                           "body_hash": _hash(body), "edited_at": now},
                              rendered.mentions)


def delete(store: Store, user: User | None, comment_id: int) -> dict[str, Any]:
    """Delete one's own comment: its text goes; "[deleted]" stays where it has replies."""
    _own(store, user, comment_id, "delete")
    return store.edit_comment(comment_id, {"body": "", "html": "", "deleted_at": utcnow()},
                              ())


def vote(store: Store, user: User | None, comment_id: int, on: bool) -> dict[str, Any]:
    user = _verified(user)
    found = visible(store, comment_id, user)
    if found["deleted_at"] is not None:
        raise DiscussionError(409, f"comment {comment_id} was deleted")
    return {"id": comment_id, "votes": store.vote_comment(comment_id, user.id, on),
            "voted": on}


def report(store: Store, user: User | None, comment_id: int, reason: str) -> bool:
    """Report a comment to the moderators; False when this reader reported it before."""
    user = _verified(user)
    visible(store, comment_id, user)
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise DiscussionError(400, f"reason: say why, in at most {MAX_REASON:,} characters")
    return store.report_comment(comment_id, user.id, reason)


def _moderator(user: User | None) -> User:
    if user is None:
        raise DiscussionError(401, "sign in first")
    if not user.is_moderator:
        raise DiscussionError(403, "only moderators may do this")
    return user


def moderate(store: Store, user: User | None, comment_id: int, action: str,
             reason: str | None = None) -> dict[str, Any]:
    """hide (with a reason), restore or approve a comment; logged."""
    user = _moderator(user)
    if action == "hide" and not (reason or "").strip():
        raise DiscussionError(400, "reason: say why the comment is hidden")
    try:
        return store.moderate_comment(comment_id, action, (reason or "").strip() or None,
                                      user.id, user.display_name)
    except NotFound as exc:
        raise DiscussionError(404, str(exc)) from None


def lock(store: Store, user: User | None, arxiv_id: str, locked: bool,
         reason: str | None = None) -> None:
    user = _moderator(user)
    try:
        store.lock_discussion(arxiv_id, locked, (reason or "").strip() or None, user.id,
                              user.display_name)
    except NotFound as exc:
        raise DiscussionError(404, str(exc)) from None


def _editable(created_at: str, now: datetime) -> bool:
    return datetime.fromisoformat(created_at) + EDIT_WINDOW >= now


def _shape(c: dict[str, Any], view: DiscussionView, viewer: User | None, now: datetime
           ) -> dict[str, Any]:
    deleted = c["deleted_at"] is not None
    mine = viewer is not None and viewer.id == c["user_id"]
    return {
        "id": c["id"], "arxiv_id": c["arxiv_id"], "parent_id": c["parent_id"],
        "author": None if deleted else c["author"], "html": DELETED if deleted else c["html"],
        "paper_author": not deleted and c["user_id"] in view.authors,
        "body": "" if deleted else c["body"], "created_at": c["created_at"],
        "edited_at": c["edited_at"], "deleted": deleted, "votes": c["votes"],
        "voted": c["id"] in view.voted, "mine": mine, "held": c["status"] == "held",
        "hidden_reason": c["hidden_reason"] if c["hidden_at"] else None,
        "editable": mine and not deleted and _editable(c["created_at"], now), "replies": []}


def thread(view: DiscussionView, order: str = "newest", viewer: User | None = None
           ) -> tuple[list[dict[str, Any]], int]:
    """Top-level comments (newest or top first), each with its replies oldest first, and
    how many comments (not deleted) that shows. A deleted comment stays as "[deleted]" only
    where replies hang under it; a reply whose thread is gone goes with it."""
    now = utcnow()
    every: Sequence[dict[str, Any]] = [*view.comments, *view.held]
    tops = {c["id"]: _shape(c, view, viewer, now) for c in every if c["parent_id"] is None}
    for c in every:
        if c["parent_id"] in tops and c["deleted_at"] is None:
            tops[c["parent_id"]]["replies"].append(_shape(c, view, viewer, now))
    shown = [t for t in tops.values() if not t["deleted"] or t["replies"]]
    for t in shown:
        t["replies"].sort(key=lambda r: r["id"])
    if order == "top":
        shown.sort(key=lambda t: (t["votes"], t["id"]), reverse=True)
    else:
        shown.sort(key=lambda t: t["id"], reverse=True)
    count = sum((not t["deleted"]) + len(t["replies"]) for t in shown)
    return shown, count


def for_reader(shown: list[dict[str, Any]], voted: AbstractSet[int], mine: AbstractSet[int]
               ) -> list[dict[str, Any]]:
    """A thread shaped for nobody (``thread`` without a viewer, shared by every reader) as
    one reader sees it: the comments they upvoted (``voted``) and wrote (``mine``: they may
    delete them, and edit them for EDIT_WINDOW). The shared dicts are not changed: only
    what differs is copied, so a reader who did neither gets ``shown`` itself."""
    if not voted and not mine:
        return shown
    now = utcnow()
    marked = voted | mine

    def mark(c: dict[str, Any]) -> dict[str, Any]:
        own = c["id"] in mine
        return {**c, "voted": c["id"] in voted, "mine": own,
                "editable": own and not c["deleted"] and _editable(c["created_at"], now)}

    out = []
    for top in shown:
        replies = top["replies"]
        if any(r["id"] in marked for r in replies):
            replies = [mark(r) if r["id"] in marked else r for r in replies]
        if top["id"] in marked:
            top = {**mark(top), "replies": replies}
        elif replies is not top["replies"]:
            top = {**top, "replies": replies}
        out.append(top)
    return out
