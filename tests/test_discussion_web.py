"""The discussion on the web, on SQLite and PostgreSQL: forms without JavaScript, the page's
JSON twin and Atom feed, the API with tokens, moderation, limits, and two app instances on
one database seeing each other's comments at once."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from starlette.testclient import TestClient

from paperwire import accounts
from paperwire.store import Store
from paperwire.web import create_app
from tests.app import WebApp, make_app
from tests.helpers import call_api, csrf_in, paper, post_form

ID = "2501.00001"
USERS = [("ann@example.org", "user", "ann"), ("bob@example.org", "user", "bob"),
         ("mod@example.org", "moderator", "Mo")]


def _site(tmp_path: Path, database_url: str, **settings: object
          ) -> AbstractContextManager[WebApp]:
    return make_app(tmp_path, database_url, papers=[paper(ID), paper("2501.00002")],
                    users=USERS, **settings)


def _token(site: WebApp, address: str) -> dict[str, str]:
    user = site.store.user_by_email(address)
    assert user is not None
    token = accounts.new_api_token()
    site.store.create_api_token(user.id, "test", accounts.token_hash(token))
    return {"Authorization": f"Bearer {token}"}


def test_forms_post_reply_and_page_json(tmp_path: Path, database_url: str) -> None:
    with _site(tmp_path, database_url) as site:
        ann = site.client(signed_in="ann@example.org")
        answer = post_form(ann, f"/papers/{ID}/comments", {"body": "Why $\\alpha$?"},
                           follow_redirects=False)
        assert answer.status_code == 303 and "#c" in answer.headers["location"]
        anonymous = site.client()
        page = anonymous.get(f"/papers/{ID}").text
        assert "<math" in page and "Why" in page
        data = anonymous.get(f"/papers/{ID}.json").json()["discussion"]
        [top] = data["comments"]
        assert top["author"] == "ann" and data["count"] == 1
        bob = site.client(signed_in="bob@example.org")
        post_form(bob, f"/papers/{ID}/comments", {"body": "Because.",
                                                  "parent_id": str(top["id"])})
        data = anonymous.get(f"/papers/{ID}/discussion.json").json()
        assert [r["author"] for r in data["comments"][0]["replies"]] == ["bob"]
        feed = anonymous.get(f"/papers/{ID}/discussion.atom")
        assert feed.status_code == 200 and "Because." in feed.text
        listing = anonymous.get("/discussed.json").json()
        assert listing["papers"][0]["arxiv_id"] == ID
        assert listing["papers"][0]["comment_count"] == 2
        assert "2 comments" in anonymous.get("/discussed").text


def test_signed_out_and_unverified_cannot_post(tmp_path: Path, database_url: str) -> None:
    with _site(tmp_path, database_url) as site:
        anonymous = site.client()
        answer = anonymous.post(f"/api/papers/{ID}/comments", json={"body": "hi"})
        assert answer.status_code in (401, 403)
        assert site.store.comment_counts([ID]) == {}


def test_api_with_token(tmp_path: Path, database_url: str) -> None:
    with _site(tmp_path, database_url) as site:
        client, ann, bob = site.client(), _token(site, "ann@example.org"), _token(
            site, "bob@example.org")
        made = client.post(f"/api/papers/{ID}/comments", json={"body": "**bold**"},
                           headers=ann)
        assert made.status_code == 201, made.text
        cid = made.json()["id"]
        assert "<strong>bold</strong>" in made.json()["html"]
        edited = client.patch(f"/api/comments/{cid}", json={"body": "plain"}, headers=ann)
        assert edited.status_code == 200 and edited.json()["edited_at"]
        assert client.patch(f"/api/comments/{cid}", json={"body": "x"},
                            headers=bob).status_code == 403
        assert client.put(f"/api/comments/{cid}/vote", headers=bob).json()["votes"] == 1
        assert client.post(f"/api/comments/{cid}/report", json={"reason": "spam"},
                           headers=bob).status_code == 200
        listed = client.get(f"/api/papers/{ID}/comments?order=top").json()
        assert listed["comments"][0]["votes"] == 1
        assert client.delete(f"/api/comments/{cid}", headers=ann).status_code == 200
        assert client.get(f"/api/papers/{ID}/comments").json()["comments"] == []


def test_two_instances_see_each_other_at_once(tmp_path: Path, database_url: str) -> None:
    with _site(tmp_path, database_url) as site:
        ann = site.client(signed_in="ann@example.org")
        with Store.from_url(site.settings.resolved_database_url) as second, TestClient(
                create_app(site.settings, second), base_url=site.settings.base_url or ""
        ) as reader:
            assert "No comments yet" in reader.get(f"/papers/{ID}").text  # now cached there
            post_form(ann, f"/papers/{ID}/comments", {"body": "fresh words"})
            assert "fresh words" in reader.get(f"/papers/{ID}").text
            assert reader.get(f"/papers/{ID}.json").json()["similar"] is not None


def test_moderation_hide_lock_and_queue(tmp_path: Path, database_url: str) -> None:
    with _site(tmp_path, database_url) as site:
        ann = site.client(signed_in="ann@example.org")
        post_form(ann, f"/papers/{ID}/comments", {"body": "bad words"})
        cid = site.store.comment_queue() or site.store.discussion_view(ID).comments
        comment_id = cid[0]["id"]
        bob = site.client(signed_in="bob@example.org")
        post_form(bob, f"/comments/{comment_id}/report", {"reason": "insulting"})
        mod = site.client(signed_in="mod@example.org")
        queue = mod.get("/moderation/comments")
        assert queue.status_code == 200 and "insulting" in queue.text
        assert bob.get("/moderation/comments").status_code == 403
        post_form(mod, f"/comments/{comment_id}/hide", {"reason": "abuse"})
        anonymous = site.client()
        assert "bad words" not in anonymous.get(f"/papers/{ID}").text
        assert "bad words" not in anonymous.get(f"/papers/{ID}/discussion.atom").text
        assert "bad words" in mod.get(f"/papers/{ID}").text  # moderators still see it
        post_form(mod, f"/papers/{ID}/discussion/lock", {"locked": "1", "reason": "heat"})
        refused = call_api(ann, "POST", f"/api/papers/{ID}/comments", json={"body": "more"})
        assert refused.status_code == 409
        assert "locked" in anonymous.get(f"/papers/{ID}").text
        site.store.hide_paper(ID, "spam", None, "cli")
        assert anonymous.get(f"/api/papers/{ID}/comments").status_code == 404
        assert anonymous.get("/discussed.json").json()["papers"] == []


def test_rate_limit_answers_429(tmp_path: Path, database_url: str) -> None:
    with _site(tmp_path, database_url, comments_per_hour=1) as site:
        client, ann = site.client(), _token(site, "ann@example.org")
        assert client.post(f"/api/papers/{ID}/comments", json={"body": "one"},
                           headers=ann).status_code == 201
        refused = client.post(f"/api/papers/{ID}/comments", json={"body": "two"},
                              headers=ann)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0


def test_the_cached_thread_carries_each_readers_own_csrf_token(tmp_path: Path,
                                                               database_url: str) -> None:
    # Signed out, the thread's markup is rendered once per version and shared: each
    # reader's forms must still carry that reader's token, not the first reader's.
    with _site(tmp_path, database_url) as site:
        post_form(site.client(signed_in="ann@example.org"), f"/papers/{ID}/comments",
                  {"body": "shared words"})
        pages = [site.client().get(f"/papers/{ID}").text for _ in range(2)]
        tokens = [csrf_in(p) for p in pages]
        assert tokens[0] != tokens[1]
        for page, token in zip(pages, tokens, strict=True):
            assert "shared words" in page
            form = page[page.index('class="inline comment-vote"'):]
            assert f'name="csrf_token" value="{token}"' in form[:400]
