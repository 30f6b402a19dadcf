"""papers, their categories and sources, and harvest state

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "papers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("arxiv_id", sa.String(64), nullable=False, unique=True),
        sa.Column("version", sa.Integer),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("abstract", sa.Text, nullable=False),
        sa.Column("authors", sa.JSON, nullable=False),
        sa.Column("primary_category", sa.String(32), nullable=False),
        sa.Column("categories", sa.JSON, nullable=False),
        sa.Column("published", sa.DateTime),
        sa.Column("updated", sa.DateTime),
        sa.Column("listed_on", sa.Date),
        sa.Column("comments", sa.Text),
        sa.Column("journal_ref", sa.Text),
        sa.Column("doi", sa.String(255)),
        sa.Column("license", sa.String(255)),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("content_hash", sa.String(40), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("modified_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_papers_primary_category", "papers", ["primary_category"])
    op.create_index("ix_papers_published", "papers", ["published"])
    op.create_index("ix_papers_listed_on", "papers", ["listed_on"])
    op.create_index("ix_papers_modified_at", "papers", ["modified_at"])
    op.create_table(
        "paper_categories",
        sa.Column("paper_id", sa.Integer, sa.ForeignKey("papers.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("category", sa.String(32), primary_key=True),
    )
    op.create_index("ix_paper_categories_category", "paper_categories",
                    ["category", "paper_id"])
    op.create_table(
        "paper_sources",
        sa.Column("paper_id", sa.Integer, sa.ForeignKey("papers.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("source", sa.String(32), primary_key=True),
        sa.Column("first_seen_at", sa.DateTime, nullable=False),
        sa.Column("last_seen_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "harvest_state",
        sa.Column("key", sa.String(512), primary_key=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("resumption_token", sa.Text),
        sa.Column("datestamp", sa.String(32)),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("done", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("harvest_state")
    op.drop_table("paper_sources")
    op.drop_table("paper_categories")
    op.drop_table("papers")
