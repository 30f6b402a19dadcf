"""listing entries: each day a paper appeared in one of arXiv's announcement feeds, and how

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "listing_entries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("paper_id", sa.Integer, sa.ForeignKey("papers.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("announce_type", sa.String(16), nullable=False),
        sa.Column("listed_on", sa.Date, nullable=False),
        sa.Column("feed", sa.String(500), nullable=False),
        sa.Column("seen_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("paper_id", "listed_on", "announce_type", "feed",
                            name="uq_listing_entries_entry"),
    )
    op.create_index("ix_listing_entries_day", "listing_entries", ["listed_on", "paper_id"])


def downgrade() -> None:
    op.drop_index("ix_listing_entries_day", table_name="listing_entries")
    op.drop_table("listing_entries")
