"""SQL of claims of authorship, follows (of authors and categories) and the follow feed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from paperwire.models import Paper
from paperwire.store.author_schema import (
    author_claims,
    authors,
    follow_feeds,
    follows,
    paper_authors,
)
from paperwire.store.counters import bump
from paperwire.store.papers import row_to_paper
from paperwire.store.schema import hidden_papers, papers, users


def add_claim(conn: Connection, author_id: int, user_id: int, now: datetime) -> dict[str, Any]:
    """A pending claim (or the user's existing claim of this author, unchanged)."""
    found = conn.execute(select(author_claims).where(author_claims.c.author_id == author_id,
                                                     author_claims.c.user_id == user_id)).first()
    if found is None:
        conn.execute(insert(author_claims).values(author_id=author_id, user_id=user_id,
                                                  status="pending", created_at=now))
    return claims(conn, author_id=author_id, user_id=user_id)[0]


def claims(conn: Connection, *, author_id: int | None = None, user_id: int | None = None,
           status: str | None = None, claim_id: int | None = None) -> list[dict[str, Any]]:
    query = (select(author_claims, users.c.display_name, users.c.email, authors.c.slug)
             .join(users, users.c.id == author_claims.c.user_id)
             .join(authors, authors.c.id == author_claims.c.author_id)
             .order_by(author_claims.c.id))
    for column, value in ((author_claims.c.author_id, author_id),
                          (author_claims.c.user_id, user_id), (author_claims.c.status, status),
                          (author_claims.c.id, claim_id)):
        if value is not None:
            query = query.where(column == value)
    return [{"id": r.id, "author_id": r.author_id, "slug": r.slug, "user_id": r.user_id,
             "display_name": r.display_name, "email": r.email, "status": r.status,
             "created_at": r.created_at.isoformat(),
             "decided_at": r.decided_at.isoformat() if r.decided_at else None}
            for r in conn.execute(query)]


def decide_claim(conn: Connection, claim_id: int, status: str, moderator_id: int | None,
                 now: datetime) -> dict[str, Any] | None:
    done = conn.execute(update(author_claims).where(author_claims.c.id == claim_id)
                        .values(status=status, decided_at=now, decided_by=moderator_id))
    if not done.rowcount:
        return None
    bump(conn, "comments")  # an author's badge on their comments comes or goes with it
    return claims(conn, claim_id=claim_id)[0]


def set_follow(conn: Connection, user_id: int, *, author_id: int | None = None,
               category: str | None = None, on: bool, now: datetime) -> bool:
    """Follow (``on``) or stop following an author or a category; idempotent. Returns
    whether the user follows it afterwards."""
    where = [follows.c.user_id == user_id,
             follows.c.author_id == author_id if author_id is not None
             else follows.c.category == category]
    if not on:
        conn.execute(delete(follows).where(*where))
        return False
    if conn.execute(select(follows.c.id).where(*where)).first() is None:
        try:
            with conn.begin_nested():
                conn.execute(insert(follows).values(user_id=user_id, author_id=author_id,
                                                    category=category, created_at=now))
        except IntegrityError:  # a concurrent click of the same button won the race
            pass
    return True


def follows_of(conn: Connection, user_id: int) -> dict[str, list[dict[str, Any]]]:
    """What a user follows: authors (with slug and name) and categories, oldest first."""
    rows = conn.execute(select(follows.c.author_id, follows.c.category, follows.c.created_at,
                               authors.c.slug, authors.c.name)
                        .outerjoin(authors, authors.c.id == follows.c.author_id)
                        .where(follows.c.user_id == user_id).order_by(follows.c.id))
    found: dict[str, list[dict[str, Any]]] = {"authors": [], "categories": []}
    for r in rows:
        since = r.created_at.isoformat()
        if r.author_id is not None:
            found["authors"].append({"id": r.author_id, "slug": r.slug, "name": r.name,
                                     "since": since})
        else:
            found["categories"].append({"category": r.category, "since": since})
    return found


def followed_papers(conn: Connection, user_id: int, since: datetime | None, limit: int
                    ) -> list[Paper]:
    """Visible papers by authors the user follows, newest first (first stored after
    ``since`` when given)."""
    followed = select(follows.c.author_id).where(follows.c.user_id == user_id,
                                                 follows.c.author_id.is_not(None))
    by_them = select(paper_authors.c.paper_id).where(paper_authors.c.author_id.in_(followed))
    hidden = select(hidden_papers.c.paper_id)
    query = (select(papers).where(papers.c.id.in_(by_them), papers.c.id.not_in(hidden))
             .order_by(papers.c.published.desc(), papers.c.id.desc()).limit(limit))
    if since is not None:
        query = query.where(papers.c.created_at >= since)
    return [row_to_paper(r) for r in conn.execute(query)]


def set_feed_token(conn: Connection, user_id: int, token_hash: str, now: datetime) -> None:
    conn.execute(delete(follow_feeds).where(follow_feeds.c.user_id == user_id))
    conn.execute(insert(follow_feeds).values(user_id=user_id, token_hash=token_hash,
                                             created_at=now))


def revoke_feed(conn: Connection, user_id: int) -> bool:
    return conn.execute(delete(follow_feeds).where(follow_feeds.c.user_id == user_id)
                        ).rowcount > 0


def feed_user(conn: Connection, token_hash: str) -> int | None:
    found = conn.execute(select(follow_feeds.c.user_id)
                         .where(follow_feeds.c.token_hash == token_hash)).scalar()
    return int(found) if found is not None else None


def has_feed(conn: Connection, user_id: int) -> bool:
    return conn.execute(select(follow_feeds.c.user_id)
                        .where(follow_feeds.c.user_id == user_id)).first() is not None
