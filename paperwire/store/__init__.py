"""The one door to persistence: every read and write of paperwire's data goes through Store.

SQLite (the embedded default) and PostgreSQL sit behind the same methods; no SQL lives
outside this package. A Store is cheap to keep for the life of a process and safe to share
between threads (SQLAlchemy pools connections).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Engine, func, select

from paperwire.accounts import User
from paperwire.errors import NotFound
from paperwire.models import ExternalVote, HarvestState, Paper, VoteState
from paperwire.settings import Settings
from paperwire.store import accounts as _accounts
from paperwire.store import embeddings as _embeddings
from paperwire.store import listings as _listings
from paperwire.store import moderation as _moderation
from paperwire.store import outbox as _outbox
from paperwire.store import papers as _papers
from paperwire.store import state as _state
from paperwire.store import submissions as _submissions
from paperwire.store import subscriptions as _subs
from paperwire.store import votes as _votes
from paperwire.store.counters import counter
from paperwire.store.database import (
    create_store_engine,
    exclusive,
    migrate,
    write_transaction,
)
from paperwire.store.papers import WriteResult
from paperwire.store.schema import embeddings as embeddings_table
from paperwire.store.schema import papers as papers_table
from paperwire.store.schema import votes as votes_table

__all__ = ["PaperView", "Store", "WriteResult"]


@dataclass(frozen=True)
class PaperView:
    """Everything a paper's page reads from the store (see ``Store.paper_view``)."""

    paper: Paper
    hidden: dict[str, Any] | None
    votes: VoteState | None
    submission: dict[str, Any] | None
    data_version: str


def utcnow() -> datetime:
    """Naive UTC, which both backends store the same way."""
    return datetime.now(UTC).replace(tzinfo=None)


def _next_stamp(conn: Connection, column: Any) -> datetime:
    """Now, or just after the newest stamp already written: taken under the writer lock, so
    stamps strictly increase in commit order and "everything after stamp X" is exact."""
    now = utcnow()
    newest = conn.execute(select(func.max(column))).scalar_one()
    return max(now, newest + timedelta(microseconds=1)) if newest else now


