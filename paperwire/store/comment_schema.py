"""The discussion's tables: comments, their votes, reports and mentions, and locked papers.

Beside schema.py (which it extends: the same ``Base``), so the discussion's schema reads in
one place; ``paperwire.store`` imports it, and so every user of the metadata sees it.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from paperwire.store.schema import Base


class CommentRow(Base):
    """One comment on a paper; ``parent_id`` makes it a reply (one level deep). ``html`` is
    ``body`` rendered and sanitised when written; ``status`` is visible or held (waiting for
    a moderator); a hidden comment has ``hidden_at`` and its reason."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    body_hash: Mapped[str] = mapped_column(String(40))  # repeated text is refused by it
    status: Mapped[str] = mapped_column(String(16))  # visible | held
    created_at: Mapped[datetime] = mapped_column(DateTime)
    edited_at: Mapped[datetime | None] = mapped_column(DateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime)
    hidden_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_comments_paper", "paper_id", "created_at"),
                      Index("ix_comments_created", "created_at"))


class CommentVoteRow(Base):
    """One upvote of a comment by one user (the key makes a second impossible)."""

    __tablename__ = "comment_votes"

    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"),
                                            primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class CommentReportRow(Base):
    """A reader's report of a comment, with the reason; open until a moderator decides."""

    __tablename__ = "comment_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"),
                                            index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("comment_id", "user_id", name="uq_comment_reports"),)


class CommentMentionRow(Base):
    """A user named by ``@name`` in a comment (what mention notices read)."""

    __tablename__ = "comment_mentions"

    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"),
                                            primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)


class DiscussionLockRow(Base):
    """A paper whose discussion a moderator closed: its comments stay, new ones are refused."""

    __tablename__ = "discussion_locks"

    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"),
                                          primary_key=True)
    reason: Mapped[str | None] = mapped_column(Text)
    locked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    locked_at: Mapped[datetime] = mapped_column(DateTime)


comments = cast(Table, CommentRow.__table__)
comment_votes = cast(Table, CommentVoteRow.__table__)
comment_reports = cast(Table, CommentReportRow.__table__)
comment_mentions = cast(Table, CommentMentionRow.__table__)
discussion_locks = cast(Table, DiscussionLockRow.__table__)
