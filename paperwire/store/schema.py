"""The database schema as SQLAlchemy 2 tables; migrations in ``migrations/`` create and evolve it.

Kept to portable types so one schema serves SQLite and PostgreSQL. Later features (accounts,
votes, subscriptions, saved searches, libraries) add their own tables next to these and
refer to papers by ``papers.id``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class PaperRow(Base):
    """One arXiv paper, latest known version. ``arxiv_id`` is versionless."""

    __tablename__ = "papers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    arxiv_id: Mapped[str] = mapped_column(String(64), unique=True)
    version: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    abstract: Mapped[str] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(JSON)  # in the paper's order
    primary_category: Mapped[str] = mapped_column(String(32), index=True)
    categories: Mapped[list[str]] = mapped_column(JSON)  # all, primary included
    published: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    updated: Mapped[datetime | None] = mapped_column(DateTime)
    listed_on: Mapped[date | None] = mapped_column(Date, index=True)
    comments: Mapped[str | None] = mapped_column(Text)
    journal_ref: Mapped[str | None] = mapped_column(Text)
    doi: Mapped[str | None] = mapped_column(String(255))
    license: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(32))  # the source that last wrote the record
    # Hash of the fields a reader sees; re-ingesting identical data writes nothing, and the
    # index re-embeds a paper only when this changes.
    content_hash: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    modified_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class PaperCategoryRow(Base):
    """Paper ↔ category, for filtering and counting by category with an index."""

    __tablename__ = "paper_categories"

    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(32), primary_key=True)

    __table_args__ = (Index("ix_paper_categories_category", "category", "paper_id"),)


class PaperSourceRow(Base):
    """Every source that has delivered a paper, with when it first and last did."""

    __tablename__ = "paper_sources"

    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)


class HarvestStateRow(Base):
    """Where each source stopped (token, line, last datestamp), so harvests resume."""

    __tablename__ = "harvest_state"

    key: Mapped[str] = mapped_column(String(512), primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    resumption_token: Mapped[str | None] = mapped_column(Text)
    datestamp: Mapped[str | None] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class ListingEntryRow(Base):
    """A paper's appearance in one of arXiv's announcement feeds (migration 0007): the day,
    how it was announced (new, cross, replace, replace-cross) and the feed it was read from."""

    __tablename__ = "listing_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"))
    version: Mapped[int | None] = mapped_column(Integer)
    announce_type: Mapped[str] = mapped_column(String(16))
    listed_on: Mapped[date] = mapped_column(Date)
    feed: Mapped[str] = mapped_column(String(500))
    seen_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        UniqueConstraint("paper_id", "listed_on", "announce_type", "feed",
                         name="uq_listing_entries_entry"),
        Index("ix_listing_entries_day", "listed_on", "paper_id"),
    )


# Typed as Table (SQLAlchemy declares __table__ as the wider FromClause) for insert/update.
papers = cast(Table, PaperRow.__table__)
paper_categories = cast(Table, PaperCategoryRow.__table__)
paper_sources = cast(Table, PaperSourceRow.__table__)
harvest_state = cast(Table, HarvestStateRow.__table__)
listing_entries = cast(Table, ListingEntryRow.__table__)
# A library import matches its entries' DOIs case-blind (store.library.ids_by_doi).
Index("ix_papers_doi_lower", func.lower(papers.c.doi))


class EmbeddingRow(Base):
    """A paper's embedding by one model, as float16 bytes (768 B for 384 dimensions).

    ``content_hash`` is the paper's hash when it was embedded: a paper whose hash has moved
    on is embedded again. The vector index in the data directory is derived from this table.
    """

    __tablename__ = "embeddings"
    # The hosts' index sync reads by watermark (migration 0016).
    __table_args__ = (Index("ix_embeddings_model_created", "model", "created_at", "paper_id"),)

    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(40))
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime)


embeddings = cast(Table, EmbeddingRow.__table__)


# --- community: accounts, votes, submissions, moderation (migration 0003) -------------------
class UserRow(Base):
    """An account. ``email`` is stored lower-cased, so look-ups and uniqueness ignore case."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id, PHC string
    role: Mapped[str] = mapped_column(String(16), default="user")  # user | moderator | admin
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class SessionRow(Base):
    """A signed-in browser. Only a hash of the cookie's token is kept, so a leaked database
    cannot be replayed as sessions."""

    __tablename__ = "sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)


class ApiTokenRow(Base):
    """A personal API token (sent as ``Authorization: Bearer``); only its hash is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class ThrottleAttemptRow(Base):
    """Attempts under a throttle key (failed sign-ins by address or client IP, mails per
    address, sign-ups, resets and subscribes per client), counted across processes."""

    __tablename__ = "throttle_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(400))
    attempted_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ix_throttle_attempts_key", "key", "attempted_at"),)


class VoteRow(Base):
    """One local upvote: one per user and paper (the primary key enforces it)."""

    __tablename__ = "votes"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)

    __table_args__ = (Index("ix_votes_paper", "paper_id", "created_at"),)


class ExternalVoteRow(Base):
    """An imported community signal (e.g. Hugging Face daily papers): a paper's upvote count
    on another service and the day it was featured there. Kept apart from local votes and
    weighted by a setting, so it can be re-imported or discounted without touching them."""

    __tablename__ = "external_votes"

    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)  # "hf-daily"
    featured_on: Mapped[date | None] = mapped_column(Date, index=True)
    upvotes: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(DateTime)


class SubmissionRow(Base):
    """A paper submitted by a user (the harvest missed it, or it deserves attention)."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), unique=True)  # first submitter wins
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime)
    hidden_reason: Mapped[str | None] = mapped_column(Text)


