"""A paper's discussion as an Atom feed (RFC 4287): one entry per comment, its stored,
sanitised HTML as the content (type html, escaped by the XML writer)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from feedgen.feed import FeedGenerator

from paperwire.formats.atom import xml_text


def _aware(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def comments_feed(comments: Sequence[dict[str, Any]], *, arxiv_id: str, self_url: str,
                  base_url: str) -> bytes:
    """The feed of ``comments`` (newest first, as given); entries link to the comment on
    the paper's page under ``base_url``."""
    page = f"{base_url}/papers/{arxiv_id}"
    fg = FeedGenerator()
    fg.id(self_url)
    fg.title(f"Discussion of arXiv:{arxiv_id}")
    fg.author({"name": "paperwire"})
    fg.link(href=self_url, rel="self", type="application/atom+xml")
    fg.link(href=f"{page}#discussion", rel="alternate", type="text/html")
    fg.generator("paperwire")
    stamps = []
    for c in comments:
        fe = fg.add_entry(order="append")
        fe.id(f"{page}#c{c['id']}")
        # A verified author of the paper wears the badge here too, as on the page.
        who = f"{c['author']} (author)" if c.get("paper_author") else c["author"]
        fe.title(xml_text(f"{who} on arXiv:{arxiv_id}"))
        fe.author({"name": xml_text(who)})
        updated = _aware(c["edited_at"] or c["created_at"])
        stamps.append(updated)
        fe.updated(updated)
        fe.published(_aware(c["created_at"]))
        fe.link(href=f"{page}#c{c['id']}", rel="alternate", type="text/html")
        fe.content(xml_text(c["html"]), type="html")
    fg.updated(max(stamps) if stamps else datetime.now(UTC))
    body: bytes = fg.atom_str(pretty=True)
    return body
