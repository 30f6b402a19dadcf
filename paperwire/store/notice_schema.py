"""The notification tables (migration 0013): readers' choices, pending notices, and the
ledger of notice mails.

Beside schema.py (which it extends: the same ``Base``), as comment_schema.py is.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from paperwire.store.schema import Base


class NoticePrefRow(Base):
    """A reader's choice for one kind of notice; a kind without a row has its default."""

    __tablename__ = "notice_prefs"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)


class NoticeBatchRow(Base):
    """One notice mail to one reader: written, with its outbox row, in the transaction that
    takes its notices, so a notice belongs to at most one mail (the ledger)."""

    __tablename__ = "notice_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    notices: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ix_notice_batches_user", "user_id", "created_at"),)


class NoticeRow(Base):
    """Something a reader may hear of: a comment, and why it concerns them (``kind``).
    ``state`` is pending until a mail takes it (sent, with its ``batch_id``) or it is
    dropped (hidden, deleted, or a kind the reader turned off)."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"),
                                            index=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))  # pending | sent | dropped
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("notice_batches.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("user_id", "comment_id", "kind", name="uq_notices"),
                      Index("ix_notices_pending", "state", "user_id", "created_at"))


notice_prefs = cast(Table, NoticePrefRow.__table__)
notice_batches = cast(Table, NoticeBatchRow.__table__)
notices = cast(Table, NoticeRow.__table__)
