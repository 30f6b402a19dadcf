"""rec_models, rec_vocabularies: For-you profiles' trained models and the vocabulary they index

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rec_models",
        sa.Column("profile_id", sa.Integer,
                  sa.ForeignKey("rec_profiles.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("space_key", sa.String(64), nullable=False),
        sa.Column("ranker", sa.String(32), nullable=False),
        sa.Column("read_at", sa.DateTime, nullable=False),
        sa.Column("trained_at", sa.DateTime, nullable=False),
        sa.Column("train_ms", sa.Float, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "rec_vocabularies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("space_key", sa.String(64), nullable=False),
        sa.Column("vectors", sa.Boolean, nullable=False),
        sa.Column("built_with", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rec_vocabularies")
    op.drop_table("rec_models")
