"""What a new user ran into on the pages (issue 12): where home opens, one clear vote count
with its source, a score explained without a tooltip, a search that counts its results with
its filters closed and ISO dates, headings in order, the basics (favicon, description, gzip),
the paper's date and version, the subscribe page for a signed-in reader, digest lines."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient

from paperwire.digest_render import Digest, Section, render_html, render_text
from paperwire.models import ExternalVote, Subscription
from tests.app import WebApp, make_app
from tests.helpers import PASSWORD, paper, post_form

LISTED = date(2025, 6, 2)  # a Monday arXiv listed papers on
HF_ONLY = date(2025, 6, 5)  # a later day with only a vote signal's paper (no category)
PAST = date(2025, 5, 12)  # a week long gone
PAPERS = [
    paper("2506.00001", title="Sparse attention for long documents", listed_on=LISTED,
          version=3, published=datetime(2025, 5, 30, 9), updated=datetime(2025, 6, 20, 9),
          abstract="We make sparse attention fast for long documents. " * 6),
    paper("2506.00002", title="Sparse attention, a second look", listed_on=LISTED),
    paper("2506.00003", title="A paper Hugging Face featured", listed_on=HF_ONLY,
          categories=(), primary_category="", published=None),
    paper("2505.00004", title="Sparse attention in May", listed_on=PAST),
]


class Headings(HTMLParser):
    """The levels of a page's headings, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.levels: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if re.fullmatch(r"h[1-6]", tag):
            self.levels.append(int(tag[1]))


def heading_levels(html: str) -> list[int]:
    parser = Headings()
    parser.feed(html)
    return parser.levels


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    with make_app(tmp_path_factory.mktemp("pages-ui"), papers=PAPERS, index=True,
                  users=[("ann@example.org", "user", "Ann")]) as built:
        built.store.upsert_external_votes("hf-daily", [ExternalVote("2506.00001", 163)])
        yield built


@pytest.fixture(scope="module")
def client(site: WebApp) -> TestClient:
    return site.client()


def test_home_opens_on_the_latest_listing_day_not_a_later_signal_only_day(
        client: TestClient) -> None:
    data = client.get("/index.json").json()
    assert data["date"] == LISTED.isoformat()
    assert {p["arxiv_id"] for p in data["papers"]} == {"2506.00001", "2506.00002"}
    # The signal's day is still there to open, one step on.
    assert data["next"]["date"] == HF_ONLY.isoformat()
    # The day is said once ("Jun 2, 2025"), not "Jun 2 Jun 2, 2025".
    h1 = re.search(r"<h1>(.*?)</h1>", client.get("/").text, re.S)
    assert h1 is not None
    assert re.sub(r"<[^>]+>", "", h1.group(1)).strip() == "Jun 2, 2025"
    week = re.search(r"<h1>(.*?)</h1>", client.get(f"/date/{PAST}?period=week").text, re.S)
    assert week is not None and re.sub(r"<[^>]+>", "", week.group(1)).strip() == \
        "Week of May 12, 2025"


def test_cards_and_paper_page_name_the_source_of_imported_votes(client: TestClient) -> None:
    home = client.get("/").text
    assert "163 on Hugging Face" in home
    assert "imported upvote" not in home
    page = client.get("/papers/2506.00001").text
    assert "163 on Hugging Face" in page


def test_the_score_explanation_opens_without_a_tooltip(client: TestClient) -> None:
    home = client.get("/").text
    found = re.search(r'<details class="score"><summary>score [^<]+</summary>'
                      r'<span class="explanation">([^<]+)</span></details>', home)
    assert found is not None and "prior" in found.group(1)
    assert 'class="score" title=' not in home


def test_a_vote_on_a_past_week_counts_on_its_card(site: WebApp, client: TestClient) -> None:
    ann = site.store.user_by_email("ann@example.org")
    assert ann is not None
    before = client.get(f"/date/{PAST}.json?period=week").json()["papers"][0]
    assert before["votes"] == 0
    site.store.set_vote(ann.id, "2505.00004", True)
    try:
        card = client.get(f"/date/{PAST}.json?period=week").json()["papers"][0]
        # The button counts the vote cast today; the card says its score counted to the end.
        assert card["votes"] == 1
        assert card["votes_in_window"] == 0
        assert card["counted_until"] == (PAST + timedelta(days=6)).isoformat()
        html = client.get(f"/date/{PAST}?period=week").text
        assert f"votes cast by {card['counted_until']}" in html
    finally:
        site.store.set_vote(ann.id, "2505.00004", False)


def test_search_counts_results_keeps_filters_closed_and_dates_iso(client: TestClient) -> None:
    data = client.get("/search.json?q=sparse+attention").json()
    assert data["matched"] == 3
    page = client.get("/search?q=sparse+attention").text
    assert "3 papers match words of the query" in page
    assert '<details class="filters">' in page  # closed
    assert 'type="date"' not in page and 'placeholder="YYYY-MM-DD"' in page
    # One search box on the search page: the header's is left out.
    assert page.count('role="search"') == 1 and 'id="header-q"' not in page
    assert re.search(r'<button type="submit" class="primary">Search</button>', page)
    filtered = client.get("/search?q=sparse&since=2025-06-01").text
    assert '<details class="filters" open>' in filtered
    assert client.get("/search.json?q=sparse&since=2025-06-01").json()["matched"] == 2


