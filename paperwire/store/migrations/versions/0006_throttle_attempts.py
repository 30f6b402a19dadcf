"""throttle attempts: login_attempts renamed, since it also holds mail and subscribe throttles

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _rename(old: str, new: str) -> None:
    op.drop_index(f"ix_{old}_key", table_name=old)
    op.rename_table(old, new)  # ALTER TABLE … RENAME keeps every row on both backends
    op.create_index(f"ix_{new}_key", new, ["key", "attempted_at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # The primary key's index and id sequence keep their old names unless told.
        op.execute(f"ALTER INDEX {old}_pkey RENAME TO {new}_pkey")
        op.execute(f"ALTER SEQUENCE {old}_id_seq RENAME TO {new}_id_seq")


def upgrade() -> None:
    _rename("login_attempts", "throttle_attempts")


def downgrade() -> None:
    _rename("throttle_attempts", "login_attempts")
