"""Store methods of the discussion: comments, their votes, reports, moderation and locks
(SQL in comments.py).

Mixed into ``Store`` (import that, not this); kept apart so each area's door stays small.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from paperwire.errors import NotFound
from paperwire.store import comments as _comments
from paperwire.store import moderation as _moderation
from paperwire.store import notices as _notices
from paperwire.store import page_readers as _page_readers
from paperwire.store import papers as _papers
from paperwire.store import throttle as _throttle
from paperwire.store.database import utcnow, write_transaction

MODERATIONS = {"hide": "hide-comment", "restore": "restore-comment",
               "approve": "approve-comment"}


@dataclass(frozen=True)
class DiscussionView:
    """What a paper's discussion shows, read on one connection: its comments (public ones,
    or all for a moderator), the viewer's own held ones and votes, its lock, and the
    accounts that are its verified authors (their comments wear a badge)."""

    comments: list[dict[str, Any]]
    held: list[dict[str, Any]]
    voted: set[int]
    lock: dict[str, Any] | None
    authors: frozenset[int] = frozenset()


@dataclass(frozen=True)
class PaperReader:
    """What one signed-in reader adds to a paper's page: the papers shown they upvoted and
    saved, the comments they upvoted, and whether one of theirs waits for approval."""

    voted: frozenset[str]
    saved: frozenset[str]
    comment_votes: frozenset[int]
    held: bool


@dataclass(frozen=True)
class PostFacts:
    """What the rules for a new comment read, inside the transaction that stores it, so
    nothing slips in between the check and the write: whether the discussion is locked,
    the attempts under each throttle key, the one being made included ((count, oldest)),
    when the writer's account was made, how many of its comments were approved, and
    whether it wrote the same text lately."""

    locked: bool
    attempts: list[tuple[int, datetime | None]]
    account_created: datetime
    approved: int
    repeated: bool


def _paper_id(conn: Connection, arxiv_id: str) -> int:
    found = _papers.row_ids(conn, [arxiv_id]).get(arxiv_id)
    if found is None:
        raise NotFound(f"no paper {arxiv_id} on this instance")
    return found


class CommentMethods:
    engine: Engine

    def post_comment(self, arxiv_id: str, values: dict[str, Any], mentions: Sequence[str],
                     reply_to: Sequence[int] = (), *,
                     attempts: Sequence[tuple[str, datetime]] = (),
                     repeat_since: datetime | None = None,
                     admit: Callable[[PostFacts], str] | None = None) -> dict[str, Any]:
        """Store a comment (``values``: user_id, parent_id, body, html, body_hash, status)
        with the accounts its ``mentions`` name, and its notices queued (to the authors of
        the comments in ``reply_to``, the mentioned, …: written by ``fan_out_notices``,
        store/notices.py), in one transaction; the stored comment. NotFound: no paper.

        With ``admit``, an attempt is recorded under each of ``attempts`` ((throttle key,
        counted since)), and ``admit`` is called with the PostFacts (texts repeated since
        ``repeat_since``): it returns the comment's status, or raises, and then nothing
        is kept, the attempts neither."""
        now = utcnow()
        with write_transaction(self.engine) as conn:
            paper_id = _paper_id(conn, arxiv_id)
            if admit is not None:
                counted = []
                for key, since in attempts:
                    _throttle.record(conn, key, now)
                    counted.append(_throttle.count(conn, key, since))
                created, approved, repeated = _comments.author_facts(
                    conn, values["user_id"], values["body_hash"], repeat_since or now)
                values = {**values, "status": admit(PostFacts(
                    _comments.lock_of(conn, paper_id) is not None, counted, created,
                    approved, repeated))}
            mentioned = _comments.users_named(conn, mentions)
            new_id = _comments.add(conn, {**values, "paper_id": paper_id,
                                          "created_at": now}, mentioned)
            _notices.queue(conn, new_id, paper_id, values["user_id"], reply_to, mentioned,
                           now)
            found = _comments.get(conn, new_id)
        assert found is not None
        return found

    def comment(self, comment_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            return _comments.get(conn, comment_id)

    def discussion_view(self, arxiv_id: str, viewer_id: int | None = None, *,
                        everything: bool = False) -> DiscussionView:
        with self.engine.connect() as conn:
            paper_id = _paper_id(conn, arxiv_id)
            found = _comments.for_paper(conn, paper_id, everything=everything)
            held = (_comments.held_of(conn, paper_id, viewer_id)
                    if viewer_id is not None and not everything else [])
            voted = (_comments.voted_by(conn, [c["id"] for c in found + held], viewer_id)
                     if viewer_id is not None else set())
            return DiscussionView(found, held, voted, _comments.lock_of(conn, paper_id),
                                  frozenset(_notices.authors_of_paper(conn, paper_id)))

    def paper_reader(self, arxiv_id: str, shown: Sequence[str], viewer_id: int
                     ) -> PaperReader:
        """What one reader adds to the page of ``arxiv_id`` (showing the papers ``shown``)
        that every reader shares: one statement (store/page_readers.py)."""
        with self.engine.connect() as conn:
            found = _page_readers.reader_of(conn, arxiv_id, list(shown), viewer_id)
        return PaperReader(frozenset(found["voted"]), frozenset(found["saved"]),
                           frozenset(found["comment-voted"]), bool(found["held"]))

    def edit_comment(self, comment_id: int, values: dict[str, Any],
                     mentions: Sequence[str] | None = None) -> dict[str, Any]:
        """Change a comment's stored fields (an edit: body, html, body_hash, edited_at; a
        deletion: deleted_at); the comment as it now is."""
        with write_transaction(self.engine) as conn:
            ids = None if mentions is None else _comments.users_named(conn, mentions)
            _comments.edit(conn, comment_id, values, ids)
            found = _comments.get(conn, comment_id)
            if found is not None and ids:
                # Someone named only in the edit hears of it; someone named before, once.
                _notices.record(conn, comment_id, found["paper_id"], found["user_id"], (),
                                ids, utcnow(), mentions_only=True)
        if found is None:
            raise NotFound(f"no comment {comment_id}")
        return found

    def vote_comment(self, comment_id: int, user_id: int, on: bool) -> int:
        """Upvote (or withdraw); idempotent. The comment's votes after it."""
        with write_transaction(self.engine) as conn:
            _comments.set_vote(conn, comment_id, user_id, on, utcnow())
            return _comments.votes_of(conn, comment_id)

    def comment_counts(self, arxiv_ids: Iterable[str]) -> dict[str, int]:
        """Comments anyone may see, per paper (papers without any are left out)."""
        with self.engine.connect() as conn:
            return _comments.counts(conn, arxiv_ids)

    def discussed_papers(self, limit: int = 30, offset: int = 0
                         ) -> tuple[list[dict[str, Any]], int]:
        """Papers by their latest public comment, newest first, and how many there are."""
        with self.engine.connect() as conn:
            return _comments.discussed(conn, limit, offset)

    def report_comment(self, comment_id: int, user_id: int, reason: str) -> bool:
        with write_transaction(self.engine) as conn:
            return _comments.report(conn, comment_id, user_id, reason, utcnow())

    def comment_queue(self, limit: int = 100) -> list[dict[str, Any]]:
        """Held and reported comments, with the reports' reasons, for moderators."""
        with self.engine.connect() as conn:
            return _comments.queue(conn, limit)

    def moderate_comment(self, comment_id: int, action: str, reason: str | None,
                         actor_id: int | None, actor: str) -> dict[str, Any]:
        """hide (a reason), restore or approve a comment, resolving its reports, logged."""
        now = utcnow()
        changes: dict[str, dict[str, Any]] = {
            "hide": {"hidden_at": now, "hidden_reason": reason},
            "restore": {"hidden_at": None, "hidden_reason": None},
            "approve": {"status": "visible"}}
        values = changes[action]
        with write_transaction(self.engine) as conn:
            if _comments.get(conn, comment_id) is None:
                raise NotFound(f"no comment {comment_id}")
            _comments.edit(conn, comment_id, values)
            _comments.resolve_reports(conn, comment_id, now)
            _moderation.log_action(conn, MODERATIONS[action], f"comment {comment_id}",
                                   reason, actor_id, actor, now)
            found = _comments.get(conn, comment_id)
        assert found is not None
        return found

    def lock_discussion(self, arxiv_id: str, locked: bool, reason: str | None,
                        actor_id: int | None, actor: str) -> None:
        """Close (``locked``) or reopen a paper's discussion, logged."""
        now = utcnow()
        with write_transaction(self.engine) as conn:
            paper_id = _paper_id(conn, arxiv_id)
            if locked:
                _comments.lock(conn, paper_id, reason, actor_id, now)
            else:
                _comments.unlock(conn, paper_id)
            _moderation.log_action(conn, "lock-discussion" if locked else "unlock-discussion",
                                   arxiv_id, reason, actor_id, actor, now)

    def comments_feed(self, arxiv_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """A paper's newest public comments, newest first (its discussion feed), each saying
        whether its writer is a verified author of the paper (``paper_author``)."""
        with self.engine.connect() as conn:
            paper_id = _paper_id(conn, arxiv_id)
            authors = _notices.authors_of_paper(conn, paper_id)
            return [{**c, "paper_author": c["user_id"] in authors}
                    for c in _comments.recent_for_feed(conn, paper_id, limit)]
