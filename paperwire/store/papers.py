"""Reading and writing papers: the idempotent, version-aware batch upsert and the lookups.

Rules for a paper that is already stored (``rank`` = version, then latest date):
  - higher rank: the record is replaced (fields the new record lacks keep their old value);
  - same rank, same content: nothing is written;
  - same rank, other content: treated like a higher rank (a source refreshing metadata);
  - lower rank: skipped, so an older version never overwrites a newer one;
and in every case the earliest listing date wins and the source is recorded.
A record from a metadata-poor source (``WEAK_SOURCES``: hf-daily knows no categories) is
replaced by any other source's record whatever the ranks; the weak source itself writes
through ``write_weak_papers``, which never touches a record another source wrote.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    BindParameter,
    Connection,
    bindparam,
    cast,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from paperwire.models import ChangedPaper, Paper
from paperwire.store.schema import paper_categories, paper_sources, papers

_CHUNK = 500  # ids per IN (...) clause; well under every backend's parameter limit
WEAK_SOURCES = frozenset({"hf-daily"})
T = TypeVar("T")
# The reads every page makes are built once per process (``built``) with their ids as one
# expanding parameter (``ids_param``): building a Core select and its cache key costs
# SQLAlchemy ~0.3 ms, several times what SQLite takes to answer it for a page of ids.
built = cache


def ids_param(name: str = "ids") -> BindParameter[Any]:
    """A list parameter for ``IN (...)``, rendered for each list's length at execution."""
    return bindparam(name, expanding=True)


def in_chunks(values: Iterable[T]) -> Iterator[list[T]]:
    """Values (deduplicated, in order) in lists short enough for one IN (...) clause."""
    unique = list(dict.fromkeys(values))
    for start in range(0, len(unique), _CHUNK):
        yield unique[start:start + _CHUNK]


@dataclass
class WriteResult:
    """What one batch did; adds up across batches."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    older: int = 0  # not applied: the stored version is newer

    def __iadd__(self, other: WriteResult) -> WriteResult:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.older += other.older
        return self

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged + self.older


def content_hash(paper: Paper) -> str:
    # Unit and record separators cannot occur in normalised text, so this join is unambiguous
    # (and several times cheaper than hashing a JSON dump).
    fields = (paper.version, paper.title, paper.abstract, "\x1e".join(paper.authors),
              "\x1e".join(paper.categories), paper.primary_category, _iso(paper.published),
              _iso(paper.updated), paper.comments, paper.journal_ref, paper.doi, paper.license)
    text = "\x1f".join("" if f is None else str(f) for f in fields)
    return hashlib.sha1(text.encode()).hexdigest()


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value else None


def rank(version: int | None, updated: datetime | None, published: datetime | None) -> tuple[
        int, datetime]:
    return (version or 0, updated or published or datetime.min)


def _earliest(a: date | None, b: date | None) -> date | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _dedupe(batch: Sequence[Paper]) -> dict[str, Paper]:
    """One record per id: the highest rank, carrying the earliest listing date seen."""
    best: dict[str, Paper] = {}
    for paper in batch:
        seen = best.get(paper.arxiv_id)
        if seen is None:
            best[paper.arxiv_id] = paper
            continue
        listed = _earliest(seen.listed_on, paper.listed_on)
        winner = paper if rank(paper.version, paper.updated, paper.published) >= rank(
            seen.version, seen.updated, seen.published) else seen
        if winner.listed_on != listed:
            winner = replace(winner, listed_on=listed)
        best[paper.arxiv_id] = winner
    return best


def _row(paper: Paper, digest: str, now: datetime) -> dict[str, Any]:
    return {
        "arxiv_id": paper.arxiv_id, "version": paper.version, "title": paper.title,
        "abstract": paper.abstract, "authors": list(paper.authors),
        "primary_category": paper.primary_category, "categories": list(paper.categories),
        "published": paper.published, "updated": paper.updated, "listed_on": paper.listed_on,
        "comments": paper.comments, "journal_ref": paper.journal_ref, "doi": paper.doi,
        "license": paper.license, "source": paper.source, "content_hash": digest,
        "modified_at": now,
    }


def write_papers(conn: Connection, batch: Sequence[Paper], now: datetime) -> WriteResult:
    """Upsert a batch inside the caller's transaction; see the module docstring for rules."""
    result = WriteResult()
    incoming = _dedupe(batch)
    if not incoming:
        return result
    stored: dict[str, Any] = {}
    for chunk in in_chunks(incoming):
        rows = conn.execute(
            select(papers.c.id, papers.c.arxiv_id, papers.c.version, papers.c.updated,
                   papers.c.published, papers.c.listed_on, papers.c.content_hash,
                   papers.c.source, papers.c.comments, papers.c.journal_ref, papers.c.doi,
                   papers.c.license)
            .where(papers.c.arxiv_id.in_(chunk))
        )
        stored.update({row.arxiv_id: row for row in rows})

    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    listing_fixes: list[dict[str, Any]] = []
    touched: dict[str, str] = {}  # arxiv_id -> source, for provenance
    for arxiv_id, paper in incoming.items():
        digest = content_hash(paper)
        row = stored.get(arxiv_id)
        touched[arxiv_id] = paper.source
        if row is None:
            inserts.append(_row(paper, digest, now) | {"created_at": now})
            result.inserted += 1
            continue
        listed = _earliest(row.listed_on, paper.listed_on)
        new_rank = rank(paper.version, paper.updated, paper.published)
        old_rank = rank(row.version, row.updated, row.published)
        weak = row.source in WEAK_SOURCES and paper.source not in WEAK_SOURCES
        if not weak and (new_rank < old_rank or (new_rank == old_rank
                                                 and digest == row.content_hash)):
            if new_rank < old_rank:
                result.older += 1
            else:
                result.unchanged += 1
            if listed != row.listed_on:
                listing_fixes.append({"_id": row.id, "listed_on": listed})
            continue
        values = _row(paper, digest, now)
        # A record that lacks a field (JSONL has no DOI, OAI no version) keeps what we had.
        for name in ("published", "updated", "comments", "journal_ref", "doi", "license"):
            if values[name] is None:
                values[name] = getattr(row, name)
        values["listed_on"] = listed
        values["_id"] = row.id
        updates.append(values)
        result.updated += 1

    id_of = {arxiv_id: row.id for arxiv_id, row in stored.items()}
    if inserts:
        returned = conn.execute(insert(papers).returning(papers.c.id, papers.c.arxiv_id),
                                inserts)
        id_of.update({r.arxiv_id: r.id for r in returned})
    if updates:
        columns: dict[str, Any] = {k: bindparam(k) for k in updates[0] if k != "_id"}
        conn.execute(update(papers).where(papers.c.id == bindparam("_id")).values(columns),
                     updates)
        changed = [u["_id"] for u in updates]
        for chunk in in_chunks(changed):
            conn.execute(delete(paper_categories).where(paper_categories.c.paper_id.in_(chunk)))
    if listing_fixes:
        conn.execute(update(papers).where(papers.c.id == bindparam("_id"))
                     .values(listed_on=bindparam("listed_on"), modified_at=now), listing_fixes)
    category_rows = [
        {"paper_id": id_of[row["arxiv_id"]], "category": code}
        for row in (*inserts, *updates) for code in row["categories"]
    ]
    if category_rows:
        conn.execute(insert(paper_categories), category_rows)
    _record_sources(conn, [{"paper_id": id_of[a], "source": s, "first_seen_at": now,
                            "last_seen_at": now} for a, s in touched.items()])
    return result


