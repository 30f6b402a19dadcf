"""The discussion's kept markup, on SQLite and PostgreSQL: rendered once per version and
role and shared, each reader still sees their own votes, controls and CSRF token, and every
change (edit, delete, vote, moderation, a claim, an author merge or split) shows at once to a
reader whose page was kept before it."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from paperwire import discussion
from paperwire.store.database import utcnow
from tests.app import WebApp, make_app
from tests.helpers import csrf_in, paper, post_form

ID = "2501.00004"
USERS = [("ann@example.org", "user", "ann"), ("bob@example.org", "user", "bob"),
         ("mod@example.org", "moderator", "Mo")]


def _site(tmp_path: Path, database_url: str) -> AbstractContextManager[WebApp]:
    corpus = [paper("2501.00001", authors=("Ada Lovelace", "Charles Babbage")),
              paper(ID, authors=("A. Lovelace", "Charles Babbage"))]
    return make_app(tmp_path, database_url, papers=corpus, users=USERS)


def _comment(page: str, comment_id: int) -> str:
    """The markup of one comment up to the end of its actions (not its replies)."""
    start = page.index(f'id="c{comment_id}"')
    end = page.find('<div class="replies">', start)
    tail = page.index("</article>", start)
    return page[start:tail if end < 0 else min(end, tail)]


def _post(client: TestClient, body: str, parent: int | None = None) -> int:
    form = {"body": body, **({"parent_id": str(parent)} if parent else {})}
    answer = post_form(client, f"/papers/{ID}/comments", form, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return int(answer.headers["location"].rsplit("#c", 1)[1])


def _page(client: TestClient) -> str:
    answer = client.get(f"/papers/{ID}")
    assert answer.status_code == 200
    return answer.text


def test_each_reader_sees_their_own_parts(tmp_path: Path, database_url: str) -> None:
    with _site(tmp_path, database_url) as site:
        ann, bob = site.client(signed_in="ann@example.org"), site.client(
            signed_in="bob@example.org")
        mod, anonymous = site.client(signed_in="mod@example.org"), site.client()
        mine, theirs = _post(ann, "ann's words"), _post(bob, "bob's words")
        reply = _post(bob, "bob answers", parent=mine)
        post_form(bob, f"/comments/{mine}/vote", {"on": "1"})
        for _ in range(2):  # the second pages come from what the first kept
            pages = {name: _page(c) for name, c in
                     (("ann", ann), ("bob", bob), ("mod", mod), ("anonymous", anonymous))}
            ann_own, ann_other = _comment(pages["ann"], mine), _comment(pages["ann"], theirs)
            assert "/delete" in ann_own and "Edit your comment" in ann_own
            assert "/report" not in ann_own and 'aria-pressed="false"' in ann_own
            assert "/report" in ann_other and "/delete" not in ann_other
            bob_view = _comment(pages["bob"], mine)
            assert 'aria-pressed="true"' in bob_view and '<span class="vote-count">1<' in bob_view
            assert "/report" in bob_view and "/delete" not in bob_view
            assert "/delete" in _comment(pages["bob"], reply)
            assert "/delete" not in _comment(pages["ann"], reply)
            assert "/hide" in _comment(pages["mod"], mine)
            assert "/hide" not in pages["ann"] and "/hide" not in pages["anonymous"]
            assert "/report" not in pages["anonymous"] and "/delete" not in pages["anonymous"]
            assert "Sign in</a> to comment" in pages["anonymous"]
            assert "Add a comment" in pages["ann"] and "Lock the discussion" in pages["mod"]
            # The JSON twins carry the same per-reader flags, the discussion's own too.
            for path in (f"/papers/{ID}.json", f"/papers/{ID}/discussion.json"):
                data = bob.get(path).json()
                thread = data.get("discussion", data)["comments"]
                [top] = [t for t in thread if t["id"] == mine]
                assert top["voted"] and not top["mine"]
                assert top["replies"][0]["mine"] and not top["replies"][0]["voted"]
            for page in pages.values():
                token = csrf_in(page)
                part = page[page.index('class="discussion"'):]
                assert part.count('name="csrf_token"') == part.count(
                    f'name="csrf_token" value="{token}"') > 0


def test_the_edit_window_closes_on_a_kept_page(tmp_path: Path, database_url: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    with _site(tmp_path, database_url) as site:
        ann = site.client(signed_in="ann@example.org")
        mine = _post(ann, "fresh words")
        assert "Edit your comment" in _comment(_page(ann), mine)
        # Nothing is written as the window closes: the kept thread must not hold it.
        later = utcnow() + timedelta(minutes=16)
        monkeypatch.setattr(discussion, "utcnow", lambda: later)
        own = _comment(_page(ann), mine)
        assert "Edit your comment" not in own and "/delete" in own


def test_edits_deletes_votes_and_moderation_show_at_once(tmp_path: Path, database_url: str
                                                        ) -> None:
    with _site(tmp_path, database_url) as site:
        ann, bob = site.client(signed_in="ann@example.org"), site.client(
            signed_in="bob@example.org")
        mod, anonymous = site.client(signed_in="mod@example.org"), site.client()
        readers = (ann, bob, mod, anonymous)
        mine = _post(ann, "first words")
        _post(bob, "a reply keeps the thread", parent=mine)
        other = _post(bob, "separate thread words")
        assert all("first words" in _page(c) for c in readers)  # kept for each role
        post_form(ann, f"/comments/{mine}/edit", {"body": "second words"})
        for c in readers:
            shown = _comment(_page(c), mine)
            assert "second words" in shown and "first words" not in shown
            assert 'class="edited"' in shown
        post_form(ann, f"/comments/{other}/vote", {"on": "1"})
        for c in readers:
            assert '<span class="vote-count">1<' in _comment(_page(c), other)
        assert 'aria-pressed="true"' in _comment(_page(ann), other)
        assert 'aria-pressed="false"' in _comment(_page(bob), other)
        post_form(ann, f"/comments/{other}/vote", {"on": "0"})
        assert 'aria-pressed="false"' in _comment(_page(ann), other)
        assert '<span class="vote-count">0<' in _comment(_page(bob), other)
        post_form(mod, f"/comments/{other}/hide", {"reason": "off topic"})
        for c in (ann, bob, anonymous):
            assert "separate thread words" not in _page(c)
        assert "hidden: off topic" in _comment(_page(mod), other)
        post_form(mod, f"/comments/{other}/restore", {})
        assert all("separate thread words" in _page(c) for c in readers)
        post_form(ann, f"/comments/{mine}/delete", {})
        for c in readers:
            shown = _comment(_page(c), mine)
            assert "[deleted]" in shown and "second words" not in shown
        post_form(mod, f"/papers/{ID}/discussion/lock", {"locked": "1", "reason": "heat"})
        assert "Add a comment" not in _page(ann) and "locked: heat" in _page(anonymous)


def test_held_comments_stay_their_writers(tmp_path: Path, database_url: str) -> None:
    with make_app(tmp_path, database_url, papers=[paper(ID)], users=USERS,
                  comments_first_approved=1) as site:
        ann, bob = site.client(signed_in="ann@example.org"), site.client(
            signed_in="bob@example.org")
        mod = site.client(signed_in="mod@example.org")
        assert "No comments yet" in _page(bob)  # bob's role is kept first
        held = _post(ann, "waiting words")
        assert "awaiting approval" in _comment(_page(ann), held)
        assert "waiting words" not in _page(bob) and "waiting words" not in _page(
            site.client())
        assert "/approve" in _comment(_page(mod), held)
        post_form(mod, f"/comments/{held}/approve", {})
        assert "waiting words" in _page(bob) and "awaiting approval" not in _page(ann)


def test_author_badge_follows_claims_merges_and_splits(tmp_path: Path, database_url: str
                                                     ) -> None:
    with _site(tmp_path, database_url) as site:
        store, ann = site.store, site.client(signed_in="ann@example.org")
        bob = site.client(signed_in="bob@example.org")
        mine = _post(ann, "I wrote this")
        badge = "author-badge"
        assert badge not in _comment(_page(bob), mine)
        author = store.author("a-lovelace")
        ann_user = store.user_by_email("ann@example.org")
        assert author is not None and ann_user is not None
        claim = store.claim_author(author["id"], ann_user.id)
        store.decide_claim(claim["id"], "confirmed", None)
        assert badge in _comment(_page(bob), mine) and badge in _comment(_page(ann), mine)
        made = store.split_author("a-lovelace", [ID])  # the paper leaves ann's identity
        assert badge not in _comment(_page(bob), mine)
        assert badge not in _comment(_page(site.client()), mine)
        store.merge_authors(made["slug"], "a-lovelace")  # and comes back
        assert badge in _comment(_page(bob), mine)
        assert badge in _comment(_page(site.client()), mine)


def test_readers_in_one_state_share_the_section_but_not_a_token(tmp_path: Path,
                                                                 database_url: str) -> None:
    with _site(tmp_path, database_url) as site:
        ann = site.client(signed_in="ann@example.org")
        _post(ann, "ann's words")
        # Neither voted on nor wrote anything here: one kept section serves both, twice.
        readers = [site.client(signed_in="bob@example.org"), site.client(signed_in=
                   "mod@example.org"), site.client(), site.client()]
        tokens = []
        for reader in readers * 2:
            page = _page(reader)
            token = csrf_in(page)
            part = page[page.index('class="discussion"'):]
            assert part.count('name="csrf_token"') == part.count(
                f'name="csrf_token" value="{token}"')
            tokens.append(token)
        assert len(set(tokens)) == len(readers) and tokens[:4] == tokens[4:]
