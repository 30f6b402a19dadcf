"""The library in the database: collections, their items, groups, members and invitations.

Rows come back as plain dicts; who may read or change what is decided above the store, in
paperwire.library. Item writes skip an ``import_key`` the collection already holds, so a
second save or re-import adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, insert, or_, select, update

from paperwire.store.author_schema import authors, paper_authors
from paperwire.store.library_schema import (
    collection_items,
    collections,
    group_invites,
    group_members,
    groups,
)
from paperwire.store.papers import built, ids_param, in_chunks
from paperwire.store.schema import hidden_papers, papers, users, votes

ORDERS = ("added", "published", "title")


def _dict(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


# --- groups --------------------------------------------------------------------------------
def create_group(conn: Connection, name: str, owner_id: int, now: datetime) -> int:
    group_id = int(conn.execute(insert(groups).values(
        name=name, created_by=owner_id, created_at=now).returning(groups.c.id)).scalar_one())
    add_member(conn, group_id, owner_id, "owner", now)
    return group_id


def group(conn: Connection, group_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(groups).where(groups.c.id == group_id)).first()
    return _dict(row) if row else None


def add_member(conn: Connection, group_id: int, user_id: int, role: str, now: datetime) -> bool:
    """Add (or keep) a member; an existing member keeps their role. Whether it was new."""
    found = conn.execute(select(group_members.c.role).where(
        group_members.c.group_id == group_id, group_members.c.user_id == user_id)).first()
    if found is not None:
        return False
    conn.execute(insert(group_members).values(group_id=group_id, user_id=user_id, role=role,
                                              joined_at=now))
    return True


def set_role(conn: Connection, group_id: int, user_id: int, role: str | None) -> None:
    """Change a member's role, or (None) remove them."""
    where = and_(group_members.c.group_id == group_id, group_members.c.user_id == user_id)
    if role is None:
        conn.execute(delete(group_members).where(where))
    else:
        conn.execute(update(group_members).where(where).values(role=role))


def role_in(conn: Connection, group_id: int, user_id: int) -> str | None:
    return conn.execute(select(group_members.c.role).where(
        group_members.c.group_id == group_id,
        group_members.c.user_id == user_id)).scalar_one_or_none()


def members(conn: Connection, group_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(users.c.id, users.c.email, users.c.display_name, group_members.c.role,
               group_members.c.joined_at)
        .join(users, users.c.id == group_members.c.user_id)
        .where(group_members.c.group_id == group_id).order_by(group_members.c.joined_at))
    return [_dict(r) for r in rows]


def groups_of(conn: Connection, user_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(groups, group_members.c.role)
        .join(group_members, group_members.c.group_id == groups.c.id)
        .where(group_members.c.user_id == user_id).order_by(groups.c.name))
    return [_dict(r) for r in rows]


def add_invite(conn: Connection, group_id: int, email: str, by: int, now: datetime) -> int:
    return int(conn.execute(insert(group_invites).values(
        group_id=group_id, email=email, invited_by=by, created_at=now)
        .returning(group_invites.c.id)).scalar_one())


def invite(conn: Connection, invite_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(group_invites).where(group_invites.c.id == invite_id)).first()
    return _dict(row) if row else None


def accept_invite(conn: Connection, invite_id: int, user_id: int, now: datetime) -> bool:
    """Mark an open invitation accepted (False when it was accepted already)."""
    return conn.execute(update(group_invites).where(
        group_invites.c.id == invite_id, group_invites.c.accepted_at.is_(None))
        .values(accepted_at=now, accepted_by=user_id)).rowcount == 1


# --- collections ---------------------------------------------------------------------------
def _counted() -> Any:
    count = (select(func.count()).select_from(collection_items)
             .where(collection_items.c.collection_id == collections.c.id).scalar_subquery())
    return select(collections, count.label("items"), groups.c.name.label("group_name"),
                  users.c.display_name.label("owner_name")) \
        .outerjoin(groups, groups.c.id == collections.c.group_id) \
        .join(users, users.c.id == collections.c.owner_id)


def create_collection(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(insert(collections).values(**values)
                            .returning(collections.c.id)).scalar_one())


def collection(conn: Connection, collection_id: int) -> dict[str, Any] | None:
    row = conn.execute(_counted().where(collections.c.id == collection_id)).first()
    return _dict(row) if row else None


