"""Embedding rows: which papers still need embedding, writing vectors, reading them back."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, and_, delete, func, insert, or_, select

from paperwire.store.papers import in_chunks
from paperwire.store.schema import embeddings, papers


def _pending(model: str):  # type: ignore[no-untyped-def]
    joined = papers.outerjoin(
        embeddings, and_(embeddings.c.paper_id == papers.c.id, embeddings.c.model == model))
    stale = or_(embeddings.c.paper_id.is_(None),
                embeddings.c.content_hash != papers.c.content_hash)
    return joined, stale


def count_to_embed(conn: Connection, model: str) -> int:
    joined, stale = _pending(model)
    return int(conn.execute(select(func.count()).select_from(joined).where(stale)).scalar_one())


def papers_to_embed(conn: Connection, model: str, after_id: int, limit: int
                    ) -> list[tuple[int, str, str, str]]:
    """(id, content_hash, title, abstract) of papers lacking a current embedding, by id."""
    joined, stale = _pending(model)
    rows = conn.execute(
        select(papers.c.id, papers.c.content_hash, papers.c.title, papers.c.abstract)
        .select_from(joined).where(stale, papers.c.id > after_id)
        .order_by(papers.c.id).limit(limit))
    return [(r.id, r.content_hash, r.title, r.abstract) for r in rows]


def write_embeddings(conn: Connection, model: str, ids: Sequence[int], hashes: Sequence[str],
                     vectors: npt.NDArray[np.float32], now: datetime) -> None:
    for chunk in in_chunks(ids):
        conn.execute(delete(embeddings).where(embeddings.c.model == model,
                                              embeddings.c.paper_id.in_(chunk)))
    half = vectors.astype(np.float16)
    conn.execute(insert(embeddings), [
        {"paper_id": int(i), "model": model, "content_hash": h, "vector": half[n].tobytes(),
         "created_at": now} for n, (i, h) in enumerate(zip(ids, hashes, strict=True))])


def count_embeddings(conn: Connection, model: str) -> int:
    return int(conn.execute(select(func.count()).select_from(embeddings)
                            .where(embeddings.c.model == model)).scalar_one())


def newest_embedding(conn: Connection, model: str) -> datetime | None:
    value = conn.execute(select(func.max(embeddings.c.created_at))
                         .where(embeddings.c.model == model)).scalar_one()
    return value  # type: ignore[no-any-return]


def iter_embeddings(conn: Connection, model: str, dim: int, batch: int = 20_000
                    ) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]]:
    """All vectors of a model in id order, in chunks (for rebuilding the vector index)."""
    last = 0
    while True:
        rows = conn.execute(
            select(embeddings.c.paper_id, embeddings.c.vector)
            .where(embeddings.c.model == model, embeddings.c.paper_id > last)
            .order_by(embeddings.c.paper_id).limit(batch)).all()
        if not rows:
            return
        yield _unpack(rows, dim)
        last = rows[-1].paper_id


def get_embeddings(conn: Connection, model: str, ids: Sequence[int], dim: int
                   ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    rows: list[Any] = []
    for chunk in in_chunks(ids):
        rows.extend(conn.execute(
            select(embeddings.c.paper_id, embeddings.c.vector)
            .where(embeddings.c.model == model, embeddings.c.paper_id.in_(chunk))).all())
    return _unpack(rows, dim)


def _unpack(rows: Sequence[object], dim: int
            ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    ids = np.fromiter((r.paper_id for r in rows), np.int64, len(rows))  # type: ignore[attr-defined]
    raw = b"".join(r.vector for r in rows)  # type: ignore[attr-defined]
    vectors = np.frombuffer(raw, np.float16).reshape(len(rows), dim).astype(np.float32)
    return ids, vectors


def embeddings_since(conn: Connection, model: str, since: datetime | None, dim: int,
                     batch: int = 20_000
                     ) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.float32], datetime]]:
    """Vectors written after ``since`` in (created_at, id) order, in chunks, each with the
    newest created_at it holds (the caller's next watermark once the chunk is applied)."""
    after: tuple[datetime, int] | None = None
    while True:
        query = select(embeddings.c.paper_id, embeddings.c.vector, embeddings.c.created_at
                       ).where(embeddings.c.model == model)
        if after is not None:
            query = query.where((embeddings.c.created_at > after[0]) | (
                (embeddings.c.created_at == after[0]) & (embeddings.c.paper_id > after[1])))
        elif since is not None:
            query = query.where(embeddings.c.created_at > since)
        rows = conn.execute(query.order_by(embeddings.c.created_at, embeddings.c.paper_id)
                            .limit(batch)).all()
        if not rows:
            return
        ids, vectors = _unpack(rows, dim)
        after = (rows[-1].created_at, rows[-1].paper_id)
        yield ids, vectors, after[0]
