"""Libraries: collections of papers with notes and tags, who may see them, saving, export.

The rules of visibility live here, once, for the web, the API and the CLI alike:

- a **private** collection is its owner's; a **lab** collection is also readable and
  writable (add, note, tag, remove) by the members of its group; a **public** one is
  readable by anyone and still changed by its owner only;
- a collection someone may not read does not exist for them: ``access`` raises
  LibraryError 404 (never 403), so its existence does not leak; a reader who may read but
  not change it gets 403;
- renaming, visibility, deletion: the owner only. Deletion is soft and undone within
  UNDO_DAYS;
- a paper a moderator hid stays in private and lab collections, marked ``hidden``, and
  leaves public collections and every feed.

Each user's default collection is "Reading list", made on the first save. Items list newest
added first, by publication date, or by title. Groups and imports: library_groups.py and
library_jobs.py.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from paperwire.errors import PaperwireError
from paperwire.formats.cite import MAX_NOTE_CHARS, MAX_TAG_CHARS, MAX_TAGS, ExportItem
from paperwire.library_import import paper_key
from paperwire.models import Paper, User
from paperwire.store import Store
from paperwire.store.database import utcnow

VISIBILITIES = ("private", "lab", "public")
ORDERS = ("added", "published", "title")
DEFAULT_NAME = "Reading list"
UNDO_DAYS = 30
MAX_NAME = 200
MAX_DESCRIPTION = 2000
MAX_COLLECTIONS = 500  # per owner
MAX_ITEMS = 20_000  # per collection
PER_PAGE = 50


class LibraryError(PaperwireError):
    """A library action refused; ``status`` is the HTTP answer (404 hides what exists)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def not_found(collection_id: int | str) -> LibraryError:
    return LibraryError(f"no collection {collection_id} here", 404)


@dataclass(frozen=True)
class Collection:
    id: int
    owner_id: int
    owner_name: str
    group_id: int | None
    group_name: str | None
    name: str
    description: str
    visibility: str
    is_default: bool
    items: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Collection:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})

    @property
    def url(self) -> str:
        return f"/library/c/{self.id}"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "description": self.description,
                "visibility": self.visibility, "is_default": self.is_default,
                "owner": self.owner_name, "group_id": self.group_id,
                "group": self.group_name, "items": self.items, "url": self.url,
                "created_at": self.created_at.isoformat(),
                "updated_at": self.updated_at.isoformat(),
                "deleted_at": self.deleted_at.isoformat() if self.deleted_at else None,
                "restorable_until": (self.deleted_at + timedelta(days=UNDO_DAYS)).isoformat()
                if self.deleted_at else None}


@dataclass(frozen=True)
class Access:
    """A collection and what the viewer may do with it."""

    collection: Collection
    role: str  # owner | member (lab) | reader (public)

    @property
    def can_add(self) -> bool:
        return self.role in ("owner", "member")

    @property
    def can_manage(self) -> bool:
        return self.role == "owner"

    @property
    def shows_hidden(self) -> bool:
        return self.collection.visibility != "public"


def access(store: Store, viewer: User | None, collection_id: int, *,
           deleted: bool = False) -> Access:
    """What ``viewer`` may do with the collection; 404 when they may not read it (or it is
    deleted, unless ``deleted`` and they own it)."""
    row = store.collection(collection_id)
    if row is None:
        raise not_found(collection_id)
    found = Collection.from_row(row)
    owner = viewer is not None and viewer.id == found.owner_id
    if found.deleted_at is not None and not (deleted and owner):
        raise not_found(collection_id)
    if owner:
        return Access(found, "owner")
    if (viewer is not None and found.visibility == "lab" and found.group_id is not None
            and store.group_role(found.group_id, viewer.id) is not None):
        return Access(found, "member")
    if found.visibility == "public":
        return Access(found, "reader")
    raise not_found(collection_id)


def writable(store: Store, viewer: User | None, collection_id: int) -> Access:
    got = access(store, viewer, collection_id)
    if not got.can_add:
        raise LibraryError("this collection is read-only to you", 403)
    return got


def manageable(store: Store, viewer: User | None, collection_id: int, *,
               deleted: bool = False) -> Access:
    got = access(store, viewer, collection_id, deleted=deleted)
    if not got.can_manage:
        raise LibraryError("only the collection's owner may change or delete it", 403)
    return got


# --- untrusted text --------------------------------------------------------------------------
def clean_text(value: str | None, name: str, limit: int, *, lines: bool = False) -> str:
    """Text as stored: control characters (but line breaks, with ``lines``) dropped,
    trimmed, at most ``limit`` characters."""
    keep = "\n\t" if lines else ""
    text = "".join(ch for ch in value or "" if ch in keep
                   or unicodedata.category(ch)[0] != "C")
    text = text.strip() if lines else " ".join(text.split())
    if len(text) > limit:
        raise LibraryError(f"{name} may have at most {limit:,} characters (it has "
                           f"{len(text):,})")
    return text