def collections_of(conn: Connection, user_id: int, *, deleted: bool = False
                   ) -> list[dict[str, Any]]:
    """The user's own collections and those of their groups (deleted ones instead, own
    only, with ``deleted``)."""
    if deleted:
        where = and_(collections.c.owner_id == user_id, collections.c.deleted_at.is_not(None))
    else:
        mine = select(group_members.c.group_id).where(group_members.c.user_id == user_id)
        where = and_(collections.c.deleted_at.is_(None), or_(
            collections.c.owner_id == user_id,
            and_(collections.c.visibility == "lab", collections.c.group_id.in_(mine))))
    rows = conn.execute(_counted().where(where).order_by(
        collections.c.is_default.desc(), collections.c.name, collections.c.id))
    return [_dict(r) for r in rows]


def find_collection(conn: Connection, owner_id: int, name: str) -> dict[str, Any] | None:
    """The owner's live collection of this name (case-insensitive)."""
    row = conn.execute(_counted().where(
        collections.c.owner_id == owner_id, collections.c.deleted_at.is_(None),
        func.lower(collections.c.name) == name.lower()).order_by(collections.c.id)).first()
    return _dict(row) if row else None


def default_collection(conn: Connection, owner_id: int) -> dict[str, Any] | None:
    row = conn.execute(_counted().where(
        collections.c.owner_id == owner_id, collections.c.deleted_at.is_(None),
        collections.c.is_default.is_(True)).order_by(collections.c.id)).first()
    return _dict(row) if row else None


def update_collection(conn: Connection, collection_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(collections).where(collections.c.id == collection_id).values(**values))


# --- items ---------------------------------------------------------------------------------
_HIDDEN = collection_items.c.paper_id.in_(select(hidden_papers.c.paper_id))
_ITEM_COLUMNS = (collection_items.c.id, collection_items.c.collection_id,
                 collection_items.c.paper_id, papers.c.arxiv_id, collection_items.c.citation,
                 collection_items.c.note, collection_items.c.tags, collection_items.c.added_at,
                 collection_items.c.added_by, collection_items.c.import_key,
                 _HIDDEN.label("hidden"))


def add_items(conn: Connection, collection_id: int, rows: Sequence[dict[str, Any]]) -> int:
    """Insert the rows whose import key the collection lacks; how many were inserted."""
    keys = [r["import_key"] for r in rows]
    held: set[str] = set()
    for chunk in in_chunks(keys):
        held.update(conn.execute(select(collection_items.c.import_key).where(
            collection_items.c.collection_id == collection_id,
            collection_items.c.import_key.in_(chunk))).scalars())
    fresh: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["import_key"] not in held and row["import_key"] not in fresh:
            fresh[row["import_key"]] = {**row, "collection_id": collection_id}
    if fresh:
        conn.execute(insert(collection_items), list(fresh.values()))
    return len(fresh)


def remove_items(conn: Connection, collection_id: int, import_keys: Iterable[str]) -> int:
    removed = 0
    for chunk in in_chunks(import_keys):
        removed += conn.execute(delete(collection_items).where(
            collection_items.c.collection_id == collection_id,
            collection_items.c.import_key.in_(chunk))).rowcount
    return removed


def update_item(conn: Connection, collection_id: int, item_id: int, values: dict[str, Any]
                ) -> bool:
    return conn.execute(update(collection_items).where(
        collection_items.c.id == item_id, collection_items.c.collection_id == collection_id)
        .values(**values)).rowcount == 1


def items(conn: Connection, collection_id: int, order: str = "added", *,
          limit: int | None = None, offset: int = 0, with_hidden: bool = True
          ) -> list[dict[str, Any]]:
    """Items in ``order`` (added: newest first; published: newest first; title: A-Z)."""
    query = (select(*_ITEM_COLUMNS)
             .outerjoin(papers, papers.c.id == collection_items.c.paper_id)
             .where(collection_items.c.collection_id == collection_id))
    if not with_hidden:
        query = query.where(or_(collection_items.c.paper_id.is_(None), ~_HIDDEN))
    if order == "published":
        query = query.order_by(papers.c.published.desc().nulls_last(),
                               collection_items.c.id.desc())
    elif order == "title":
        query = query.order_by(func.lower(func.coalesce(papers.c.title,
                                                        collection_items.c.title)),
                               collection_items.c.id)
    else:
        query = query.order_by(collection_items.c.added_at.desc(),
                               collection_items.c.id.desc())
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return [{**_dict(r), "hidden": bool(r.hidden)} for r in conn.execute(query)]


