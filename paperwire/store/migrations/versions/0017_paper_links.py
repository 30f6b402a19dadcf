"""paper_links: code and project links of papers, found in their text or given by a signal

The table is filled for the papers already stored, from their abstracts and comments, in
pages of 2,000 (about 10 s for 75k papers). Links a signal gave (Hugging Face's repository
and stars) arrive with the next import of that signal.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from paperwire.links import find_links, merge_links

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

PAGE = 2000


def upgrade() -> None:
    table = op.create_table(
        "paper_links",
        sa.Column("paper_id", sa.Integer, sa.ForeignKey("papers.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("url", sa.String(500), primary_key=True),
        sa.Column("source", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("stars", sa.Integer),
        sa.Column("seen_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_paper_links_kind", "paper_links", ["kind", "paper_id"])
    _backfill(table)


def _backfill(table: sa.Table) -> None:
    # Derived with today's rules (paperwire.links); the store derives them again whenever
    # a paper is written, so a later change of rules reaches every paper written after it.
    conn = op.get_bind()
    papers = sa.table("papers", sa.column("id", sa.Integer), sa.column("abstract", sa.Text),
                      sa.column("comments", sa.Text))
    now = datetime.now(UTC).replace(tzinfo=None)
    after = 0
    while True:
        page = conn.execute(sa.select(papers.c.id, papers.c.abstract, papers.c.comments)
                            .where(papers.c.id > after).order_by(papers.c.id)
                            .limit(PAGE)).all()
        if not page:
            return
        rows = [{"paper_id": row.id, "url": link.url, "source": link.source,
                 "kind": link.kind, "host": link.host, "stars": None, "seen_at": now}
                for row in page
                for link in merge_links([find_links(row.abstract, "abstract"),
                                         find_links(row.comments, "comments")])]
        if rows:
            conn.execute(sa.insert(table), rows)
        after = page[-1].id


def downgrade() -> None:
    op.drop_index("ix_paper_links_kind", table_name="paper_links")
    op.drop_table("paper_links")
