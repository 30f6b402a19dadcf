"""Signed-in paper pages kept per version, role and reader state (web/kept_pages.py): a kept
page is byte for byte the page drawn afresh for its reader; readers in one state share it
with their own name, address and CSRF token; a vote, save or comment shows at once, to its
reader only; and a template that shows more of its reader than the slots fails loudly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from jinja2 import Environment
from starlette.testclient import TestClient

from paperwire import discussion
from paperwire.web.kept_pages import _KeptReader
from tests.app import WebApp, make_app
from tests.helpers import csrf_in, make_user, paper, post_form, sign_in

A, B = "2501.00001", "2501.00002"
# Names and addresses that HTML escaping changes: the slots must be filled escaped.
USERS = [("ann@example.org", "user", "Ann <b>&amp; \"co\""), ("bob@example.org", "user",
         "Bob O'Brien"), ("mod@example.org", "moderator", "Mo")]


def _page(client: TestClient, path: str = f"/papers/{A}") -> str:
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "private, no-store"
    return answer.text


def _post(client: TestClient, body: str) -> int:
    answer = post_form(client, f"/papers/{A}/comments", {"body": body},
                       follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return int(answer.headers["location"].rsplit("#c", 1)[1])


def _comment(page: str, comment_id: int) -> str:
    start = page.index(f'id="c{comment_id}"')
    return page[start:page.index("</article>", start)]


def _ann_and_bob(site: WebApp) -> tuple[TestClient, TestClient]:
    return site.client(signed_in="ann@example.org"), site.client(signed_in="bob@example.org")


def _paper_forms(page: str) -> tuple[str, str]:
    """The paper's own vote and save forms (the first on its page)."""
    vote = re.search(r'<form class="vote"[^>]*data-arxiv-id="' + A + r'".*?</form>', page, re.S)
    save = re.search(r'<form class="save"[^>]*data-arxiv-id="' + A + r'".*?</form>', page, re.S)
    assert vote and save
    return vote.group(0), save.group(0)


def test_a_kept_page_is_the_page_drawn_afresh(tmp_path: Path, database_url: str) -> None:
    with make_app(tmp_path, database_url, papers=[paper(A), paper(B)], index=True,
                  users=USERS) as site:
        readers = {who: site.client(signed_in=f"{who}@example.org")
                   for who in ("ann", "bob", "mod")}
        mine = _post(readers["ann"], "Ann's $x^2$ point")
        _post(readers["bob"], "Bob's reply")
        post_form(readers["bob"], f"/comments/{mine}/vote", {"on": "1"})
        post_form(readers["bob"], f"/papers/{B}/vote", {})
        kept = {who: [_page(c), _page(c)] for who, c in readers.items()}
        site.app.state.site.page_keeper = None  # every page drawn for its reader from here
        for who, client in readers.items():
            drawn = _page(client)
            assert kept[who] == [drawn, drawn], who


def test_readers_in_one_state_share_a_page_not_a_name_address_or_token(
        tmp_path: Path, database_url: str) -> None:
    with make_app(tmp_path, database_url, papers=[paper(A), paper(B)], index=True,
                  users=USERS) as site:
        ann, bob = _ann_and_bob(site)
        moderator = site.store.user_by_email("mod@example.org")
        assert moderator is not None
        discussion.post(site.store, site.settings, moderator, A, "A moderator's comment.")
        first, second = _page(ann), _page(bob)
        tokens = csrf_in(first), csrf_in(second)
        assert tokens[0] != tokens[1] and tokens[1] not in first and tokens[0] not in second
        ann_name, bob_name = "Ann &lt;b&gt;&amp;amp; &#34;co&#34;", "Bob O&#39;Brien"
        assert f">{ann_name}</a>" in first and f">{bob_name}</a>" in second
        assert 'value="ann@example.org"' in first and 'value="bob@example.org"' in second
        assert "Ann <b>" not in first
        swapped = (first.replace(tokens[0], tokens[1]).replace(ann_name, bob_name)
                   .replace("ann@example.org", "bob@example.org"))
        assert swapped == second
        # Each reader's form is accepted with their own token from the kept page.
        answer = bob.post(f"/papers/{A}/comments", data={"body": "From a kept page",
                          "csrf_token": tokens[1]}, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        assert "From a kept page" in _page(ann)  # and shows at once, to everyone


def test_a_vote_save_or_comment_shows_at_once_to_its_reader_only(
        tmp_path: Path, database_url: str) -> None:
    with make_app(tmp_path, database_url, papers=[paper(A), paper(B)], index=True,
                  users=USERS) as site:
        ann, bob = _ann_and_bob(site)
        theirs = _post(bob, "Bob's first")
        for client in (ann, bob, ann, bob):  # kept for both
            _page(client)
        post_form(ann, f"/papers/{A}/vote", {})
        vote, _ = _paper_forms(_page(ann))
        assert 'data-voted="true"' in vote and '<span class="vote-count">1<' in vote
        vote, _ = _paper_forms(_page(bob))
        assert 'data-voted="false"' in vote and '<span class="vote-count">1<' in vote
        # A save moves no version of the page's: it must show by the reader's own state.
        answer = post_form(ann, "/library/save", {"arxiv_id": A, "action": "save"},
                           follow_redirects=False)
        assert answer.status_code in (200, 303), answer.text
        assert 'data-saved="true"' in _paper_forms(_page(ann))[1]
        assert 'data-saved="false"' in _paper_forms(_page(bob))[1]
        post_form(ann, f"/comments/{theirs}/vote", {"on": "1"})
        assert 'aria-pressed="true"' in _comment(_page(ann), theirs)
        assert 'aria-pressed="false"' in _comment(_page(bob), theirs)
        mine = _post(ann, "Ann's own")
        assert "/delete" in _comment(_page(ann), mine)
        assert "/delete" not in _comment(_page(bob), mine)
        assert "/report" in _comment(_page(bob), mine)


def test_roles_and_held_comments_are_never_shared(tmp_path: Path) -> None:
    with make_app(tmp_path, papers=[paper(A), paper(B)], index=True, users=USERS,
                  comments_first_approved=1) as site:
        make_user(site.store, "new@example.org", name="Newcomer")
        make_user(site.store, "unconfirmed@example.org", name="Una", verified=False)
        ann, mod = site.client(signed_in="ann@example.org"), site.client(
            signed_in="mod@example.org")
        new = site.client(signed_in="new@example.org")
        una = sign_in(site.client(), "unconfirmed@example.org")
        for _ in range(2):
            assert "Add a comment" in _page(ann) and "Lock the discussion" not in _page(ann)
            assert "Lock the discussion" in _page(mod)
            assert "Confirm your e-mail address" in _page(una)
            assert "Add a comment" not in _page(una)
        held = _post(new, "Waiting words")
        for _ in range(2):
            assert "awaiting approval" in _comment(_page(new), held)
            assert f'id="c{held}"' not in _page(ann)
            assert "Approve" in _comment(_page(mod), held)


def test_the_stand_in_reader_refuses_what_has_no_slot() -> None:
    reader = _KeptReader(True, False, "slot-n", "slot-e")
    template = Environment().from_string("{{ me.display_name }} {{ me.email }} {{ me.id }}")
    # Jinja renders a missing attribute as empty: the stand-in must raise something else.
    with pytest.raises(RuntimeError, match="'id'"):
        template.render(me=reader)
    assert Environment().from_string("{{ me.display_name }}{% if me.is_moderator %}m"
                                     "{% endif %}").render(me=reader) == "slot-n"
