"""Store methods of the community: votes and imported votes, accounts, sessions, API tokens,
throttle attempts, submissions and moderation (SQL in votes.py, accounts.py, throttle.py,
submissions.py, moderation.py).

Mixed into ``Store`` (import that, not this); kept apart so each area's door stays small.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine

from paperwire.errors import NotFound
from paperwire.links import CodeLink
from paperwire.models import Candidate, ExternalVote, HarvestState, Paper, User, VoteState
from paperwire.store import accounts as _accounts
from paperwire.store import authors as _authors
from paperwire.store import comments as _comments
from paperwire.store import library as _library
from paperwire.store import links as _links
from paperwire.store import moderation as _moderation
from paperwire.store import papers as _papers
from paperwire.store import state as _state
from paperwire.store import submissions as _submissions
from paperwire.store import throttle as _throttle
from paperwire.store import votes as _votes
from paperwire.store.credential_cache import CredentialCache
from paperwire.store.database import (
    next_stamp,
    utcnow,
    write_transaction,
)
from paperwire.store.papers import WriteResult
from paperwire.store.schema import papers as papers_table
from paperwire.store.schema import votes as votes_table

_TOKEN_TOUCH = timedelta(minutes=1)  # how often a token's last use is written


class CardParts(NamedTuple):
    """What ``card_parts`` reads for a page of cards, by arXiv id."""

    votes: dict[str, VoteState]
    submissions: dict[str, dict[str, Any]]
    authors: dict[str, list[dict[str, str]]]
    comments: dict[str, int]
    saved: set[str]
    links: dict[str, list[CodeLink]]


class CommunityMethods:
    engine: Engine
    credential_cache: CredentialCache  # Store.__init__; forgotten on every account write

    # --- votes, imported votes and trending (store/votes.py) ------------------------------
    def set_vote(self, user_id: int, arxiv_id: str, on: bool | None = None) -> VoteState:
        """Upvote (``on=True``), withdraw (False) or toggle (None) a user's vote; idempotent.
        Raises NotFound naming the id when the paper is not stored."""
        with write_transaction(self.engine) as conn:
            return _votes.set_vote(conn, user_id, arxiv_id, on, next_stamp(
                conn, votes_table.c.created_at))

    def vote_states(self, arxiv_ids: Iterable[str], user_id: int | None = None
                    ) -> dict[str, VoteState]:
        """Local and imported votes of each stored paper, and whether ``user_id`` voted."""
        with self.engine.connect() as conn:
            return _votes.vote_states(conn, arxiv_ids, user_id)

    def card_states(self, arxiv_ids: Iterable[str], user_id: int | None = None
                    ) -> tuple[dict[str, VoteState], dict[str, dict[str, Any]]]:
        """Votes and submissions of the papers on a page of cards, on one connection."""
        ids = list(arxiv_ids)
        with self.engine.connect() as conn:
            return (_votes.vote_states(conn, ids, user_id),
                    _submissions.submissions_for(conn, ids))

    def card_parts(self, arxiv_ids: Iterable[str], user_id: int | None = None) -> CardParts:
        """All a page of cards shows beside the papers, on one connection: votes (and
        whether ``user_id`` voted), submissions, author links, comment counts, code links
        and, for a ``user_id``, which of the papers they saved."""
        ids = list(arxiv_ids)
        with self.engine.connect() as conn:
            return CardParts(_votes.vote_states(conn, ids, user_id),
                             _submissions.submissions_for(conn, ids),
                             _authors.authors_of(conn, ids), _comments.counts(conn, ids),
                             _library.saved_ids(conn, user_id, ids) if user_id is not None
                             else set(), _links.links_of(conn, ids))

    def reader_marks(self, arxiv_ids: Iterable[str], user_id: int) -> tuple[set[str], set[str]]:
        """Which of the papers ``user_id`` voted for, and which they saved: one connection."""
        ids = list(arxiv_ids)
        with self.engine.connect() as conn:
            states = _votes.vote_states(conn, ids, user_id)
            return ({i for i, state in states.items() if state.voted},
                    _library.saved_ids(conn, user_id, ids))

    def upsert_external_votes(self, source: str, rows: Sequence[ExternalVote], *,
                              papers: Sequence[Paper] = (), state: HarvestState | None = None,
                              links: Mapping[str, Sequence[CodeLink]] | None = None
                              ) -> tuple[WriteResult, _votes.ExternalWrite]:
        """Import another service's votes (and papers it knows that we lack, and the code
        links it gives) in one transaction with the import's checkpoint. Re-importing
        replaces counts and links, never adds; ``papers`` never overwrite a record an arXiv
        source wrote."""
        with write_transaction(self.engine) as conn:
            now = next_stamp(conn, papers_table.c.modified_at)
            written = _papers.write_weak_papers(conn, papers, now)
            _links.after_write(conn, [p.arxiv_id for p in papers], now)
            if links:
                _links.import_links(conn, source, links, now)
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
                            categories: Sequence[str] = (), *, announced: bool = False
                            ) -> list[Candidate]:
        """Unhidden papers whose day or featured day is in [since, until] (``announced``:
        or that a feed announced then, replacements included), with local votes cast before
        ``as_of`` and imported upvotes (what trending scores)."""
        with self.engine.connect() as conn:
            return _votes.trending_candidates(conn, since, until, as_of, categories,
                                              announced=announced)


    # --- accounts, sessions, tokens, submissions, moderation (store/accounts.py, ...) ----
    @contextmanager
    def _account_write(self) -> Iterator[Connection]:
        """A write to accounts, sessions or tokens: what this process keeps of them is
        forgotten once it is committed (store/credential_cache.py)."""
        try:
            with write_transaction(self.engine) as conn:
                yield conn
        finally:
            self.credential_cache.forget()

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
        """Store a new hash; a reset (``end_sessions``) also ends every session and revokes
        every API token of the account, in the same transaction."""
        with self._account_write() as conn:
            now = utcnow()
            _accounts.update_user(conn, user_id, password_hash=password_hash)
            if end_sessions:
                _accounts.end_credentials(conn, user_id, now)

    def set_display_name(self, user_id: int, display_name: str) -> None:
        with self._account_write() as conn:
            _accounts.update_user(conn, user_id, display_name=display_name)

    def mark_verified(self, user_id: int) -> bool:
        """Confirm the account's address. Whoever held the account before it was confirmed
        may not be its owner, so every session and API token made before now ends with it
        (in the same transaction); True when the address was not confirmed before."""
        with self._account_write() as conn:
            now = utcnow()
            confirmed = _accounts.mark_verified(conn, user_id, now)
            if confirmed:
                _accounts.end_credentials(conn, user_id, now)
            return confirmed

    def set_role(self, email: str, role: str, actor: str = "cli",
                 actor_id: int | None = None) -> User | None:
        """Give the account ``role`` and log it; None when there is no such account."""
        with self._account_write() as conn:
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

    def kept_credential(self, kind: str, token_hash: str) -> User | None:
        """The user a session (``kind`` "session") or API token ("token") names, when
        ``credential_cache`` holds an answer that may be used as it is, with no read and no
        write due (a sliding expiry, a token's last use); None otherwise, and then
        ``resolve_session`` or ``api_token_user`` asks the database. Never blocks on I/O."""
        now = utcnow()
        known = self.credential_cache.get(kind, token_hash, now)
        if known is None or known.seen is None:
            return None
        due = (_accounts.needs_touch(known.seen, now) if kind == "session"
               else now - known.seen > _TOKEN_TOUCH)
        return None if due else known.user

    def resolve_session(self, token_hash: str, lifetime: timedelta
                        ) -> tuple[User, bool] | None:
        """(user, whether the expiry moved) of a live session; the expiry slides to
        ``lifetime`` from now, written at most every few minutes. Answers may come from
        ``credential_cache`` (store/credential_cache.py: how long, and how revocation
        reaches it)."""
        kept = self.kept_credential("session", token_hash)
        if kept is not None:
            return kept, False
        now = utcnow()
        cache = self.credential_cache
        generation = cache.generation
        with self.engine.connect() as conn:
            found = _accounts.session_lookup(conn, token_hash, now)
        if found is None:
            return None
        user, seen, expires = found
        touched = _accounts.needs_touch(seen, now)
        if touched:
            with write_transaction(self.engine) as conn:
                _accounts.touch_session(conn, token_hash, now, lifetime)
            seen, expires = now, now + lifetime
        cache.put("session", token_hash, user, seen, expires, generation)
        return user, touched

    def delete_session(self, token_hash: str) -> None:
        with self._account_write() as conn:
            _accounts.delete_session(conn, token_hash)

    def delete_sessions(self, user_id: int) -> int:
        with self._account_write() as conn:
            return _accounts.delete_sessions(conn, user_id)

    def create_api_token(self, user_id: int, name: str, token_hash: str) -> int:
        with write_transaction(self.engine) as conn:
            return _accounts.create_api_token(conn, user_id, name, token_hash, utcnow())

    def api_token_user(self, token_hash: str) -> User | None:
        """The owner of a live API token; notes when it was used (at most once a minute).
        Answers may come from ``credential_cache``, as sessions' do."""
        kept = self.kept_credential("token", token_hash)
        if kept is not None:
            return kept
        now = utcnow()
        cache = self.credential_cache
        generation = cache.generation
        with self.engine.connect() as conn:
            found = _accounts.api_token_lookup(conn, token_hash)
        if found is None:
            return None
        user, token_id, last_used = found
        if last_used is None or now - last_used > _TOKEN_TOUCH:
            with write_transaction(self.engine) as conn:
                _accounts.touch_api_token(conn, token_id, now)
            last_used = now
        cache.put("token", token_hash, user, last_used, None, generation)
        return user

    def revoke_api_token(self, user_id: int, token_id: int) -> bool:
        with self._account_write() as conn:
            return _accounts.revoke_api_token(conn, user_id, token_id, utcnow())

    def list_api_tokens(self, user_id: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return _accounts.list_api_tokens(conn, user_id)

    # --- throttle attempts (store/throttle.py; the policy is paperwire/throttle.py) -------
    def reserve_attempt(self, key: str, since: datetime) -> tuple[int, int, datetime | None]:
        """Add an attempt under ``key``, then count those since ``since`` including it:
        (its id, the count, the oldest). The row is committed before counting, so of many
        concurrent reservations the k-th to commit counts at least k: no more than a limit's
        worth can all see themselves within it, on SQLite and on PostgreSQL alike."""
        now = utcnow()
        with write_transaction(self.engine) as conn:
            attempt = _throttle.record(conn, key, now)
        with self.engine.connect() as conn:
            counted, oldest = _throttle.count(conn, key, since)
        return attempt, counted, oldest

    def count_attempts(self, key: str, since: datetime) -> tuple[int, datetime | None]:
        with self.engine.connect() as conn:
            return _throttle.count(conn, key, since)

    def release_attempts(self, ids: Iterable[int]) -> None:
        """Take reserved attempts back (refused, or not to be counted after all)."""
        with write_transaction(self.engine) as conn:
            _throttle.release(conn, set(ids))

    def clear_attempts(self, key: str) -> None:
        with write_transaction(self.engine) as conn:
            _throttle.clear(conn, key)

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

    def paper_standing(self, arxiv_id: str) -> tuple[bool, bool]:
        """(stored, hidden): what deciding who may see a paper needs, without reading it."""
        with self.engine.connect() as conn:
            return _moderation.paper_standing(conn, arxiv_id)

    def hidden_paper(self, arxiv_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            return _moderation.hidden_paper(conn, arxiv_id)

    def hidden_row_ids(self) -> frozenset[int]:
        with self.engine.connect() as conn:
            return _moderation.hidden_row_ids(conn)

    def hidden_rows_moderated(self) -> tuple[int, frozenset[int]]:
        """(moderation version, hidden row ids): what a searcher caches by that version."""
        with self.engine.connect() as conn:
            return _moderation.hidden_rows_moderated(conn)

    def papers_by_row_moderated(self, row_ids: Iterable[int]) -> tuple[dict[int, Paper], int]:
        """Papers by row id, and the moderation version from the same statement."""
        with self.engine.connect() as conn:
            return _moderation.papers_by_row_moderated(conn, row_ids)

    def hidden_papers(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return _moderation.hidden_papers_list(conn)

    def recent_submissions(self, limit: int = 50) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return _submissions.recent_submissions(conn, limit)

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
