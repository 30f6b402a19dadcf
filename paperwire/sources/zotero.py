"""A Zotero collection read through the Zotero Web API (v3, read-only) as CitationEntry.

``fetch_zotero_collection`` reads every item of one collection of a user or group library,
page after page (``Link: rel="next"``), waiting as ``Backoff`` and ``Retry-After`` ask, and
returns the same ``ParsedCitations`` the .bib, .ris and CSL-JSON parsers return: references
as ``CitationEntry`` (their ``line`` is the item's position in the collection, their ``key``
the Zotero item key) and, for each item that is not a usable reference, a ``CitationError``.
Child notes become the parent's note; attachments and standalone notes are not references
and are left out. The client is pyzotero (the optional ``zotero`` extra), imported here only
when a collection is read. Every failure of the whole read is a ``ZoteroError`` naming what
is wrong: the key (403), the collection (404), the rate limit, the host.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import lxml.etree
import lxml.html

from paperwire.errors import ConfigError, ZoteroError
from paperwire.formats.citations import (
    MAX_ENTRIES,
    CitationEntry,
    CitationError,
    ParsedCitations,
    doi_in,
    find_arxiv_id,
    year_in,
)
from paperwire.settings import Settings

if TYPE_CHECKING:
    from paperwire.sources.zotero_client import BoundedZotero

__all__ = ["MAX_WAIT", "PAGE_SIZE", "ZoteroError", "ZoteroLibrary", "fetch_zotero_collection",
           "zotero_entries"]

PAGE_SIZE = 100  # the most the API returns per request
MAX_WAIT = 120.0  # longest Backoff/Retry-After we sit through; longer ones end the read
MAX_COLLECTIONS = 5_000  # a library's collections scanned when one is named, not keyed
_KEY = re.compile(r"^[23456789ABCDEFGHIJKLMNPQRSTUVWXYZ]{8}$")  # Zotero's object keys
_API_KEY = re.compile(r"^[A-Za-z0-9]{1,64}$")
_NOT_REFERENCES = ("note", "attachment", "annotation")
# Where Zotero keeps an arXiv id, depending on the translator that saved the item.
_ARXIV_FIELDS = ("archiveID", "url", "extra", "DOI", "number", "reportNumber",
                 "publicationTitle", "repository", "libraryCatalog")
_SECONDARY_CREATORS = ("editor", "seriesEditor", "translator", "bookAuthor", "reviewedAuthor",
                       "contributor")


@dataclass(frozen=True)
class ZoteroLibrary:
    """Whose library: a user's or a group's numeric id, and an API key that may read it."""

    library_id: str
    api_key: str
    library_type: str = "user"  # or "group"

    def __post_init__(self) -> None:
        if self.library_type not in ("user", "group"):
            raise ConfigError(f"a Zotero library is 'user' or 'group', not "
                              f"{self.library_type!r}")
        if not str(self.library_id).isdigit() or len(str(self.library_id)) > 20:
            raise ConfigError(f"a Zotero {self.library_type} id is a number (see "
                              f"zotero.org/settings/keys), got {self.library_id!r}")
        if not _API_KEY.match(self.api_key):
            raise ConfigError("a Zotero API key is letters and digits (24 of them, from "
                              "zotero.org/settings/keys); the one given is not")

    @property
    def label(self) -> str:
        return f"Zotero {self.library_type} library {self.library_id}"


def fetch_zotero_collection(settings: Settings, library: ZoteroLibrary, collection: str, *,
                            sleep: Callable[[float], None] = time.sleep,
                            max_wait: float = MAX_WAIT,
                            page_size: int = PAGE_SIZE) -> ParsedCitations:
    """Every reference in ``collection`` (its 8-character key, or its exact name) of
    ``library``, read from ``settings.zotero_api_url`` ``page_size`` items a request;
    ZoteroError if it cannot be read."""
    collection = collection.strip()
    if not collection or len(collection) > 500:
        raise ConfigError("name the Zotero collection by its key or its name (1 to 500 "
                          "characters)")
    if not 1 <= page_size <= PAGE_SIZE:
        raise ConfigError(f"page_size is 1 to {PAGE_SIZE} (the API's most), got {page_size}")
    client = _client(settings, library, sleep, max_wait)
    try:
        with _errors_named(settings, library, collection):
            key = collection if _KEY.match(collection) else _key_of(client, library,
                                                                     collection)
            items, total = _collection_items(client, key, page_size)
    finally:
        client.close()
    parsed = zotero_entries(items)
    if total > len(items):
        return ParsedCitations(parsed.entries, (*parsed.errors, CitationError(
            0, None, f"the collection has {total:,} items; only the first {len(items):,} "
            "were read")))
    return parsed


def zotero_entries(items: Iterable[dict[str, Any]]) -> ParsedCitations:
    """Items as the Web API returns them (``{"key", "data": {...}}``) as references."""
    items = list(items)
    notes = _child_notes(items)
    entries: list[CitationEntry] = []
    errors: list[CitationError] = []
    for position, item in enumerate(items, start=1):
        data = item.get("data") if isinstance(item, dict) else None
        if not isinstance(data, dict):
            errors.append(CitationError(position, None, "not a Zotero item (no 'data')"))
            continue
        if data.get("itemType") in _NOT_REFERENCES:
            continue
        key = str(data.get("key") or item.get("key") or f"item{position}")
        try:
            entries.append(_entry(key, data, item.get("meta"), notes.get(key, []), position))
        except (ValueError, TypeError) as exc:
            errors.append(CitationError(position, key, str(exc)))
    return ParsedCitations(tuple(entries), tuple(errors))


def _client(settings: Settings, library: ZoteroLibrary, sleep: Callable[[float], None],
            max_wait: float) -> BoundedZotero:
    try:
        from paperwire.sources.zotero_client import BoundedZotero
    except ImportError as exc:
        raise ZoteroError("reading a Zotero library needs pyzotero: pip install "
                          "'paperwire[zotero]' and then pip install --no-deps "
                          "pyzotero==1.16.0 (pyproject.toml says why)") from exc
    return BoundedZotero(library.library_id, library.library_type, library.api_key,
                         base_url=settings.zotero_api_url, timeout=settings.http_timeout,
                         max_wait=max_wait, sleep=sleep, user_agent=settings.user_agent)


def _pages(client: BoundedZotero, first: list[Any], limit: int) -> Iterator[Any]:
    """The items of a first page and of each page after it, up to ``limit`` items."""
    count = 0
    page: list[Any] | None = first
    while page:
        yield from page[: limit - count]
        count += min(len(page), limit - count)
        if count >= limit or not (client.links or {}).get("next"):
            return
        page = client.follow()


def _total(client: BoundedZotero) -> int:
    value = client.request.headers.get("Total-Results", "") if client.request else ""
    return int(value) if value.isdigit() else 0


def _collection_items(client: BoundedZotero, key: str, page_size: int
                      ) -> tuple[list[Any], int]:
    first = client.collection_items(key, limit=page_size)
    total = _total(client)
    return list(_pages(client, first, MAX_ENTRIES)), total


def _key_of(client: BoundedZotero, library: ZoteroLibrary, name: str) -> str:
    first = client.collections(limit=PAGE_SIZE)
    collections = [c for c in _pages(client, first, MAX_COLLECTIONS) if isinstance(c, dict)]
    wanted = name.casefold()
    found = [c for c in collections if str(c.get("data", {}).get("name", "")).casefold()
             == wanted]
    if len(found) == 1:
        return str(found[0]["key"])
    if found:
        keys = ", ".join(str(c["key"]) for c in found)
        raise ZoteroError(f"{library.label} has {len(found)} collections named {name!r} "
                          f"(keys {keys}): give the key of the one to import")
    names = sorted(str(c.get("data", {}).get("name", "")) for c in collections)
    shown = ", ".join(repr(n) for n in names[:10]) + (", …" if len(names) > 10 else "")
    raise ZoteroError(f"{library.label} has no collection named {name!r}"
                      + (f"; it has {shown}" if names else "; it has no collections"))


@contextlib.contextmanager
def _errors_named(settings: Settings, library: ZoteroLibrary, collection: str
                  ) -> Iterator[None]:
    """Turns pyzotero's and the HTTP client's exceptions into one ZoteroError each."""
    try:
        yield
    except ZoteroError:
        raise
    except Exception as exc:
        message = _message(exc, settings, library, collection)
        if message is None:
            raise
        raise ZoteroError(message) from exc


def _message(exc: Exception, settings: Settings, library: ZoteroLibrary, collection: str
             ) -> str | None:
    import httpx2
    from pyzotero import errors as ze

    label, where = library.label, settings.zotero_api_url
    if isinstance(exc, ze.UserNotAuthorisedError):
        return (f"Zotero refused the API key for {label} (HTTP 403): check the key, and "
                "that it is allowed to read this library (zotero.org/settings/keys)")
    if isinstance(exc, ze.ResourceNotFoundError):
        return (f"{label} has no collection {collection!r} (HTTP 404): give the "
                "collection's key (8 characters, in its zotero.org URL) or its exact name")
    if isinstance(exc, ze.TooManyRetriesError | ze.TooManyRequestsError):
        return f"Zotero is still rate-limiting {label} ({exc}); try again later"
    if isinstance(exc, httpx2.TimeoutException):
        return f"Zotero at {where} did not answer within {settings.http_timeout:g} s"
    if isinstance(exc, httpx2.TransportError):
        return f"cannot reach Zotero at {where}: {type(exc).__name__}: {exc}"
    if isinstance(exc, ze.PyZoteroError):
        return f"Zotero could not give {label}'s collection: {_first_line(exc)}"
    if isinstance(exc, json.JSONDecodeError):
        return f"Zotero at {where} sent a reply that is not JSON ({exc.msg})"
    return None


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__


# --- items as references -----------------------------------------------------------------

def _child_notes(items: list[Any]) -> dict[str, list[str]]:
    notes: dict[str, list[str]] = {}
    for item in items:
        data = item.get("data") if isinstance(item, dict) else None
        if isinstance(data, dict) and data.get("itemType") == "note" and data.get("parentItem"):
            text = _note_text(str(data.get("note") or ""))
            if text:
                notes.setdefault(str(data["parentItem"]), []).append(text)
    return notes


def _note_text(html: str) -> str:
    """A note's HTML as plain text, paragraphs on their own lines."""
    if not html.strip():
        return ""
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (ValueError, lxml.etree.ParserError):
        return " ".join(html.split())
    for block in root.iter("p", "div", "li", "br", "h1", "h2", "h3"):
        block.tail = "\n" + (block.tail or "")
    lines = (" ".join(line.split()) for line in root.text_content().splitlines())
    return "\n".join(line for line in lines if line)


