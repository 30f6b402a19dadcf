"""pgvector: on PostgreSQL with the vector extension, a paper_vectors table with an HNSW index

Vectors copied from the embeddings table (the source of truth), searched inside the database
so every web host reads the same index. Where the extension cannot be created (not
installed, or no right to create it) the step is skipped with a logged note and search
stays on faiss; `paperwire index --backend pgvector` creates the table later. SQLite: nothing.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    available = bind.execute(sa.text(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")).scalar()
    if not available:
        log.info("pgvector is not installed on this PostgreSQL: vectors stay in faiss files")
        return
    try:
        with bind.begin_nested():  # a refused CREATE EXTENSION must not abort the upgrade
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS vector"))
    except sa.exc.DBAPIError as exc:
        log.info("cannot create the vector extension (%s): vectors stay in faiss files",
                 str(exc.orig).strip().splitlines()[0])
        return
    bind.execute(sa.text(
        "CREATE TABLE IF NOT EXISTS paper_vectors ("
        " model varchar(64) NOT NULL,"
        " paper_id integer NOT NULL REFERENCES papers(id) ON DELETE CASCADE,"
        " created_at timestamp NOT NULL,"
        " embedding vector(384) NOT NULL,"
        " PRIMARY KEY (model, paper_id))"))
    bind.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_paper_vectors_hnsw ON paper_vectors"
                         " USING hnsw (embedding vector_ip_ops)"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE IF EXISTS paper_vectors")
