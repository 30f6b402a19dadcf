"""SQL of trained For-you models (one row per profile, replaced whole, never half written)
and of the vocabulary their feature space is built with.

A model is written in one statement inside the writer's transaction, and only over an older
one: a trainer that read the profile's signals before another trainer did never overwrites
the newer model (two hosts may retrain the same profile at once).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from paperwire.store.recommend_schema import rec_models, rec_profiles, rec_vocabularies

INFO = ("profile_id", "version", "space_key", "ranker", "read_at", "trained_at", "train_ms",
        "size")


def save(conn: Connection, profile_id: int, values: dict[str, Any]) -> bool:
    """Keep ``values`` (version, space_key, ranker, read_at, train_ms, data) as the profile's
    model unless a model read later is kept already, or the profile is gone."""
    if conn.execute(select(rec_profiles.c.id).where(rec_profiles.c.id == profile_id)
                    ).first() is None:
        return False
    kept = conn.execute(select(rec_models.c.read_at)
                        .where(rec_models.c.profile_id == profile_id)).first()
    row = {**values, "size": len(values["data"])}
    if kept is None:
        conn.execute(insert(rec_models).values(profile_id=profile_id, **row))
        return True
    if kept.read_at > values["read_at"]:
        return False
    conn.execute(update(rec_models).where(rec_models.c.profile_id == profile_id).values(**row))
    return True


def model(conn: Connection, profile_id: int, *, data: bool = True) -> dict[str, Any] | None:
    columns = [rec_models.c[c] for c in INFO] + ([rec_models.c.data] if data else [])
    row = conn.execute(select(*columns).where(rec_models.c.profile_id == profile_id)).first()
    return dict(row._mapping) if row is not None else None


def models_info(conn: Connection) -> dict[int, dict[str, Any]]:
    """Every kept model's row without its bytes, by profile (a trainer's pass reads it once)."""
    rows = conn.execute(select(*[rec_models.c[c] for c in INFO]))
    return {int(r.profile_id): dict(r._mapping) for r in rows}


def drop(conn: Connection, profile_id: int) -> None:
    conn.execute(delete(rec_models).where(rec_models.c.profile_id == profile_id))


def counts(conn: Connection) -> dict[str, Any]:
    from sqlalchemy import func

    n, size = conn.execute(select(func.count(), func.coalesce(func.sum(rec_models.c.size), 0))
                           ).one()
    return {"models": int(n), "bytes": int(size)}



def save_vocabulary(conn: Connection, values: dict[str, Any], keep: int = 2) -> None:
    """Add a vocabulary; only the newest ``keep`` of its kind (with vectors or not) stay."""
    conn.execute(insert(rec_vocabularies).values(**values, size=len(values["data"])))
    same = rec_vocabularies.c.vectors.is_(bool(values["vectors"]))
    old = list(conn.execute(select(rec_vocabularies.c.id).where(same)
                            .order_by(rec_vocabularies.c.id.desc()).offset(keep)).scalars())
    if old:
        conn.execute(delete(rec_vocabularies).where(rec_vocabularies.c.id.in_(old)))


def vocabulary(conn: Connection, vectors: bool) -> dict[str, Any] | None:
    row = conn.execute(select(rec_vocabularies).where(rec_vocabularies.c.vectors.is_(vectors))
                       .order_by(rec_vocabularies.c.id.desc()).limit(1)).first()
    return dict(row._mapping) if row is not None else None
