"""The one door to persistence: every read and write of paperwire's data goes through Store.

SQLite (the embedded default) and PostgreSQL sit behind the same methods; no SQL lives
outside this package. A Store is cheap to keep for the life of a process and safe to share
between threads (SQLAlchemy pools connections).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Engine, func, select

from paperwire.models import ChangedPaper, HarvestState, Paper, VoteState
from paperwire.settings import Settings
from paperwire.sources.listing import ListingEntry
from paperwire.store import embeddings as _embeddings
from paperwire.store import links as _links
from paperwire.store import listing_entries as _entries
from paperwire.store import listings as _listings
from paperwire.store import moderation as _moderation
from paperwire.store import papers as _papers
from paperwire.store import state as _state
from paperwire.store import submissions as _submissions
from paperwire.store import votes as _votes
from paperwire.store.author_methods import AuthorMethods
from paperwire.store.comment_methods import (
    CommentMethods,
    DiscussionView,
    PaperReader,
    PostFacts,
)
from paperwire.store.community_methods import CommunityMethods
from paperwire.store.counters import counter
from paperwire.store.credential_cache import CredentialCache
from paperwire.store.database import (
    create_store_engine,
    exclusive,
    migrate,
    next_stamp,
    tighten_permissions,
    utcnow,
    write_transaction,
)
from paperwire.store.library_methods import LibraryMethods
from paperwire.store.links import LinkMethods
from paperwire.store.listing_entries import DayKind
from paperwire.store.mail_methods import MailMethods
from paperwire.store.notice_methods import NoticeMethods
from paperwire.store.paper_lookup import PaperLookupMethods
from paperwire.store.papers import WriteResult
from paperwire.store.recommend_methods import RecommendMethods
from paperwire.store.schema import embeddings as embeddings_table
from paperwire.store.schema import papers as papers_table
from paperwire.store.stats import StatsMethods
from paperwire.store.vectors import VectorMethods

__all__ = ["DayKind", "DiscussionView", "PaperReader", "PaperView", "PostFacts", "Store",
           "WriteResult"]


@dataclass(frozen=True)
class PaperView:
    """Everything a paper's page reads from the store (see ``Store.paper_view``)."""

    paper: Paper
    hidden: dict[str, Any] | None
    votes: VoteState | None
    submission: dict[str, Any] | None
    data_version: str


# The version reads are on every page view's path. Building a statement and its cache key
# costs SQLAlchemy about five times what running it does (~0.8 ms against ~0.15 ms for
# view_version), so each is built once, on first use, and reused.
@functools.cache
def _data_version_query() -> Any:
    return select(select(func.max(papers_table.c.modified_at)).scalar_subquery(),
                  _moderation.moderation_version_query())


@functools.cache
def _view_version_query() -> Any:
    return select(select(func.max(papers_table.c.modified_at)).scalar_subquery(),
                  _moderation.moderation_version_query(), counter("votes"),
                  counter("comments"))


def _stamp(newest: datetime | None) -> str:
    return newest.isoformat() if newest else ""


def _data_version(conn: Connection) -> str:
    """The newest paper stamp and the moderation log's length: see Store.data_version."""
    newest, moderated = conn.execute(_data_version_query()).one()
    return f"{_stamp(newest)}|m{moderated}"


