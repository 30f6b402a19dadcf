"""arXiv's announcement feeds (rss.arxiv.org/atom/<set>): a day's listing with announce types.

The feed holds the latest announcement of one archive or category (several joined by ``+``).
Each entry carries ``arxiv:announce_type``: ``new``, ``cross``, ``replace`` or
``replace-cross`` (info.arxiv.org/help/rss_specifications.html). The entry's ``<published>``,
or else the feed's ``<updated>``, is the announcement date: the listing day, in US Eastern time.

``ListingSource.entries`` yields ``ListingEntry`` items (paper, type, day). ``read`` follows the
Source protocol and yields the papers alone, so today's ingest can store them; a ``new`` or
``cross`` entry's paper has ``listed_on`` set to the day, a replacement's has none (its first
listing was earlier).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import httpx

from paperwire.errors import ConfigError
from paperwire.models import Checkpoint, HarvestState, Limits, Paper, Rejection, parse_arxiv_id
from paperwire.settings import Settings
from paperwire.sources import Item, checked
from paperwire.sources.http import PoliteClient, Sleep, parse_xml

__all__ = ["ANNOUNCE_TYPES", "DEFAULT_ENDPOINT", "ListingEntry", "ListingFeed", "ListingSource",
           "entry_to_listing", "parse_listing"]

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
DEFAULT_ENDPOINT = "https://rss.arxiv.org/atom"
ANNOUNCE_TYPES = ("new", "cross", "replace", "replace-cross")
FIRST_LISTINGS = ("new", "cross")  # the types whose day is the paper's (first) listing day
_SET = re.compile(r"^[a-z-]+(?:\.[A-Za-z-]+)?(?:\+[a-z-]+(?:\.[A-Za-z-]+)?)*$")
_MAX_SET_CHARS = 500
_HEAD = re.compile(r"^\s*arXiv:\S+\s+Announce Type:\s*\S+\s*(?:Abstract:\s*)?", re.IGNORECASE)
_AUTHOR_SPLIT = re.compile(r",\s*|\s+and\s+")


@dataclass(frozen=True)
class ListingEntry:
    """One entry of a day's listing: the paper, how it was announced, and the listing day."""

    paper: Paper
    announce_type: str  # one of ANNOUNCE_TYPES
    listed_on: date
    feed: str  # the set the feed was read for ("cs", "cs.LG+stat.ML")


@dataclass
class ListingFeed:
    """A parsed announcement feed: its listing day (None for an empty feed) and entries."""

    day: date | None
    entries: list[Any]


def _day(text: str | None) -> date | None:
    if not text or not text.strip():
        return None
    return datetime.fromisoformat(text.strip().replace("Z", "+00:00")).date()


def parse_listing(content: bytes) -> ListingFeed:
    """Parse an announcement feed; BadBody if it is not an Atom feed."""
    root = parse_xml(content, f"{ATOM}feed", "an Atom feed")
    entries = root.findall(f"{ATOM}entry")
    day = _day(root.findtext(f"{ATOM}updated")) or _day(root.findtext(f"{ATOM}published"))
    return ListingFeed(day, entries)


def entry_to_listing(entry: Any, feed_day: date | None, feed: str) -> tuple[Paper, str, date]:
    """One <entry> as (paper, announce type, listing day); ValueError naming what is wrong."""
    announce = (entry.findtext(f"{ARXIV}announce_type") or "").strip()
    if announce not in ANNOUNCE_TYPES:
        raise ValueError(f"announce_type {announce!r} is not one of {', '.join(ANNOUNCE_TYPES)}")
    day = _day(entry.findtext(f"{ATOM}published")) or feed_day
    if day is None:
        raise ValueError("neither the entry nor the feed gives a date")
    arxiv_id, version = parse_arxiv_id((entry.findtext(f"{ATOM}id") or "").strip())
    categories = tuple(c.get("term") for c in entry.findall(f"{ATOM}category") if c.get("term"))
    creators = " ".join((entry.findtext(f"{DC}creator") or "").split())
    paper = Paper(
        arxiv_id=arxiv_id, version=version,
        title=_text(entry.findtext(f"{ATOM}title")),
        abstract=_HEAD.sub("", _text(entry.findtext(f"{ATOM}summary"))),
        authors=tuple(a for a in _AUTHOR_SPLIT.split(creators) if a),
        categories=categories,
        # The feed does not mark the primary category; arXiv lists it first.
        primary_category=categories[0] if categories else "",
        listed_on=day if announce in FIRST_LISTINGS else None,
        journal_ref=_text(entry.findtext(f"{ARXIV}journal_reference")) or None,
        doi=_text(entry.findtext(f"{ARXIV}DOI")) or None,
        license=_text(entry.findtext(f"{DC}rights")) or None, source="listing")
    return paper, announce, day


def _text(text: str | None) -> str:
    return " ".join(text.split()) if text else ""


class ListingSource:
    """The latest announcement of one set (``cs``, ``cs.LG``, ``cs.LG+stat.ML``) from arXiv."""

    name = "listing"

    def __init__(self, settings: Settings, set_spec: str, endpoint: str = DEFAULT_ENDPOINT,
                 limits: Limits | None = None, client: httpx.Client | None = None,
                 sleep: Sleep = time.sleep) -> None:
        set_spec = set_spec.strip()
        if len(set_spec) > _MAX_SET_CHARS or not _SET.match(set_spec):
            raise ConfigError(f"{set_spec[:80]!r} is not an arXiv archive or category list "
                              "(e.g. cs, cs.LG or cs.LG+stat.ML)")
        self.settings = settings
        self.set_spec = set_spec
        self.endpoint = endpoint.rstrip("/")
        self.limits = limits or settings.limits()
        self._client = client
        self._sleep = sleep
        self._total: int | None = None

    @property
    def state_key(self) -> str:
        return f"listing:{self.endpoint}:{self.set_spec}"

    @property
    def total(self) -> int | None:
        """Entries in the feed, once it has been read."""
        return self._total

    def entries(self, resume: HarvestState | None = None
                ) -> Iterator[ListingEntry | Rejection | Checkpoint]:
        """Every entry of the feed, then one Checkpoint recording the listing day read.

        A feed is small (one day) and re-reading a day is harmless, so ``resume`` only tells
        the state's previous day along; the feed is always read whole."""
        url = f"{self.endpoint}/{self.set_spec}"
        with PoliteClient(self.settings, client=self._client, sleep=self._sleep) as http:
            feed = http.get(url, {}, lambda response: parse_listing(response.content))
        self._total = len(feed.entries)
        for position, entry in enumerate(feed.entries, start=1):
            yield self._item(entry, feed.day, f"{url} entry {position}")
        day = feed.day.isoformat() if feed.day else (resume.datestamp if resume else None)
        yield Checkpoint(HarvestState(key=self.state_key, source=self.name,
                                      position=self._total, datestamp=day,
                                      params={"set": self.set_spec}, done=True), self._total)

    def read(self, resume: HarvestState | None) -> Iterator[Item]:
        for item in self.entries(resume):
            yield item.paper if isinstance(item, ListingEntry) else item

    def _item(self, entry: Any, feed_day: date | None, where: str) -> ListingEntry | Rejection:
        found: dict[str, Any] = {}

        def build() -> Paper:
            paper, found["type"], found["day"] = entry_to_listing(entry, feed_day, self.set_spec)
            return paper

        paper = checked(where, self.limits, build)
        if isinstance(paper, Rejection):
            return paper
        return ListingEntry(paper, found["type"], found["day"], self.set_spec)
