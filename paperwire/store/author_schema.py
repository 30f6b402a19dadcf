"""The author tables (migration 0010): identities, who wrote what, claims and follows.

Kept beside ``schema`` (on its ``Base``) so that module stays within its size; the store
package imports this one, so the metadata always holds these tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from paperwire.store.schema import Base


class AuthorRow(Base):
    """One author identity. ``key`` is the normalised name (paperwire.names); several
    identities share a key where the homonym rule split them. A merged identity points at
    the one it was merged into, so its old address still leads there."""

    __tablename__ = "authors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    sort_name: Mapped[str] = mapped_column(String(300))
    key: Mapped[str] = mapped_column(String(300), index=True)
    merged_into: Mapped[int | None] = mapped_column(
        ForeignKey("authors.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class PaperAuthorRow(Base):
    """An author of a paper at a position, with the name as the paper writes it."""

    __tablename__ = "paper_authors"

    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(300))

    __table_args__ = (Index("ix_paper_authors_author", "author_id", "paper_id"),)


class AuthorClaimRow(Base):
    """A user's claim to be an author: pending until a moderator confirms or rejects it."""

    __tablename__ = "author_claims"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int] = mapped_column(
        ForeignKey("authors.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # pending | confirmed | rejected
    created_at: Mapped[datetime] = mapped_column(DateTime)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (UniqueConstraint("author_id", "user_id", name="uq_author_claims_user"),)


class FollowRow(Base):
    """A user following an author or a category (exactly one of the two is set)."""

    __tablename__ = "follows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("authors.id", ondelete="CASCADE"), index=True)
    category: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("user_id", "author_id", name="uq_follows_author"),
                      UniqueConstraint("user_id", "category", name="uq_follows_category"))


class FollowFeedRow(Base):
    """A user's feed of followed authors' papers, by a token that can be rotated (only its
    hash is kept)."""

    __tablename__ = "follow_feeds"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


authors = cast(Table, AuthorRow.__table__)
paper_authors = cast(Table, PaperAuthorRow.__table__)
author_claims = cast(Table, AuthorClaimRow.__table__)
follows = cast(Table, FollowRow.__table__)
follow_feeds = cast(Table, FollowFeedRow.__table__)
