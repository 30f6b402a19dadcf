"""The caches behind home and paper pages: kept card markup, one version read per view, the
searcher reloaded only when an index changed. Each test shows a change at once on the next
render, or a reader kept apart from another, so a cache that kept too much fails it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from jinja2 import DictLoader, Environment
from sqlalchemy import event

from paperwire import discussion
from paperwire.index.indexer import IndexPaths, update_index
from paperwire.store import Store
from paperwire.web.cards import KeptMarkup, content_key, frozen
from paperwire.web.site import ViewCache, highlight
from tests.app import make_app
from tests.helpers import PASSWORD, csrf_in, paper, sign_in

A, B = "2501.00001", "2501.00002"
USERS = [("ann@example.org", "user", "Ann"), ("bob@example.org", "user", "Bob"),
         ("mod@example.org", "moderator", "Mod")]


def _form(html: str, arxiv_id: str) -> str:
    """The vote form of ``arxiv_id``'s card (the first on the page)."""
    found = re.search(r'<form class="vote"[^>]*data-arxiv-id="' + re.escape(arxiv_id)
                      + r'".*?</form>', html, re.S)
    assert found, f"no vote form for {arxiv_id}"
    return found.group(0)


def _count(html: str, arxiv_id: str) -> str:
    found = re.search(r'<span class="vote-count">(\d*)</span>', _form(html, arxiv_id))
    assert found
    return found.group(1)


def _card(html: str, arxiv_id: str) -> str:
    found = re.search(r'<article class="paper">(?:(?!</article>).)*?data-arxiv-id="'
                      + re.escape(arxiv_id) + r'".*?</article>', html, re.S)
    assert found, f"no card for {arxiv_id}"
    return found.group(0)


def _user(store: Store, address: str) -> Any:
    found = store.user_by_email(address)
    assert found is not None
    return found


def test_a_vote_shows_on_the_next_render_of_home_and_paper(tmp_path: Path,
                                                           database_url: str) -> None:
    with make_app(tmp_path, database_url, papers=[paper(A), paper(B)], index=True,
                  users=USERS) as site:
        anonymous = site.client()
        ann = site.client(signed_in="ann@example.org")
        assert 'data-voted="false"' in _form(ann.get("/").text, A)
        assert _count(anonymous.get(f"/papers/{B}").text, A) == "0"  # A: B's neighbour
        assert _count(anonymous.get(f"/papers/{A}").text, A) == "0"
        # Written by another process: the pages must see it by the version, not by a hook.
        site.store.set_vote(_user(site.store, "ann@example.org").id, A, on=True)
        assert 'data-voted="true"' in _form(ann.get("/").text, A)
        assert 'data-voted="true"' in _form(ann.get(f"/papers/{B}").text, A)
        assert _count(anonymous.get(f"/papers/{B}").text, A) == "1"
        assert _count(anonymous.get(f"/papers/{A}").text, A) == "1"
        site.store.set_vote(_user(site.store, "ann@example.org").id, A, on=False)
        assert 'data-voted="false"' in _form(ann.get("/").text, A)
        assert _count(anonymous.get(f"/papers/{B}").text, A) == "0"


def test_two_readers_see_their_own_vote_and_token(tmp_path: Path, database_url: str) -> None:
    with make_app(tmp_path, database_url, papers=[paper(A), paper(B)], index=True,
                  users=USERS) as site:
        ann = site.client(signed_in="ann@example.org")
        bob = site.client(signed_in="bob@example.org")
        cat = site.client(signed_in="mod@example.org")
        anonymous, another = site.client(), site.client()
        site.store.set_vote(_user(site.store, "ann@example.org").id, A, on=True)
        for path in ("/", f"/papers/{B}"):
            # Bob and Mod, and the two anonymous readers, are shown the same card content.
            pages = {who: c.get(path).text for who, c in
                     (("ann", ann), ("bob", bob), ("mod", cat), ("anonymous", anonymous),
                      ("another", another), ("ann2", ann))}
            forms = {who: _form(html, A) for who, html in pages.items()}
            assert 'data-voted="true"' in forms["ann"] and 'data-voted="true"' in forms["ann2"]
            for who in ("bob", "mod", "anonymous", "another"):
                assert 'data-voted="false"' in forms[who], who
            tokens = {who: csrf_in(html) for who, html in pages.items()}
            assert len(set(tokens.values())) == 5
            for who, form in forms.items():
                # Each card carries its own reader's token, never the first reader's.
                assert f'name="csrf_token" value="{tokens[who]}"' in form, (path, who)
                assert form.count('name="csrf_token"') == 1


