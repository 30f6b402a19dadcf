"""SQL of recommendations: profiles, the signals a profile trains on, "not interested"
marks, the shown ledger, a profile's version and the candidate papers of a window.

A profile's version is read, not kept: its own edit counter with the counts and newest
stamps of everything it trains on (votes, saved items, follows, marks), in one statement.
A vote cast anywhere, a save from any page, a mark from a mail link all change it, and no
writer elsewhere has to remember to bump anything.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, or_, select, update

from paperwire.store.author_schema import authors, follows, paper_authors
from paperwire.store.library_schema import collection_items, collections, group_members
from paperwire.store.listings import _in_days
from paperwire.store.papers import in_chunks, row_ids
from paperwire.store.recommend_schema import not_interested, rec_models, rec_profiles, rec_shown
from paperwire.store.schema import hidden_papers, papers, votes

PROFILE_FIELDS = ("name", "source", "collections", "use_votes", "trending", "seed_text",
                  "seed_papers", "in_digest")


def _profile(row: Any) -> dict[str, Any]:
    found = {k: getattr(row, k) for k in ("id", "user_id", *PROFILE_FIELDS, "version")}
    found["collections"] = [int(c) for c in found["collections"] or []]
    found["seed_papers"] = list(found["seed_papers"] or [])
    found["has_feed"] = row.feed_token_hash is not None
    found["created_at"], found["updated_at"] = row.created_at, row.updated_at
    return found


def create_profile(conn: Connection, user_id: int, values: dict[str, Any], now: datetime
                   ) -> int:
    new_id = conn.execute(insert(rec_profiles).values(
        user_id=user_id, version=1, created_at=now, updated_at=now, feed_token_hash=None,
        **values)).inserted_primary_key
    assert new_id is not None
    return int(new_id[0])


def profiles_of(conn: Connection, user_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(rec_profiles).where(rec_profiles.c.user_id == user_id)
                        .order_by(rec_profiles.c.id))
    return [_profile(r) for r in rows]


def profile_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(rec_profiles)).scalar_one())


def profile(conn: Connection, profile_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(rec_profiles).where(rec_profiles.c.id == profile_id)).first()
    return _profile(row) if row is not None else None


def digest_profiles(conn: Connection) -> dict[int, list[dict[str, Any]]]:
    """The profiles that send a digest section, by user (one read for a digest run)."""
    found: dict[int, list[dict[str, Any]]] = {}
    for r in conn.execute(select(rec_profiles).where(rec_profiles.c.in_digest.is_(True))
                          .order_by(rec_profiles.c.id)):
        found.setdefault(r.user_id, []).append(_profile(r))
    return found


def update_profile(conn: Connection, profile_id: int, values: dict[str, Any], now: datetime
                   ) -> bool:
    done = conn.execute(update(rec_profiles).where(rec_profiles.c.id == profile_id).values(
        version=rec_profiles.c.version + 1, updated_at=now, **values))
    return bool(done.rowcount)


def delete_profile(conn: Connection, profile_id: int) -> bool:
    conn.execute(delete(not_interested).where(not_interested.c.profile_id == profile_id))
    conn.execute(delete(rec_shown).where(rec_shown.c.profile_id == profile_id))
    conn.execute(delete(rec_models).where(rec_models.c.profile_id == profile_id))
    return bool(conn.execute(delete(rec_profiles).where(rec_profiles.c.id == profile_id))
                .rowcount)


def reset_profile(conn: Connection, profile_id: int, user_id: int, now: datetime) -> None:
    """Forget what the profile learnt of its own: its marks (and the reader's marks for all
    profiles), its seeds and its page ledger. The digest ledger stays: shown once is once."""
    conn.execute(delete(not_interested).where(
        not_interested.c.user_id == user_id,
        or_(not_interested.c.profile_id == profile_id, not_interested.c.profile_id.is_(None))))
    conn.execute(delete(rec_shown).where(rec_shown.c.profile_id == profile_id,
                                         rec_shown.c.place == "page"))
    update_profile(conn, profile_id, {"seed_text": "", "seed_papers": []}, now)


def set_feed_token(conn: Connection, profile_id: int, token_hash: str | None) -> None:
    conn.execute(update(rec_profiles).where(rec_profiles.c.id == profile_id)
                 .values(feed_token_hash=token_hash))


def feed_profile(conn: Connection, token_hash: str) -> dict[str, Any] | None:
    row = conn.execute(select(rec_profiles)
                       .where(rec_profiles.c.feed_token_hash == token_hash)).first()
    return _profile(row) if row is not None else None


# --- marks and the ledger -------------------------------------------------------------------
def mark_not_interested(conn: Connection, user_id: int, arxiv_id: str, profile_id: int | None,
                        now: datetime) -> bool:
    """Whether the paper exists (marking it twice is one mark)."""
    paper_id = row_ids(conn, [arxiv_id]).get(arxiv_id)
    if paper_id is None:
        return False
    same = [not_interested.c.user_id == user_id, not_interested.c.paper_id == paper_id,
            not_interested.c.profile_id == profile_id if profile_id is not None
            else not_interested.c.profile_id.is_(None)]
    if conn.execute(select(not_interested.c.id).where(*same)).first() is None:
        conn.execute(insert(not_interested).values(user_id=user_id, paper_id=paper_id,
                                                   profile_id=profile_id, created_at=now))
    return True


def unrecorded(conn: Connection, rows: Sequence[tuple[int, str]], place: str, key: str
               ) -> list[tuple[int, int]]:
    """The (profile, paper row) pairs of ``rows`` the ledger lacks."""
    ids = row_ids(conn, [a for _, a in rows])
    wanted = {(p, ids[a]) for p, a in rows if a in ids}
    known: set[tuple[int, int]] = set()
    for chunk in in_chunks(sorted({p for p, _ in wanted})):
        known.update((r.profile_id, r.paper_id) for r in conn.execute(
            select(rec_shown.c.profile_id, rec_shown.c.paper_id).where(
                rec_shown.c.profile_id.in_(chunk), rec_shown.c.place == place,
                rec_shown.c.period_key == key)))
    return sorted(wanted - known)


def record_shown(conn: Connection, rows: Sequence[tuple[int, str]], place: str, key: str,
                 now: datetime) -> int:
    """Add (profile, paper) rows to the ledger that it lacks; how many were new."""
    new = unrecorded(conn, rows, place, key)
    if new:
        conn.execute(insert(rec_shown), [{"profile_id": p, "paper_id": r, "place": place,
                                          "period_key": key, "created_at": now}
                                         for p, r in new])
    return len(new)


def shown_ids(conn: Connection, profile_id: int, place: str, *, other_than: str = "",
              before: datetime | None = None) -> set[str]:
    """Papers the profile showed at ``place`` under another period key than ``other_than``
    (a digest's rerun still shows its own), first before ``before`` when given."""
    query = (select(papers.c.arxiv_id).join(rec_shown, rec_shown.c.paper_id == papers.c.id)
             .where(rec_shown.c.profile_id == profile_id, rec_shown.c.place == place,
                    rec_shown.c.period_key != other_than))
    if before is not None:
        query = query.where(rec_shown.c.created_at < before)
    return set(conn.execute(query).scalars())


# --- what a profile trains on ---------------------------------------------------------------
def _chosen(found: dict[str, Any]) -> list[int] | None:
    return None if found["source"] == "all" else found["collections"]


@functools.cache
def _signal_queries(chosen: bool) -> dict[str, Any]:
    """The statements signals() runs, built once (bound: user_id, limit, authors, and
    chosen for a profile over chosen collections)."""
    user_id: Any = bindparam("user_id")
    hidden = select(hidden_papers.c.paper_id)
    followed = select(follows.c.author_id).where(follows.c.user_id == user_id,
                                                 follows.c.author_id.is_not(None))
    return {
        "saved": select(papers.c.arxiv_id, func.min(collection_items.c.added_at).label("at"))
        .join(collection_items, collection_items.c.paper_id == papers.c.id)
        .where(collection_items.c.collection_id.in_(_source_collections_query(chosen)),
               papers.c.id.not_in(hidden))
        .group_by(papers.c.arxiv_id).order_by(func.min(collection_items.c.added_at).desc())
        .limit(bindparam("limit")),
        "votes": select(papers.c.arxiv_id, votes.c.created_at.label("at"))
        .join(votes, votes.c.paper_id == papers.c.id)
        .where(votes.c.user_id == user_id, papers.c.id.not_in(hidden))
        .order_by(votes.c.created_at.desc()).limit(bindparam("limit")),
        "author_papers": select(papers.c.arxiv_id, papers.c.published.label("at"))
        .where(papers.c.id.in_(select(paper_authors.c.paper_id)
                               .where(paper_authors.c.author_id.in_(followed))),
               papers.c.id.not_in(hidden))
        .order_by(papers.c.published.desc()).limit(bindparam("authors")),
        "authors": select(authors.c.name).where(authors.c.id.in_(followed))
        .order_by(authors.c.id),
        "not_interested": select(papers.c.arxiv_id, not_interested.c.created_at.label("at"))
        .join(papers, papers.c.id == not_interested.c.paper_id)
        .where(not_interested.c.user_id == user_id,
               or_(not_interested.c.profile_id == bindparam("profile_id"),
                   not_interested.c.profile_id.is_(None)))
        .order_by(not_interested.c.id),
    }


def signals(conn: Connection, found: dict[str, Any], limit: int, author_papers: int
            ) -> dict[str, list[Any]]:
    """The newest ``limit`` votes and saved items, the followed authors (names) and up to
    ``author_papers`` of their papers, and the marks, as (arxiv_id, at) pairs."""
    chosen = _chosen(found)
    queries = _signal_queries(chosen is not None)
    params: dict[str, Any] = {"user_id": found["user_id"], "profile_id": found["id"],
                              "limit": limit, "authors": author_papers}
    if chosen is not None:
        params["chosen"] = list(chosen) or [-1]
    out: dict[str, list[Any]] = {}
    for name in ("saved", "votes", "author_papers", "not_interested"):
        if name == "votes" and not found["use_votes"]:
            out[name] = []
            continue
        out[name] = [(r.arxiv_id, r.at) for r in conn.execute(queries[name], params)]
    out["authors"] = list(conn.execute(queries["authors"], params).scalars())
    return out


@functools.cache
def _version_query(chosen: bool) -> Any:
    # Built once per kind of source, with bound parameters: building this statement costs
    # SQLAlchemy several times what running it does, and it runs on every view.
    user_id: Any = bindparam("user_id")
    items = select(func.count(), func.max(collection_items.c.added_at)).where(
        collection_items.c.collection_id.in_(_source_collections_query(chosen)))
    voted = select(func.count(), func.max(votes.c.created_at)).where(votes.c.user_id == user_id)
    followed = select(func.count(), func.max(follows.c.created_at)).where(
        follows.c.user_id == user_id)
    marks = select(func.count(), func.max(not_interested.c.created_at)).where(
        not_interested.c.user_id == user_id)
    own = select(rec_profiles.c.version).where(rec_profiles.c.id == bindparam("profile_id"))
    parts: list[Any] = [own.scalar_subquery()]
    for q in (items, voted, followed, marks):
        sub = q.subquery()
        parts += [select(sub.c[0]).scalar_subquery(), select(sub.c[1]).scalar_subquery()]
    return select(*parts)


def _source_collections_query(chosen: bool) -> Any:
    """_source_collections with the user (and the chosen ids) as bound parameters."""
    user_id: Any = bindparam("user_id")
    query = select(collections.c.id).where(collections.c.deleted_at.is_(None))
    if not chosen:
        return query.where(collections.c.owner_id == user_id)
    mine = select(group_members.c.group_id).where(group_members.c.user_id == user_id)
    readable = or_(collections.c.owner_id == user_id, collections.c.visibility == "public",
                   (collections.c.visibility == "lab") & collections.c.group_id.in_(mine))
    return query.where(readable, collections.c.id.in_(bindparam("chosen", expanding=True)))


def version(conn: Connection, found: dict[str, Any]) -> str:
    """Changes whenever anything the profile trains on does (see the module's docstring)."""
    chosen = _chosen(found)
    params: dict[str, Any] = {"user_id": found["user_id"], "profile_id": found["id"]}
    if chosen is not None:
        params["chosen"] = list(chosen) or [-1]
    row = conn.execute(_version_query(chosen is not None), params).one()
    return "|".join("" if v is None else str(v) for v in row)


def candidate_ids(conn: Connection, since: date, until: date, limit: int) -> list[str]:
    """Visible papers whose day lies in [since, until], newest first, at most ``limit``."""
    rows = conn.execute(
        select(papers.c.arxiv_id)
        .where(_in_days(since, until), papers.c.id.not_in(select(hidden_papers.c.paper_id)))
        .order_by(papers.c.listed_on.desc().nulls_last(), papers.c.published.desc(),
                  papers.c.id.desc()).limit(limit))
    return list(rows.scalars())


def day_slates(conn: Connection, days: Sequence[date], per_day: int
               ) -> dict[date, list[str]]:
    """The visible papers of each of ``days`` (by the listing day, else the day published),
    newest first, at most ``per_day`` a day: what a reader saw listed that day."""
    out: dict[date, list[str]] = {}
    for day in sorted(set(days)):
        rows = conn.execute(
            select(papers.c.arxiv_id)
            .where(_in_days(day, day), papers.c.id.not_in(select(hidden_papers.c.paper_id)))
            .order_by(papers.c.listed_on.desc().nulls_last(), papers.c.published.desc(),
                      papers.c.id.desc()).limit(per_day))
        out[day] = list(rows.scalars())
    return out


def shown_counts(conn: Connection, place: str) -> dict[str, int]:
    """How many profiles the ledger has rows for at ``place``, and how many rows."""
    profiles, rows = conn.execute(select(func.count(func.distinct(rec_shown.c.profile_id)),
                                         func.count()).where(rec_shown.c.place == place)).one()
    return {"profiles": int(profiles), "papers": int(rows)}
