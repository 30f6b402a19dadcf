"""Store methods of authors: identities, pages, merge and split, claims, follows (SQL in
authors.py and follows.py).

Mixed into ``Store`` (import that, not this); kept apart so each area's door stays small.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from paperwire.errors import NotFound
from paperwire.models import Paper
from paperwire.store import authors as _authors
from paperwire.store import follows as _follows
from paperwire.store.counters import bump
from paperwire.store.database import utcnow, write_transaction


class AuthorMethods:
    engine: Engine

    # --- identities (store/authors.py) ---------------------------------------------------
    def link_authors(self, arxiv_ids: Iterable[str]) -> int:
        """Link these papers to author identities where their links are missing or stale
        (the write path does this for every batch; rebuild for papers stored before)."""
        with write_transaction(self.engine) as conn:
            linked = _authors.link_papers(conn, arxiv_ids, utcnow())
            if linked:
                bump(conn, "comments")  # cached pages show the new author links: as a merge
            return linked

    def unlinked_papers(self, after_id: int = 0, limit: int = 500) -> list[tuple[int, str]]:
        with self.engine.connect() as conn:
            return _authors.unlinked_papers(conn, after_id, limit)

    def count_unlinked(self) -> int:
        with self.engine.connect() as conn:
            return _authors.count_unlinked(conn)

    def author(self, slug: str) -> dict[str, Any] | None:
        """An identity by slug (a merged one names where it went: ``merged_into_slug``)."""
        with self.engine.connect() as conn:
            return _authors.author_by_slug(conn, slug)

    def author_page(self, author_id: int, limit: int, offset: int
                    ) -> tuple[list[Paper], int, dict[str, Any]]:
        """An identity's papers (newest first), their count, and its co-authors,
        categories and votes, on one connection."""
        with self.engine.connect() as conn:
            found, total = _authors.author_papers(conn, author_id, limit, offset)
            return found, total, _authors.author_summary(conn, author_id)

    def identity_paper_ids(self, slugs: Sequence[str], key: str) -> set[int] | None:
        """Row ids of the papers of the identities with one of ``slugs`` or the normal-form
        ``key`` (None when there is none): what a search by author keeps."""
        with self.engine.connect() as conn:
            return _authors.identity_paper_ids(conn, slugs, key)

    def author_paper_ids(self, author_id: int) -> list[int]:
        with self.engine.connect() as conn:
            return _authors.author_paper_ids(conn, author_id)

    def authors_of(self, arxiv_ids: Iterable[str]) -> dict[str, list[dict[str, str]]]:
        """Each paper's authors as written, with the slug of their identity's page."""
        with self.engine.connect() as conn:
            return _authors.authors_of(conn, arxiv_ids)

    def merge_authors(self, source: str, target: str) -> int:
        """Merge identity ``source`` into ``target`` (slugs); returns the papers moved."""
        with write_transaction(self.engine) as conn:
            ids = [self._author_id(conn, s) for s in (source, target)]
            moved = _authors.merge(conn, ids[0], ids[1])
            # Pages cached on the view version show author links, and badges on the
            # comments of a paper's claimed authors: both move with the papers.
            bump(conn, "comments")
            return moved

    def split_author(self, slug: str, arxiv_ids: Sequence[str]) -> dict[str, Any]:
        """Move these papers of an identity to a new identity of the same name."""
        from paperwire.store.papers import row_ids

        with write_transaction(self.engine) as conn:
            author_id = self._author_id(conn, slug)
            rows = row_ids(conn, arxiv_ids)
            missing = [a for a in arxiv_ids if a not in rows]
            if missing:
                raise NotFound(f"no paper {missing[0]} on this instance")
            mine = set(_authors.author_paper_ids(conn, author_id))
            foreign = [a for a, r in rows.items() if r not in mine]
            if foreign:
                raise NotFound(f"{foreign[0]} is not a paper of {slug}")
            made = _authors.split(conn, author_id, list(rows.values()), utcnow())
            bump(conn, "comments")  # as for a merge
            return made

    @staticmethod
    def _author_id(conn: Any, slug: str) -> int:
        found = _authors.author_by_slug(conn, slug)
        if found is None:
            raise NotFound(f"no author {slug!r}")
        if found["merged_into"] is not None:
            raise NotFound(f"author {slug!r} was merged into {found['merged_into_slug']!r}")
        return int(found["id"])

    # --- claims and follows (store/follows.py) -------------------------------------------
    def claim_author(self, author_id: int, user_id: int) -> dict[str, Any]:
        with write_transaction(self.engine) as conn:
            return _follows.add_claim(conn, author_id, user_id, utcnow())

    def author_claims(self, *, author_id: int | None = None, user_id: int | None = None,
                      status: str | None = None) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return _follows.claims(conn, author_id=author_id, user_id=user_id, status=status)

    def decide_claim(self, claim_id: int, status: str, moderator_id: int | None
                     ) -> dict[str, Any]:
        """Confirm or reject a claim (``status`` confirmed | rejected)."""
        if status not in ("confirmed", "rejected", "pending"):
            raise ValueError(f"a claim is confirmed, rejected or pending, not {status!r}")
        with write_transaction(self.engine) as conn:
            found = _follows.decide_claim(conn, claim_id, status, moderator_id, utcnow())
        if found is None:
            raise NotFound(f"no claim {claim_id}")
        return found

    def set_follow(self, user_id: int, *, author_id: int | None = None,
                   category: str | None = None, on: bool) -> bool:
        if (author_id is None) == (category is None):
            raise ValueError("follow an author or a category, one of the two")
        with write_transaction(self.engine) as conn:
            return _follows.set_follow(conn, user_id, author_id=author_id, category=category,
                                       on=on, now=utcnow())

    def follows_of(self, user_id: int) -> dict[str, list[dict[str, Any]]]:
        with self.engine.connect() as conn:
            return _follows.follows_of(conn, user_id)

    def followed_papers(self, user_id: int, since: datetime | None = None, limit: int = 50
                        ) -> list[Paper]:
        with self.engine.connect() as conn:
            return _follows.followed_papers(conn, user_id, since, limit)

    def set_follow_feed_token(self, user_id: int, token_hash: str) -> None:
        with write_transaction(self.engine) as conn:
            _follows.set_feed_token(conn, user_id, token_hash, utcnow())

    def revoke_follow_feed(self, user_id: int) -> bool:
        """The user's followed-authors feed address stops working; True if there was one."""
        with write_transaction(self.engine) as conn:
            return _follows.revoke_feed(conn, user_id)

    def follow_feed_user(self, token_hash: str) -> int | None:
        with self.engine.connect() as conn:
            return _follows.feed_user(conn, token_hash)

    def has_follow_feed(self, user_id: int) -> bool:
        with self.engine.connect() as conn:
            return _follows.has_feed(conn, user_id)