@pytest.mark.parametrize("path", ["/", f"/papers/{A}", "/trending?period=week"])
def test_a_signed_out_page_is_drawn_once_and_filled_per_visitor(tmp_path: Path,
                                                               path: str) -> None:
    with make_app(tmp_path, papers=[paper(A), paper(B)], index=True, users=USERS) as site:
        first, second = site.client(), site.client()
        page, again = first.get(path).text, second.get(path).text
        mine, theirs = csrf_in(page), csrf_in(again)
        assert mine != theirs
        # The same page but for the token, in every place it goes (meta tag and forms)...
        assert again.count(theirs) == page.count(mine) >= 2
        assert mine not in again and again == page.replace(mine, theirs)
        # ...and it is the second visitor's own: their sign-in form with it is accepted.
        answer = second.post("/signin", data={"email": "bob@example.org", "password": PASSWORD,
                                              "csrf_token": theirs}, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        # Signed in, the page is drawn for them: their vote shows, and nobody else's page.
        site.store.set_vote(_user(site.store, "bob@example.org").id, A, on=True)
        assert 'data-voted="true"' in _form(second.get(path).text, A)
        assert 'data-voted="false"' in _form(first.get(path).text, A)
        assert _count(first.get(f"/papers/{A}").text, A) == "1"


def test_a_reader_keeps_their_token_after_signing_in(tmp_path: Path) -> None:
    with make_app(tmp_path, papers=[paper(A)], users=USERS) as site:
        client = site.client()
        before = client.get("/").text
        assert f'value="{csrf_in(before)}"' in _form(before, A)
        sign_in(client, "bob@example.org")
        after = client.get("/").text
        assert csrf_in(after) != csrf_in(before)
        assert f'value="{csrf_in(after)}"' in _form(after, A)


def test_comments_titles_and_moderation_show_at_once(tmp_path: Path, database_url: str
                                                      ) -> None:
    with make_app(tmp_path, database_url, papers=[paper(A), paper(B)], users=USERS) as site:
        anonymous = site.client()
        assert "comment-count" not in _card(anonymous.get("/").text, A)
        moderator = _user(site.store, "mod@example.org")
        discussion.post(site.store, site.settings, moderator, A, "A first comment.")
        assert "1 comment<" in _card(anonymous.get("/").text, A)
        before = anonymous.get(f"/papers/{A}").text
        assert f"<h1>Paper {A}</h1>" in before and f"arXiv:{A}v1" in before
        site.store.write_batch([paper(A, title="A better title", version=2)])
        home = anonymous.get("/").text
        assert "A better title" in _card(home, A) and f"Paper {A}" not in home
        page = anonymous.get(f"/papers/{A}").text  # its kept head, top and citation
        assert "<h1>A better title</h1>" in page and f"arXiv:{A}v2 · " in page
        assert "version 2" in page
        assert 'content="A better title"' in page and "title = {A better title}" in page
        site.store.hide_paper(B, "spam", moderator.id, moderator.email)
        assert f'data-arxiv-id="{B}"' not in anonymous.get("/").text
        assert anonymous.get(f"/papers/{B}").status_code == 404


@contextmanager
def _statements(store: Store) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        if str(args[2]).split()[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):
            seen.append(str(args[2]))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", record)


@pytest.mark.parametrize("path", ["/", f"/papers/{A}", "/index.json", f"/papers/{A}.json"])
def test_a_served_page_reads_one_version_and_nothing_else(tmp_path: Path, path: str) -> None:
    with make_app(tmp_path, papers=[paper(A), paper(B)], index=True) as site:
        client = site.client()
        assert client.get(path).status_code == 200  # fills the caches
        with _statements(site.store) as seen:
            assert client.get(path).status_code == 200
        assert len(seen) == 1, seen
        assert "change_counters" in seen[0]  # the view version's statement


def test_the_searcher_picks_up_an_index_another_process_wrote(tmp_path: Path) -> None:
    with make_app(tmp_path, papers=[paper(A)], index=True) as site:
        client = site.client()
        assert client.get("/search.json?q=zebra").json()["hits"] == []
        before = client.get(f"/papers/{A}.json").json()["similar"]
        site.store.write_batch([paper(B, title="Zebra stripes", abstract="An abstract.")])
        update_index(site.store, IndexPaths.for_home(tmp_path), None, progress=False)
        hits = client.get("/search.json?q=zebra").json()["hits"]
        assert [h["arxiv_id"] for h in hits] == [B]
        after = client.get(f"/papers/{A}.json").json()["similar"]
        assert before == [] and [h["arxiv_id"] for h in after] == [B]


# --- the card markup cache itself ----------------------------------------------------------
MACROS = """{% macro card_markup(p, snippet=None, highlights=None) %}<p>{{ p.title }}
{{ p.votes }} {{ csrf_input() }} {{ csrf_token() }}{% if p.who %}{{ current_user() }}{% endif %}
</p>{% endmacro %}"""


def _env(token: list[str]) -> Environment:
    env = Environment(loader=DictLoader({"_macros.html": MACROS}), autoescape=True)
    env.globals.update(csrf_input=lambda: f"<input value={token[0]}>",
                       csrf_token=lambda: token[0], current_user=lambda: "Ann")
    return env


def test_card_markup_is_kept_per_content_and_filled_per_reader() -> None:
    token = ["t1"]
    cards = KeptMarkup(_env(token), ViewCache(8)).card
    card = {"title": "<b>T</b>", "votes": 1, "authors": ["A"]}
    first = str(cards(card))
    assert "&lt;b&gt;T&lt;/b&gt;" in first and "1" in first
    assert "&lt;input value=t1&gt;" in first and " t1\n" in first
    token[0] = "t2"
    second = str(cards(card))
    assert "t1" not in second and "&lt;input value=t2&gt;" in second and " t2\n" in second
    assert "7" in str(cards({**card, "votes": 7}))  # any field is part of the key
    assert "U" in str(cards({**card, "title": "U"}))
    assert "1" in str(cards(card))


def test_card_markup_refuses_the_reader_from_outside_the_card() -> None:
    cards = KeptMarkup(_env(["t"]), ViewCache(8)).card
    with pytest.raises(RuntimeError, match="current_user"):
        cards({"title": "T", "who": True})


def test_content_key_covers_every_field() -> None:
    card = {"a": 1, "authors": ["x", "y"], "links": [{"name": "x", "url": None}],
            "listing": {"label": "new"}}
    key = content_key(card)
    assert key is not None and key == content_key(dict(card))
    assert content_key({**card, "listing": {"label": "updated"}}) != key
    assert content_key({**card, "links": [{"name": "x", "url": "/authors/x"}]}) != key
    assert content_key({**card, "authors": ["x"]}) != key
    assert content_key(card, "snippet") != key
    assert content_key({"deep": {"er": (1,)}}) is not None
    assert content_key({"highlights": [[0, 4], [9, 12]]}) is not None  # a search hit's
    assert content_key({"deep": {"er": [1]}}) is None  # not hashable: rendered, not kept


def test_frozen_takes_nested_page_data() -> None:
    data = {"paper": {"authors": ["x"], "links": [{"name": "x"}]}, "meta": [["a", "b"]]}
    key = frozen((data, "May 1"))
    assert key is not None and key == frozen(({**data}, "May 1"))
    assert frozen(({**data, "meta": [["a", "c"]]}, "May 1")) != key
    assert frozen(({"s": {1, 2}},)) is None  # a set has no order: rendered, not kept


HIT_MACROS = """{% macro card_markup(p, snippet=None, highlights=None) %}<p>{{ p.title }}
{{ csrf_token() }}{% if snippet is not none %} <q>{{ snippet | highlight(highlights) }}</q>
{% endif %}</p>{% endmacro %}"""


def test_a_hit_card_is_kept_once_for_every_query_that_finds_it() -> None:
    env = Environment(loader=DictLoader({"_macros.html": HIT_MACROS}), autoescape=True)
    env.globals.update(csrf_input=lambda: "", csrf_token=lambda: "tok",
                       current_user=lambda: None)
    env.filters["highlight"] = highlight
    cache = ViewCache(8)
    cards = KeptMarkup(env, cache).card
    hit = {"title": "T", "score": 0.5, "keyword_score": 1.0, "meaning_score": 0.2}
    first = str(cards({**hit, "snippet": "a <b> c"}, "a <b> c", [[0, 1]]))
    assert "<q><mark>a</mark> &lt;b&gt; c</q>" in first and "\ntok" in first
    second = str(cards({**hit, "score": 0.9, "snippet": "x y"}, "x y", [[2, 3]]))
    assert "<q>x <mark>y</mark></q>" in second and "&lt;b&gt;" not in second
    assert len(cache._data) == 1  # one kept card for both queries
    assert "<q>" not in str(cards(hit))  # a card shown without a snippet is another
    assert "U" in str(cards({**hit, "title": "U"}, "s", None))