def clean_tags(tags: Iterable[str] | str | None) -> list[str]:
    """Tags from a list or a comma-separated string: trimmed, deduplicated, bounded."""
    raw = tags.split(",") if isinstance(tags, str) else list(tags or [])
    out = list(dict.fromkeys(t for t in (clean_text(t, "a tag", MAX_TAG_CHARS) for t in raw)
                             if t))
    if len(out) > MAX_TAGS:
        raise LibraryError(f"at most {MAX_TAGS} tags per item (got {len(out)})")
    return out


def check_visibility(value: str) -> str:
    if value not in VISIBILITIES:
        raise LibraryError(f"visibility must be one of {', '.join(VISIBILITIES)} "
                           f"(got {value[:40]!r})")
    return value


# --- collections ---------------------------------------------------------------------------
def collections_for(store: Store, user: User) -> list[Collection]:
    """The user's collections and their labs' (the default first)."""
    return [Collection.from_row(r) for r in store.collections_of(user.id)]


def deleted_for(store: Store, user: User, now: datetime | None = None) -> list[Collection]:
    """The user's deleted collections that can still be restored."""
    cutoff = (now or utcnow()) - timedelta(days=UNDO_DAYS)
    return [c for c in (Collection.from_row(r) for r in store.collections_of(
        user.id, deleted=True)) if c.deleted_at and c.deleted_at >= cutoff]


def default_for(store: Store, user: User) -> Collection:
    return Collection.from_row(store.default_collection(user.id, DEFAULT_NAME))


def _check_group(store: Store, user: User, visibility: str, group_id: int | None
                 ) -> int | None:
    if visibility != "lab":
        return group_id if group_id is not None and store.group_role(
            group_id, user.id) is not None else None
    if group_id is None or store.group_role(group_id, user.id) is None:
        raise LibraryError("a lab collection needs a group you are a member of")
    return group_id


def create(store: Store, user: User, name: str, *, description: str = "",
           visibility: str = "private", group_id: int | None = None) -> Collection:
    name = clean_text(name, "the name", MAX_NAME)
    if not name:
        raise LibraryError("give the collection a name")
    check_visibility(visibility)
    group_id = _check_group(store, user, visibility, group_id)
    if store.find_collection(user.id, name) is not None:
        raise LibraryError(f"you already have a collection named {name!r}", 409)
    if len(store.collections_of(user.id)) >= MAX_COLLECTIONS:
        raise LibraryError(f"at most {MAX_COLLECTIONS} collections per account", 409)
    return Collection.from_row(store.create_collection(
        user.id, name, description=clean_text(description, "the description",
                                              MAX_DESCRIPTION, lines=True),
        visibility=visibility, group_id=group_id))


def find_or_create(store: Store, user: User, name: str) -> Collection:
    found = store.find_collection(user.id, clean_text(name, "the name", MAX_NAME))
    return Collection.from_row(found) if found else create(store, user, name)


def update(store: Store, user: User, collection_id: int, *, name: str | None = None,
           description: str | None = None, visibility: str | None = None,
           group_id: int | None = None) -> Collection:
    current = manageable(store, user, collection_id).collection
    values: dict[str, Any] = {}
    if name is not None:
        name = clean_text(name, "the name", MAX_NAME)
        other = store.find_collection(user.id, name)
        if not name or (other is not None and other["id"] != collection_id):
            raise LibraryError(f"you already have a collection named {name!r}" if name
                               else "give the collection a name", 409 if name else 400)
        values["name"] = name
    if description is not None:
        values["description"] = clean_text(description, "the description",
                                           MAX_DESCRIPTION, lines=True)
    if visibility is not None:
        values["visibility"] = check_visibility(visibility)
        values["group_id"] = _check_group(store, user, visibility,
                                          group_id if group_id is not None
                                          else current.group_id)
    if values:
        store.update_collection(collection_id, **values)
    return access(store, user, collection_id).collection


def delete(store: Store, user: User, collection_id: int) -> Collection:
    """Soft-delete: gone from every page and feed, restorable for UNDO_DAYS."""
    manageable(store, user, collection_id)
    store.update_collection(collection_id, deleted_at=utcnow(), is_default=False)
    return manageable(store, user, collection_id, deleted=True).collection


def restore(store: Store, user: User, collection_id: int) -> Collection:
    found = manageable(store, user, collection_id, deleted=True).collection
    if found.deleted_at is None:
        return found
    if found.deleted_at < utcnow() - timedelta(days=UNDO_DAYS):
        raise not_found(collection_id)
    if store.find_collection(user.id, found.name) is not None:
        raise LibraryError(f"rename your other collection named {found.name!r} first", 409)
    store.update_collection(collection_id, deleted_at=None)
    return access(store, user, collection_id).collection


