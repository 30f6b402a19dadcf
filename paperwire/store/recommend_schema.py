"""The recommendation tables (migration 0014): readers' profiles, "not interested" marks and
the ledger of what a profile was shown where; and (0018) each profile's trained model.

Beside schema.py (the same ``Base``), as notice_schema.py is. A profile's feed token is kept
hashed, as the follow feed's is: the address is the secret, and a leaked database does not
leak it.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from paperwire.store.schema import Base


class RecProfileRow(Base):
    """One reader's recommendation profile: what it trains on and how it mixes in trending.
    ``source`` is ``all`` (every saved paper) or ``collections`` (those in ``collections``);
    ``version`` goes up on every edit, so a cached model knows it is stale."""

    __tablename__ = "rec_profiles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(16))
    collections: Mapped[list[int]] = mapped_column(JSON, default=list)
    use_votes: Mapped[bool] = mapped_column(Boolean)
    trending: Mapped[float] = mapped_column(Float)
    seed_text: Mapped[str] = mapped_column(Text, default="")
    seed_papers: Mapped[list[str]] = mapped_column(JSON, default=list)
    in_digest: Mapped[bool] = mapped_column(Boolean)
    feed_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_rec_profiles_name"),)


class NotInterestedRow(Base):
    """A reader said "not interested" in a paper, for one profile or (profile None) all."""

    __tablename__ = "rec_not_interested"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"))
    profile_id: Mapped[int | None] = mapped_column(
        ForeignKey("rec_profiles.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ix_rec_not_interested_user", "user_id", "paper_id"),)


class RecShownRow(Base):
    """A paper a profile recommended, and where (``digest`` with its period key, or
    ``page``): a digest never recommends a paper an earlier digest did."""

    __tablename__ = "rec_shown"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("rec_profiles.id", ondelete="CASCADE"))
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"))
    place: Mapped[str] = mapped_column(String(8))  # digest | page
    period_key: Mapped[str] = mapped_column(String(40))  # the digest's; "" on the page
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("profile_id", "paper_id", "place", "period_key",
                                       name="uq_rec_shown"),)


class RecModelRow(Base):
    """A profile's last trained model (paperwire.recommend.saved bytes), for the profile's
    ``version`` as it was read before its signals were (``read_at``), over the feature
    space ``space_key``: every web host and the digest reuse it instead of retraining."""

    __tablename__ = "rec_models"

    profile_id: Mapped[int] = mapped_column(
        ForeignKey("rec_profiles.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[str] = mapped_column(Text)
    space_key: Mapped[str] = mapped_column(String(64))
    ranker: Mapped[str] = mapped_column(String(32))
    read_at: Mapped[datetime] = mapped_column(DateTime)
    trained_at: Mapped[datetime] = mapped_column(DateTime)
    train_ms: Mapped[float] = mapped_column(Float)
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class RecVocabularyRow(Base):
    """The vocabulary For you's feature space was last fitted with (recommend.saved bytes):
    every process builds its space with the newest one, so their models are interchangeable."""

    __tablename__ = "rec_vocabularies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    space_key: Mapped[str] = mapped_column(String(64))
    vectors: Mapped[bool] = mapped_column(Boolean)
    built_with: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


rec_profiles = cast(Table, RecProfileRow.__table__)
not_interested = cast(Table, NotInterestedRow.__table__)
rec_shown = cast(Table, RecShownRow.__table__)
rec_models = cast(Table, RecModelRow.__table__)
rec_vocabularies = cast(Table, RecVocabularyRow.__table__)
