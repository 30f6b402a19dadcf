"""library: collections and their items, groups (labs), members and invitations

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _user(ondelete: str = "CASCADE") -> sa.ForeignKey:
    return sa.ForeignKey("users.id", ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "groups",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_by", sa.Integer, _user("SET NULL"), nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "group_members",
        sa.Column("group_id", sa.Integer, sa.ForeignKey("groups.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("user_id", sa.Integer, _user(), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("joined_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_group_members_user_id", "group_members", ["user_id"])
    op.create_table(
        "group_invites",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("group_id", sa.Integer, sa.ForeignKey("groups.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("invited_by", sa.Integer, _user("SET NULL"), nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("accepted_at", sa.DateTime, nullable=True),
        sa.Column("accepted_by", sa.Integer, _user("SET NULL"), nullable=True),
    )
    op.create_index("ix_group_invites_group_id", "group_invites", ["group_id"])
    op.create_table(
        "collections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("owner_id", sa.Integer, _user(), nullable=False),
        sa.Column("group_id", sa.Integer, sa.ForeignKey("groups.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("deleted_at", sa.DateTime, nullable=True),
    )
    op.create_index("ix_collections_owner_id", "collections", ["owner_id"])
    op.create_index("ix_collections_group_id", "collections", ["group_id"])
    op.create_table(
        "collection_items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("collection_id", sa.Integer,
                  sa.ForeignKey("collections.id", ondelete="CASCADE"), nullable=False),
        sa.Column("paper_id", sa.Integer, sa.ForeignKey("papers.id", ondelete="CASCADE"),
                  nullable=True),
        sa.Column("import_key", sa.String(80), nullable=False),
        sa.Column("title", sa.Text, nullable=True),
        sa.Column("citation", sa.JSON, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("added_at", sa.DateTime, nullable=False),
        sa.Column("added_by", sa.Integer, _user("SET NULL"), nullable=True),
        sa.UniqueConstraint("collection_id", "import_key", name="uq_collection_items_key"),
    )
    op.create_index("ix_collection_items_added", "collection_items",
                    ["collection_id", "added_at"])
    op.create_index("ix_collection_items_paper_id", "collection_items", ["paper_id"])


def downgrade() -> None:
    op.drop_index("ix_collection_items_paper_id", table_name="collection_items")
    op.drop_index("ix_collection_items_added", table_name="collection_items")
    op.drop_table("collection_items")
    op.drop_index("ix_collections_group_id", table_name="collections")
    op.drop_index("ix_collections_owner_id", table_name="collections")
    op.drop_table("collections")
    op.drop_index("ix_group_invites_group_id", table_name="group_invites")
    op.drop_table("group_invites")
    op.drop_index("ix_group_members_user_id", table_name="group_members")
    op.drop_table("group_members")
    op.drop_table("groups")