class Store(CommunityMethods, CommentMethods, MailMethods, StatsMethods, VectorMethods,
            AuthorMethods, PaperLookupMethods, NoticeMethods, LibraryMethods, LinkMethods,
            RecommendMethods):
    """Papers, their provenance and harvest state, in SQLite or PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.credential_cache = CredentialCache()  # off; the web app turns it on

    @classmethod
    def open(cls, settings: Settings, *, migrate_schema: bool = True) -> Store:
        """Open the configured database, applying any pending migrations first."""
        if not settings.database_url:
            settings.home.mkdir(parents=True, exist_ok=True)
        return cls.from_url(settings.resolved_database_url, migrate_schema=migrate_schema)

    @classmethod
    def from_url(cls, url: str, *, migrate_schema: bool = True) -> Store:
        store = cls(create_store_engine(url))
        if migrate_schema:
            store.migrate()
        return store

    def keep_credentials(self, seconds: float) -> None:
        """Reuse what was read of a session or API token for up to ``seconds`` (0: never):
        store/credential_cache.py says how revocation reaches the kept answers."""
        self.credential_cache = CredentialCache(seconds)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def migrate(self) -> None:
        migrate(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def exclusive(self, name: str) -> AbstractContextManager[None]:
        """A lock across processes for one job (``with store.exclusive("digest:daily:…")``);
        raises Busy when another process holds it, and dies with its holder."""
        return exclusive(self.engine, name)

    def tighten_permissions(self) -> list[str]:
        """Make the database's files owner-only (SQLite); the paths it had to change."""
        return [str(p) for p in tighten_permissions(self.engine)]

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- papers -------------------------------------------------------------------------
    def write_batch(self, batch: Sequence[Paper], state: HarvestState | None = None
                    ) -> WriteResult:
        """Write papers and (optionally) the source's checkpoint in one transaction:
        after a crash either both are there or neither is."""
        with write_transaction(self.engine) as conn:
            # The lexical index syncs by modified_at: see database.next_stamp.
            now = next_stamp(conn, papers_table.c.modified_at)
            result = _papers.write_papers(conn, batch, now)
            _links.after_write(conn, [p.arxiv_id for p in batch], now)
            if state is not None:
                _state.save_state(conn, state, now)
        return result

    def write_listing(self, entries: Sequence[ListingEntry], state: HarvestState | None = None
                      ) -> tuple[WriteResult, int]:
        """Write the papers of announcement-feed entries, the entries themselves and
        (optionally) the checkpoint in one transaction; returns what the papers' upsert did
        and how many entries were new. A paper's own day stays its earliest new or cross
        listing: a replacement's paper carries no day, and the upsert keeps the earliest."""
        with write_transaction(self.engine) as conn:
            now = next_stamp(conn, papers_table.c.modified_at)
            result = _papers.write_papers(conn, [e.paper for e in entries], now)
            _links.after_write(conn, [e.paper.arxiv_id for e in entries], now)
            added = _entries.write_entries(conn, entries, now)
            if state is not None:
                _state.save_state(conn, state, now)
        return result, added

    def day_kinds(self, day: date, category: str | None = None) -> dict[int, DayKind]:
        """How each paper of ``day`` was announced (new, cross, a replacement), by row id."""
        with self.engine.connect() as conn:
            return _entries.day_kinds(conn, day, category)

    def listing_entries(self, arxiv_id: str) -> list[dict[str, Any]]:
        """Every announcement-feed entry of a paper, oldest first."""
        with self.engine.connect() as conn:
            found = _papers.row_ids(conn, [arxiv_id]).get(arxiv_id)
            return _entries.entries_for(conn, found) if found is not None else []

    def get_paper(self, arxiv_id: str) -> Paper | None:
        return self.get_papers([arxiv_id]).get(arxiv_id)

    def get_papers(self, arxiv_ids: Iterable[str]) -> dict[str, Paper]:
        with self.engine.connect() as conn:
            return _papers.get_papers(conn, arxiv_ids)

    def paper_view(self, arxiv_id: str, user_id: int | None = None) -> PaperView | None:
        """What a paper's page shows, read on one connection: the paper, whether (and why)
        it is hidden, its votes, its submission, and the data version (a cache key)."""
        with self.engine.connect() as conn:
            paper = _papers.get_papers(conn, [arxiv_id]).get(arxiv_id)
            if paper is None:
                return None
            return PaperView(
                paper, _moderation.hidden_paper(conn, arxiv_id),
                _votes.vote_states(conn, [arxiv_id], user_id).get(arxiv_id),
                _submissions.submissions_for(conn, [arxiv_id]).get(arxiv_id),
                _data_version(conn))

    def get_papers_by_row(self, row_ids: Iterable[int]) -> dict[int, Paper]:
        """Papers by their row ids (what the indexes return)."""
        with self.engine.connect() as conn:
            return _papers.get_papers_by_row(conn, row_ids)

    def row_ids(self, arxiv_ids: Iterable[str]) -> dict[str, int]:
        with self.engine.connect() as conn:
            return _papers.row_ids(conn, arxiv_ids)

    def changed_since(self, since: datetime | None, after_id: int = 0, limit: int = 2000
                      ) -> list[ChangedPaper]:
        """A page of papers modified after (``since``, ``after_id``), for derived indexes."""
        with self.engine.connect() as conn:
            return _papers.changed_since(conn, since, after_id, limit)

    def sample_ids(self, n: int, *, before: datetime | None = None, seed: int = 0
                   ) -> list[str]:
        """Up to ``n`` papers (published before ``before``) in a reproducible random order."""
        with self.engine.connect() as conn:
            return _papers.sample_ids(conn, n, before, seed)

    def iter_papers(self, batch: int = 1000) -> Iterator[tuple[int, Paper]]:
        with self.engine.connect() as conn:
            yield from _papers.iter_papers(conn, batch)

    def count_papers(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(papers_table))
                       .scalar_one())

    def stats(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return _papers.stats(conn)

    # --- listings (the day / week / month pages) ------------------------------------------
    def papers_between(self, since: date | None, until: date | None, *,
                       category: str | None = None, limit: int = 30, offset: int = 0
                       ) -> tuple[list[Paper], int]:
        """Papers whose day falls in [since, until], newest first, and how many there are."""
        with self.engine.connect() as conn:
            return _listings.papers_between(conn, since, until, category=category,
                                            limit=limit, offset=offset)

    def day_before(self, day: date) -> date | None:
        """The nearest earlier day that has papers."""
        with self.engine.connect() as conn:
            return _listings.day_before(conn, day)

    def day_after(self, day: date) -> date | None:
        """The nearest later day that has papers."""
        with self.engine.connect() as conn:
            return _listings.day_after(conn, day)

    def data_version(self) -> str:
        """Changes whenever a paper is added or changed, or a moderator hides or unhides one
        (two indexed lookups): a cache key for views computed from the papers, valid across
        processes."""
        with self.engine.connect() as conn:
            return _data_version(conn)

    def latest_day(self) -> date | None:
        with self.engine.connect() as conn:
            return _listings.latest_day(conn)

    def latest_listing_day(self) -> date | None:
        """The newest day arXiv listed a paper on, else the newest day with papers."""
        with self.engine.connect() as conn:
            return _listings.latest_listing_day(conn) or _listings.latest_day(conn)

    def view_version(self) -> str:
        """Changes whenever papers, votes, comments or moderation do, in one statement of indexed
        lookups: the cache key of views computed from all three (trending lists). Pages are
        served many times per change, so this read is on every request's path."""
        with self.engine.connect() as conn:
            newest, moderated, voted, commented = conn.execute(_view_version_query()).one()
        return f"{_stamp(newest)}|m{moderated}|v{voted}|c{commented}"

    # --- embeddings ---------------------------------------------------------------------
    def count_to_embed(self, model: str) -> int:
        with self.engine.connect() as conn:
            return _embeddings.count_to_embed(conn, model)

    def papers_to_embed(self, model: str, after_id: int, limit: int
                        ) -> list[tuple[int, str, str, str]]:
        """(id, content_hash, title, abstract) of papers without a current embedding."""
        with self.engine.connect() as conn:
            return _embeddings.papers_to_embed(conn, model, after_id, limit)

    def write_embeddings(self, model: str, ids: Sequence[int], hashes: Sequence[str],
                         vectors: npt.NDArray[np.float32]) -> None:
        with write_transaction(self.engine) as conn:
            # The vector index syncs by created_at: see database.next_stamp.
            now = next_stamp(conn, embeddings_table.c.created_at)
            _embeddings.write_embeddings(conn, model, ids, hashes, vectors, now)

    def count_embeddings(self, model: str) -> int:
        with self.engine.connect() as conn:
            return _embeddings.count_embeddings(conn, model)

    def iter_embeddings(self, model: str, dim: int
                        ) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]]:
        with self.engine.connect() as conn:
            yield from _embeddings.iter_embeddings(conn, model, dim)

    def newest_embedding(self, model: str) -> datetime | None:
        with self.engine.connect() as conn:
            return _embeddings.newest_embedding(conn, model)

    def embeddings_since(self, model: str, since: datetime | None, dim: int
                         ) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.float32],
                                             datetime]]:
        with self.engine.connect() as conn:
            yield from _embeddings.embeddings_since(conn, model, since, dim)

    def get_embeddings(self, model: str, ids: Sequence[int], dim: int
                       ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        with self.engine.connect() as conn:
            return _embeddings.get_embeddings(conn, model, ids, dim)

    # --- harvest state ------------------------------------------------------------------
    def load_state(self, key: str) -> HarvestState | None:
        with self.engine.connect() as conn:
            return _state.load_state(conn, key)

    def save_state(self, state: HarvestState) -> None:
        with write_transaction(self.engine) as conn:
            _state.save_state(conn, state, utcnow())

    def list_states(self) -> list[HarvestState]:
        with self.engine.connect() as conn:
            return _state.list_states(conn)

    def forget_state(self, key: str) -> None:
        with write_transaction(self.engine) as conn:
            _state.forget_state(conn, key)