# --- items ---------------------------------------------------------------------------------
def save(store: Store, user: User, arxiv_id: str, collection_id: int | None = None, *,
         on: bool | None = True, note: str | None = None, tags: Iterable[str] = ()
         ) -> dict[str, Any]:
    """Put a stored paper in a collection (the default when none is named), take it out
    (``on`` False), or toggle (None); idempotent. The paper must be stored."""
    target = (writable(store, user, collection_id).collection if collection_id is not None
              else default_for(store, user))
    rows = store.row_ids([arxiv_id])
    if arxiv_id not in rows:
        raise LibraryError(f"no paper {arxiv_id} on this instance", 404)
    key = paper_key(arxiv_id)
    if on is None:
        on = arxiv_id not in in_collection(store, target.id, [arxiv_id])
    if on:
        if target.items >= MAX_ITEMS:
            raise LibraryError(f"a collection holds at most {MAX_ITEMS:,} items", 409)
        store.add_collection_items(target.id, [{
            "import_key": key, "paper_id": rows[arxiv_id],
            "note": clean_text(note, "the note", MAX_NOTE_CHARS, lines=True) or None,
            "tags": clean_tags(tags)}], user.id)
    else:
        store.remove_collection_items(target.id, [key])
    return {"arxiv_id": arxiv_id, "collection": target.id, "collection_name": target.name,
            "saved": bool(on), "saved_anywhere": arxiv_id in store.saved_ids(user.id,
                                                                            [arxiv_id])}


def in_collection(store: Store, collection_id: int, arxiv_ids: Sequence[str]) -> set[str]:
    wanted = set(arxiv_ids)
    return {i["arxiv_id"] for i in store.collection_items(collection_id)
            if i["arxiv_id"] in wanted}


def edit_item(store: Store, user: User, collection_id: int, item_id: int, *,
              note: str | None = None, tags: Iterable[str] | str | None = None) -> None:
    writable(store, user, collection_id)
    values: dict[str, Any] = {}
    if note is not None:
        values["note"] = clean_text(note, "the note", MAX_NOTE_CHARS, lines=True) or None
    if tags is not None:
        values["tags"] = clean_tags(tags)
    if values and not store.update_collection_item(collection_id, item_id, values):
        raise LibraryError(f"no item {item_id} in this collection", 404)


def remove_item(store: Store, user: User, collection_id: int, import_key: str) -> bool:
    writable(store, user, collection_id)
    return store.remove_collection_items(collection_id, [import_key]) > 0


@dataclass(frozen=True)
class Item:
    id: int
    import_key: str
    paper: Paper | None
    citation: dict[str, Any] | None
    note: str | None
    tags: tuple[str, ...]
    added_at: datetime
    hidden: bool

    def export(self) -> ExportItem | None:
        return ExportItem(self.paper, self.note, self.tags) if self.paper else None


def items(store: Store, got: Access, order: str = "added", *, limit: int | None = None,
          offset: int = 0, feed: bool = False) -> list[Item]:
    """The collection's items as this viewer may see them (see the module docstring)."""
    if order not in ORDERS:
        raise LibraryError(f"order must be one of {', '.join(ORDERS)} (got {order[:40]!r})")
    rows = store.collection_items(got.collection.id, order, limit=limit, offset=offset,
                                  with_hidden=got.shows_hidden and not feed)
    papers = store.get_papers(r["arxiv_id"] for r in rows if r["arxiv_id"])
    return [Item(r["id"], r["import_key"], papers.get(r["arxiv_id"] or ""), r["citation"],
                 r["note"], tuple(r["tags"] or ()), r["added_at"], r["hidden"])
            for r in rows]


def export_items(store: Store, got: Access, order: str = "added") -> list[ExportItem]:
    """What the citation exports carry: the stored papers with their notes and tags."""
    return [e for e in (i.export() for i in items(store, got, order)) if e is not None]


def saved_among(store: Store, user: User | None, arxiv_ids: Iterable[str]) -> set[str]:
    """Which of these papers the reader has saved (nothing for a visitor)."""
    return store.saved_ids(user.id, arxiv_ids) if user is not None else set()


# --- search inside a library ---------------------------------------------------------------
@dataclass(frozen=True)
class Scope:
    """What a search inside collections is limited to: the papers' row ids, and each
    paper's notes and tags as text (searched by the query's words too)."""

    rows: frozenset[int]
    texts: dict[str, str]  # arXiv id -> notes and tags


def scope(store: Store, user: User | None, collection_id: int | None, *,
          mine: bool = False) -> Scope:
    """A collection's papers (as ``user`` may read it), or (``mine``) every collection
    the user can read from /library."""
    if mine:
        if user is None:
            raise LibraryError("sign in to search your library", 401)
        chosen = [Access(c, "owner") for c in collections_for(store, user)]
    else:
        assert collection_id is not None
        chosen = [access(store, user, collection_id)]
    arxiv_ids: set[str] = set()
    texts: dict[str, str] = {}
    for got in chosen:
        for row in store.collection_items(got.collection.id,
                                          with_hidden=got.shows_hidden):
            if row["arxiv_id"]:
                arxiv_ids.add(row["arxiv_id"])
                words = " ".join([row["note"] or "", *(row["tags"] or [])]).strip()
                if words:
                    texts[row["arxiv_id"]] = f"{texts.get(row['arxiv_id'], '')} {words}"
    return Scope(frozenset(store.row_ids(arxiv_ids).values()), texts)
