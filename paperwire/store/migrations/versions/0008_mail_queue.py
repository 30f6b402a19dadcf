"""mail queue: the outbox gains a delivery status, and a jobs table for queued work

Mail a request triggers is queued in the outbox and delivered by a background sender, and a
submission of a paper not yet here is a queued job, so neither holds a web request.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("status", sa.String(16), nullable=False,
                                   server_default="queued"))
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime, nullable=True))
        batch.add_column(sa.Column("claimed_at", sa.DateTime, nullable=True))
        batch.add_column(sa.Column("last_error", sa.Text, nullable=True))
    outbox = sa.table("outbox", sa.column("status", sa.String), sa.column("kind", sa.String),
                      sa.column("sent_at", sa.DateTime))
    # Sent rows say so; a digest row without SMTP was a preview (its ledger owns delivery).
    # Other unsent rows stay queued: the sender gives up on any older than its age limit,
    # so upgrading does not mail out week-old links.
    op.execute(outbox.update().where(outbox.c.sent_at.is_not(None)).values(status="sent"))
    op.execute(outbox.update().where(outbox.c.sent_at.is_(None), outbox.c.kind == "digest")
               .values(status="kept"))
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("status", server_default=None)
        batch.alter_column("attempts", server_default=None)
        batch.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=True),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime, nullable=True),
        sa.Column("claimed_at", sa.DateTime, nullable=True),
        sa.Column("message", sa.Text, nullable=True),
        sa.Column("result", sa.JSON, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=True),
    )
    op.create_index("ix_jobs_user_id", "jobs", ["user_id"], unique=False)
    op.create_index("ix_jobs_due", "jobs", ["status", "next_attempt_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_jobs_due", table_name="jobs")
    op.drop_index("ix_jobs_user_id", table_name="jobs")
    op.drop_table("jobs")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_due")
        for column in ("last_error", "claimed_at", "next_attempt_at", "attempts", "status"):
            batch.drop_column(column)
