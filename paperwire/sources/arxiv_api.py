"""Look up given arXiv ids through the arXiv API (Atom), in batches, resumable per batch."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import httpx

from paperwire.errors import InvalidRecord
from paperwire.models import Checkpoint, HarvestState, Limits, Paper, Rejection, parse_arxiv_id
from paperwire.schedule import first_listing
from paperwire.settings import Settings
from paperwire.sources import Item, checked
from paperwire.sources.http import PoliteClient, Sleep, parse_xml

__all__ = ["ArxivAPISource", "Feed", "entry_to_paper", "parse_feed", "repair_mojibake"]

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
# UTF-8 read as Latin-1 and encoded again ("WÃ¼bben" for "Wübben"): recorded arXiv API
# responses contain it. A lead byte of a two-to-four byte UTF-8 sequence followed by a
# continuation byte, both as Latin-1 characters.
_MOJIBAKE = re.compile("[\u00c2-\u00f4][\u0080-\u00bf]")
_ERROR_ID = re.compile(r"/api/errors#.*?_for_(?P<id>.+)$")


@dataclass(frozen=True)
class _Wanted:
    """One requested id: as the user gave it, as sent to arXiv, and without version."""

    given: str
    query: str
    base: str

    @property
    def where(self) -> str:
        return f"arXiv id {self.given!r}"


@dataclass
class Feed:
    """A parsed API response: entries by id (without version) and arXiv's error entries."""

    entries: dict[str, Any]
    errors: list[tuple[str | None, str]]  # (the id arXiv names, if any; its message)


def repair_mojibake(text: str) -> str:
    """Undo UTF-8 that was decoded as Latin-1 once; anything else is returned unchanged."""
    if not _MOJIBAKE.search(text):
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def parse_feed(content: bytes) -> Feed:
    """Parse an arXiv API Atom response; BadBody if it is not a well-formed Atom feed."""
    root = parse_xml(content, f"{ATOM}feed", "an Atom feed")
    feed = Feed(entries={}, errors=[])
    for entry in root.iter(f"{ATOM}entry"):
        entry_id = (entry.findtext(f"{ATOM}id") or "").strip()
        error = _ERROR_ID.search(entry_id)
        if "/api/errors" in entry_id:
            message = _clean(entry.findtext(f"{ATOM}summary")) or "arXiv reported an error"
            feed.errors.append((error.group("id") if error else None, message))
            continue
        try:
            base, _ = parse_arxiv_id(entry_id)
        except InvalidRecord:
            continue  # not a paper entry; the requested id will be reported as not found
        feed.entries[base] = entry
    return feed


def entry_to_paper(entry: Any) -> Paper:
    """One Atom <entry> as a Paper (not yet validated)."""
    arxiv_id, version = parse_arxiv_id((entry.findtext(f"{ATOM}id") or "").strip())
    primary = entry.find(f"{ARXIV}primary_category")
    categories = tuple(c.get("term") for c in entry.findall(f"{ATOM}category") if c.get("term"))
    return Paper(
        arxiv_id=arxiv_id, version=version,
        title=_clean(entry.findtext(f"{ATOM}title")) or "",
        abstract=_clean(entry.findtext(f"{ATOM}summary")) or "",
        authors=tuple(_clean(a.findtext(f"{ATOM}name")) or "" for a in
                      entry.findall(f"{ATOM}author")),
        categories=categories,
        primary_category=primary.get("term", "") if primary is not None else "",
        published=(published := _timestamp(entry.findtext(f"{ATOM}published"))),
        updated=_timestamp(entry.findtext(f"{ATOM}updated")),
        # The API gives no listing day: computed from the v1 time and arXiv's schedule.
        listed_on=first_listing(published),
        comments=_clean(entry.findtext(f"{ARXIV}comment")),
        journal_ref=_clean(entry.findtext(f"{ARXIV}journal_ref")),
        doi=_clean(entry.findtext(f"{ARXIV}doi")), source="api")


def _clean(text: str | None) -> str | None:
    return repair_mojibake(" ".join(text.split())) or None if text else None


def _timestamp(text: str | None) -> datetime | None:
    """An Atom timestamp ("2017-07-27T08:18:33Z") as a naive UTC datetime, as Paper keeps."""
    if not text or not text.strip():
        return None
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


