"""Code and project links of papers (migration 0017): derived at write time, or imported.

Links found in a paper's abstract and comments are derived again whenever the paper is
written, so they follow its text; links an imported signal gave (a repository and its stars
on Hugging Face) are kept beside them under the signal's name and replaced on re-import.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from paperwire.links import CodeLink, find_links, merge_links
from paperwire.store.authors import link_papers
from paperwire.store.papers import built, ids_param, in_chunks
from paperwire.store.schema import Base, papers

__all__ = ["LinkMethods", "after_write", "derive_links", "import_links", "links_of",
           "links_version", "paper_links", "rows_with_code"]

DERIVED = ("abstract", "comments")


class PaperLinkRow(Base):
    """One link of one paper from one source ("abstract", "comments", or a signal's name)."""

    __tablename__ = "paper_links"

    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"),
                                          primary_key=True)
    url: Mapped[str] = mapped_column(String(500), primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    host: Mapped[str] = mapped_column(String(255))
    stars: Mapped[int | None] = mapped_column(Integer)
    seen_at: Mapped[datetime] = mapped_column(DateTime)

    # "Has code" filters by kind; the index answers it without reading the table.
    __table_args__ = (Index("ix_paper_links_kind", "kind", "paper_id"),)


paper_links = cast(Table, PaperLinkRow.__table__)


def after_write(conn: Connection, arxiv_ids: Sequence[str], now: datetime) -> None:
    """What every write of papers derives from their text, in the writing transaction:
    their author identities and their code links."""
    link_papers(conn, arxiv_ids, now)
    derive_links(conn, arxiv_ids, now)


def derive_links(conn: Connection, arxiv_ids: Iterable[str], now: datetime) -> int:
    """Find the links in these papers' abstracts and comments again; returns how many."""
    rows: list[dict[str, object]] = []
    for chunk in in_chunks(arxiv_ids):
        found = conn.execute(select(papers.c.id, papers.c.abstract, papers.c.comments)
                             .where(papers.c.arxiv_id.in_(chunk))).all()
        ids = [r.id for r in found]
        conn.execute(delete(paper_links).where(paper_links.c.paper_id.in_(ids),
                                               paper_links.c.source.in_(DERIVED)))
        for row in found:
            links = merge_links([find_links(row.abstract, "abstract"),
                                 find_links(row.comments, "comments")])
            rows.extend(_row(row.id, link, now) for link in links)
    if rows:
        conn.execute(insert(paper_links), rows)
    return len(rows)


def import_links(conn: Connection, source: str, links: Mapping[str, Sequence[CodeLink]],
                 now: datetime) -> int:
    """Replace ``source``'s links of each paper named (papers not stored are skipped)."""
    rows: list[dict[str, object]] = []
    for chunk in in_chunks(list(links)):
        found = {r.arxiv_id: r.id for r in conn.execute(
            select(papers.c.arxiv_id, papers.c.id).where(papers.c.arxiv_id.in_(chunk)))}
        conn.execute(delete(paper_links).where(paper_links.c.paper_id.in_(found.values()),
                                               paper_links.c.source == source))
        for arxiv_id, row_id in found.items():
            rows.extend(_row(row_id, link, now) for link in merge_links([links[arxiv_id]]))
    if rows:
        conn.execute(insert(paper_links), rows)
    return len(rows)


def _row(paper_id: int, link: CodeLink, now: datetime) -> dict[str, object]:
    return {"paper_id": paper_id, "url": link.url, "source": link.source, "kind": link.kind,
            "host": link.host, "stars": link.stars, "seen_at": now}


@built
def _links_query() -> Any:
    return (select(papers.c.arxiv_id, paper_links)
            .join(paper_links, paper_links.c.paper_id == papers.c.id)
            .where(papers.c.arxiv_id.in_(ids_param()))
            .order_by(papers.c.arxiv_id, paper_links.c.source, paper_links.c.url))


def links_of(conn: Connection, arxiv_ids: Iterable[str]) -> dict[str, list[CodeLink]]:
    """Each paper's links, one per URL (stars from whichever source gave them), code first."""
    grouped: dict[str, list[CodeLink]] = {}
    for chunk in in_chunks(arxiv_ids):
        for row in conn.execute(_links_query(), {"ids": chunk}):
            grouped.setdefault(row.arxiv_id, []).append(
                CodeLink(row.url, row.kind, row.host, row.source, row.stars))
    return {arxiv_id: merge_links([links]) for arxiv_id, links in grouped.items()}


def rows_with_code(conn: Connection) -> frozenset[int]:
    """Row ids of every paper with a code link (what a "has code" search keeps)."""
    query = select(paper_links.c.paper_id).where(paper_links.c.kind == "code").distinct()
    return frozenset(int(r) for r in conn.execute(query).scalars())


def links_version(conn: Connection) -> tuple[int, datetime | None]:
    """Changes whenever links are written (a cache key for rows_with_code)."""
    count, newest = conn.execute(select(func.count(), func.max(paper_links.c.seen_at))).one()
    return int(count), newest


class LinkMethods:
    """The Store's door to links (mixed into Store)."""

    engine: Engine

    def links_of(self, arxiv_ids: Iterable[str]) -> dict[str, list[CodeLink]]:
        """Each paper's code and project links (papers without any are left out)."""
        with self.engine.connect() as conn:
            return links_of(conn, arxiv_ids)

    def rows_with_code(self) -> frozenset[int]:
        with self.engine.connect() as conn:
            return rows_with_code(conn)

    def links_version(self) -> tuple[int, datetime | None]:
        with self.engine.connect() as conn:
            return links_version(conn)
