"""Every page route has its JSON twin, by suffix and by Accept header, through the format
registry; list pages answer as Atom too, and a format a page does not offer is a 404."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.responses import Response
from starlette.testclient import TestClient

from paperwire import accounts, for_you
from paperwire import subscriptions as subs
from paperwire.index.indexer import IndexPaths, update_index
from paperwire.ingest import ingest
from paperwire.notifications import unsubscribe_token
from paperwire.settings import Settings
from paperwire.sources.files import JsonlSource
from paperwire.store import Store
from paperwire.web import create_app
from paperwire.web.renderers import Format, Page

PAPER = "2512.00001"
DAY = "2025-12-24"
# Routes that are not pages: the API, static files, and feed-only addresses (tested below).
NOT_PAGES = ("/api/", "/static", "/feeds/", "/favicon.ico")
# A concrete URL for every page route. A new page route must be added here: the walk below
# fails on a route this table does not name.
URLS = {
    "/": "/", "/trending": "/trending?period=week", "/date/{day}": f"/date/{DAY}",
    "/search": "/search?q=language", "/papers/{arxiv_id:path}": f"/papers/{PAPER}",
    "/about": "/about", "/signup": "/signup", "/verify": "/verify?token=x",
    "/signin": "/signin?next=/about", "/password/forgot": "/password/forgot",
    "/password/reset": "/password/reset?token=x", "/account": "/account",
    "/subscribe": "/subscribe", "/subscribe/confirm": "/subscribe/confirm?token=x",
    "/unsubscribe/{token}": "/unsubscribe/{token}", "/submit": "/submit",
    "/submit/jobs/{job_id}": "/submit/jobs/{job}",
    "/admin/digest/preview": "/admin/digest/preview?email=reader@example.org",
    "/stats": "/stats?days=90", "/authors/{slug}": "/authors/ada-lovelace",
    "/following": "/following",
    "/papers/{arxiv_id:path}/discussion": f"/papers/{PAPER}/discussion",
    "/discussed": "/discussed", "/moderation/comments": "/moderation/comments",
    "/notifications/unsubscribe/{token}": "/notifications/unsubscribe/{notice_token}",
    "/library": "/library", "/library/c/{collection_id}": "/library/c/{collection}",
    "/library/c/{collection_id}/delete": "/library/c/{collection}/delete",
    "/library/c/{collection_id}/import": "/library/c/{collection}/import",
    "/library/jobs/{job_id}": "/library/jobs/{import}",
    "/library/groups/{group_id}": "/library/groups/{group}",
    "/library/groups/join": "/library/groups/join?token=x",
    "/for-you": "/for-you?window=month", "/for-you/profiles": "/for-you/profiles",
    "/for-you/not-interested/{token}": "/for-you/not-interested/{rec_token}",
}
# Pages that answer 400 when their link token is not valid (that answer has a twin too).
BAD_LINK = {"/verify", "/password/reset", "/subscribe/confirm", "/library/groups/join"}
VOLATILE = {"took_ms"}  # how long a search took differs between two requests


def _lines() -> Iterable[str]:
    titles = ["Language models that read slowly", "Language of graphs", "Quiet vision"]
    for n, title in enumerate(titles, start=1):
        yield json.dumps({"id": f"2512.{n:05d}", "title": title, "first_seen": DAY,
                          "summary": f"{title}: an abstract about language and models.",
                          "authors": ["Ada Lovelace"], "categories": ["cs.CL"]}) + "\n"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    home: Path = tmp_path_factory.mktemp("routes")
    source = home / "papers.jsonl"
    source.write_text("".join(_lines()), encoding="utf-8")
    # No background runner: the queued submission below stays queued (no fetch from arXiv).
    settings = Settings(home=home, embedder="none", progress=False, queue_runner="worker")
    store = Store.open(settings)
    ingest(JsonlSource(source), store, progress=False)
    update_index(store, IndexPaths.for_home(home), None, progress=False)
    # A signed-in admin (a session: /account is closed to API tokens) sees the pages that
    # need a signed-in user or the role.
    user, _ = accounts.sign_up(store, "admin@example.org", "correct horse battery", "Admin")
    store.mark_verified(user.id)
    store.set_role(user.email, "admin")
    session = accounts.start_session(store, settings, user)
    sub = subs.build(settings, "reader@example.org").save(store, status="active")
    job = store.add_job("submit", "2512.09999", user.id, {}, "queued — fetching 2512.09999")
    collection = store.create_collection(user.id, "Reading")
    imported = store.add_job("library-import", str(collection["id"]), user.id, {}, "queued")
    values = {"{token}": sub.token, "{job}": str(job.id), "{collection}": str(collection["id"]),
              "{import}": str(imported.id), "{group}": str(store.create_group("Lab", user.id)),
              "{notice_token}": unsubscribe_token(settings, user.id, ["reply"]),
              "{rec_token}": for_you.not_interested_token(
                  settings, for_you.chosen(store, user), PAPER)}
    with TestClient(create_app(settings, store)) as client:
        client.cookies.set("pw_session", session)
        yield client, values
    store.close()


def _routes(client: TestClient) -> Iterator[tuple[str, set[str], Any]]:
    """(path, methods, endpoint) of every route, through FastAPI's included routers."""
    for route in client.app.routes:  # type: ignore[attr-defined]
        if hasattr(route, "effective_route_contexts"):
            for ctx in route.effective_route_contexts():
                yield ctx.path, set(getattr(ctx.original_route, "methods", ())), ctx.endpoint
        else:
            yield route.path, set(getattr(route, "methods", None) or ()), getattr(
                route, "endpoint", None)


