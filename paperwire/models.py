"""Plain value objects that flow between stages: papers, checkpoints, users, subscriptions, votes.

Sources produce these, the store persists them, search and the web read them. They carry no
database or network handles, so every stage can be tested on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from paperwire.errors import InvalidRecord
from paperwire.taxonomy import is_known

# New-style ids (0704.0001 onwards; five digits after the dot since 1501) and old-style ids
# (archive[.subject-class]/YYMMNNN), each with an optional version suffix.
_NEW_ID = r"\d{4}\.\d{4,5}"
_OLD_ID = r"[a-z]+(?:-[a-z]+)?(?:\.[A-Z]{2})?/\d{7}"
ARXIV_ID = re.compile(rf"^(?P<id>{_NEW_ID}|{_OLD_ID})(?:v(?P<version>\d+))?$")
_ID_PREFIXES = re.compile(
    r"^(?:https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/|oai:arXiv\.org:|arxiv:)",
    re.IGNORECASE,
)


def parse_arxiv_id(text: str) -> tuple[str, int | None]:
    """Split ``2401.12345v2`` (or an abs/pdf URL, ``arXiv:`` or OAI identifier) into id and version.

    Raises InvalidRecord naming the text when it is not an arXiv identifier.
    """
    cleaned = _ID_PREFIXES.sub("", text.strip())
    cleaned = cleaned.removesuffix(".pdf")
    match = ARXIV_ID.match(cleaned)
    if not match:
        raise InvalidRecord(f"{text!r} is not an arXiv identifier (expected e.g. 2401.12345 "
                            "or hep-th/9901001, optionally with a version like v2)")
    version = match.group("version")
    return match.group("id"), int(version) if version else None


def normalize_text(text: str) -> str:
    """Collapse arXiv's hard line breaks and runs of whitespace; LaTeX is left as it is."""
    # str.split() with no argument splits on every run of Unicode whitespace, like \s+, and
    # is several times faster than a regex on the 2.8M-record snapshot.
    return " ".join(text.split())


@dataclass(frozen=True)
class Paper:
    """One arXiv paper as paperwire knows it. ``categories[0]`` is not assumed primary:
    ``primary_category`` says which one is."""

    arxiv_id: str
    title: str
    abstract: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    primary_category: str
    version: int | None = None
    published: datetime | None = None  # first version's submission time (UTC, naive)
    updated: datetime | None = None  # latest version's submission time, when known
    listed_on: date | None = None  # first day arXiv listed (announced) the paper
    comments: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    license: str | None = None
    source: str = ""  # which source wrote this record: "oai", "api", "snapshot", "jsonl", ...

    @property
    def versioned_id(self) -> str:
        return f"{self.arxiv_id}v{self.version}" if self.version else self.arxiv_id

    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.versioned_id}"


@dataclass(frozen=True)
class Limits:
    """What validation accepts; built from Settings so one place decides."""

    max_title_chars: int = 1_000
    max_abstract_chars: int = 20_000
    extra_categories: tuple[str, ...] = ()


_OPTIONAL_TEXT = ("comments", "journal_ref", "doi", "license")