class HiddenPaperRow(Base):
    """A paper a moderator hid, and why; deleting the row unhides it."""

    __tablename__ = "hidden_papers"

    paper_id: Mapped[int] = mapped_column(
        ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    hidden_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    hidden_at: Mapped[datetime] = mapped_column(DateTime)


class ModerationLogRow(Base):
    """Every moderation action (hide, unhide, role change), kept for accountability."""

    __tablename__ = "moderation_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(32))  # hide-paper, unhide-paper, grant, ...
    target: Mapped[str] = mapped_column(String(400))  # an arXiv id, submission id or address
    reason: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(320))  # an address, or "cli" for the shell
    at: Mapped[datetime] = mapped_column(DateTime, index=True)


class OutboxRow(Base):
    """Mail composed by the app (verification, reset, digests). The outbox Mailer stops here
    (an instance without SMTP); the SMTP Mailer records here too, for audit and previews."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    to_addr: Mapped[str] = mapped_column(String(320), index=True)
    subject: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))  # verify, reset, confirm, digest, ...
    message: Mapped[str] = mapped_column(Text)  # the whole RFC 5322 message
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The delivery queue (migration 0007): queued | sending | sent | failed | kept (recorded,
    # never to be sent: a digest preview without SMTP, a reset asked for a non-account).
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # also the claim's version
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)


class JobRow(Base):
    """Work a request queued for the background runner (a submission's fetch from arXiv),
    claimed like the outbox's rows; ``message`` is what its status page says."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # submit
    key: Mapped[str] = mapped_column(String(64))  # what it is about: an arXiv id
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16))  # queued | running | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    message: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (Index("ix_jobs_due", "status", "next_attempt_at"),)


users = cast(Table, UserRow.__table__)
sessions = cast(Table, SessionRow.__table__)
api_tokens = cast(Table, ApiTokenRow.__table__)
throttle_attempts = cast(Table, ThrottleAttemptRow.__table__)
votes = cast(Table, VoteRow.__table__)
external_votes = cast(Table, ExternalVoteRow.__table__)
submissions = cast(Table, SubmissionRow.__table__)
hidden_papers = cast(Table, HiddenPaperRow.__table__)
moderation_log = cast(Table, ModerationLogRow.__table__)
outbox = cast(Table, OutboxRow.__table__)
jobs = cast(Table, JobRow.__table__)


# --- subscriptions: digests, saved searches, the send ledger, worker runs (migration 0004) ---
class SubscriptionRow(Base):
    """One address that receives digests. ``email`` is lower-cased; ``token`` (random) is the
    key of its manage and unsubscribe links, so those need no sign-in."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    period: Mapped[str] = mapped_column(String(8))  # daily | weekly
    trending: Mapped[bool] = mapped_column(Boolean, default=True)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: all
    # pending | active | unsubscribed | bounced
    status: Mapped[str] = mapped_column(String(16), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime)
    bounced_at: Mapped[datetime | None] = mapped_column(DateTime)
    bounce_reason: Mapped[str | None] = mapped_column(Text)
    # The "as of" day of the last digest sent: saved searches report papers after it.
    last_digest_on: Mapped[date | None] = mapped_column(Date)


class SavedSearchRow(Base):
    """A query with filters that a subscriber follows by mail, and by Atom feed (``token``)."""

    __tablename__ = "saved_searches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True)
    query: Mapped[str] = mapped_column(Text)
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # categories, author
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class DigestSendRow(Base):
    """The ledger: one row per (subscription, period key), written before the message goes to
    SMTP and marked after, so a rerun sends exactly the rows not marked sent."""

    __tablename__ = "digest_sends"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(8))
    period_key: Mapped[str] = mapped_column(String(32))  # daily:2026-11-26, weekly:2026-W48
    message_id: Mapped[str] = mapped_column(String(255))  # derived from the two above
    status: Mapped[str] = mapped_column(String(16))  # composed|sending|sent|failed|skipped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    papers: Mapped[list[str]] = mapped_column(JSON, default=list)  # arXiv ids it carried
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        UniqueConstraint("subscription_id", "period_key", name="uq_digest_sends_period"),
        Index("ix_digest_sends_key", "period_key", "status"),
    )


class WorkerRunRow(Base):
    """A scheduled job's slot, claimed before the job runs: the unique (job, slot) pair is
    what keeps a restarted or second worker from running a slot twice."""

    __tablename__ = "worker_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(32))
    slot: Mapped[str] = mapped_column(String(64))  # e.g. 2026-11-26T06:00 in worker_timezone
    status: Mapped[str] = mapped_column(String(16))  # running | done | failed | skipped
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    log: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("job", "slot", name="uq_worker_runs_slot"),)


subscriptions = cast(Table, SubscriptionRow.__table__)
saved_searches = cast(Table, SavedSearchRow.__table__)
digest_sends = cast(Table, DigestSendRow.__table__)
worker_runs = cast(Table, WorkerRunRow.__table__)


class ChangeCounterRow(Base):
    """A number that grows with every change of one kind (``votes``: a vote cast or withdrawn,
    an import of votes, a new submission): cache keys read it in one indexed lookup instead
    of counting rows."""

    __tablename__ = "change_counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


change_counters = cast(Table, ChangeCounterRow.__table__)