def _url(template: str, values: dict[str, str]) -> str:
    url = URLS[template]
    for name, value in values.items():
        url = url.replace(name, value)
    return url


def _suffixed(url: str, suffix: str) -> str:
    path, _, query = url.partition("?")
    path = "/index" if path == "/" else path
    return path + suffix + (f"?{query}" if query else "")


def _json(response: Any) -> Any:
    assert response.headers["content-type"].startswith("application/json"), response.text[:200]
    assert "Accept" in response.headers.get("vary", "")
    data = response.json()
    return {k: v for k, v in data.items() if k not in VOLATILE}


def test_every_page_route_has_its_json_twin(site: tuple[TestClient, dict[str, str]]) -> None:
    client, values = site
    pages = {path for path, methods, _ in _routes(client)
             if "GET" in methods and not path.startswith(NOT_PAGES)
             and path != "/api/openapi.json"}
    assert pages - URLS.keys() == set(), "a page route without a URL in URLS (add one)"
    assert URLS.keys() - pages == set(), "URLS names a route the app no longer has"
    checked = set()
    for path, methods, endpoint in _routes(client):
        if path not in pages or "GET" not in methods:
            continue
        assert getattr(endpoint, "renders_page", False), f"{path}: not a page_route view"
        url = _url(path, values)
        html = client.get(url, follow_redirects=False)
        by_suffix = client.get(_suffixed(url, ".json"), follow_redirects=False)
        by_accept = client.get(url, headers={"Accept": "application/json"},
                               follow_redirects=False)
        status = 400 if path in BAD_LINK else 200
        assert (html.status_code, by_suffix.status_code, by_accept.status_code) == \
            (status, status, status), url
        assert html.headers["content-type"].startswith("text/html"), url
        data = _json(by_suffix)
        assert data and data == _json(by_accept), url
        checked.add(path)
    assert checked == pages


def test_list_pages_and_feeds_answer_as_atom(site: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = site
    for url in ("/trending.atom", "/index.atom", f"/date/{DAY}.atom", "/search.atom?q=language",
                "/feeds/trending.atom?period=week", "/feeds/search.atom?q=language",
                "/feeds/category/cs.CL.atom"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"].startswith("application/atom+xml"), url
        assert f"https://arxiv.org/abs/{PAPER}" in response.text, url
    accepted = client.get("/trending", headers={"Accept": "application/atom+xml"})
    assert accepted.headers["content-type"].startswith("application/atom+xml")


def test_a_format_a_page_does_not_offer_is_a_404_page(
        site: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = site
    for url in ("/about.atom", f"/papers/{PAPER}.atom", "/feeds/trending",
                "/feeds/category/cs.CL"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.headers["content-type"].startswith("text/html"), url
        assert "Not found" in response.text
    # An unregistered suffix is part of the path: this id is not a paper.
    assert client.get(f"/papers/{PAPER}.docx").status_code == 404
    # The citation formats need papers: a page without any does not offer them.
    assert client.get("/about.bib").status_code == 404
    assert client.get(f"/papers/{PAPER}.bib").status_code == 200
    assert _json(client.get("/feeds/category/cs.CL.json"))["category"] == "cs.CL"


def test_a_new_format_is_one_registration(site: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = site

    def titles(request: Any, page: Page) -> Response:
        assert page.feed is not None
        return Response("\n".join(p.title for p in page.feed.papers), media_type="text/plain")

    formats = client.app.state.site.formats  # type: ignore[attr-defined]
    formats.register(Format("titles", ".txt", "text/plain", titles,
                            lambda page: page.feed is not None))
    response = client.get("/search.txt?q=language")
    assert response.status_code == 200 and "Language models" in response.text
    assert client.get("/about.txt").status_code == 404
    with pytest.raises(ValueError, match="registered already"):
        formats.register(Format("titles", ".text", "text/plain", titles))