def validate(paper: Paper, limits: Limits = Limits(), *, uncategorised: bool = False) -> Paper:
    """Return the paper normalised, or raise InvalidRecord saying what is wrong with it.

    ``uncategorised`` accepts a paper without categories (a source that knows none, such as
    hf-daily; the paper is stored with none until an arXiv source writes it)."""
    title = normalize_text(paper.title or "")
    abstract = normalize_text(paper.abstract or "")
    if not title:
        raise InvalidRecord("missing required field 'title'")
    if not abstract:
        raise InvalidRecord("missing required field 'abstract'")
    if len(title) > limits.max_title_chars:
        raise InvalidRecord(f"title is {len(title):,} characters (limit "
                            f"{limits.max_title_chars:,})")
    if len(abstract) > limits.max_abstract_chars:
        raise InvalidRecord(f"abstract is {len(abstract):,} characters (limit "
                            f"{limits.max_abstract_chars:,})")
    authors = tuple(a for a in (normalize_text(a) for a in paper.authors) if a)
    if not authors:
        raise InvalidRecord("missing required field 'authors'")
    if not paper.categories and not uncategorised:
        raise InvalidRecord("missing required field 'categories'")
    for code in paper.categories:
        if not is_known(code, limits.extra_categories):
            raise InvalidRecord(f"unknown category {code!r} (not in arXiv's taxonomy; "
                                "add it to PAPERWIRE_EXTRA_CATEGORIES if arXiv has added it)")
    categories = tuple(dict.fromkeys(paper.categories))
    primary = paper.primary_category or (categories[0] if categories else "")
    if primary and primary not in categories:
        categories = (primary, *categories)
    optional: dict[str, Any] = {}
    for name in _OPTIONAL_TEXT:
        value = getattr(paper, name)
        optional[name] = normalize_text(value) or None if value is not None else None
    cleaned = replace(paper, title=title, abstract=abstract, authors=authors,
                      categories=categories, primary_category=primary, **optional)
    _reject_nul(cleaned)
    return cleaned


def _reject_nul(paper: Paper) -> None:
    # PostgreSQL cannot store NUL in text, and no real metadata contains one: a NUL means the
    # record is corrupt, so refuse it rather than silently strip it.
    for name in ("title", "abstract", *_OPTIONAL_TEXT):
        value = getattr(paper, name)
        if value and "\x00" in value:
            raise InvalidRecord(f"field {name!r} contains a NUL byte")
    if any("\x00" in a for a in paper.authors):
        raise InvalidRecord("field 'authors' contains a NUL byte")


@dataclass(frozen=True)
class VoteState:
    """A paper's votes as a reader sees them: local upvotes, imported upvotes (raw, before
    weighting), and whether the asking user has voted."""

    arxiv_id: str
    votes: int
    external: int
    voted: bool


@dataclass(frozen=True)
class ExternalVote:
    """An imported community signal for one paper: its upvotes on another service and the
    day it was featured there (the source, e.g. "hf-daily", is given to the import)."""

    arxiv_id: str
    upvotes: int
    featured_on: date | None = None


@dataclass(frozen=True)
class Rejection:
    """A record a source could not turn into a paper: where it was and what was wrong."""

    where: str  # "file.jsonl.gz line 12", "oai record oai:arXiv.org:2401.12345", ...
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass
class HarvestState:
    """Where a source stopped, so the next run resumes there (stored per source key)."""

    key: str  # e.g. "oai:https://oaipmh.arxiv.org/oai:cs:arXiv" or "jsonl:/abs/path@size"
    source: str
    position: int = 0  # records or lines consumed (file sources)
    resumption_token: str | None = None  # OAI-PMH token to continue a list
    datestamp: str | None = None  # last completed harvest's upper date (OAI incremental)
    params: dict[str, Any] = field(default_factory=dict)
    done: bool = False


@dataclass(frozen=True)
class Checkpoint:
    """Emitted by a source when everything before it may be committed with this state."""

    state: HarvestState
    progress: int | None = None  # how far through Source.total (bytes, records), if known


# The days anyone may ask about (web parameters, the CLI, trending windows): before arXiv, or
# past this, a day is a typo; and date.max would overflow the day-after arithmetic windows do.
FIRST_DAY = date(1990, 1, 1)
LAST_DAY = date(2100, 12, 31)


