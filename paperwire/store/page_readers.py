"""SQL of what one signed-in reader adds to a paper's page: their votes and saves among the
papers it shows, their votes on its comments, and whether one of theirs waits for approval.

Everything else on the page is shared by every reader and cached; this is read on every
signed-in view, so it is one statement, built once, on one connection. "Saved" is
library.saved_ids' rule (in a live collection the reader owns).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    String,
    bindparam,
    cast,
    literal,
    null,
    select,
    union_all,
)

from paperwire.store.comment_schema import comment_votes, comments
from paperwire.store.library_schema import collection_items, collections
from paperwire.store.schema import papers, votes

_USER: Any = bindparam("user_id")
_SHOWN: Any = bindparam("shown", expanding=True)
_PAPER: Any = bindparam("arxiv_id")
# Typed, for PostgreSQL: an untyped NULL in a union's first arm is text.
_NO_PAPER: Any = cast(null(), String)
_NO_COMMENT: Any = cast(null(), Integer)

_READER = union_all(
    select(literal("voted"), papers.c.arxiv_id, _NO_COMMENT)
    .join(votes, votes.c.paper_id == papers.c.id)
    .where(votes.c.user_id == _USER, papers.c.arxiv_id.in_(_SHOWN)),
    select(literal("saved"), papers.c.arxiv_id, _NO_COMMENT)
    .join(collection_items, collection_items.c.paper_id == papers.c.id)
    .join(collections, collections.c.id == collection_items.c.collection_id)
    .where(collections.c.owner_id == _USER, collections.c.deleted_at.is_(None),
           papers.c.arxiv_id.in_(_SHOWN)),
    select(literal("comment-voted"), _NO_PAPER, comment_votes.c.comment_id)
    .join(comments, comments.c.id == comment_votes.c.comment_id)
    .join(papers, papers.c.id == comments.c.paper_id)
    .where(papers.c.arxiv_id == _PAPER, comment_votes.c.user_id == _USER),
    select(literal("held"), _NO_PAPER, comments.c.id)
    .join(papers, papers.c.id == comments.c.paper_id)
    .where(papers.c.arxiv_id == _PAPER, comments.c.user_id == _USER,
           comments.c.status == "held", comments.c.hidden_at.is_(None)))


def reader_of(conn: Connection, arxiv_id: str, shown: list[str], user_id: int
              ) -> dict[str, set[Any]]:
    """{"voted": arXiv ids, "saved": arXiv ids, "comment-voted": comment ids, "held":
    comment ids} of ``user_id`` on the page of ``arxiv_id`` showing the papers ``shown``."""
    found: dict[str, set[Any]] = {"voted": set(), "saved": set(), "comment-voted": set(),
                                  "held": set()}
    for kind, paper, comment in conn.execute(_READER, {"user_id": user_id, "shown": shown,
                                                       "arxiv_id": arxiv_id}):
        found[kind].add(paper if comment is None else comment)
    return found
