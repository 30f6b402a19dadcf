"""The one JSON shape of a paper on pages, API and feeds: the card.

A search hit is a card with its score and snippet, a trending item a card with its score and
explanation; ``with_votes`` and ``with_submitters`` add the community's part.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from paperwire.models import Paper, User, paper_day
from paperwire.search import Hit
from paperwire.store import PaperView, Store
from paperwire.trending import Scored


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value else None


def card(paper: Paper) -> dict[str, Any]:
    return {
        "arxiv_id": paper.arxiv_id, "version": paper.version, "title": paper.title,
        "authors": list(paper.authors), "abstract": paper.abstract,
        "categories": list(paper.categories), "primary_category": paper.primary_category,
        "date": _iso(paper_day(paper)), "published": _iso(paper.published),
        "updated": _iso(paper.updated), "listed_on": _iso(paper.listed_on),
        "comments": paper.comments, "journal_ref": paper.journal_ref, "doi": paper.doi,
        "license": paper.license, "abs_url": paper.abs_url, "pdf_url": paper.pdf_url,
        "url": f"/papers/{paper.arxiv_id}",
    }


def hit_card(hit: Hit) -> dict[str, Any]:
    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 4)

    return {**card(hit.paper), "score": round(hit.score, 6),
            "keyword_score": rounded(hit.keyword_score),
            "meaning_score": rounded(hit.meaning_score),
            "snippet": hit.snippet.text, "highlights": [list(s) for s in hit.snippet.spans]}


def scored_card(item: Scored) -> dict[str, Any]:
    return {**card(item.paper), "score": round(item.score, 6), "votes": item.votes,
            "external": item.external, "age_hours": item.age_hours,
            "explanation": item.explanation}


def community_data(view: PaperView) -> dict[str, Any]:
    """Votes (and whether the viewer voted) and who submitted the paper, for its page."""
    state = view.votes
    return {"votes": state.votes if state else 0, "external": state.external if state else 0,
            "voted": bool(state and state.voted), "submission": view.submission}


def with_votes(store: Store, cards: list[dict[str, Any]], viewer: User | None = None
               ) -> list[dict[str, Any]]:
    """Cards (search hits, similar papers) with their vote counts and who submitted them,
    and, for a signed-in ``viewer``, whether they voted: two indexed reads for the page."""
    states, submitted = store.card_states((c["arxiv_id"] for c in cards),
                                          viewer.id if viewer else None)
    with_author_links(store, cards)
    _with_comments(store, cards)
    for c in cards:
        c["submitted_by"] = (submitted.get(c["arxiv_id"]) or {}).get("submitted_by")
        state = states.get(c["arxiv_id"])
        c["votes"] = state.votes if state else 0
        c["external"] = state.external if state else 0
        c["voted"] = bool(state and state.voted)
    if viewer is not None:
        with_saved(store, cards, viewer)
    return cards


def with_saved(store: Store, cards: list[dict[str, Any]], viewer: User) -> list[dict[str, Any]]:
    """Cards marked with whether ``viewer`` has saved each (one read); in place."""
    saved = store.saved_ids(viewer.id, [c["arxiv_id"] for c in cards])
    for c in cards:
        c["saved"] = c["arxiv_id"] in saved
    return cards


def _with_comments(store: Store, cards: list[dict[str, Any]]) -> None:
    # Listings are cached on the view version, which moves with every comment.
    counts = store.comment_counts(c["arxiv_id"] for c in cards)
    for c in cards:
        c["comment_count"] = counts.get(c["arxiv_id"], 0)


def with_submitters(store: Store, cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cards with ``submitted_by`` (None for harvested papers or hidden submissions). A new
    submission always writes its paper, so cached listings keyed on the data version see it."""
    found = store.submissions_for(c["arxiv_id"] for c in cards)
    _with_comments(store, cards)
    for c in cards:
        c["submitted_by"] = (found.get(c["arxiv_id"]) or {}).get("submitted_by")
    return with_author_links(store, cards)


def with_author_links(store: Store, cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cards with ``author_links``: each author as written, with their identity's page
    (``/authors/<slug>``), in one read; papers not linked yet get plain names."""
    found = store.authors_of(c["arxiv_id"] for c in cards)
    for c in cards:
        links = found.get(c["arxiv_id"])
        c["author_links"] = ([{"name": a["name"], "url": f"/authors/{a['slug']}"}
                              for a in links] if links
                             else [{"name": a, "url": None} for a in c["authors"]])
    return cards


def with_my_votes(store: Store, cards: list[dict[str, Any]], viewer: User | None,
                  *also: str) -> tuple[list[dict[str, Any]], set[str]]:
    """Copies of shared (cached) cards marked with whether ``viewer`` voted for each, and
    the ids among them and ``also`` the viewer voted for, in one read."""
    if viewer is None:
        return cards, set()
    mine = store.vote_states([*also, *(c["arxiv_id"] for c in cards)], viewer.id)
    voted = {i for i, state in mine.items() if state.voted}
    saved = store.saved_ids(viewer.id, [c["arxiv_id"] for c in cards])
    return [{**c, "voted": c["arxiv_id"] in voted, "saved": c["arxiv_id"] in saved}
            for c in cards], voted