def saved_ids(conn: Connection, user_id: int, arxiv_ids: Iterable[str]) -> set[str]:
    """Which of ``arxiv_ids`` are in any live collection the user owns."""
    found: set[str] = set()
    for chunk in in_chunks(arxiv_ids):
        found.update(conn.execute(_saved_query(), {"ids": chunk, "user_id": user_id}).scalars())
    return found


@built
def _saved_query() -> Any:
    return (select(papers.c.arxiv_id).distinct()
            .join(collection_items, collection_items.c.paper_id == papers.c.id)
            .join(collections, collections.c.id == collection_items.c.collection_id)
            .where(collections.c.owner_id == bindparam("user_id"),
                   collections.c.deleted_at.is_(None), papers.c.arxiv_id.in_(ids_param())))


def revised_papers(conn: Connection, user_id: int, since: datetime, until: datetime,
                   limit: int) -> list[Any]:
    """Rows of visible papers the user saved (in a live collection of theirs) or upvoted
    whose newest version, v2 or later, came out in [since, until): newest first."""
    saved = (select(collection_items.c.paper_id)
             .join(collections, collections.c.id == collection_items.c.collection_id)
             .where(collections.c.owner_id == user_id, collections.c.deleted_at.is_(None)))
    voted = select(votes.c.paper_id).where(votes.c.user_id == user_id)
    return list(conn.execute(
        select(papers).where(
            or_(papers.c.id.in_(saved), papers.c.id.in_(voted)), papers.c.version >= 2,
            papers.c.updated >= since, papers.c.updated < until,
            papers.c.id.not_in(select(hidden_papers.c.paper_id)))
        .order_by(papers.c.updated.desc(), papers.c.id.desc()).limit(limit)))


def lab_items_since(conn: Connection, user_id: int, since: datetime, limit: int
                    ) -> list[dict[str, Any]]:
    """Papers added since ``since`` to live lab collections of the user's groups (not
    hidden), newest first, with the collection's id and name."""
    mine = select(group_members.c.group_id).where(group_members.c.user_id == user_id)
    rows = conn.execute(
        select(papers.c.arxiv_id, collections.c.id.label("collection_id"),
               collections.c.name.label("collection"), collection_items.c.added_at)
        .join(collection_items, collection_items.c.paper_id == papers.c.id)
        .join(collections, collections.c.id == collection_items.c.collection_id)
        .where(collections.c.visibility == "lab", collections.c.group_id.in_(mine),
               collections.c.deleted_at.is_(None), collection_items.c.added_at >= since, ~_HIDDEN)
        .order_by(collection_items.c.added_at.desc()).limit(limit))
    return [_dict(r) for r in rows]


# --- matching imported entries to stored papers --------------------------------------------
def stored_ids(conn: Connection, arxiv_ids: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for chunk in in_chunks(arxiv_ids):
        found.update(conn.execute(select(papers.c.arxiv_id)
                                  .where(papers.c.arxiv_id.in_(chunk))).scalars())
    return found


def ids_by_doi(conn: Connection, dois: Iterable[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk in in_chunks(d.lower() for d in dois):
        rows = conn.execute(select(func.lower(papers.c.doi).label("doi"), papers.c.arxiv_id)
                            .where(func.lower(papers.c.doi).in_(chunk)))
        found.update({r.doi: r.arxiv_id for r in rows})
    return found


def titles_by_family(conn: Connection, families: Iterable[str]) -> list[tuple[str, str, str]]:
    """(family, arXiv id, title) of the papers whose first author's identity has one of
    ``families`` as the family part of its key ("lovelace" of "lovelace|ada")."""
    family = (func.split_part(authors.c.key, "|", 1) if conn.dialect.name == "postgresql"
              else None)
    query = (select(authors.c.key, papers.c.arxiv_id, papers.c.title)
             .join(paper_authors, paper_authors.c.author_id == authors.c.id)
             .join(papers, papers.c.id == paper_authors.c.paper_id)
             .where(paper_authors.c.position == 0))
    out: list[tuple[str, str, str]] = []
    for chunk in in_chunks(families):
        where: Any
        if family is not None:  # one scan of the keys for the chunk
            where = family.in_(chunk)
        else:  # keys compare by bytes in SQLite: one index range per family
            where = or_(*(and_(authors.c.key >= f"{f}|", authors.c.key < f"{f}}}")
                          for f in chunk))
        rows = conn.execute(query.where(where))
        out += [(r.key.split("|", 1)[0], r.arxiv_id, r.title) for r in rows]
    return out
