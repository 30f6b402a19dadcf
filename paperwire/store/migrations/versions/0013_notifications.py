"""notifications: readers' choices, pending notices and the ledger of notice mails

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _user() -> sa.ForeignKey:
    return sa.ForeignKey("users.id", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "notice_prefs",
        sa.Column("user_id", sa.Integer, _user(), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("enabled", sa.Boolean, nullable=False),
    )
    op.create_table(
        "notice_batches",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, _user(), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False, unique=True),
        sa.Column("notices", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_notice_batches_user", "notice_batches", ["user_id", "created_at"])
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, _user(), nullable=False),
        sa.Column("comment_id", sa.Integer,
                  sa.ForeignKey("comments.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("batch_id", sa.Integer,
                  sa.ForeignKey("notice_batches.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("user_id", "comment_id", "kind", name="uq_notices"),
    )
    op.create_index("ix_notices_comment_id", "notices", ["comment_id"])
    op.create_index("ix_notices_pending", "notices", ["state", "user_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_notices_pending", table_name="notices")
    op.drop_index("ix_notices_comment_id", table_name="notices")
    op.drop_table("notices")
    op.drop_index("ix_notice_batches_user", table_name="notice_batches")
    op.drop_table("notice_batches")
    op.drop_table("notice_prefs")
