"""The one JSON shape of a paper on pages, API and feeds: the card.

A search hit is a card with its score and snippet, a trending item a card with its score and
explanation; ``with_votes`` and ``with_submitters`` add the community's part. ``KeptMarkup``
renders each card's HTML once for each content and keeps it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Hashable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol

from jinja2 import Environment
from markupsafe import Markup, escape

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
    """Cards (search hits, similar papers) with their vote counts, who submitted them,
    their author links and comment counts, and, for a signed-in ``viewer``, whether they
    voted and saved each: one connection for the page."""
    parts = store.card_parts((c["arxiv_id"] for c in cards), viewer.id if viewer else None)
    _author_links(cards, parts.authors)
    for c in cards:
        arxiv_id = c["arxiv_id"]
        c["comment_count"] = parts.comments.get(arxiv_id, 0)
        c["submitted_by"] = (parts.submissions.get(arxiv_id) or {}).get("submitted_by")
        state = parts.votes.get(arxiv_id)
        c["votes"] = state.votes if state else 0
        c["external"] = state.external if state else 0
        c["voted"] = bool(state and state.voted)
        c["code"] = [link.to_dict() for link in parts.links.get(arxiv_id, ())]
        if viewer is not None:
            c["saved"] = arxiv_id in parts.saved
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
    links = store.links_of(c["arxiv_id"] for c in cards)
    _with_comments(store, cards)
    for c in cards:
        c["submitted_by"] = (found.get(c["arxiv_id"]) or {}).get("submitted_by")
        c["code"] = [link.to_dict() for link in links.get(c["arxiv_id"], ())]
    return with_author_links(store, cards)


def with_author_links(store: Store, cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cards with ``author_links``: each author as written, with their identity's page
    (``/authors/<slug>``), in one read; papers not linked yet get plain names."""
    return _author_links(cards, store.authors_of(c["arxiv_id"] for c in cards))


def _author_links(cards: list[dict[str, Any]], found: Mapping[str, list[dict[str, str]]]
                  ) -> list[dict[str, Any]]:
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
    voted, saved = store.reader_marks([*also, *(c["arxiv_id"] for c in cards)], viewer.id)
    return [{**c, "voted": c["arxiv_id"] in voted, "saved": c["arxiv_id"] in saved}
            for c in cards], voted


# --- card markup --------------------------------------------------------------------------
# The fields of a search hit's card that change with the query. card_markup shows none of
# them but the snippet, which it takes as an argument: kept cards leave them out.
QUERY_FIELDS = frozenset({"score", "keyword_score", "meaning_score", "snippet", "highlights"})


class Cache(Protocol):
    """A bounded, thread-safe map (web.site.ViewCache)."""

    def get(self, key: Any) -> Any: ...

    def put(self, key: Any, value: Any) -> None: ...


def content_key(p: Mapping[str, Any], *args: Any) -> Hashable | None:
    """Everything a card may show, as one hashable value (None when it has no such form):
    the whole card, so that any change to it (a vote, a comment count, a title, a field a
    template starts reading tomorrow) is a new key."""
    parts: list[Any] = list(args)
    for name, value in p.items():
        if type(value) is list:  # authors, author links, a hit's highlight spans
            value = tuple(tuple(v.items()) if type(v) is dict
                          else tuple(v) if type(v) is list else v for v in value)
        elif type(value) is dict:
            value = tuple(value.items())
        parts += (name, value)
    key = tuple(parts)
    try:
        hash(key)
    except TypeError:  # something nested deeper than a card's own lists: not kept
        return None
    return key


_NESTED = frozenset({dict, list, tuple})


def frozen(value: Any) -> Hashable | None:
    """``value`` (dicts, lists and tuples of plain values, nested) as one hashable value, or
    None when something in it has no such form."""
    def freeze(v: Any) -> Any:
        # On every page view: exact type tests and no call for a plain value.
        kind = type(v)
        if kind is dict:
            return tuple([(k, freeze(x) if type(x) in _NESTED else x) for k, x in v.items()])
        if kind is list or kind is tuple:
            return tuple([freeze(x) if type(x) in _NESTED else x for x in v])
        if isinstance(v, Mapping):
            return freeze(dict(v))
        return v

    key = freeze(value)
    try:
        hash(key)
    except TypeError:
        return None
    return key  # type: ignore[no-any-return]


