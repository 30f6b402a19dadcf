"""embeddings by (model, created_at): the watermark reads of every host's index sync

Each web host's background sync asks for the vectors written after its watermark
(``embeddings_since``) and the newest one (``newest_embedding``). Without this index both
scan the whole table: a full scan of 2.8M rows every sync pass on every host.

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_embeddings_model_created", "embeddings",
                    ["model", "created_at", "paper_id"])


def downgrade() -> None:
    op.drop_index("ix_embeddings_model_created", table_name="embeddings")
