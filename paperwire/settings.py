"""The declared table of settings: every knob paperwire reads, its default, and what it does.

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
from typing import Any

from paperwire.errors import ConfigError
from paperwire.models import Limits


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


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true/false, got {value!r}")


def _list(value: str) -> tuple[str, ...]:
    return tuple(part for part in value.replace(",", " ").split() if part)


SETTINGS: tuple[Setting, ...] = (
    Setting("home", "./paperwire-data", "Data directory: the SQLite database, indexes and "
            "logs live here. Also `--home`."),
    Setting("database_url", "", "SQLAlchemy URL of the database. Empty means the SQLite file "
            "`paperwire.db` inside the home. For PostgreSQL: "
            "`postgresql+psycopg://user:pass@host/dbname` (install `paperwire[postgres]`)."),
    Setting("batch_size", 1000, "Papers written per transaction during ingest; a batch is "
            "all-or-nothing and carries the resume checkpoint.", int),
    Setting("max_record_bytes", 1_048_576, "Longest input line or record accepted, in bytes; "
            "longer ones are rejected without being read into memory whole.", int),
    Setting("max_abstract_chars", 20_000, "Longest abstract accepted (arXiv's own limit is "
            "1,920 characters; old papers run longer).", int),
    Setting("max_title_chars", 1_000, "Longest title accepted.", int),
    Setting("extra_categories", (), "Category codes accepted besides arXiv's taxonomy "
            "(space- or comma-separated), for categories arXiv adds later.", _list),
    Setting("arxiv_oai_url", "https://oaipmh.arxiv.org/oai", "arXiv OAI-PMH endpoint.",),
    Setting("arxiv_api_url", "https://export.arxiv.org/api/query", "arXiv API (Atom) endpoint."),
    Setting("request_delay", 3.0, "Seconds between requests to arXiv; arXiv asks for 3.", float),
    Setting("max_retries", 5, "Retries of a failed request (connection error, 5xx, 503 + "
            "Retry-After) before the harvest stops; the next run resumes.", int),
    Setting("http_timeout", 60.0, "Seconds to wait for an arXiv response.", float),
    Setting("user_agent", "paperwire/0.1 (self-hosted paper discovery)", "User-Agent sent to "
            "arXiv; put a contact address here on a public instance."),
    Setting("index_on_ingest", True, "Update the keyword index right after each ingest, so "
            "new papers are searchable at once (embedding waits for `paperwire index`).",
            _bool),
    Setting("embedder", "auto", "Embedding runtime for search by meaning: `auto` (the fastest "
            "installed: onnx-int8, else torch), `onnx-int8`, `onnx-fp32`, `torch`, or `none` "
            "(keyword search only)."),
    Setting("embed_threads", 0, "Threads the embedding model may use (0: all cores).", int),
    Setting("progress", True, "Show progress bars on long jobs (off when not a terminal).",
            _bool),
    Setting("base_url", "http://127.0.0.1:8000", "The site's public address, for links in "
            "mail and feeds (e.g. `https://papers.example.org`). Cookies are marked Secure "
            "when it starts with https."),
    Setting("secret_key", "", "Key that signs confirmation links and tokens. Empty: a random "
            "key is made once and kept in `secret.key` in the home; set it explicitly when "
            "several machines serve one site."),
    Setting("mail_from", "paperwire <paperwire@localhost>", "From address of mail the site "
            "sends."),
    Setting("smtp_url", "", "SMTP server for outgoing mail: `smtp://user:pass@host:587` "
            "(STARTTLS when offered), `smtps://host:465` (TLS). Empty: mail is written to the "
            "outbox table only (`paperwire outbox`), nothing is sent."),
    Setting("smtp_ca_file", "", "CA certificate bundle (PEM) trusted for the SMTP server's "
            "certificate, for a server with a private CA; empty: the system's trust store."),
    Setting("session_days", 30, "Days a sign-in lasts without a visit; each visit extends it.",
            int),
    Setting("login_max_failures", 5, "Failed sign-ins allowed per address within the login "
            "window before further tries are refused (429); per client IP four times as many.",
            int),
    Setting("login_window_minutes", 15, "The window, in minutes, that failed sign-ins are "
            "counted over.", int),
    Setting("verify_link_hours", 48, "Hours an address-verification link stays valid.", int),
    Setting("reset_link_hours", 2, "Hours a password-reset link stays valid.", int),
    Setting("submission_window_days", 14, "Oldest paper (days since first published) that "
            "may be submitted; older submissions are refused with the reason.", int),
    Setting("mails_per_address_per_hour", 3, "Mails of one kind a form may send to one "
            "address per hour (subscription confirmations, address verifications, password "
            "resets); more requests get the same answer but send nothing, so the forms cannot "
            "flood someone's inbox.", int),
    Setting("subscribe_per_ip_per_hour", 20, "Subscription requests one client may make per "
            "hour before being asked to wait (HTTP 429).", int),
    Setting("smtp_concurrency", 4, "SMTP connections a digest run keeps open at once; each "
            "is reused for many messages.", int),
    Setting("smtp_timeout", 30.0, "Seconds to wait for the SMTP server before a send counts "
            "as a transient failure (retried).", float),
    Setting("digest_size", 10, "Papers per section of a digest (trending, each saved "
            "search).", int),
    Setting("worker_time", "06:00", "`paperwire worker`: time of day (HH:MM, in "
            "`worker_timezone`) at which harvest → index → digest runs."),
    Setting("worker_timezone", "UTC", "`paperwire worker`: IANA time zone of `worker_time`."),
    Setting("worker_weekly_day", "saturday", "`paperwire worker`: day the weekly digest goes "
            "out (it covers the week's announcements, Monday to Friday)."),
    Setting("worker_harvest_sets", ("cs",), "`paperwire worker`: OAI sets harvested each "
            "announcement day (space- or comma-separated).", _list),
    Setting("worker_first_harvest_days", 3, "`paperwire worker`: how many days back the first "
            "harvest of a set starts (later harvests continue from the last one).", int),
    Setting("trending_gravity", 0.8, "Trending: how fast a paper's score decays with age, the "
            "exponent in (votes + weight × imported + prior) / (age hours + offset)^gravity. "
            "0 ranks by votes alone; higher favours fresh papers.", float),
    Setting("trending_prior", 1.0, "Trending: votes every paper starts with, so papers "
            "without votes still rank (freshest first).", float),
    Setting("trending_external_weight", 0.5, "Trending: what one imported upvote (e.g. from "
            "`paperwire ingest hf-daily`) counts for, against one local vote.", float),
    Setting("trending_age_offset_hours", 12.0, "Trending: hours added to every paper's age, "
            "so a paper minutes old does not jump to the top on one vote; given for a day "
            "view and multiplied by the window's days for a week or month.", float),
)

_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """Resolved settings; build with ``Settings.from_env()`` or ``Settings(home=...)``."""

    home: Path = Path("./paperwire-data")
    database_url: str = ""
    batch_size: int = 1000
    max_record_bytes: int = 1_048_576
    max_abstract_chars: int = 20_000
    max_title_chars: int = 1_000
    extra_categories: tuple[str, ...] = ()
    arxiv_oai_url: str = "https://oaipmh.arxiv.org/oai"
    arxiv_api_url: str = "https://export.arxiv.org/api/query"
    request_delay: float = 3.0
    max_retries: int = 5
    http_timeout: float = 60.0
    user_agent: str = "paperwire/0.1 (self-hosted paper discovery)"
    index_on_ingest: bool = True
    embedder: str = "auto"
    embed_threads: int = 0
    progress: bool = True
    base_url: str = "http://127.0.0.1:8000"
    secret_key: str = ""
    mail_from: str = "paperwire <paperwire@localhost>"
    smtp_url: str = ""
    smtp_ca_file: str = ""
    session_days: int = 30
    login_max_failures: int = 5
    login_window_minutes: int = 15
    verify_link_hours: int = 48
    reset_link_hours: int = 2
    submission_window_days: int = 14
    mails_per_address_per_hour: int = 3
    subscribe_per_ip_per_hour: int = 20
    smtp_concurrency: int = 4
    smtp_timeout: float = 30.0
    digest_size: int = 10
    worker_time: str = "06:00"
    worker_timezone: str = "UTC"
    worker_weekly_day: str = "saturday"
    worker_harvest_sets: tuple[str, ...] = ("cs",)
    worker_first_harvest_days: int = 3
    trending_gravity: float = 0.8
    trending_prior: float = 1.0
    trending_external_weight: float = 0.5
    trending_age_offset_hours: float = 12.0

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

    def limits(self) -> Limits:
        """What record validation accepts, from these settings."""
        return Limits(max_title_chars=self.max_title_chars,
                      max_abstract_chars=self.max_abstract_chars,
                      extra_categories=self.extra_categories)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def settings_table_markdown() -> str:
    """The settings table as Markdown, for docs/settings.md (kept in sync by a test)."""
    lines = ["| Environment variable | Default | What it does |", "|---|---|---|"]
    for s in SETTINGS:
        default = " ".join(s.default) if isinstance(s.default, tuple) else s.default
        lines.append(f"| `{s.env}` | `{default}` | {s.help} |")
    return "\n".join(lines) + "\n"