def _entry(key: str, data: dict[str, Any], meta: Any, notes: list[str],
           position: int) -> CitationEntry:
    title = " ".join(str(data.get("title") or data.get("caseName") or
                         data.get("nameOfAct") or data.get("subject") or "").split())
    authors = _authors(data.get("creators") or [])
    if not title and not authors:
        raise ValueError(f"{data.get('itemType', 'item')} has neither a title nor creators")
    strings = [str(data.get(f) or "") for f in _ARXIV_FIELDS]
    parsed_date = meta.get("parsedDate") if isinstance(meta, dict) else None
    tags = tuple(str(t["tag"]).strip() for t in data.get("tags") or []
                 if isinstance(t, dict) and str(t.get("tag") or "").strip())
    return CitationEntry(
        key=key, title=title, authors=authors,
        year=year_in(parsed_date) or year_in(data.get("date")),
        arxiv_id=find_arxiv_id(strings), doi=doi_in([str(data.get("DOI") or ""),
                                                     str(data.get("extra") or "")]),
        note="\n\n".join(notes) or None, tags=tags, line=position,
        kind=str(data.get("itemType") or ""))


def _authors(creators: list[Any]) -> tuple[str, ...]:
    """Authors (or the primary creators of a type without authors: presenters, inventors)."""
    named = [c for c in creators if isinstance(c, dict)]
    primary = [c for c in named if c.get("creatorType") == "author"] or \
        [c for c in named if c.get("creatorType") not in _SECONDARY_CREATORS]
    names = (" ".join(str(c.get("name") or f"{c.get('firstName') or ''} "
                                          f"{c.get('lastName') or ''}").split())
             for c in primary)
    return tuple(n for n in names if n)
