"""Store methods of the library: collections, items, groups and invitations (SQL in
library.py).

Mixed into ``Store`` (import that, not this); kept apart so each area's door stays small.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from paperwire.models import Paper
from paperwire.store import jobs as _jobs
from paperwire.store import library as _library
from paperwire.store.database import utcnow, write_transaction
from paperwire.store.papers import row_to_paper


class LibraryMethods:
    engine: Engine

    # --- groups ------------------------------------------------------------------------
    def create_group(self, name: str, owner_id: int) -> int:
        with write_transaction(self.engine) as conn:
            return _library.create_group(conn, name, owner_id, utcnow())

    def group(self, group_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            return _library.group(conn, group_id)

    def group_role(self, group_id: int, user_id: int) -> str | None:
        with self.engine.connect() as conn:
            return _library.role_in(conn, group_id, user_id)

    def group_members(self, group_id: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return _library.members(conn, group_id)

    def groups_of(self, user_id: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return _library.groups_of(conn, user_id)

    def add_group_member(self, group_id: int, user_id: int, role: str = "member") -> bool:
        """Add a member (an existing one keeps their role); whether they were new."""
        with write_transaction(self.engine) as conn:
            return _library.add_member(conn, group_id, user_id, role, utcnow())

    def set_group_role(self, group_id: int, user_id: int, role: str | None) -> None:
        """Change a member's role; None removes them."""
        with write_transaction(self.engine) as conn:
            _library.set_role(conn, group_id, user_id, role)

    def add_group_invite(self, group_id: int, email: str, by: int) -> int:
        with write_transaction(self.engine) as conn:
            return _library.add_invite(conn, group_id, email.lower(), by, utcnow())

    def group_invite(self, invite_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            return _library.invite(conn, invite_id)

    def accept_group_invite(self, invite_id: int, user_id: int) -> bool:
        """Join the invitation's group as a member (once); whether this call joined."""
        with write_transaction(self.engine) as conn:
            found = _library.invite(conn, invite_id)
            if found is None or not _library.accept_invite(conn, invite_id, user_id, utcnow()):
                return False
            return _library.add_member(conn, found["group_id"], user_id, "member", utcnow())

    # --- collections -------------------------------------------------------------------
    def create_collection(self, owner_id: int, name: str, *, description: str = "",
                          visibility: str = "private", group_id: int | None = None,
                          is_default: bool = False) -> dict[str, Any]:
        now = utcnow()
        with write_transaction(self.engine) as conn:
            new_id = _library.create_collection(conn, {
                "owner_id": owner_id, "name": name, "description": description,
                "visibility": visibility, "group_id": group_id, "is_default": is_default,
                "created_at": now, "updated_at": now})
            found = _library.collection(conn, new_id)
        assert found is not None
        return found

    def default_collection(self, owner_id: int, name: str) -> dict[str, Any]:
        """The owner's default collection, made (named ``name``) on first use."""
        with write_transaction(self.engine) as conn:
            found = _library.default_collection(conn, owner_id)
            if found is None:
                now = utcnow()
                new_id = _library.create_collection(conn, {
                    "owner_id": owner_id, "name": name, "description": "",
                    "visibility": "private", "group_id": None, "is_default": True,
                    "created_at": now, "updated_at": now})
                found = _library.collection(conn, new_id)
        assert found is not None
        return found

    def collection(self, collection_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            return _library.collection(conn, collection_id)

    def collections_of(self, user_id: int, *, deleted: bool = False) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return _library.collections_of(conn, user_id, deleted=deleted)

    def find_collection(self, owner_id: int, name: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            return _library.find_collection(conn, owner_id, name)

    def update_collection(self, collection_id: int, **values: Any) -> None:
        with write_transaction(self.engine) as conn:
            _library.update_collection(conn, collection_id, {**values, "updated_at": utcnow()})

    # --- items -------------------------------------------------------------------------
    def add_collection_items(self, collection_id: int, rows: Sequence[dict[str, Any]],
                             added_by: int | None) -> int:
        """Add items (``import_key``, ``paper_id`` or ``citation``…) the collection lacks,
        in one transaction; how many were new."""
        now = utcnow()
        full = [{"paper_id": None, "title": None, "citation": None, "note": None, "tags": [],
                 "added_at": now, "added_by": added_by, **r} for r in rows]
        with write_transaction(self.engine) as conn:
            added = _library.add_items(conn, collection_id, full)
            if added:
                _library.update_collection(conn, collection_id, {"updated_at": now})
            return added

    def remove_collection_items(self, collection_id: int, import_keys: Iterable[str]) -> int:
        with write_transaction(self.engine) as conn:
            return _library.remove_items(conn, collection_id, import_keys)

    def update_collection_item(self, collection_id: int, item_id: int, values: dict[str, Any]
                               ) -> bool:
        with write_transaction(self.engine) as conn:
            return _library.update_item(conn, collection_id, item_id, values)

    def collection_items(self, collection_id: int, order: str = "added", *,
                         limit: int | None = None, offset: int = 0, with_hidden: bool = True
                         ) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return _library.items(conn, collection_id, order, limit=limit, offset=offset,
                                  with_hidden=with_hidden)

    def saved_ids(self, user_id: int, arxiv_ids: Iterable[str]) -> set[str]:
        """Which of these papers the user has in any of their collections (one read)."""
        with self.engine.connect() as conn:
            return _library.saved_ids(conn, user_id, arxiv_ids)

    def revised_papers(self, user_id: int, since: datetime, until: datetime, limit: int = 50
                       ) -> list[Paper]:
        """Papers the user saved or upvoted whose new version (v2 on) came out in
        [since, until), newest first: a digest's "updated to vN" lines."""
        with self.engine.connect() as conn:
            return [row_to_paper(r) for r in
                    _library.revised_papers(conn, user_id, since, until, limit)]

    def lab_items_since(self, user_id: int, since: datetime, limit: int = 50
                        ) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return _library.lab_items_since(conn, user_id, since, limit)

    # --- what an import matches against ------------------------------------------------
    def stored_arxiv_ids(self, arxiv_ids: Iterable[str]) -> set[str]:
        with self.engine.connect() as conn:
            return _library.stored_ids(conn, arxiv_ids)

    def arxiv_ids_by_doi(self, dois: Iterable[str]) -> dict[str, str]:
        with self.engine.connect() as conn:
            return _library.ids_by_doi(conn, dois)

    def titles_by_family(self, families: Iterable[str]) -> list[tuple[str, str, str]]:
        with self.engine.connect() as conn:
            return _library.titles_by_family(conn, families)

    def job_progress(self, job: _jobs.Job, message: str) -> bool:
        with write_transaction(self.engine) as conn:
            return _jobs.progress(conn, job, message)
