"""papers by lower(doi): what a library import matches its entries' DOIs on

A .bib, RIS or Zotero import looks each entry's DOI up case-blind
(``lower(doi) IN (...)``). Without this index every chunk of 500 DOIs scans the whole
papers table, which at arXiv's 2.8M papers is seconds per chunk.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_papers_doi_lower", "papers", [sa.text("lower(doi)")])


def downgrade() -> None:
    op.drop_index("ix_papers_doi_lower", table_name="papers")