def _not_in_kept() -> None:
    raise RuntimeError("kept markup is shared between readers: put what it shows of its "
                       "reader in its arguments (as with_my_votes does), not current_user()")


class KeptMarkup:
    """Macros rendered once for each content of their arguments and kept in ``cache``:
    cards (``card``, the template global ``card_html``; rendering 30 cards through Jinja,
    with their MathML, was most of a listing's time) and the parts of a page every reader
    shares (``macro``, the global ``kept``).

    The kept markup must hold nothing of one reader that another could be shown. What it
    shows of its reader (a card's votes, voted) is in its arguments, hence in the key; the
    reader's CSRF token is not (it would make every anonymous visit a miss): the macro is
    rendered with a random placeholder for the token, which each call replaces with its
    reader's. A kept macro may not call current_user()."""

    def __init__(self, templates: Environment, cache: Cache) -> None:
        self._templates = templates
        self._cache = cache
        self._slot = {"input": f"csrfslot{secrets.token_hex(12)}i",
                      "token": f"csrfslot{secrets.token_hex(12)}t",
                      "snippet": f"snippetslot{secrets.token_hex(12)}s"}
        self._split = re.compile("(" + "|".join(self._slot.values()) + ")")
        self._modules: dict[str, Any] = {}

    def _module(self, template: str) -> Any:
        module = self._modules.get(template)
        if module is None:
            slot = self._slot
            module = self._templates.get_template(template).make_module({
                "csrf_input": lambda: Markup(slot["input"]),
                "csrf_token": lambda: slot["token"], "current_user": _not_in_kept})
            self._modules[template] = module
        return module

    def _kept(self, key: Hashable | None, template: str, name: str, *args: Any,
              fill: Mapping[str, str] | None = None) -> Markup:
        helpers: Mapping[str, Any] = self._templates.globals
        if key is None or "csrf_input" not in helpers:
            # Nothing to key on, or an environment without the CSRF helpers: rendered as is.
            macros: Any = self._templates.get_template(template).module
            return Markup(getattr(macros, name)(*args))
        parts: tuple[str, ...] | None = self._cache.get(key)
        if parts is None:
            html = str(getattr(self._module(template), name)(*args))
            parts = tuple(self._split.split(html))
            self._cache.put(key, parts)
        filled = {self._slot["input"]: str(escape(helpers["csrf_input"]())),
                  self._slot["token"]: str(escape(helpers["csrf_token"]())), **(fill or {})}
        return Markup("".join(filled.get(part, part) for part in parts))

    def card(self, p: Mapping[str, Any], snippet: str | None = None,
             highlights: Sequence[Sequence[int]] | None = None) -> Markup:
        """A paper's card (``card_markup`` in _macros.html). A search hit's card is kept
        without what changes with the query (``QUERY_FIELDS``): its snippet goes in per call,
        as the CSRF token does, so a paper that many queries find is rendered once."""
        mark: Callable[..., Any] | None = self._templates.filters.get("highlight")
        if not isinstance(p, Mapping) or (snippet is not None and mark is None):
            return self._kept(None, "_macros.html", "card_markup", p, snippet, highlights)
        if "explanation" not in p:  # a trending card shows its score; a hit's does not
            p = {k: v for k, v in p.items() if k not in QUERY_FIELDS}
        if snippet is None:
            return self._kept(content_key(p, False), "_macros.html", "card_markup", p)
        slot = self._slot["snippet"]
        assert mark is not None
        return self._kept(content_key(p, True), "_macros.html", "card_markup", p,
                          Markup(slot), None, fill={slot: str(mark(snippet, highlights))})

    def macro(self, template: str, name: str, *args: Any) -> Markup:
        """Macro ``name`` of ``template`` called with ``args``."""
        found = frozen(args)
        return self._kept(None if found is None else (template, name, found), template,
                          name, *args)
