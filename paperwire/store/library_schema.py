"""The library's tables: collections and their items, groups (labs), members and invitations.

Beside schema.py (the same ``Base``), so the library's schema reads in one place. An item
refers to a stored paper (``paper_id``) or, for an imported entry that matched none, keeps
the entry's citation data (``citation``); ``import_key`` is what makes a second save or
re-import of the same paper or entry add nothing (unique within its collection).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from paperwire.store.schema import Base


class GroupRow(Base):
    """A lab: users who read and add to its collections."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class GroupMemberRow(Base):
    """A user in a group, as ``owner`` (invites, manages) or ``member``."""

    __tablename__ = "group_members"

    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"),
                                          primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16))  # owner | member
    joined_at: Mapped[datetime] = mapped_column(DateTime)


class GroupInviteRow(Base):
    """An invitation mailed to an address; the mailed link is signed and names this row."""

    __tablename__ = "group_invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"),
                                          index=True)
    email: Mapped[str] = mapped_column(String(320))
    invited_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime)
    accepted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class CollectionRow(Base):
    """A named list of papers: private (its owner), lab (its group's members) or public.
    ``deleted_at`` is a soft delete, undone within 30 days."""

    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                          index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"),
                                                 index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[str] = mapped_column(String(16))  # private | lab | public
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)


class CollectionItemRow(Base):
    """A paper (or an unmatched imported entry) in a collection, with its note and tags."""

    __tablename__ = "collection_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"))
    paper_id: Mapped[int | None] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"),
                                                 index=True)
    import_key: Mapped[str] = mapped_column(String(80))
    title: Mapped[str | None] = mapped_column(Text)  # an unmatched entry's, for ordering
    citation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    added_at: Mapped[datetime] = mapped_column(DateTime)
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (UniqueConstraint("collection_id", "import_key",
                                       name="uq_collection_items_key"),
                      Index("ix_collection_items_added", "collection_id", "added_at"))


groups = cast(Table, GroupRow.__table__)
group_members = cast(Table, GroupMemberRow.__table__)
group_invites = cast(Table, GroupInviteRow.__table__)
collections = cast(Table, CollectionRow.__table__)
collection_items = cast(Table, CollectionItemRow.__table__)