@pytest.mark.parametrize("url", ["/", f"/date/{PAST}?period=week", "/search?q=sparse",
                                 "/papers/2506.00001"])
def test_headings_never_skip_a_level(client: TestClient, url: str) -> None:
    levels = heading_levels(client.get(url).text)
    assert levels and levels[0] == 1
    jumps = [(a, b) for a, b in zip(levels, levels[1:], strict=False) if b > a + 1]
    assert not jumps, (url, levels)


def test_basics_favicon_description_and_gzip(client: TestClient) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg")
    home = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert home.headers["content-encoding"] == "gzip"
    assert re.search(r'<link rel="icon" href="/static/favicon.svg\?v=\w+"', home.text)
    assert re.search(r'<meta name="description" content="[^"]{40,}">', home.text)
    page = client.get("/papers/2506.00001").text
    assert '<meta name="description" content="We make sparse attention fast' in page


def test_paper_page_shows_published_date_and_version(client: TestClient) -> None:
    page = client.get("/papers/2506.00001").text
    meta = re.search(r'<p class="meta">(.*?)</p>', page, re.S)
    assert meta is not None
    text = re.sub(r"<[^>]+>", "", meta.group(1))
    assert "Published 2025-05-30" in text
    assert "arXiv:2506.00001v3" in text and "version 3, updated 2025-06-20" in text


def test_subscribe_page_for_a_signed_in_reader(site: WebApp) -> None:
    ann = site.client(signed_in="ann@example.org")
    page = ann.get("/subscribe").text
    assert "takes effect at once" in page and "We mail a confirmation link first" not in page
    assert 'id="subscribe-email"' not in page  # the header's box is this page: not twice
    assert 'value="ann@example.org"' in page
    home = ann.get("/about").text  # elsewhere, the header's box comes filled in
    assert re.search(r'id="subscribe-email"[^>]*value="ann@example.org"', home)
    anonymous = site.client().get("/subscribe").text
    assert "We mail a confirmation link first" in anonymous
    # Subscribed: the form comes filled with what it holds, and its sentences keep apart.
    ann_user = site.store.user_by_email("ann@example.org")
    assert ann_user is not None
    site.store.upsert_subscription(ann_user.email, status="active", trending=True,
                                   user_id=ann_user.id, period="weekly",
                                   categories=("cs.CL",))
    held = ann.get("/subscribe").text
    assert re.search(r"Unsubscribe</a>\.\s+Submitting the form below changes it\.</p>", held)
    assert 'value="weekly" checked' in held and 'value="cs.CL"' in held
    assert "after you confirm by mail" not in held


def test_digest_lines_of_a_paper_without_categories_have_no_dangling_dot() -> None:
    bare = paper("2506.00003", title="Featured", categories=(), primary_category="",
                 listed_on=HF_ONLY)
    sub = Subscription(1, "r@example.org", "daily", True, (), "active", "t", None,
                       datetime(2025, 6, 1), None, None)
    digest = Digest(sub, "daily", HF_ONLY, "k", (Section("Trending", (bare,)),))
    text = render_text(digest, "http://x", "http://x/u")
    assert "   2506.00003 · 2025-06-05\n" in text
    html = render_html(digest, "http://x", "http://x/u")
    assert "A. Author · 2506.00003</p>" in html
    assert not re.search(r"·\s*(·|<|\n|$)", text + html)


def test_about_no_longer_says_hover(client: TestClient, tmp_path: Path) -> None:
    assert "Hover a paper" not in client.get("/about").text


def test_a_vote_clicked_signed_out_is_cast_at_sign_in_and_you_go_back(site: WebApp) -> None:
    browser = site.client()
    where = f"/date/{LISTED}"
    answer = post_form(browser, "/papers/2506.00002/vote", {}, follow_redirects=False,
                       headers={"Referer": f"{site.settings.base_url}{where}"})
    assert answer.status_code == 303
    target = answer.headers["location"]
    assert target == "/signin?" + urlencode({"next": where, "vote": "2506.00002"})
    form = browser.get(target).text
    assert 'name="vote" value="2506.00002"' in form and f'value="{where}"' in form
    signed_in = post_form(browser, "/signin", {"email": "ann@example.org", "password": PASSWORD,
                                               "next": where, "vote": "2506.00002"},
                          follow_redirects=False)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == where
    ann = site.store.user_by_email("ann@example.org")
    assert ann is not None
    state = site.store.vote_states(["2506.00002"], ann.id)["2506.00002"]
    assert state.voted and state.votes == 1
    # A vote for no stored paper is dropped, never an error.
    assert 'name="vote"' not in browser.get("/signin?vote=2506.99999").text


def test_each_category_has_a_page_its_feed_links_to(site: WebApp, client: TestClient) -> None:
    site.store.write_batch([paper("2506.00009", title="Retrieval on its day", listed_on=LISTED,
                                  categories=("cs.IR",))])
    feed = client.get("/feeds/category/cs.IR.atom").text
    assert 'href="http://127.0.0.1:8000/?category=cs.IR"' in feed
    data = client.get("/index.json?category=cs.IR").json()
    assert [p["arxiv_id"] for p in data["papers"]] == ["2506.00009"]
    assert data["tabs"]["week"] == f"/date/{LISTED}?period=week&category=cs.IR"
    page = client.get("/?category=cs.IR").text
    assert '<span class="cat">cs.IR</span></h1>' in page
    assert client.get("/?category=cs.NOPE").status_code == 400
