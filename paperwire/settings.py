"""The settings, declared once: every knob paperwire reads, its default, and what it does.

Each field of ``Settings`` carries its help text and how its ``PAPERWIRE_*`` variable
parses; ``SETTINGS`` (the documented table) is derived from those fields, so the defaults
and the generated docs/settings.md cannot disagree.

Settings come from the environment (``PAPERWIRE_*``) or from CLI flags; nothing is read at
import time. ``Settings.from_env()`` builds one immutable object that is passed down to
whatever needs it (store, sources, web app), so tests can build as many as they like.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from paperwire.errors import ConfigError
from paperwire.models import Limits


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true/false, got {value!r}")


def _list(value: str) -> tuple[str, ...]:
    return tuple(part for part in value.replace(",", " ").split() if part)


def _seconds(value: str) -> float:
    seconds = float(value)
    if not 0 <= seconds <= 86_400:
        raise ValueError(f"expected 0 to 86400 seconds, got {value!r}")
    return seconds


def _bounded(value: str, low: int, high: int) -> int:
    number = int(value)
    if not low <= number <= high:
        raise ValueError(f"expected {low} to {high}, got {value!r}")
    return number


def _share(value: str) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"expected 0 to 1, got {value!r}")
    return number


def _choice(value: str, choices: tuple[str, ...]) -> str:
    lowered = value.strip().lower()
    if lowered not in choices:
        raise ValueError(f"expected one of {', '.join(choices)}, got {value!r}")
    return lowered


T = TypeVar("T")
# The loopback address `paperwire serve` listens on by default; as base_url it means "not set".
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


def _setting(default: T, help: str, parse: Callable[[str], Any] = str) -> T:
    """A field of Settings with its documentation and how its environment variable parses:
    the one place each setting is declared."""
    return dataclasses.field(default=default, metadata={"help": help, "parse": parse})


@dataclass(frozen=True)
class Settings:
    """Resolved settings; build with ``Settings.from_env()`` or ``Settings(home=...)``."""

    home: Path = _setting(Path("./paperwire-data"),
        "Data directory: the SQLite database, indexes and logs live here. Also `--home`.", Path)
    database_url: str = _setting("",
        "SQLAlchemy URL of the database. Empty means the SQLite file `paperwire.db` inside "
        "the home. For PostgreSQL: `postgresql+psycopg://user:pass@host/dbname` (install "
        "`paperwire[postgres]`).")
    batch_size: int = _setting(1_000,
        "Papers written per transaction during ingest; a batch is all-or-nothing and carries "
        "the resume checkpoint.", int)
    max_record_bytes: int = _setting(1_048_576,
        "Longest input line or record accepted, in bytes; longer ones are rejected without "
        "being read into memory whole.", int)
    max_abstract_chars: int = _setting(20_000,
        "Longest abstract accepted (arXiv's own limit is 1,920 characters; old papers run "
        "longer).", int)
    max_title_chars: int = _setting(1_000,
        "Longest title accepted.", int)
    extra_categories: tuple[str, ...] = _setting((),
        "Category codes accepted besides arXiv's taxonomy (space- or comma-separated), for "
        "categories arXiv adds later.", _list)
    arxiv_oai_url: str = _setting("https://oaipmh.arxiv.org/oai",
        "arXiv OAI-PMH endpoint.")
    arxiv_api_url: str = _setting("https://export.arxiv.org/api/query",
        "arXiv API (Atom) endpoint.")
    arxiv_listing_url: str = _setting("https://rss.arxiv.org/atom",
        "arXiv announcement feeds (Atom): the day's listing with announce types; "
        "`paperwire ingest listing` and the worker read <url>/<set>.")
    zotero_api_url: str = _setting("https://api.zotero.org",
        "Zotero Web API (v3) that a Zotero collection import reads (read-only; install "
        "`paperwire[zotero]`); requests share `PAPERWIRE_HTTP_TIMEOUT`.")
    request_delay: float = _setting(3.0,
        "Seconds between requests to arXiv; arXiv asks for 3.", float)
    max_retries: int = _setting(5,
        "Retries of a failed request (connection error, 5xx, 503 + Retry-After) before the "
        "harvest stops; the next run resumes.", int)
    http_timeout: float = _setting(60.0,
        "Seconds to wait for an arXiv response.", float)
    user_agent: str = _setting("paperwire/0.1 (self-hosted paper discovery)",
        "User-Agent sent to arXiv; put a contact address here on a public instance.")
    index_on_ingest: bool = _setting(True,
        "Update the keyword index right after each ingest, so new papers are searchable at "
        "once (embedding waits for `paperwire index`).", _bool)
    index_sync_seconds: float = _setting(30.0,
        "Each web process keeps this host's keyword index (and faiss vectors) in step with "
        "the database in a background thread, looking this often, in seconds: a paper "
        "ingested anywhere (another host, the worker) is searchable here by keywords within "
        "this bound plus one sync's duration, and by meaning once it has been embedded "
        "elsewhere, without `paperwire index` or a restart. One process per home writes "
        "the files (the index writer lock); the others reload them. 0: off.", _seconds)
    index_sync_embed: bool = _setting(False,
        "Let the web's index sync also embed the papers that lack an embedding (it loads the "
        "embedding model in the web process). Off: embedding is left to `paperwire worker` "
        "or `paperwire index`, and the sync picks their vectors up from the database.", _bool)
    embedder: str = _setting("auto",
        "Embedding runtime for search by meaning: `auto` (the fastest installed: onnx-int8, "
        "else torch), `onnx-int8`, `onnx-fp32`, `torch`, or `none` (keyword search only).")
    vector_backend: str = _setting("faiss",
        "Where the vectors for search by meaning live: `pgvector` (in PostgreSQL, HNSW; every "
        "web host searches the same index), `faiss` (files in the home, one copy per host), "
        "or `auto`: pgvector on PostgreSQL with the `vector` extension, else faiss. The "
        "default stays faiss until pgvector's recall on real embeddings has been measured. "
        "`paperwire stats` says which is in use and why; `paperwire index --backend` "
        "builds either from the stored embeddings (no re-embedding).",
        lambda v: _choice(v, ("auto", "faiss", "pgvector")))
    embed_threads: int = _setting(0,
        "Threads the embedding model may use (0: all cores).", int)
    search_threads: int = _setting(1,
        "Threads one search query's embedding may use (web workers, `paperwire search`; 0: "
        "all cores). 1 runs each query's model on the thread that asked: a query is a few "
        "tokens, too short to split, and concurrent requests and workers fill the cores; "
        "ONNX Runtime's pool only adds hand-overs (BENCHMARKS.md, search).",
        lambda v: _bounded(v, 0, 256))
    ray_address: str = _setting("",
        "The Ray cluster `paperwire index --engine ray` embeds on: `local` starts a private "
        "Ray on this machine for the run; `auto` joins the one `ray start` runs here; "
        "`HOST:6379` or `ray://HOST:10001` (Ray Client) another; empty does what Ray does "
        "(`RAY_ADDRESS`, else a `ray start` cluster here, else a private one). Only the "
        "machine running `paperwire index` reads the database; the cluster's nodes need "
        "the package.",
        lambda v: v.strip())
    ray_actors: int = _setting(0,
        "Embedding actors on the Ray cluster, one CPU and one model each (0: one per CPU "
        "of the cluster).", lambda v: _bounded(v, 0, 4_096))
    ray_batch_size: int = _setting(256,
        "Papers per Ray batch: the unit an actor embeds and the driver writes back to the "
        "store in one transaction.", lambda v: _bounded(v, 1, 4_096))
    progress: bool = _setting(True,
        "Show progress bars on long jobs (off when not a terminal).", _bool)
    base_url: str = _setting(DEFAULT_BASE_URL,
        "The site's public address, for links in mail and feeds (e.g. "
        "`https://papers.example.org`). Cookies are marked Secure when it starts with https. "
        f"Left at `{DEFAULT_BASE_URL}`, it counts as not set: mail links use it as it is, "
        "feeds take their links from the request's Host header, and `paperwire serve` warns "
        "at start-up. Set it on any public instance.")
    max_body_bytes: int = _setting(1_048_576,
        "Largest request body (JSON or form) the web app reads, in bytes; a longer one is "
        "refused with 413 before it is parsed, whether it declares its length or is sent in "
        "chunks. Routes that take uploads may allow more on their own.", int)
    secret_key: str = _setting("",
        "Key that signs confirmation links and tokens. Empty: a random key is made once and "
        "kept in `secret.key` in the home; set it explicitly when several machines serve one "
        "site.")
    mail_from: str = _setting("paperwire <paperwire@localhost>",
        "From address of mail the site sends.")
    smtp_url: str = _setting("",
        "SMTP server for outgoing mail: `smtp://user:pass@host:587` (STARTTLS when offered), "
        "`smtps://host:465` (TLS). Empty: mail is written to the outbox table only "
        "(`paperwire outbox`), nothing is sent.")
    smtp_ca_file: str = _setting("",
        "CA certificate bundle (PEM) trusted for the SMTP server's certificate, for a server "
        "with a private CA; empty: the system's trust store.")
    session_days: int = _setting(30,
        "Days a sign-in lasts without a visit; each visit extends it.", int)
    session_cache_seconds: int = _setting(5,
        "Seconds a web process may reuse what it read of a session cookie or API token "
        "instead of reading it again (0 to 60; 0: every request reads it). A sign-out, "
        "revocation or role change made through this process applies at once; one made by "
        "another process or host (another worker, the CLI) within this many seconds.",
        lambda v: _bounded(v, 0, 60))
    login_max_failures: int = _setting(5,
        "Failed sign-ins allowed per address within the login window before further tries are"
        " refused (429); per client IP four times as many.", int)
    login_window_minutes: int = _setting(15,
        "The window, in minutes, that failed sign-ins are counted over.", int)
    verify_link_hours: int = _setting(48,
        "Hours an address-verification link stays valid.", int)
    reset_link_hours: int = _setting(2,
        "Hours a password-reset link stays valid.", int)
    submission_window_days: int = _setting(14,
        "Oldest paper (days since first published) that may be submitted; older submissions "
        "are refused with the reason.", int)
    mails_per_address_per_hour: int = _setting(3,
        "Mails of one kind a form may send to one address per hour (subscription "
        "confirmations, address verifications, password resets); more requests get the same "
        "answer but send nothing, so the forms cannot flood someone's inbox.", int)
    subscribe_per_ip_per_hour: int = _setting(20,
        "Subscription requests one client may make per hour before being asked to wait (HTTP "
        "429).", int)
    signups_per_ip_per_hour: int = _setting(10,
        "Accounts one client may create per hour before being asked to wait (HTTP 429); "
        "each sign-up sends a verification mail and costs a password hash.", int)
    resets_per_ip_per_hour: int = _setting(10,
        "Password-reset requests one client may make per hour before being asked to wait "
        "(HTTP 429), whichever addresses they name.", int)
    comments_first_approved: int = _setting(0,
        "How many of a new account's first comments wait for a moderator's approval before "
        "anyone else sees them (0: none wait).", int)
    comments_per_hour: int = _setting(20,
        "Comments (and edits) one account may post per hour before being asked to wait "
        "(HTTP 429); one client address may post four times as many.", int)
    notice_delay_seconds: float = _setting(300.0,
        "How long a comment notice waits before it is mailed, so that replies in quick "
        "succession arrive in one mail (0 to 86400).", _seconds)
    notice_interval_seconds: float = _setting(3600.0,
        "At most one notice mail per reader per this many seconds; what comes in between "
        "waits and goes in the next one (0 to 86400).", _seconds)
    queue_runner: str = _setting("web",
        "Where queued work runs: the mail requests queue (verification, reset, subscription "
        "confirmation, notices) and submissions' fetches from arXiv. `web`: a background "
        "thread in each web process (small instances; several processes or hosts share the "
        "queue safely). `worker`: only `paperwire worker` runs it (larger instances; the web "
        "processes just queue).", lambda v: _choice(v, ("web", "worker")))
    smtp_concurrency: int = _setting(4,
        "SMTP connections a digest run keeps open at once; each is reused for many messages.", int)
    smtp_timeout: float = _setting(30.0,
        "Seconds to wait for the SMTP server before a send counts as a transient failure "
        "(retried).", float)
    digest_size: int = _setting(10,
        "Papers per section of a digest (trending, each saved search).", int)
    alert_min_share: float = _setting(0.34,
        "Keyword test of a saved-search alert: a paper is sent only when its BM25 score is "
        "at least this share of the query's ceiling (0 to 1; 0: off). Measured in "
        "BENCHMARKS.md, \"Saved-search alert threshold\".", _share)
    alert_min_similarity: float = _setting(0.0,
        "Meaning test of a saved-search alert, where search by meaning is on: a paper is "
        "sent only when the cosine of the alert's query embedding to the paper's is at "
        "least this (0 to 1; 0: off). Off by default: on alerts of a few words MiniLM's "
        "cosine does not tell on- from off-topic papers (see BENCHMARKS.md).", _share)
    alert_phrase_words: int = _setting(4,
        "Phrase test of a saved-search alert: an alert of 2 to this many words sends only "
        "papers whose title or abstract has its words in order and adjacent (0: off). An "
        "alert with no paper passing its tests sends nothing.", lambda v: _bounded(v, 0, 16))
    worker_time: str = _setting("06:00",
        "`paperwire worker`: time of day (HH:MM, in `worker_timezone`) at which harvest → "
        "index → digest runs.")
    worker_timezone: str = _setting("UTC",
        "`paperwire worker`: IANA time zone of `worker_time`.")
    worker_weekly_day: str = _setting("saturday",
        "`paperwire worker`: day the weekly digest goes out (it covers the week's "
        "announcements, Monday to Friday).")
    worker_harvest_sets: tuple[str, ...] = _setting(("cs",),
        "`paperwire worker`: OAI sets harvested each announcement day (space- or "
        "comma-separated).", _list)
    worker_first_harvest_days: int = _setting(3,
        "`paperwire worker`: how many days back the first harvest of a set starts (later "
        "harvests continue from the last one).", int)
    trending_gravity: float = _setting(0.8,
        "Trending: how fast a paper's score decays with age, the exponent in (votes + weight "
        "× imported + prior) / (age hours + offset)^gravity. 0 ranks by votes alone; higher "
        "favours fresh papers.", float)
    trending_prior: float = _setting(1.0,
        "Trending: votes every paper starts with, so papers without votes still rank "
        "(freshest first).", float)
    trending_external_weight: float = _setting(0.5,
        "Trending: what one imported upvote (e.g. from `paperwire ingest hf-daily`) counts "
        "for, against one local vote.", float)
    trending_age_offset_hours: float = _setting(12.0,
        "Trending: hours added to every paper's age, so a paper minutes old does not jump to "
        "the top on one vote; given for a day view and multiplied by the window's days for a "
        "week or month.", float)
    mcp_anonymous_per_minute: int = _setting(60,
        "MCP endpoint `/mcp`: requests a minute one client address may make without a "
        "personal API token (anonymous access is read-only); token holders are not limited "
        "here. Counted per web worker process.", int)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``PAPERWIRE_*`` variables; keyword overrides (CLI flags) win over them."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = env.get(setting.env)
            if raw is None:
                continue
            try:
                values[setting.name] = setting.parse(raw)
            except ValueError as exc:
                raise ConfigError(f"{setting.env}={raw!r}: {exc}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - set(_BY_NAME)
        if unknown:
            raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
        if "home" in values:
            values["home"] = Path(values["home"])
        return cls(**values)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'paperwire.db').resolve()}"

    @property
    def public_url(self) -> str | None:
        """base_url without its trailing slash, or None while it is left at the default
        (then a web view takes the address from the request, as feeds do)."""
        return None if self.base_url == DEFAULT_BASE_URL else self.base_url.rstrip("/")

    def limits(self) -> Limits:
        """What record validation accepts, from these settings."""
        return Limits(max_title_chars=self.max_title_chars,
                      max_abstract_chars=self.max_abstract_chars,
                      extra_categories=self.extra_categories)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Setting:
    """One row of the settings table."""

    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str

    @property
    def env(self) -> str:
        return "PAPERWIRE_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = tuple(
    Setting(f.name, f.default, f.metadata["help"], f.metadata["parse"])
    for f in dataclasses.fields(Settings))

_BY_NAME = {s.name: s for s in SETTINGS}


def _shown(default: Any) -> str:
    if isinstance(default, tuple):
        return " ".join(default)
    if isinstance(default, Path) and not default.is_absolute():
        return f"./{default}"  # str() drops the "./" that says "relative to where you run"
    return str(default)


def settings_table_markdown() -> str:
    """The settings table as Markdown, for docs/settings.md (a test checks it is current)."""
    lines = ["| Environment variable | Default | What it does |", "|---|---|---|"]
    for s in SETTINGS:
        lines.append(f"| `{s.env}` | `{_shown(s.default)}` | {s.help} |")
    return "\n".join(lines) + "\n"
