"""Harvest arXiv metadata over OAI-PMH (ListRecords), resumable after every page.

Each page of a ListRecords list becomes papers and rejections followed by a Checkpoint whose
state holds the resumption token of the next page, so an interrupted harvest continues where
it stopped. The last Checkpoint is ``done`` and records the harvest's upper date, which the
next run uses as its ``from`` date (incremental harvesting).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from lxml import etree

from paperwire.errors import ConfigError, HarvestError
from paperwire.models import Checkpoint, HarvestState, Limits, Paper, Rejection, parse_arxiv_id
from paperwire.schedule import first_listing
from paperwire.settings import Settings
from paperwire.sources import Item, checked
from paperwire.sources.http import BadBody, PoliteClient, Sleep, parse_xml

__all__ = ["METADATA_PREFIXES", "OAISource", "Page", "parse_page", "record_to_item"]

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
METADATA_PREFIXES = ("arXiv", "arXivRaw")
# The parameters that define one harvest; a stored token is only valid for the same ones.
_PLAN_KEYS = ("set", "from", "until", "prefix")
_PAREN = re.compile(r"\([^()]*\)")
_AND = re.compile(r",?\s+and\s+")
_HAS_WORD = re.compile(r"\w")

log = logging.getLogger(__name__)


@dataclass
class Page:
    """One parsed OAI-PMH response."""

    response_date: str | None
    records: list[Any] = field(default_factory=list)  # the <record> elements
    token: str | None = None  # resumption token of the next page; None on the last
    cursor: int | None = None
    complete_size: int | None = None
    error: tuple[str, str] | None = None  # (code, message) of an OAI-PMH error response


def parse_page(content: bytes) -> Page:
    """Parse a ListRecords response; BadBody if it is not well-formed OAI-PMH."""
    root = parse_xml(content, f"{{{OAI_NS}}}OAI-PMH", "an OAI-PMH response")
    page = Page(response_date=root.findtext(f"{{{OAI_NS}}}responseDate"))
    error = root.find(f"{{{OAI_NS}}}error")
    if error is not None:
        page.error = (error.get("code", "unknown"), " ".join((error.text or "").split()))
        return page
    listing = root.find(f"{{{OAI_NS}}}ListRecords")
    if listing is None:
        raise BadBody("OAI-PMH response without <ListRecords> or <error>")
    page.records = listing.findall(f"{{{OAI_NS}}}record")
    token = listing.find(f"{{{OAI_NS}}}resumptionToken")
    if token is not None:
        page.token = (token.text or "").strip() or None
        page.cursor = _int_or_none(token.get("cursor"))
        page.complete_size = _int_or_none(token.get("completeListSize"))
    return page


def record_to_item(record: Any, prefix: str, limits: Limits) -> Paper | Rejection | None:
    """A <record> as a Paper or a Rejection; None for a deleted record (nothing to add)."""
    header = record.find(f"{{{OAI_NS}}}header")
    identifier = _text(header, "identifier") if header is not None else None
    where = f"OAI record {identifier or '(without identifier)'}"
    if header is not None and header.get("status") == "deleted":
        return None
    metadata = record.find(f"{{{OAI_NS}}}metadata")
    children = metadata if metadata is not None else ()
    body = next((e for e in children if isinstance(e.tag, str)), None)  # skip comments
    if body is None:
        return Rejection(where, "record has no metadata")
    build = _from_arxiv_raw if prefix == "arXivRaw" else _from_arxiv
    return checked(where, limits, lambda: build(body))


def _from_arxiv(meta: Any) -> Paper:
    arxiv_id, version = parse_arxiv_id(_required(meta, "id"))
    categories = tuple((_text(meta, "categories") or "").split())
    authors = []
    for author in _children(meta, "authors", "author"):
        # All of each part, in this order: some records carry two <keyname>s for one author.
        parts = [_all_text(author, part) for part in ("forenames", "keyname", "suffix")]
        authors.append(" ".join(p for p in parts if p))
    created, updated = _text(meta, "created"), _text(meta, "updated")
    published = datetime.fromisoformat(created) if created else None
    return Paper(
        arxiv_id=arxiv_id, version=version,
        title=_text(meta, "title") or "", abstract=_text(meta, "abstract") or "",
        authors=_real_names(authors), categories=categories,
        primary_category=categories[0] if categories else "",
        published=published,
        updated=datetime.fromisoformat(updated) if updated else None,
        # The listing (announcement) day is not in OAI metadata (the header datestamp is the
        # day the *metadata* last changed), so it is computed from the v1 submission and
        # arXiv's schedule. <created> is a date without a time, read as its first moment:
        # the day's deadline is then not yet passed, the earliest listing it can be.
        listed_on=first_listing(published),
        comments=_text(meta, "comments"), journal_ref=_text(meta, "journal-ref"),
        doi=_text(meta, "doi"), license=_text(meta, "license"), source="oai")


def _from_arxiv_raw(meta: Any) -> Paper:
    arxiv_id, _ = parse_arxiv_id(_required(meta, "id"))
    versions: list[tuple[int, datetime]] = []
    for element in _children(meta, None, "version"):
        number = int((element.get("version") or "v0").lstrip("v"))
        when = parsedate_to_datetime(_required(element, "date")).astimezone(UTC)
        versions.append((number, when.replace(tzinfo=None)))
    versions.sort()
    categories = tuple((_text(meta, "categories") or "").split())
    return Paper(
        arxiv_id=arxiv_id, version=versions[-1][0] if versions else None,
        title=_text(meta, "title") or "", abstract=_text(meta, "abstract") or "",
        authors=_split_raw_authors(_text(meta, "authors") or ""), categories=categories,
        primary_category=categories[0] if categories else "",
        published=versions[0][1] if versions else None,
        # Like the arXiv format's <updated>: only set when there is a later version.
        updated=versions[-1][1] if len(versions) > 1 else None,
        listed_on=first_listing(versions[0][1] if versions else None),  # see _from_arxiv
        comments=_text(meta, "comments"), journal_ref=_text(meta, "journal-ref"),
        doi=_text(meta, "doi"), license=_text(meta, "license"), source="oai")


def _split_raw_authors(text: str) -> tuple[str, ...]:
    """arXivRaw gives authors as one string: "A. One (Inst), B. Two and C. Three"."""
    without_affiliations = _PAREN.sub(" ", _PAREN.sub(" ", text))
    names = _AND.sub(", ", " ".join(without_affiliations.split())).split(",")
    return _real_names(names)


def _real_names(names: list[str]) -> tuple[str, ...]:
    # arXiv's parsed author lists contain separators such as an author with keyname ":"
    # (seen in BICEP2/Keck Array records); a "name" without a letter or digit is not a person.
    cleaned = (" ".join(n.split()) for n in names)
    return tuple(n for n in cleaned if _HAS_WORD.search(n))


def _local(element: Any) -> str:
    return str(etree.QName(element).localname) if isinstance(element.tag, str) else ""


def _child(parent: Any, name: str) -> Any:
    # By local name: some real records put <arXiv> in no namespace of its own, so it inherits
    # the OAI-PMH default namespace, and its children with it.
    for element in parent:
        if _local(element) == name:
            return element
    return None


def _children(parent: Any, container: str | None, name: str) -> list[Any]:
    holder = _child(parent, container) if container else parent
    return [] if holder is None else [e for e in holder if _local(e) == name]


def _text(parent: Any, name: str) -> str | None:
    element = _child(parent, name)
    if element is None:
        return None
    return " ".join("".join(element.itertext()).split()) or None


def _all_text(parent: Any, name: str) -> str:
    return " ".join(" ".join("".join(e.itertext()).split()) for e in _children(parent, None, name))


def _required(parent: Any, name: str) -> str:
    value = _text(parent, name)
    if value is None:
        raise KeyError(name)
    return value


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


@dataclass
class _Plan:
    """What this run asks for and where it starts."""

    params: dict[str, Any]
    token: str | None
    previous: str | None  # upper date of the last completed harvest, carried along


class OAISource:
    """arXiv over OAI-PMH: ListRecords for one set and date range, page by page."""

    name = "oai"

    def __init__(self, settings: Settings, set_spec: str | None, from_date: date | None = None,
                 until_date: date | None = None, endpoint: str | None = None,
                 metadata_prefix: str = "arXiv", limits: Limits | None = None,
                 client: httpx.Client | None = None, sleep: Sleep = time.sleep) -> None:
        if metadata_prefix not in METADATA_PREFIXES:
            raise ConfigError(f"metadata prefix {metadata_prefix!r} is not supported "
                              f"(use one of {', '.join(METADATA_PREFIXES)})")
        if from_date and until_date and from_date > until_date:
            raise ConfigError(f"--from {from_date} is after --until {until_date}")
        self.settings = settings
        self.set_spec = set_spec
        self.from_date = from_date
        self.until_date = until_date
        self.endpoint = endpoint or settings.arxiv_oai_url
        self.metadata_prefix = metadata_prefix
        self.limits = limits or settings.limits()
        self._client = client
        self._sleep = sleep
        self._total: int | None = None

    @property
    def state_key(self) -> str:
        return f"oai:{self.endpoint}:{self.set_spec or 'all'}:{self.metadata_prefix}"

    @property
    def total(self) -> int | None:
        """completeListSize, once the first page has said it (arXiv usually does)."""
        return self._total

    def read(self, resume: HarvestState | None) -> Iterator[Item]:
        plan = self._plan(resume)
        with PoliteClient(self.settings, client=self._client, sleep=self._sleep) as http:
            while True:
                page = self._fetch(http, plan)
                if plan.params.get("started") is None:
                    plan.params["started"] = _day(page.response_date)
                if page.error is not None:
                    self._check_error(page.error, plan)
                for record in page.records:
                    item = record_to_item(record, self.metadata_prefix, self.limits)
                    if item is not None:
                        yield item
                if page.complete_size is not None:
                    self._total = page.complete_size
                if page.token is None:
                    break
                plan.token = page.token
                yield Checkpoint(self._state(plan), _progress(page))
        yield Checkpoint(self._final_state(plan), self._total)

    def _plan(self, resume: HarvestState | None) -> _Plan:
        previous = resume.datestamp if resume else None
        params: dict[str, Any] = {
            "set": self.set_spec,
            # With no --from, continue from the upper date of the last completed harvest.
            "from": self.from_date.isoformat() if self.from_date else previous,
            "until": self.until_date.isoformat() if self.until_date else None,
            "prefix": self.metadata_prefix,
            "started": None,
        }
        if resume and not resume.done and resume.resumption_token:
            if all(resume.params.get(k) == params[k] for k in _PLAN_KEYS):
                params["started"] = resume.params.get("started")
                return _Plan(params, resume.resumption_token, previous)
            log.info("stored resumption token is for other parameters (%s); starting afresh",
                     {k: resume.params.get(k) for k in _PLAN_KEYS})
        return _Plan(params, None, previous)

    def _fetch(self, http: PoliteClient, plan: _Plan) -> Page:
        query: dict[str, str] = {"verb": "ListRecords"}
        if plan.token:
            query["resumptionToken"] = plan.token  # exclusive: no other arguments allowed
        else:
            query["metadataPrefix"] = self.metadata_prefix
            for arg in ("set", "from", "until"):
                if plan.params[arg]:
                    query[arg] = plan.params[arg]
        return http.get(self.endpoint, query, lambda response: parse_page(response.content))

    def _check_error(self, error: tuple[str, str], plan: _Plan) -> None:
        code, message = error
        if code == "noRecordsMatch":
            return  # an empty range: zero records, and the harvest is complete
        if code == "badResumptionToken":
            since = plan.params["from"] or "the last date you harvested"
            raise HarvestError(
                f"arXiv no longer accepts the stored resumption token ({message or code}); "
                f"tokens expire. Rerun the harvest with a fresh --from (e.g. --from {since}).")
        raise HarvestError(f"OAI-PMH error from {self.endpoint}: {code}: {message}")

    def _state(self, plan: _Plan) -> HarvestState:
        return HarvestState(key=self.state_key, source=self.name,
                            resumption_token=plan.token, datestamp=plan.previous,
                            params=dict(plan.params))

    def _final_state(self, plan: _Plan) -> HarvestState:
        upper = plan.params["until"] or plan.params["started"] or datetime.now(UTC).date()
        return HarvestState(key=self.state_key, source=self.name, position=self._total or 0,
                            resumption_token=None, datestamp=str(upper),
                            params=dict(plan.params), done=True)


def _progress(page: Page) -> int | None:
    return page.cursor + len(page.records) if page.cursor is not None else None


def _day(response_date: str | None) -> str | None:
    """The date part of an OAI responseDate ("2018-06-21T14:31:04Z" → "2018-06-21")."""
    if not response_date:
        return None
    return response_date.strip()[:10] or None