class ArxivAPISource:
    """Metadata for a list of arXiv ids from the arXiv API, ``batch_size`` ids a request."""

    name = "api"

    def __init__(self, settings: Settings, ids: Sequence[str], endpoint: str | None = None,
                 batch_size: int = 100, limits: Limits | None = None,
                 client: httpx.Client | None = None, sleep: Sleep = time.sleep) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.settings = settings
        self.ids = tuple(dict.fromkeys(i.strip() for i in ids if i.strip()))
        self.endpoint = endpoint or settings.arxiv_api_url
        self.batch_size = batch_size
        self.limits = limits or settings.limits()
        self._client = client
        self._sleep = sleep

    @property
    def state_key(self) -> str:
        digest = hashlib.sha256("\n".join(self.ids).encode("utf-8")).hexdigest()[:16]
        return f"api:{digest}"

    @property
    def total(self) -> int:
        return len(self.ids)

    def read(self, resume: HarvestState | None) -> Iterator[Item]:
        # A finished lookup is done again on request (it refreshes the metadata); an
        # interrupted one continues after its last completed batch.
        position = resume.position if resume and not resume.done else 0
        seen: set[str] = set()
        with PoliteClient(self.settings, client=self._client, sleep=self._sleep) as http:
            while position < len(self.ids):
                batch, rejections, position = self._next_batch(position, seen)
                yield from rejections
                if batch:
                    yield from self._lookup(http, batch)
                yield Checkpoint(self._state(position), position)
        if not self.ids:
            yield Checkpoint(self._state(0), 0)

    def _next_batch(self, position: int, seen: set[str]
                    ) -> tuple[list[_Wanted], list[Rejection], int]:
        """Up to ``batch_size`` valid ids from ``position``; invalid ones become rejections."""
        batch: list[_Wanted] = []
        rejections: list[Rejection] = []
        while position < len(self.ids) and len(batch) < self.batch_size:
            given = self.ids[position]
            position += 1
            try:
                base, version = parse_arxiv_id(given)
            except InvalidRecord as exc:
                rejections.append(Rejection(f"arXiv id {given!r}", str(exc)))
                continue
            if base in seen:  # the same paper asked twice, e.g. as an id and as its URL
                continue
            seen.add(base)
            batch.append(_Wanted(given, f"{base}v{version}" if version else base, base))
        return batch, rejections, position

    def _lookup(self, http: PoliteClient, batch: list[_Wanted]) -> Iterator[Paper | Rejection]:
        query = {"id_list": ",".join(w.query for w in batch), "start": "0",
                 "max_results": str(len(batch))}
        # arXiv answers HTTP 400 with an Atom "Error" entry for an id it cannot parse.
        feed = http.get(self.endpoint, query, lambda r: parse_feed(r.content), accept={400})
        for wanted in batch:
            if wanted.base in feed.entries:
                entry = feed.entries[wanted.base]
                yield checked(wanted.where, self.limits, partial(entry_to_paper, entry))
        missing = [w for w in batch if w.base not in feed.entries]
        if not feed.errors:
            for wanted in missing:
                yield Rejection(wanted.where, "not found on arXiv")
            return
        yield from self._after_errors(http, missing, feed.errors)

    def _after_errors(self, http: PoliteClient, missing: list[_Wanted],
                      errors: list[tuple[str | None, str]]) -> Iterator[Paper | Rejection]:
        """One bad id makes arXiv drop the whole request: report it, ask again for the rest."""
        if not missing:
            return
        if len(missing) == 1:
            yield Rejection(missing[0].where, f"arXiv rejected it: {errors[0][1]}")
            return
        named = {i.lower(): message for i, message in errors if i}
        rejected = [w for w in missing if w.query.lower() in named or w.given.lower() in named]
        for wanted in rejected:
            message = named.get(wanted.query.lower()) or named[wanted.given.lower()]
            yield Rejection(wanted.where, f"arXiv rejected it: {message}")
        rest = [w for w in missing if w not in rejected]
        if rejected:
            if rest:
                yield from self._lookup(http, rest)
            return
        # arXiv did not say which id it refused: halve the batch until it is found.
        middle = len(rest) // 2
        yield from self._lookup(http, rest[:middle])
        yield from self._lookup(http, rest[middle:])

    def _state(self, position: int) -> HarvestState:
        return HarvestState(key=self.state_key, source=self.name, position=position,
                            params={"ids": len(self.ids)}, done=position >= len(self.ids))