class Store:
    """Papers, their provenance and harvest state, in SQLite or PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

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
            # The lexical index syncs by modified_at: see _next_stamp.
            now = _next_stamp(conn, papers_table.c.modified_at)
            result = _papers.write_papers(conn, batch, now)
            if state is not None:
                _state.save_state(conn, state, now)
        return result

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
            newest = conn.execute(select(func.max(papers_table.c.modified_at))).scalar_one()
            return PaperView(
                paper, _moderation.hidden_paper(conn, arxiv_id),
                _votes.vote_states(conn, [arxiv_id], user_id).get(arxiv_id),
                _submissions.submissions_for(conn, [arxiv_id]).get(arxiv_id),
                f"{newest.isoformat() if newest else ''}|m"
                f"{_moderation.moderation_version(conn)}")

    def get_papers_by_row(self, row_ids: Iterable[int]) -> dict[int, Paper]:
        """Papers by their row ids (what the indexes return)."""
        with self.engine.connect() as conn:
            return _papers.get_papers_by_row(conn, row_ids)

    def row_ids(self, arxiv_ids: Iterable[str]) -> dict[str, int]:
        with self.engine.connect() as conn:
            return _papers.row_ids(conn, arxiv_ids)

    def changed_since(self, since: datetime | None, after_id: int = 0, limit: int = 2000
                      ) -> list[Any]:
        """A page of papers modified after (``since``, ``after_id``), for derived indexes."""
        with self.engine.connect() as conn:
            return _papers.changed_since(conn, since, after_id, limit)

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
            newest = conn.execute(select(func.max(papers_table.c.modified_at))).scalar_one()
            moderated = _moderation.moderation_version(conn)
        return (newest.isoformat() if newest else "") + f"|m{moderated}"

    def latest_day(self) -> date | None:
        with self.engine.connect() as conn:
            return _listings.latest_day(conn)

    def view_version(self) -> str:
        """Changes whenever papers, votes or moderation do, in one statement of indexed
        lookups: the cache key of views computed from all three (trending lists). Pages are
        served many times per change, so this read is on every request's path."""
        with self.engine.connect() as conn:
            newest, moderated, voted = conn.execute(select(
                select(func.max(papers_table.c.modified_at)).scalar_subquery(),
                _moderation.moderation_version_query(), counter("votes"))).one()
        return f"{newest.isoformat() if newest else ''}|m{moderated}|v{voted}"

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
            # The vector index syncs by created_at: see _next_stamp.
            now = _next_stamp(conn, embeddings_table.c.created_at)
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

    # --- outbox (mail composed by the site) ---------------------------------------------
    def record_mail(self, message: EmailMessage, *, kind: str, sent: bool) -> None:
        with write_transaction(self.engine) as conn:
            _outbox.record_mail(conn, message, kind, utcnow(), sent)

    def outbox(self, to: str | None = None, kind: str | None = None, limit: int = 50
               ) -> list[dict[str, Any]]:
        """Recorded messages, newest first (``to`` and ``kind`` narrow them)."""
        with self.engine.connect() as conn:
            return _outbox.outbox_messages(conn, to, kind, limit)

    # --- votes, imported votes and trending (store/votes.py) ------------------------------
    def set_vote(self, user_id: int, arxiv_id: str, on: bool | None = None) -> VoteState:
        """Upvote (``on=True``), withdraw (False) or toggle (None) a user's vote; idempotent.
        Raises NotFound naming the id when the paper is not stored."""
        with write_transaction(self.engine) as conn:
            return _votes.set_vote(conn, user_id, arxiv_id, on, _next_stamp(
                conn, votes_table.c.created_at))

    def vote_states(self, arxiv_ids: Iterable[str], user_id: int | None = None
                    ) -> dict[str, VoteState]:
        """Local and imported votes of each stored paper, and whether ``user_id`` voted."""
        with self.engine.connect() as conn:
            return _votes.vote_states(conn, arxiv_ids, user_id)

    def upsert_external_votes(self, source: str, rows: Sequence[ExternalVote], *,
                              papers: Sequence[Paper] = (), state: HarvestState | None = None
                              ) -> tuple[WriteResult, _votes.ExternalWrite]:
        """Import another service's votes (and papers it knows that we lack) in one
        transaction with the import's checkpoint. Re-importing replaces counts, never adds;
        ``papers`` never overwrite a record an arXiv source wrote."""
        with write_transaction(self.engine) as conn:
            now = _next_stamp(conn, papers_table.c.modified_at)
            written = _papers.write_weak_papers(conn, papers, now)
            imported = _votes.upsert_external_votes(conn, source, rows, now)
            if state is not None:
                _state.save_state(conn, state, now)
        return written, imported

    def votes_version(self) -> int:
        """Changes whenever a vote is cast or withdrawn or votes are imported: with
        ``data_version`` a cache key for trending views."""
        with self.engine.connect() as conn:
            return _votes.votes_version(conn)

    def trending_candidates(self, since: date, until: date, as_of: datetime,
                            categories: Sequence[str] = ()) -> list[_votes.Candidate]:
        """Unhidden papers whose day or featured day is in [since, until], with local votes
        cast before ``as_of`` and imported upvotes (what trending scores)."""
        with self.engine.connect() as conn:
            return _votes.trending_candidates(conn, since, until, as_of, categories)


    # --- accounts, sessions, tokens, submissions, moderation (store/accounts.py, ...) ----
    def create_user(self, email: str, password_hash: str, display_name: str,
                    role: str = "user") -> User | None:
        """A new account (``email`` already normalised); None when the address is taken."""
        with write_transaction(self.engine) as conn:
            return _accounts.create_user(conn, email, password_hash, display_name, role,
                                         utcnow())

    def user_by_email(self, email: str) -> User | None:
        with self.engine.connect() as conn:
            return _accounts.user_by_email(conn, email)

    def user_by_id(self, user_id: int) -> User | None:
        with self.engine.connect() as conn:
            return _accounts.user_by_id(conn, user_id)

    def credentials(self, email: str) -> tuple[User, str] | None:
        """The account and its password hash, for signing in."""
        with self.engine.connect() as conn:
            return _accounts.credentials(conn, email)

    def list_users(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return _accounts.list_users(conn)

    def set_password(self, user_id: int, password_hash: str, *, end_sessions: bool = True
                     ) -> None:
        """Store a new hash; a reset also ends every session of the account."""
        with write_transaction(self.engine) as conn:
            _accounts.update_user(conn, user_id, password_hash=password_hash)
            if end_sessions:
                _accounts.delete_sessions(conn, user_id)

    def set_display_name(self, user_id: int, display_name: str) -> None:
        with write_transaction(self.engine) as conn:
            _accounts.update_user(conn, user_id, display_name=display_name)

    def mark_verified(self, user_id: int) -> None:
        with write_transaction(self.engine) as conn:
            _accounts.update_user(conn, user_id, email_verified_at=utcnow())

    def set_role(self, email: str, role: str, actor: str = "cli",
                 actor_id: int | None = None) -> User | None:
        """Give the account ``role`` and log it; None when there is no such account."""
        with write_transaction(self.engine) as conn:
            user = _accounts.user_by_email(conn, email)
            if user is None:
                return None
            _accounts.update_user(conn, user.id, role=role)
            _moderation.log_action(conn, "grant", user.email, role, actor_id, actor, utcnow())
            return _accounts.user_by_id(conn, user.id)

    def create_session(self, user_id: int, token_hash: str, expires_at: datetime) -> None:
        with write_transaction(self.engine) as conn:
            _accounts.create_session(conn, user_id, token_hash, expires_at, utcnow())

    def session_user(self, token_hash: str, lifetime: timedelta) -> User | None:
        """The signed-in user of a live session; extends the session (sliding expiry)."""
        found = self.resolve_session(token_hash, lifetime)
        return found[0] if found else None

    def resolve_session(self, token_hash: str, lifetime: timedelta
                        ) -> tuple[User, bool] | None:
        """(user, whether the expiry moved) of a live session; the expiry slides to
        ``lifetime`` from now, written at most every few minutes."""
        now = utcnow()
        with self.engine.connect() as conn:
            found = _accounts.session_lookup(conn, token_hash, now)
        if found is None:
            return None
        touched = _accounts.needs_touch(found[1], now)
        if touched:
            with write_transaction(self.engine) as conn:
                _accounts.touch_session(conn, token_hash, now, lifetime)
        return found[0], touched

    def delete_session(self, token_hash: str) -> None:
        with write_transaction(self.engine) as conn:
            _accounts.delete_session(conn, token_hash)

    def delete_sessions(self, user_id: int) -> int:
        with write_transaction(self.engine) as conn:
            return _accounts.delete_sessions(conn, user_id)

    def create_api_token(self, user_id: int, name: str, token_hash: str) -> int:
        with write_transaction(self.engine) as conn:
            return _accounts.create_api_token(conn, user_id, name, token_hash, utcnow())

    def api_token_user(self, token_hash: str) -> User | None:
        """The owner of a live API token; notes when it was used (at most once a minute)."""
        now = utcnow()
        with self.engine.connect() as conn:
            found = _accounts.api_token_lookup(conn, token_hash)
        if found is None:
            return None
        user, token_id, last_used = found
        if last_used is None or now - last_used > timedelta(minutes=1):
            with write_transaction(self.engine) as conn:
                _accounts.touch_api_token(conn, token_id, now)
        return user

    def revoke_api_token(self, user_id: int, token_id: int) -> bool:
        with write_transaction(self.engine) as conn:
            return _accounts.revoke_api_token(conn, user_id, token_id, utcnow())

    def list_api_tokens(self, user_id: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return _accounts.list_api_tokens(conn, user_id)

    def record_login_failure(self, key: str) -> None:
        with write_transaction(self.engine) as conn:
            _accounts.record_login_failure(conn, key, utcnow())

    def count_login_failures(self, key: str, since: datetime) -> tuple[int, datetime | None]:
        with self.engine.connect() as conn:
            return _accounts.count_login_failures(conn, key, since)

    def clear_login_failures(self, key: str) -> None:
        with write_transaction(self.engine) as conn:
            _accounts.clear_login_failures(conn, key)

    def add_submission(self, arxiv_id: str, user_id: int, note: str | None
                       ) -> tuple[int, bool]:
        """(submission id, whether new); raises NotFound when the paper is not stored."""
        with write_transaction(self.engine) as conn:
            paper_id = _papers.row_ids(conn, [arxiv_id]).get(arxiv_id)
            if paper_id is None:
                raise NotFound(f"no paper {arxiv_id} on this instance")
            return _submissions.add_submission(conn, paper_id, user_id, note, utcnow())

    def submissions_for(self, arxiv_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        with self.engine.connect() as conn:
            return _submissions.submissions_for(conn, arxiv_ids)

    def hide_paper(self, arxiv_id: str, reason: str, actor_id: int | None, actor: str) -> None:
        """Hide a stored paper from every listing; raises NotFound for an unknown id."""
        with write_transaction(self.engine) as conn:
            paper_id = _papers.row_ids(conn, [arxiv_id]).get(arxiv_id)
            if paper_id is None:
                raise NotFound(f"no paper {arxiv_id} on this instance")
            _moderation.hide_paper(conn, paper_id, arxiv_id, reason, actor_id, actor, utcnow())

    def unhide_paper(self, arxiv_id: str, actor_id: int | None, actor: str) -> bool:
        """Bring a hidden paper back; False when it was not hidden."""
        with write_transaction(self.engine) as conn:
            paper_id = _papers.row_ids(conn, [arxiv_id]).get(arxiv_id)
            if paper_id is None:
                raise NotFound(f"no paper {arxiv_id} on this instance")
            return _moderation.unhide_paper(conn, paper_id, arxiv_id, actor_id, actor,
                                            utcnow())

    def hidden_paper(self, arxiv_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            return _moderation.hidden_paper(conn, arxiv_id)

    def hidden_row_ids(self) -> frozenset[int]:
        with self.engine.connect() as conn:
            return _moderation.hidden_row_ids(conn)

    def hidden_papers(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return _moderation.hidden_papers_list(conn)

    def hide_submission(self, submission_id: int, reason: str | None, actor_id: int | None,
                        actor: str) -> bool:
        """Hide (a reason) or unhide (None) a submission's credit and note."""
        with write_transaction(self.engine) as conn:
            return _moderation.set_submission_hidden(conn, submission_id, reason, actor_id,
                                                     actor, utcnow())

    def moderation_version(self) -> int:
        with self.engine.connect() as conn:
            return _moderation.moderation_version(conn)

    def moderation_log(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return _moderation.moderation_log_entries(conn, limit)

    # --- subscriptions, saved searches, digest sends, worker runs (store/subscriptions.py)
    def upsert_subscription(self, email: str, *, period: str = "daily", trending: bool = True,
                            categories: Sequence[str] = (),
                            searches: Sequence[_subs.SearchSpec] = (),
                            status: str = "pending", user_id: int | None = None
                            ) -> _subs.Subscription:
        """Create or update the address's subscription (see subscriptions.upsert)."""
        with write_transaction(self.engine) as conn:
            sub_id = _subs.upsert(conn, email, period=period, trending=trending,
                                  categories=categories, searches=searches, status=status,
                                  user_id=user_id, now=utcnow())
            found = _subs.find(conn, sub_id=sub_id)
        assert found is not None
        return found

    def subscription(self, *, email: str | None = None, token: str | None = None,
                     sub_id: int | None = None) -> _subs.Subscription | None:
        with self.engine.connect() as conn:
            return _subs.find(conn, email=email, token=token, sub_id=sub_id)

    def subscriptions(self, *, status: str | None = None, period: str | None = None,
                      user_id: int | None = None) -> list[_subs.Subscription]:
        with self.engine.connect() as conn:
            return _subs.list_subscriptions(conn, status=status, period=period,
                                            user_id=user_id)

    def set_subscription_status(self, sub_id: int, status: str, reason: str | None = None
                                ) -> None:
        with write_transaction(self.engine) as conn:
            _subs.set_status(conn, sub_id, status, utcnow(), reason)

    def remove_subscription(self, email: str) -> bool:
        with write_transaction(self.engine) as conn:
            return _subs.remove(conn, email)

    def saved_search(self, token: str) -> tuple[_subs.SavedSearch, str] | None:
        """A saved search by feed token, with its subscription's status."""
        with self.engine.connect() as conn:
            return _subs.saved_search(conn, token)

    def digest_ledger(self, period_key: str) -> dict[int, dict[str, Any]]:
        with self.engine.connect() as conn:
            return _subs.ledger(conn, period_key)

    def claim_digests(self, entries: Iterable[_subs.LedgerEntry], status: str = "sending"
                      ) -> None:
        """Record entries as about to be sent (or skipped), in one transaction."""
        with write_transaction(self.engine) as conn:
            _subs.claim(conn, entries, status, utcnow())

    def mark_digest(self, sub_id: int, period_key: str, status: str, *,
                    error: str | None = None, as_of: date | None = None) -> None:
        with write_transaction(self.engine) as conn:
            _subs.mark(conn, sub_id, period_key, status, utcnow(), error=error, as_of=as_of)

    def digest_counts(self, period_key: str) -> dict[str, int]:
        with self.engine.connect() as conn:
            return _subs.ledger_counts(conn, period_key)

    def claim_worker_slot(self, job: str, slot: str, *, resume_running: bool = False
                          ) -> str | None:
        """"claimed" when this process now owns (job, slot); "resumed" when it was left
        running by a worker that died (only with ``resume_running``, under the job's lock);
        None when another run has it."""
        with write_transaction(self.engine) as conn:
            return _subs.claim_run(conn, job, slot, utcnow(), resume_running=resume_running)

    def finish_worker_slot(self, job: str, slot: str, status: str, log: str) -> None:
        with write_transaction(self.engine) as conn:
            _subs.finish_run(conn, job, slot, status, log, utcnow())

    def worker_runs(self, limit: int = 50) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return _subs.runs(conn, limit)
