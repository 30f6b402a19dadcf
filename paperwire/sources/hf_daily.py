"""Hugging Face daily papers (one ``{"date", "item": {"paper": ...}}`` per line): papers and votes.

Each line says a paper was featured on ``date`` and had ``item.paper.upvotes`` upvotes when
the file was collected. The reader yields one ``HfItem`` per good line: the paper (title,
abstract, authors, submission time; HF records carry no arXiv categories, so the paper has
none and ``source="hf-daily"``: the store keeps it until an arXiv source writes the paper,
and never lets it overwrite what an arXiv source wrote) and the imported vote.

Bad lines become Rejections naming file and line; the rest are kept. Resuming works like
the other file sources: the state remembers the file's size and the lines committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from paperwire.errors import InvalidRecord
from paperwire.links import MAX_URL, CodeLink, normalise_url
from paperwire.models import (
    ExternalVote,
    Limits,
    Paper,
    Rejection,
    parse_arxiv_id,
    validate,
)
from paperwire.sources.files import LineFileSource, _date, _datetime, _required_text

SOURCE = "hf-daily"


@dataclass(frozen=True)
class HfItem:
    """One featured paper: its metadata and its imported vote."""

    paper: Paper
    vote: ExternalVote
    links: tuple[CodeLink, ...] = ()


class HfDailySource(LineFileSource[HfItem]):
    """Reads a daily-papers JSON-lines file (plain or gzip)."""

    name = SOURCE

    def _record(self, where: str, record: dict[str, Any]) -> HfItem | Rejection:
        try:
            return parse_item(record, self.limits)
        except InvalidRecord as exc:
            return Rejection(_where_with_id(where, record), str(exc))


def _where_with_id(where: str, record: dict[str, Any]) -> str:
    item = record.get("item")
    paper = item.get("paper") if isinstance(item, dict) else None
    arxiv_id = paper.get("id") if isinstance(paper, dict) else None
    return f"{where} (id {arxiv_id})" if isinstance(arxiv_id, str) else where


def parse_item(record: dict[str, Any], limits: Limits | None = None) -> HfItem:
    """One line's record as an HfItem; InvalidRecord says what is wrong with it."""
    featured_on = _date(_required_text(record, "date"), "date")
    item = record.get("item")
    if not isinstance(item, dict) or not isinstance(item.get("paper"), dict):
        raise InvalidRecord("missing required field 'item.paper'")
    data: dict[str, Any] = item["paper"]
    arxiv_id, version = parse_arxiv_id(_required_text(data, "id"))
    upvotes = data.get("upvotes", 0)
    if isinstance(upvotes, bool) or not isinstance(upvotes, int) or upvotes < 0:
        raise InvalidRecord(f"field 'upvotes' should be a whole number from 0, got {upvotes!r}")
    authors = data.get("authors")
    if not isinstance(authors, list) or not all(
            isinstance(a, dict) and isinstance(a.get("name"), str) for a in authors):
        raise InvalidRecord("field 'authors' should be a list of objects with a 'name'")
    paper = Paper(
        arxiv_id=arxiv_id, version=version, title=_required_text(data, "title"),
        abstract=_required_text(data, "summary"),
        authors=tuple(a["name"] for a in authors), categories=(), primary_category="",
        published=_datetime(data.get("publishedAt"), "publishedAt"), source=SOURCE)
    return HfItem(validate(paper, limits or Limits(), uncategorised=True),
                  ExternalVote(arxiv_id, upvotes, featured_on), _links(data))


def _links(data: dict[str, Any]) -> tuple[CodeLink, ...]:
    """The repository Hugging Face shows for the paper (with its stars) and its project
    page. A value that is not a code or project URL is left out, not an error: the vote
    and the paper are still good."""
    found: list[CodeLink] = []
    stars = data.get("githubStars")
    if isinstance(stars, bool) or not isinstance(stars, int) or stars < 0:
        stars = None
    for field, kind in (("githubRepo", "code"), ("projectPage", "project")):
        value = data.get(field)
        known = normalise_url(value) if isinstance(value, str) else None
        if known is None and kind == "project" and isinstance(value, str) \
                and value.startswith(("https://", "http://")) and len(value) <= MAX_URL:
            known = (value, "project", (urlsplit(value).hostname or "").removeprefix("www."))
        if known is not None:
            url, found_kind, host = known
            found.append(CodeLink(url, found_kind, host, SOURCE,
                                  stars if field == "githubRepo" else None))
    return tuple(found)
