"""Author identities as people use them: backfill, merge and split, claims and follows.

Names are put in normal form and homonyms told apart by ``paperwire.names`` (its docstring
states the rule); the store links each paper it writes. ``rebuild`` links the papers stored
before identities existed: in batches, each committed on its own, so an interrupted run
resumes where it stopped (the papers it linked are no longer "unlinked").
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tqdm import tqdm

from paperwire.accounts import new_session_token, token_hash
from paperwire.errors import NotFound
from paperwire.models import User
from paperwire.names import normalise
from paperwire.store import Store

REBUILD_BATCH = 500


@dataclass
class RebuildReport:
    """What a rebuild did: papers linked, and whether ^C cut it short."""

    linked: int = 0
    interrupted: bool = False


def rebuild(store: Store, *, progress: bool = True, batch: int = REBUILD_BATCH
            ) -> RebuildReport:
    """Link every paper that has no author links yet; safe to rerun and to interrupt."""
    report = RebuildReport()
    bar = tqdm(total=store.count_unlinked(), unit=" papers", desc="authors",
               disable=not progress or not sys.stderr.isatty(), file=sys.stderr)
    after = 0
    try:
        while True:
            pending = store.unlinked_papers(after, batch)
            if not pending:
                break
            report.linked += store.link_authors(a for _, a in pending)
            after = pending[-1][0]
            bar.update(len(pending))
    except KeyboardInterrupt:
        report.interrupted = True  # the batch in flight was rolled back whole
    finally:
        bar.close()
    return report


class ClaimError(Exception):
    """A claim that cannot be made or decided; says why."""


def searched_rows(store: Store, name: str) -> set[int] | None:
    """Row ids of the papers of the identities a searched author name names, by normal
    form ("Smith, A. B." finds A.B. Smith; "Müller" Muller) or by slug (``ada-lovelace``);
    None when it names none, and the search then matches the name's words as written."""
    wanted = normalise(name)
    return store.identity_paper_ids(
        tuple(dict.fromkeys((name.strip().lower(), wanted.slug))), wanted.key)


def claim(store: Store, user: User, slug: str) -> dict[str, Any]:
    """A verified user claims to be the author ``slug``; a moderator confirms it."""
    if not user.verified:
        raise ClaimError("confirm your address before claiming an author profile")
    author = _live_author(store, slug)
    return store.claim_author(author["id"], user.id)


def decide(store: Store, moderator: User | None, claim_id: int, confirm: bool
           ) -> dict[str, Any]:
    """Confirm or reject a claim; ``moderator`` None is the command line's operator."""
    if moderator is not None and not moderator.is_moderator:
        raise ClaimError("only moderators decide claims")
    return store.decide_claim(claim_id, "confirmed" if confirm else "rejected",
                              moderator.id if moderator else None)


def _live_author(store: Store, slug: str) -> dict[str, Any]:
    author = store.author(slug)
    if author is None or author["merged_into"] is not None:
        raise NotFound(f"no author {slug!r}")
    return author


def follow(store: Store, user: User, *, slug: str | None = None,
           category: str | None = None, on: bool = True) -> bool:
    """Follow (or stop following) an author by slug, or a category."""
    if not user.verified:
        raise ClaimError("confirm your address before following")
    author_id = _live_author(store, slug)["id"] if slug is not None else None
    return store.set_follow(user.id, author_id=author_id, category=category, on=on)


def rotate_feed_token(store: Store, user: User) -> str:
    """A new token for the user's followed-authors feed; the old address stops working."""
    token = new_session_token()
    store.set_follow_feed_token(user.id, token_hash(token))
    return token


def feed_owner(store: Store, token: str) -> int | None:
    """Whose followed-authors feed ``token`` opens (None: unknown or revoked)."""
    if not token or len(token) > 100:
        return None
    return store.follow_feed_user(token_hash(token))


def merge(store: Store, source: str, target: str) -> int:
    return store.merge_authors(source, target)


def split(store: Store, slug: str, arxiv_ids: Sequence[str]) -> dict[str, Any]:
    return store.split_author(slug, arxiv_ids)
