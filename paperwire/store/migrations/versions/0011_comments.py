"""comments: a discussion under every paper (comments, votes, reports, mentions, locks)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _user(ondelete: str = "CASCADE") -> sa.ForeignKey:
    return sa.ForeignKey("users.id", ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "comments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("paper_id", sa.Integer, sa.ForeignKey("papers.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("user_id", sa.Integer, _user(), nullable=False),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("comments.id", ondelete="CASCADE"),
                  nullable=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("html", sa.Text, nullable=False),
        sa.Column("body_hash", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("edited_at", sa.DateTime, nullable=True),
        sa.Column("deleted_at", sa.DateTime, nullable=True),
        sa.Column("hidden_at", sa.DateTime, nullable=True),
        sa.Column("hidden_reason", sa.Text, nullable=True),
    )
    op.create_index("ix_comments_paper", "comments", ["paper_id", "created_at"])
    op.create_index("ix_comments_created", "comments", ["created_at"])
    op.create_index("ix_comments_user_id", "comments", ["user_id"])
    op.create_index("ix_comments_parent_id", "comments", ["parent_id"])
    op.create_table(
        "comment_votes",
        sa.Column("comment_id", sa.Integer,
                  sa.ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_id", sa.Integer, _user(), primary_key=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "comment_reports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("comment_id", sa.Integer,
                  sa.ForeignKey("comments.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.Integer, _user(), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("resolved_at", sa.DateTime, nullable=True),
        sa.UniqueConstraint("comment_id", "user_id", name="uq_comment_reports"),
    )
    op.create_index("ix_comment_reports_comment_id", "comment_reports", ["comment_id"])
    op.create_table(
        "comment_mentions",
        sa.Column("comment_id", sa.Integer,
                  sa.ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_id", sa.Integer, _user(), primary_key=True),
    )
    op.create_table(
        "discussion_locks",
        sa.Column("paper_id", sa.Integer, sa.ForeignKey("papers.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("locked_by", sa.Integer, _user(ondelete="SET NULL"), nullable=True),
        sa.Column("locked_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("discussion_locks", "comment_mentions", "comment_reports", "comment_votes"):
        op.drop_table(table)
    for index in ("ix_comments_parent_id", "ix_comments_user_id", "ix_comments_created",
                  "ix_comments_paper"):
        op.drop_index(index, table_name="comments")
    op.drop_table("comments")