def write_weak_papers(conn: Connection, batch: Sequence[Paper], now: datetime) -> WriteResult:
    """Upsert papers from a weak source: new ones are inserted and the source's own earlier
    records refreshed; a paper another source wrote only gains the provenance row."""
    stored: dict[str, Any] = {}
    for chunk in in_chunks(p.arxiv_id for p in batch):
        rows = conn.execute(select(papers.c.arxiv_id, papers.c.id, papers.c.source)
                            .where(papers.c.arxiv_id.in_(chunk)))
        stored.update({row.arxiv_id: row for row in rows})
    own = [p for p in batch if p.arxiv_id not in stored
           or stored[p.arxiv_id].source == p.source]
    kept = {p.arxiv_id: p.source for p in batch if p.arxiv_id in stored
            and stored[p.arxiv_id].source != p.source}
    result = write_papers(conn, own, now)
    result.unchanged += len(kept)
    _record_sources(conn, [{"paper_id": stored[a].id, "source": s, "first_seen_at": now,
                            "last_seen_at": now} for a, s in kept.items()])
    return result


def _record_sources(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    dialect = conn.dialect.name
    if dialect == "postgresql":
        pg = postgresql.insert(paper_sources)
        stmt: Any = pg.on_conflict_do_update(
            index_elements=["paper_id", "source"],
            set_={"last_seen_at": pg.excluded.last_seen_at})
    else:
        lite = sqlite.insert(paper_sources)
        stmt = lite.on_conflict_do_update(
            index_elements=["paper_id", "source"],
            set_={"last_seen_at": lite.excluded.last_seen_at})
    conn.execute(stmt, rows)


# What row_to_paper reads, and the row id: reading a page of papers, leaving out the stamps
# and hash saves parsing two datetimes a row (search pages read 21 at a time).
PAPER_COLUMNS = tuple(papers.c[name] for name in (
    "id", "arxiv_id", "version", "title", "abstract", "authors", "categories",
    "primary_category", "published", "updated", "listed_on", "comments", "journal_ref", "doi",
    "license", "source"))


def row_to_paper(row: Any) -> Paper:
    return Paper(
        arxiv_id=row.arxiv_id, version=row.version, title=row.title, abstract=row.abstract,
        authors=tuple(row.authors), categories=tuple(row.categories),
        primary_category=row.primary_category, published=row.published, updated=row.updated,
        listed_on=row.listed_on, comments=row.comments, journal_ref=row.journal_ref,
        doi=row.doi, license=row.license, source=row.source,
    )


def get_papers(conn: Connection, arxiv_ids: Iterable[str]) -> dict[str, Paper]:
    return _papers_by(conn, papers.c.arxiv_id, arxiv_ids)


@built
def _papers_where(column: str) -> Any:
    return select(*PAPER_COLUMNS).where(papers.c[column].in_(ids_param()))


def _papers_by(conn: Connection, column: Any, keys: Iterable[Any]) -> dict[Any, Paper]:
    """The stored papers whose ``column`` is among ``keys``, by that key."""
    found: dict[Any, Paper] = {}
    query = _papers_where(column.name)
    for chunk in in_chunks(keys):
        rows = conn.execute(query, {"ids": chunk})
        found.update({row._mapping[column]: row_to_paper(row) for row in rows})
    return found


def iter_papers(conn: Connection, batch: int = 1000) -> Iterator[tuple[int, Paper]]:
    """Every paper with its row id, in id order, read in keyset pages (flat memory)."""
    last = 0
    while True:
        rows = conn.execute(select(papers).where(papers.c.id > last)
                            .order_by(papers.c.id).limit(batch)).all()
        if not rows:
            return
        for row in rows:
            yield row.id, row_to_paper(row)
        last = rows[-1].id


def stats(conn: Connection, top_categories: int = 50) -> dict[str, Any]:
    total = conn.execute(select(func.count()).select_from(papers)).scalar_one()
    first, last = conn.execute(select(func.min(papers.c.published),
                                      func.max(papers.c.published))).one()
    first_listed, last_listed = conn.execute(select(func.min(papers.c.listed_on),
                                                    func.max(papers.c.listed_on))).one()
    count = func.count().label("n")
    by_category = conn.execute(
        select(paper_categories.c.category, count).group_by(paper_categories.c.category)
        .order_by(count.desc(), paper_categories.c.category).limit(top_categories)).all()
    by_primary = conn.execute(
        select(papers.c.primary_category, count).group_by(papers.c.primary_category)
        .order_by(count.desc(), papers.c.primary_category).limit(top_categories)).all()
    by_source = conn.execute(
        select(paper_sources.c.source, count).group_by(paper_sources.c.source)
        .order_by(paper_sources.c.source)).all()
    return {
        "papers": total,
        "published": {"first": _iso(first), "last": _iso(last)},
        "listed": {"first": _iso(first_listed), "last": _iso(last_listed)},
        "categories": {c: n for c, n in by_category},
        "primary_categories": {c: n for c, n in by_primary},
        "sources": {s: n for s, n in by_source},
    }


def changed_since(conn: Connection, since: datetime | None, after_id: int, limit: int
                  ) -> list[ChangedPaper]:
    """A page of papers modified after ``since`` in (modified_at, id) order.

    Pass the previous page's last (modified_at, row_id) as (since, after_id) to go on; pass
    (watermark, 0) to start.
    """
    query = select(papers)
    if since is not None:
        query = query.where((papers.c.modified_at > since) | (
            (papers.c.modified_at == since) & (papers.c.id > after_id)))
    elif after_id:
        query = query.where(papers.c.id > after_id)
    rows = conn.execute(query.order_by(papers.c.modified_at, papers.c.id).limit(limit))
    return [ChangedPaper(row.id, row_to_paper(row), row.created_at, row.modified_at)
            for row in rows]


def get_papers_by_row(conn: Connection, row_ids: Iterable[int]) -> dict[int, Paper]:
    return _papers_by(conn, papers.c.id, row_ids)


def row_ids(conn: Connection, arxiv_ids: Iterable[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in in_chunks(arxiv_ids):
        rows = conn.execute(select(papers.c.id, papers.c.arxiv_id)
                            .where(papers.c.arxiv_id.in_(chunk)))
        found.update({row.arxiv_id: row.id for row in rows})
    return found


def sample_ids(conn: Connection, n: int, before: datetime | None, seed: int) -> list[str]:
    """Up to ``n`` arXiv ids in a fixed pseudo-random order that ``seed`` chooses (the same
    answer every time, on SQLite and PostgreSQL alike, without reading every row)."""
    # A multiplicative hash of the row id: cheap, portable SQL, and reproducible.
    order = (cast(papers.c.id, BigInteger) * 2654435761 + seed) % 1000003
    query = select(papers.c.arxiv_id).order_by(order, papers.c.id).limit(n)
    if before is not None:
        query = query.where(papers.c.published < before)
    return [row[0] for row in conn.execute(query)]
