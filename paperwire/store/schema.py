"""The database schema as SQLAlchemy 2 tables; migrations in ``migrations/`` create and evolve it.

Kept to portable types so one schema serves SQLite and PostgreSQL. Later features (accounts,
votes, subscriptions, saved searches, libraries) add their own tables next to these and
refer to papers by ``papers.id``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class PaperRow(Base):
    """One arXiv paper, latest known version. ``arxiv_id`` is versionless."""

    __tablename__ = "papers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    arxiv_id: Mapped[str] = mapped_column(String(64), unique=True)
    version: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    abstract: Mapped[str] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(JSON)  # in the paper's order
    primary_category: Mapped[str] = mapped_column(String(32), index=True)
    categories: Mapped[list[str]] = mapped_column(JSON)  # all, primary included
    published: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    updated: Mapped[datetime | None] = mapped_column(DateTime)
    listed_on: Mapped[date | None] = mapped_column(Date, index=True)
    comments: Mapped[str | None] = mapped_column(Text)
    journal_ref: Mapped[str | None] = mapped_column(Text)
    doi: Mapped[str | None] = mapped_column(String(255))
    license: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(32))  # the source that last wrote the record
    # Hash of the fields a reader sees; re-ingesting identical data writes nothing, and the
    # index re-embeds a paper only when this changes.
    content_hash: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    modified_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class PaperCategoryRow(Base):
    """Paper ↔ category, for filtering and counting by category with an index."""

    __tablename__ = "paper_categories"

    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(32), primary_key=True)

    __table_args__ = (Index("ix_paper_categories_category", "category", "paper_id"),)


class PaperSourceRow(Base):
    """Every source that has delivered a paper, with when it first and last did."""

    __tablename__ = "paper_sources"

    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)


class HarvestStateRow(Base):
    """Where each source stopped (token, line, last datestamp), so harvests resume."""

    __tablename__ = "harvest_state"

    key: Mapped[str] = mapped_column(String(512), primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    resumption_token: Mapped[str | None] = mapped_column(Text)
    datestamp: Mapped[str | None] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


# Typed as Table (SQLAlchemy declares __table__ as the wider FromClause) for insert/update.
papers = cast(Table, PaperRow.__table__)
paper_categories = cast(Table, PaperCategoryRow.__table__)
paper_sources = cast(Table, PaperSourceRow.__table__)
harvest_state = cast(Table, HarvestStateRow.__table__)


class EmbeddingRow(Base):
    """A paper's embedding by one model, as float16 bytes (768 B for 384 dimensions).

    ``content_hash`` is the paper's hash when it was embedded: a paper whose hash has moved
    on is embedded again. The vector index in the data directory is derived from this table.
    """

    __tablename__ = "embeddings"

    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(40))
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime)


embeddings = cast(Table, EmbeddingRow.__table__)