def check_day(day: date, name: str = "date") -> date:
    """``day`` when it lies from FIRST_DAY to LAST_DAY; ValueError naming ``name`` otherwise."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"{name} must be a day from {FIRST_DAY} to {LAST_DAY} (got {day})")
    return day


def paper_day(paper: Paper) -> date | None:
    """The day a paper belongs to in listings and date filters: first listed, else published."""
    if paper.listed_on:
        return paper.listed_on
    return paper.published.date() if paper.published else None


def name_tokens(name: str) -> list[str]:
    return [t for t in re.split(r"[^\w]+", name.lower()) if t]


@dataclass(frozen=True)
class Filters:
    """What a search is limited to. Categories match any of a paper's categories (cross-lists
    count); an archive such as ``cs`` matches all of its categories. ``author`` matches a
    name containing those words in that order ("hinton", "geoffrey hinton"). ``rows``
    keeps only papers with those row ids (a search inside a collection); ``code`` only papers
    with a code link (the Searcher turns it into ``rows``: ``matches`` cannot see links)."""

    categories: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None
    author: str | None = None
    rows: frozenset[int] | None = None
    code: bool = False

    @property
    def empty(self) -> bool:
        return not (self.categories or self.since or self.until or self.author
                    or self.rows is not None or self.code)

    def matches(self, paper: Paper) -> bool:
        if self.categories and not any(
                c in self.categories or c.split(".")[0] in self.categories
                for c in paper.categories):
            return False
        day = paper_day(paper)
        if self.since and (day is None or day < self.since):
            return False
        if self.until and (day is None or day > self.until):
            return False
        if self.author:
            wanted = name_tokens(self.author)
            return any(_contains(name_tokens(a), wanted) for a in paper.authors)
        return True


def _contains(tokens: list[str], wanted: list[str]) -> bool:
    n = len(wanted)
    return any(tokens[i:i + n] == wanted for i in range(len(tokens) - n + 1))


@dataclass(frozen=True)
class User:
    """An account as the rest of the code sees it (never the password hash)."""

    id: int
    email: str
    display_name: str
    role: str = "user"
    verified: bool = False

    @property
    def is_moderator(self) -> bool:
        return self.role in ("moderator", "admin")


@dataclass(frozen=True)
class ChangedPaper:
    """A paper as derived indexes read it from the store: its row id and change stamps."""

    row_id: int
    paper: Paper
    created_at: datetime
    modified_at: datetime


# --- subscriptions, saved searches and the digest ledger -------------------------------
DIGEST_PERIODS = ("daily", "weekly")
# Why a comment concerns a reader, most personal first (a mail names the first that
# applies), and whether a reader who never chose hears of it.
NOTICE_KINDS = ("reply", "mention", "authored", "saved", "voted")
NOTICE_DEFAULTS = {"reply": True, "mention": True, "authored": False, "saved": False,
                   "voted": False}
SUBSCRIPTION_STATUSES = ("pending", "active", "unsubscribed", "bounced")


@dataclass(frozen=True)
class SavedSearch:
    """A subscription's saved search, with the token of its feed."""

    id: int
    subscription_id: int
    query: str
    categories: tuple[str, ...]
    author: str | None
    token: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "categories": list(self.categories),
                "author": self.author, "token": self.token}


@dataclass(frozen=True)
class Subscription:
    """An address's digest preferences and state, with its saved searches."""

    id: int
    email: str
    period: str
    trending: bool
    categories: tuple[str, ...]
    status: str
    token: str
    user_id: int | None
    created_at: datetime
    confirmed_at: datetime | None
    last_digest_on: date | None
    bounce_reason: str | None = None
    searches: tuple[SavedSearch, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"email": self.email, "period": self.period, "trending": self.trending,
                "categories": list(self.categories), "status": self.status,
                "created_at": self.created_at.isoformat(),
                "confirmed_at": self.confirmed_at.isoformat() if self.confirmed_at else None,
                "last_digest_on": (self.last_digest_on.isoformat()
                                   if self.last_digest_on else None),
                "bounce_reason": self.bounce_reason,
                "searches": [s.to_dict() for s in self.searches]}


@dataclass(frozen=True)
class SearchSpec:
    """A saved search to add: the query and the filters it keeps."""

    query: str
    categories: tuple[str, ...] = ()
    author: str | None = None


@dataclass(frozen=True)
class LedgerEntry:
    """One digest as the send ledger records it: who, which period, which papers."""

    subscription_id: int
    period: str
    period_key: str
    message_id: str
    papers: tuple[str, ...] = ()


# --- trending -------------------------------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    """A paper that may rank in a trending window, with what the score is computed from."""

    row_id: int
    arxiv_id: str
    listed_on: date | None
    published: datetime | None
    votes: int  # local votes cast before the window's end
    external: int  # imported upvotes, summed over sources
    featured_on: date | None  # earliest day another service featured it
