"""The web app in-process: every page in HTML and JSON, feeds, the API, errors and escaping."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from lxml import etree
from starlette.testclient import TestClient

from paperwire.formats.latex import to_text
from paperwire.models import Paper
from tests.app import make_app
from tests.helpers import paper
from tests.shared_data import arxiv_lines

ATOM = "{http://www.w3.org/2005/Atom}"
EVIL_ID = "2512.99999"
EVIL_TITLE = "<script>alert(1)</script> &amp; $\\alpha$-Nets for Zürich 東京 ∑"
EVIL_ABSTRACT = ("We study <script>alert(1)</script> and <b>bold</b> claims &amp; "
                 "$\\alpha < \\beta$ bounds, with naïve ünïcödé → ∞ and emoji 🙂.")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, module_database_url: str
           ) -> Iterator[TestClient]:
    # 50 papers listed on 2025-03-18, then 300 from December 2025 (29 on the 22nd, 130 on the
    # 24th, 129 on the 25th, 12 on the 29th): days with papers on both sides of a day
    # without any (2025-12-23).
    lines = arxiv_lines(50) + arxiv_lines(300, start=40_000)
    evil = {"id": EVIL_ID, "title": EVIL_TITLE, "summary": EVIL_ABSTRACT,
            "authors": ["Ada <img src=x onerror=alert(2)> Lovelace", "Bob Ünïcode"],
            "categories": ["cs.CL"], "first_seen": "2025-12-24",
            "comment": "<i>12 pages</i>"}
    lines.append(json.dumps(evil) + "\n")
    with make_app(tmp_path_factory.mktemp("web"), module_database_url, lines=lines,
                  index=True, base_url="") as site, \
            site.client(base_url="http://testserver", raise_server_exceptions=True) as c:
        yield c


def first_ids(client: TestClient, n: int) -> list[str]:
    return [line["id"] for line in map(json.loads, arxiv_lines(n))]


# --- trending / days ------------------------------------------------------------------------
def test_home_shows_the_latest_day_with_papers(client: TestClient) -> None:
    data = client.get("/index.json").json()
    assert data["date"] == "2025-12-29"
    assert data["period"] == "day" and data["total"] == len(data["papers"]) > 0
    assert data["prev"]["date"] == "2025-12-25" and data["next"] is None
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Dec 29" in page.text and 'href="/date/2025-12-25"' in page.text
    assert "Get trending papers in your inbox" in page.text
    # The JSON twin by Accept header is the same data.
    assert client.get("/", headers={"Accept": "application/json"}).json() == data


def test_day_navigation_and_periods(client: TestClient) -> None:
    day = client.get("/date/2025-12-24.json").json()
    assert day["total"] == 131  # 130 from the sample plus the hostile paper
    assert day["prev"]["date"] == "2025-12-22" and day["next"]["date"] == "2025-12-25"
    assert all(p["date"] == "2025-12-24" for p in day["papers"])
    assert len(day["papers"]) == day["per_page"] == 30 and day["pages"] == 5
    page5 = client.get("/date/2025-12-24.json?page=5").json()
    assert len(page5["papers"]) == 131 - 4 * 30
    ids = {p["arxiv_id"] for p in day["papers"]} | {p["arxiv_id"] for p in page5["papers"]}
    assert len(ids) == 30 + 11  # pages do not overlap

    week = client.get("/date/2025-12-24.json?period=week").json()
    assert (week["since"], week["until"]) == ("2025-12-22", "2025-12-28")
    assert week["total"] == 29 + 131 + 129
    assert week["prev"]["date"] == "2025-03-18" and week["next"]["date"] == "2025-12-29"
    month = client.get("/date/2025-12-24.json?period=month").json()
    assert month["total"] == 29 + 131 + 129 + 12 and month["label"] == "December 2025"
    assert client.get("/date/2025-03-18.json").json()["total"] == 50

    text = client.get("/date/2025-12-24?period=week").text
    assert 'aria-current="page">Week' in text and "Week of Dec 22" in text


def test_trending_by_category_and_pager_links(client: TestClient) -> None:
    data = client.get("/api/trending?date=2025-12-24&category=cs").json()
    assert data["papers"] and all(any(c.startswith("cs.") for c in p["categories"])
                                  for p in data["papers"])
    assert client.get("/api/trending?category=cs.NOPE").status_code == 400
    text = client.get("/date/2025-12-24?page=2").text
    assert 'href="/date/2025-12-24?period=day&amp;page=1"' in text
    assert 'href="/date/2025-12-24?period=day&amp;page=3"' in text
    # Varies by format (Accept) and, compressed, by Accept-Encoding.
    vary = client.get("/date/2025-12-24").headers["vary"]
    assert [v.strip() for v in vary.split(",")] == ["Accept", "Accept-Encoding"]


def test_a_day_without_papers_says_so_and_links_to_neighbours(client: TestClient) -> None:
    response = client.get("/date/2025-12-23")
    assert response.status_code == 200
    assert "No papers were listed" in response.text
    assert 'href="/date/2025-12-22"' in response.text
    assert 'href="/date/2025-12-24"' in response.text
    data = client.get("/date/2025-12-23.json").json()
    assert data["total"] == 0 and data["papers"] == []


# --- search -------------------------------------------------------------------------------
def test_search_html_and_json(client: TestClient) -> None:
    data = client.get("/search.json", params={"q": "language models"}).json()
    assert data["hits"] and data["mode"] == "lexical"
    hit = data["hits"][0]
    assert hit["highlights"] and hit["url"] == f"/papers/{hit['arxiv_id']}"
    text = client.get("/search", params={"q": "language models"}).text
    assert "<mark>" in text and hit["arxiv_id"] in text
    assert client.get("/search").status_code == 200  # the empty form


def test_search_filters_sort_and_pages(client: TestClient) -> None:
    base = {"q": "learning"}
    in_cv = client.get("/search.json", params={**base, "category": "cs.CV"}).json()
    assert in_cv["hits"] and all(any(c.startswith("cs.CV") for c in h["categories"])
                                 for h in in_cv["hits"])
    march = client.get("/search.json", params={**base, "until": "2025-06-30"}).json()
    assert march["hits"] and all(h["date"] == "2025-03-18" for h in march["hits"])
    newest = client.get("/search.json", params={**base, "sort": "date"}).json()
    dates = [h["date"] for h in newest["hits"]]
    assert dates == sorted(dates, reverse=True)
    page1 = client.get("/search.json", params=base).json()
    assert page1["next_url"]
    page2 = client.get("/search.json", params={**base, "page": 2}).json()
    assert not {h["arxiv_id"] for h in page1["hits"]} & {h["arxiv_id"] for h in page2["hits"]}
    author = client.get("/search.json", params={"q": "alpha", "author": "lovelace"}).json()
    assert [h["arxiv_id"] for h in author["hits"]] == [EVIL_ID]


def test_search_with_no_results_is_helpful(client: TestClient) -> None:
    response = client.get("/search", params={"q": "zzyzxqv", "category": "cs.CL"})
    assert response.status_code == 200
    assert "No papers match" in response.text and "without filters" in response.text


@pytest.mark.parametrize(("params", "words"), [
    ({"q": "x", "category": "cs.NOPE"}, "unknown category"),
    ({"q": "x", "since": "yesterday"}, "YYYY-MM-DD"),
    ({"q": "x", "since": "2025-05-01", "until": "2025-01-01"}, "after"),
    ({"q": "x", "sort": "best"}, "unknown sort"),
    ({"q": "x", "mode": "magic"}, "unknown mode"),
    ({"q": "x", "page": "0"}, "page"),
    ({"q": "x", "page": "999"}, "too far"),
    ({"q": "x", "mode": "semantic"}, "switched off"),
])
def test_bad_search_parameters_are_400s(client: TestClient, params: dict[str, str],
                                        words: str) -> None:
    text = client.get("/search", params=params)
    assert text.status_code == 400 and words in text.text and "Traceback" not in text.text
    data = client.get("/search.json", params=params)
    assert data.status_code == 400 and words in data.json()["error"]


# --- paper, about, errors --------------------------------------------------------------------
def test_paper_page(client: TestClient) -> None:
    arxiv_id = first_ids(client, 1)[0]
    data = client.get(f"/papers/{arxiv_id}.json").json()
    paper = data["paper"]
    assert paper["arxiv_id"] == arxiv_id and paper["abstract"]
    assert paper["abs_url"] == f"https://arxiv.org/abs/{arxiv_id}"
    assert data["similar"] and arxiv_id not in {s["arxiv_id"] for s in data["similar"]}
    text = client.get(f"/papers/{arxiv_id}").text
    assert f'href="https://arxiv.org/abs/{arxiv_id}"' in text
    assert f'href="{paper["pdf_url"]}"' in text and "Similar papers" in text
    # A versioned id finds the same paper.
    assert client.get(f"/papers/{arxiv_id}v1.json").json()["paper"]["arxiv_id"] == arxiv_id


def test_about_and_unknown_pages(client: TestClient) -> None:
    assert client.get("/about.json").json()["papers"] == 351
    assert "About paperwire" in client.get("/about").text
    for url in ("/papers/2501.00000", "/papers/hep-th/9901001", "/papers/not-an-id",
                "/nowhere"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.headers["content-type"].startswith("text/html")
    missing = client.get("/papers/2501.00000.json")
    assert missing.status_code == 404 and "2501.00000" in missing.json()["error"]
    assert client.get("/date/2025-13-45").status_code == 400
    assert client.get("/index.json?period=year").status_code == 400


def test_static_files_are_cached(client: TestClient) -> None:
    text = client.get("/about").text
    href = re.search(r'href="(/static/style\.css\?v=\w+)"', text)
    assert href
    response = client.get(href.group(1))
    assert response.status_code == 200 and "text/css" in response.headers["content-type"]
    assert "max-age=" in response.headers["cache-control"] and response.headers.get("etag")
    assert "http" not in re.sub(r"https?://arxiv\.org\S*", "", text.split("<body>")[0])


# --- untrusted text -------------------------------------------------------------------------
def test_hostile_text_renders_as_text(client: TestClient) -> None:
    pages = [client.get(f"/papers/{EVIL_ID}").text, client.get("/date/2025-12-24").text,
             client.get("/search", params={"q": "alpha script bold"}).text]
    for body in pages:
        assert "<script>alert(1)</script>" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
        assert "&amp;amp;" in body  # the literal "&amp;" in the title, escaped once
        assert "Zürich 東京 ∑" in body
        assert "<img src=x" not in body
    paper = pages[0]
    assert "$\\alpha &lt; \\beta$" in paper and "🙂" in paper
    assert "&lt;b&gt;bold&lt;/b&gt;" in paper and "&lt;i&gt;12 pages&lt;/i&gt;" in paper
    # Highlights wrap escaped text; the markup around them is ours alone.
    assert re.search(r"<mark>[^<]*</mark>", pages[2])
    data = client.get(f"/papers/{EVIL_ID}.json").json()["paper"]
    assert data["title"] == EVIL_TITLE and data["abstract"] == EVIL_ABSTRACT
    assert "script-src 'self'" in client.get("/").headers["content-security-policy"]


def test_snippet_highlights_wrap_escaped_text(client: TestClient) -> None:
    params = {"q": "study script bold alpha", "author": "lovelace"}
    hit = client.get("/search.json", params=params).json()["hits"][0]
    assert hit["arxiv_id"] == EVIL_ID and len(hit["highlights"]) >= 3
    page = client.get("/search", params=params).text
    found = re.search(r'<p class="snippet">(.*?)</p>', page, re.S)
    assert found
    snippet = found.group(1)
    bare = re.sub(r"</?mark>", "", snippet)
    assert "<" not in bare and html.unescape(bare) == hit["snippet"]
    assert [html.unescape(m) for m in re.findall(r"<mark>(.*?)</mark>", snippet)] == \
        [hit["snippet"][a:b] for a, b in hit["highlights"]]


# --- feeds --------------------------------------------------------------------------------
def parse_atom(client: TestClient, url: str) -> etree._Element:
    response = client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = etree.fromstring(response.content)
    assert feed.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert (feed.findtext(f"{ATOM}{name}") or "").strip(), name
    assert feed.find(f"{ATOM}author") is not None or all(
        e.find(f"{ATOM}author") is not None for e in feed.iter(f"{ATOM}entry"))
    for entry in feed.iter(f"{ATOM}entry"):
        for name in ("id", "title", "updated"):
            assert (entry.findtext(f"{ATOM}{name}") or "").strip(), name
    return feed


def entry_ids(feed: etree._Element) -> list[str]:
    return [e.findtext(f"{ATOM}id") or "" for e in feed.iter(f"{ATOM}entry")]


@pytest.mark.parametrize("url", [
    "/feeds/trending.atom?period=day",
    "/feeds/trending.atom?period=week&date=2025-12-24",
    "/feeds/search.atom?q=language+models",
    "/feeds/category/cs.CL.atom",
])
def test_feeds_are_atom_with_stable_ids(client: TestClient, url: str) -> None:
    first, second = parse_atom(client, url), parse_atom(client, url)
    ids = entry_ids(first)
    assert ids and ids == entry_ids(second) and len(set(ids)) == len(ids)
    assert all(i.startswith("https://arxiv.org/abs/") for i in ids)
    assert first.findtext(f"{ATOM}id") == second.findtext(f"{ATOM}id")


def test_feeds_carry_hostile_text_as_text(client: TestClient) -> None:
    feed = parse_atom(client, "/feeds/trending.atom?date=2025-12-24")
    titles = [e.findtext(f"{ATOM}title") for e in feed.iter(f"{ATOM}entry")]
    # Round-trips as text: escaped in XML, not interpreted; formulas become readable text.
    assert to_text(EVIL_TITLE) in titles
    assert "<script>alert(1)</script> &amp; α-Nets" in to_text(EVIL_TITLE)
    category = parse_atom(client, "/feeds/category/cs.CL.atom")
    assert all(any(c.get("term", "").startswith("cs.CL")
                   for c in e.iter(f"{ATOM}category")) for e in category.iter(f"{ATOM}entry"))


def test_feed_errors(client: TestClient) -> None:
    assert client.get("/feeds/search.atom").status_code == 400
    assert client.get("/feeds/trending.atom?period=year").status_code == 400
    assert client.get("/feeds/category/xx.YY.atom").status_code == 404


# --- API ------------------------------------------------------------------------------------
def test_openapi_and_docs(client: TestClient) -> None:
    schema = client.get("/api/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    for path in ("/api/trending", "/api/search", "/api/papers/{arxiv_id}", "/api/stats"):
        assert path in schema["paths"], path
    assert not any(p.startswith(("/search", "/date", "/feeds")) for p in schema["paths"])
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "/api/search" in docs.text
    assert "cdn" not in docs.text.lower() and "<script" not in docs.text


def test_api_matches_the_pages(client: TestClient) -> None:
    assert client.get("/api/trending?date=2025-12-24").json() == \
        client.get("/date/2025-12-24.json").json()
    assert client.get("/api/search?q=language+models").json()["hits"] == \
        client.get("/search.json?q=language+models").json()["hits"]
    arxiv_id = first_ids(client, 1)[0]
    assert client.get(f"/api/papers/{arxiv_id}").json() == \
        client.get(f"/papers/{arxiv_id}.json").json()
    assert client.get("/api/stats").json()["papers"] == 351


@pytest.mark.parametrize("url", ["/api/search", "/api/search?q=x&sort=best",
                                 "/api/trending?date=tomorrow", "/api/search?q=x&page=0",
                                 "/api/search?q=x&category=cs.NOPE"])
def test_api_bad_parameters(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 400
    assert response.json()["error"] and "Traceback" not in response.text


@pytest.mark.parametrize("url", [
    "/api/votes?ids=%00", "/api/papers/%00", "/api/papers/2512.0%001", "/api/search?q=%00",
    "/api/search?q=a&category=%00", "/api/search?q=a&author=%00", "/search?q=%00",
    "/papers/%00", "/papers/%00.json", "/date/%00", "/api/trending?date=%00",
    "/api/trending?category=%00", "/signin?next=%00"])
def test_a_nul_byte_in_a_parameter_is_a_400_naming_it(client: TestClient, url: str) -> None:
    # PostgreSQL refuses NUL in text (SQLite keeps it): refused in the parameters, on both.
    with TestClient(client.app, raise_server_exceptions=False) as quiet:
        answer = quiet.get(url)
    assert answer.status_code == 400, (url, answer.status_code, answer.text[:200])
    assert "must not contain control characters" in answer.text


def test_an_author_filter_without_a_name_is_no_server_error(client: TestClient) -> None:
    with TestClient(client.app, raise_server_exceptions=False) as quiet:
        answer = quiet.get("/api/search", params={"q": "language", "author": ":"})
    assert answer.status_code == 400, answer.text[:200]
    assert "no letters or digits" in answer.json()["error"]


def test_api_unknown_paper(client: TestClient) -> None:
    response = client.get("/api/papers/2501.00000")
    assert response.status_code == 404 and "2501.00000" in response.json()["error"]


def test_app_is_built_without_side_effects(tmp_path: Path) -> None:
    # Building the app opens no index and loads no model: the searcher comes on first use.
    with make_app(tmp_path) as site:
        assert site.app.state.site._searcher is None
        assert not (tmp_path / "index").exists()


def test_day_listings_on_each_backend(database_url: str, tmp_path: Path) -> None:
    # A paper's day is its listing day, else its publication day; both backends agree.
    papers = [
        paper("2501.00001", listed_on=date(2025, 1, 6), published=datetime(2025, 1, 2, 23, 59)),
        paper("2501.00002", listed_on=None, published=datetime(2025, 1, 6, 0, 0)),
        paper("2501.00003", listed_on=None, published=datetime(2025, 1, 6, 23, 59, 59)),
        paper("2501.00004", listed_on=None, published=datetime(2025, 1, 7, 0, 0)),
        paper("2501.00005", listed_on=date(2025, 1, 9), published=None),
    ]
    with make_app(tmp_path, database_url, papers=papers) as site, site.client() as c:
        day = c.get("/api/trending?date=2025-01-06").json()
        assert [p["arxiv_id"] for p in day["papers"]] == ["2501.00001", "2501.00003",
                                                          "2501.00002"]
        assert day["prev"] is None and day["next"]["date"] == "2025-01-07"
        assert c.get("/api/trending").json()["date"] == "2025-01-09"
        assert c.get("/api/trending?date=2025-01-08").json()["prev"]["date"] == "2025-01-07"
        assert c.get("/api/trending?date=2025-01-01&period=month").json()["total"] == 5


def test_cached_listings_follow_new_papers(database_url: str, tmp_path: Path) -> None:
    def listed(n: int, day: date) -> Paper:
        return paper(f"2601.{n:05d}", title=f"Paper {n}", listed_on=day)

    with make_app(tmp_path, database_url, papers=[listed(1, date(2026, 1, 5))]) as site:
        client = site.client()
        assert client.get("/index.json").json()["date"] == "2026-01-05"
        site.store.write_batch([listed(2, date(2026, 1, 6))])
        data = client.get("/index.json").json()
        assert data["date"] == "2026-01-06" and data["papers"][0]["title"] == "Paper 2"


@pytest.mark.heavy
def test_paperwire_serve_answers_with_two_workers(tmp_path: Path) -> None:
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PAPERWIRE_HOME=str(tmp_path), PAPERWIRE_EMBEDDER="none")
    proc = subprocess.Popen([sys.executable, "-m", "paperwire", "serve", "--port", str(port),
                             "--workers", "2"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/about.json", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert response.status_code == 200 and response.json()["papers"] == 0
        assert httpx.get(f"http://127.0.0.1:{port}/papers/2401.00001").status_code == 404
    finally:
        proc.terminate()
        proc.wait(timeout=30)
