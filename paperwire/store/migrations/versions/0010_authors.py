"""authors: author identities, who wrote which paper, claims of authorship, follows

Existing papers get their identities from `paperwire authors rebuild` (resumable, with
progress), not here: a migration stays a schema change that runs in seconds.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "authors",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(100), nullable=False, unique=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("sort_name", sa.String(300), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("merged_into", sa.Integer,
                  sa.ForeignKey("authors.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_authors_key", "authors", ["key"], unique=False)
    op.create_table(
        "paper_authors",
        sa.Column("paper_id", sa.Integer, sa.ForeignKey("papers.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("author_id", sa.Integer, sa.ForeignKey("authors.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
    )
    op.create_index("ix_paper_authors_author", "paper_authors", ["author_id", "paper_id"])
    op.create_table(
        "author_claims",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("author_id", sa.Integer, sa.ForeignKey("authors.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("decided_at", sa.DateTime, nullable=True),
        sa.Column("decided_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"),
                  nullable=True),
        sa.UniqueConstraint("author_id", "user_id", name="uq_author_claims_user"),
    )
    op.create_index("ix_author_claims_author_id", "author_claims", ["author_id"])
    op.create_index("ix_author_claims_user_id", "author_claims", ["user_id"])
    op.create_table(
        "follows",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("author_id", sa.Integer, sa.ForeignKey("authors.id", ondelete="CASCADE"),
                  nullable=True),
        sa.Column("category", sa.String(32), nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("user_id", "author_id", name="uq_follows_author"),
        sa.UniqueConstraint("user_id", "category", name="uq_follows_category"),
    )
    op.create_index("ix_follows_author_id", "follows", ["author_id"])
    op.create_table(
        "follow_feeds",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("follow_feeds")
    op.drop_index("ix_follows_author_id", table_name="follows")
    op.drop_table("follows")
    op.drop_index("ix_author_claims_user_id", table_name="author_claims")
    op.drop_index("ix_author_claims_author_id", table_name="author_claims")
    op.drop_table("author_claims")
    op.drop_index("ix_paper_authors_author", table_name="paper_authors")
    op.drop_table("paper_authors")
    op.drop_index("ix_authors_key", table_name="authors")
    op.drop_table("authors")
