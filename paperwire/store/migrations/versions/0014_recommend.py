"""recommend: readers' profiles, "not interested" marks and the shown ledger

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _fk(table: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{table}.id", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "rec_profiles",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, _fk("users"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("collections", sa.JSON, nullable=False),
        sa.Column("use_votes", sa.Boolean, nullable=False),
        sa.Column("trending", sa.Float, nullable=False),
        sa.Column("seed_text", sa.Text, nullable=False),
        sa.Column("seed_papers", sa.JSON, nullable=False),
        sa.Column("in_digest", sa.Boolean, nullable=False),
        sa.Column("feed_token_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("user_id", "name", name="uq_rec_profiles_name"),
    )
    op.create_table(
        "rec_not_interested",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, _fk("users"), nullable=False),
        sa.Column("paper_id", sa.Integer, _fk("papers"), nullable=False),
        sa.Column("profile_id", sa.Integer, _fk("rec_profiles"), nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_rec_not_interested_user", "rec_not_interested",
                    ["user_id", "paper_id"])
    op.create_table(
        "rec_shown",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("profile_id", sa.Integer, _fk("rec_profiles"), nullable=False),
        sa.Column("paper_id", sa.Integer, _fk("papers"), nullable=False),
        sa.Column("place", sa.String(8), nullable=False),
        sa.Column("period_key", sa.String(40), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("profile_id", "paper_id", "place", "period_key",
                            name="uq_rec_shown"),
    )


def downgrade() -> None:
    op.drop_table("rec_shown")
    op.drop_index("ix_rec_not_interested_user", table_name="rec_not_interested")
    op.drop_table("rec_not_interested")
    op.drop_table("rec_profiles")
