"""Votes and the trending score: the formula, its windows, votes on both backends, the pages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from paperwire.errors import ConfigError, NotFound
from paperwire.models import ExternalVote, Paper
from paperwire.settings import Settings
from paperwire.store import Store
from paperwire.trending import TrendingParams, explain, rank, score, window
from tests.app import make_app
from tests.helpers import paper

TODAY = datetime.now(UTC).date()
PAST = date(2025, 3, 12)  # a Wednesday


def listed(arxiv_id: str, day: date | None, *, category: str = "cs.LG",
           published: datetime | None = None) -> Paper:
    """A paper listed on ``day`` (its day for trending), in one category."""
    return paper(arxiv_id, listed_on=day, categories=(category,), published=published)


def users(store: Store, n: int) -> list[int]:
    made = [store.create_user(f"voter{i}@example.org", "not-a-hash", f"Voter {i}")
            for i in range(n)]
    return [u.id for u in made if u is not None]


def vote(store: Store, voters: list[int], arxiv_id: str) -> None:
    for user_id in voters:
        store.set_vote(user_id, arxiv_id, True)


def order(store: Store, params: TrendingParams, period: str, day: date,
          categories: tuple[str, ...] = ()) -> list[str]:
    return [s.paper.arxiv_id for s in rank(store, params, period, day,
                                            categories=categories).items]


# --- the formula, without a store -----------------------------------------------------------
def test_score_grows_with_votes_and_decays_with_age() -> None:
    p = TrendingParams()
    assert score(5, 0, 10, p) > score(4, 0, 10, p)
    assert score(5, 0, 10, p) > score(5, 0, 30, p)
    assert score(0, 0, 10, p) > 0  # the prior: a paper without votes still ranks
    assert score(0, 0, 10, TrendingParams(prior=0)) == 0
    gravity0 = TrendingParams(gravity=0)
    assert score(5, 0, 10, gravity0) == score(5, 0, 1000, gravity0) == 6


def test_external_weight_counts_imported_votes() -> None:
    light, heavy = TrendingParams(external_weight=0.1), TrendingParams(external_weight=1.0)
    # 3 local votes against 10 imported: the weight decides.
    assert score(3, 0, 24, light) > score(0, 10, 24, light)
    assert score(3, 0, 24, heavy) < score(0, 10, 24, heavy)


def test_explanation_reads_like_the_formula() -> None:
    p = TrendingParams(external_weight=0.5, prior=1)
    value = score(12, 40, 9, p)
    assert explain(12, 40, 9, value, p) == (
        f"12 votes + 40 imported × 0.5 + 1 prior, 9 h old → {value:.3g}")
    assert explain(1, 0, 100, 0.1, p).startswith("1 vote + 1 prior, 4 days old")


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ConfigError, match="gravity"):
        TrendingParams(gravity=-1)
    with pytest.raises(ConfigError, match="offset"):
        TrendingParams(age_offset_hours=0)
    settings = Settings.from_env({"PAPERWIRE_TRENDING_GRAVITY": "1.5",
                                  "PAPERWIRE_TRENDING_EXTERNAL_WEIGHT": "0.25"})
    params = TrendingParams.from_settings(settings)
    assert (params.gravity, params.external_weight, params.prior) == (1.5, 0.25, 1.0)


def test_windows_and_their_boundaries() -> None:
    assert window(PAST, "day") == (PAST, PAST)
    assert window(PAST, "week") == (date(2025, 3, 10), date(2025, 3, 16))  # Monday–Sunday
    assert window(date(2025, 3, 16), "week") == (date(2025, 3, 10), date(2025, 3, 16))
    assert window(date(2025, 3, 17), "week")[0] == date(2025, 3, 17)
    assert window(date(2024, 2, 10), "month") == (date(2024, 2, 1), date(2024, 2, 29))
    assert window(date(2025, 12, 31), "month") == (date(2025, 12, 1), date(2025, 12, 31))
    with pytest.raises(ValueError, match="period"):
        window(PAST, "year")


# --- votes on both backends ------------------------------------------------------------------
def test_votes_set_toggle_and_idempotence(store: Store) -> None:
    store.write_batch([listed("2503.00001", TODAY), listed("2503.00002", TODAY)])
    alice, bob = users(store, 2)
    assert store.set_vote(alice, "2503.00001").voted  # toggle on
    assert store.set_vote(alice, "2503.00001").votes == 0  # toggle off
    for _ in range(2):
        state = store.set_vote(alice, "2503.00001", True)
    assert (state.votes, state.voted) == (1, True)
    assert store.set_vote(bob, "2503.00001", None).votes == 2
    for _ in range(2):
        state = store.set_vote(bob, "2503.00001", False)
    assert (state.votes, state.voted, state.external) == (1, False, 0)
    states = store.vote_states(["2503.00001", "2503.00002", "2503.99999"], alice)
    assert set(states) == {"2503.00001", "2503.00002"}  # unknown ids are left out
    assert states["2503.00001"].voted and not states["2503.00002"].voted
    assert not store.vote_states(["2503.00001"])["2503.00001"].voted
    with pytest.raises(NotFound, match="2503.99999"):
        store.set_vote(alice, "2503.99999", True)


def test_external_votes_reimport_replaces_counts(store: Store) -> None:
    store.write_batch([listed("2503.00001", PAST)])
    version = store.votes_version()
    _, first = store.upsert_external_votes("hf-daily", [
        ExternalVote("2503.00001", 10, date(2025, 3, 14)),
        ExternalVote("2503.77777", 5, date(2025, 3, 14))])  # a paper we do not hold
    assert (first.written, first.unknown) == (1, 1)
    assert store.votes_version() != version
    store.upsert_external_votes("hf-daily", [ExternalVote("2503.00001", 12, date(2025, 3, 20))])
    assert store.vote_states(["2503.00001"])["2503.00001"].external == 12  # replaced, not 22
    # The earliest featured day is kept: the paper still counts in the week of the 14th.
    week = store.trending_candidates(date(2025, 3, 10), date(2025, 3, 16),
                                     datetime(2025, 3, 17))
    assert [(c.arxiv_id, c.external, c.featured_on) for c in week] == [
        ("2503.00001", 12, date(2025, 3, 14))]


def test_votes_version_follows_every_vote(store: Store) -> None:
    store.write_batch([listed("2503.00001", TODAY)])
    (alice,) = users(store, 1)
    seen = [store.votes_version()]
    for on in (True, True, False, True):
        store.set_vote(alice, "2503.00001", on)
        seen.append(store.votes_version())
    # Every change moves the version; a repeated vote changes nothing, and neither does it.
    assert seen[0] != seen[1] == seen[2] != seen[3] != seen[4] != seen[1]



def test_view_version_follows_papers_votes_imports_and_moderation(store: Store) -> None:
    store.write_batch([listed("2503.00001", TODAY)])
    (alice,) = users(store, 1)
    seen = [store.view_version()]
    store.set_vote(alice, "2503.00001", True)
    seen.append(store.view_version())
    store.set_vote(alice, "2503.00001", False)  # back to no votes: still a new version
    seen.append(store.view_version())
    store.upsert_external_votes("hf-daily", [ExternalVote("2503.00001", 3, TODAY)])
    seen.append(store.view_version())
    store.hide_paper("2503.00001", "spam", None, "cli")
    seen.append(store.view_version())
    store.write_batch([listed("2503.00002", TODAY)])
    seen.append(store.view_version())
    assert len(set(seen)) == len(seen)
    assert store.view_version() == seen[-1]  # reading changes nothing


# --- ranking ----------------------------------------------------------------------------------
def test_more_votes_rank_higher_at_equal_age(store: Store) -> None:
    store.write_batch([listed(f"2503.0000{i}", TODAY) for i in range(1, 5)])
    voters = users(store, 3)
    vote(store, voters[:1], "2503.00002")
    vote(store, voters, "2503.00003")
    page = rank(store, TrendingParams(), "day", TODAY)
    assert [s.paper.arxiv_id for s in page.items][:2] == ["2503.00003", "2503.00002"]
    assert page.total == 4 and page.items[0].votes == 3
    assert "3 votes" in page.items[0].explanation
    # No votes: the prior alone, a tie that keeps the newest-first order (here: by id).
    assert page.items[2].score == page.items[3].score
    assert [s.paper.arxiv_id for s in page.items[2:]] == ["2503.00004", "2503.00001"]
    assert rank(store, TrendingParams(), "day", TODAY, limit=2, offset=2).items == page.items[2:]


def test_older_papers_decay_and_gravity_zero_ranks_by_votes(store: Store) -> None:
    # Listed a week ago but featured elsewhere today, a paper is in today's view, 8 days old.
    store.write_batch([listed("2503.00001", TODAY - timedelta(days=7)),
                       listed("2503.00002", TODAY)])
    store.upsert_external_votes("hf-daily", [ExternalVote("2503.00001", 0, TODAY)])
    voters = users(store, 2)
    vote(store, voters, "2503.00001")
    vote(store, voters[:1], "2503.00002")
    slow = TrendingParams(gravity=0)
    assert order(store, slow, "day", TODAY) == ["2503.00001", "2503.00002"]
    steep = TrendingParams(gravity=3)
    assert order(store, steep, "day", TODAY) == ["2503.00002", "2503.00001"]
    ages = {s.paper.arxiv_id: s.age_hours for s in rank(store, steep, "day", TODAY).items}
    assert ages == {"2503.00001": 8 * 24, "2503.00002": 24}


def test_external_weight_changes_the_order(store: Store) -> None:
    store.write_batch([listed("2503.00001", TODAY), listed("2503.00002", TODAY)])
    vote(store, users(store, 3), "2503.00001")
    store.upsert_external_votes("hf-daily", [ExternalVote("2503.00002", 10, TODAY)])
    assert order(store, TrendingParams(external_weight=0.1), "day", TODAY)[0] == "2503.00001"
    assert order(store, TrendingParams(external_weight=1.0), "day", TODAY)[0] == "2503.00002"


def test_past_windows_are_stable_and_count_votes_before_their_end(store: Store) -> None:
    store.write_batch([listed("2503.00001", PAST), listed("2503.00002", PAST)])
    before = rank(store, TrendingParams(), "week", PAST)
    vote(store, users(store, 2), "2503.00002")  # cast now, long after that week ended
    after = rank(store, TrendingParams(), "week", PAST)
    assert [(s.paper.arxiv_id, s.score) for s in after.items] == [
        (s.paper.arxiv_id, s.score) for s in before.items]
    assert all(s.votes == 0 for s in after.items)
    assert after.items[0].age_hours == 24 * 5  # Wednesday 00:00 to the end of Sunday
    assert store.vote_states(["2503.00002"])["2503.00002"].votes == 2


def test_candidates_featured_in_window_categories_and_hidden(store: Store) -> None:
    store.write_batch([listed("2503.00001", PAST - timedelta(days=30)),
                       listed("2503.00002", PAST, category="math.AG"),
                       listed("2503.00003", PAST)])
    # Listed a month earlier but featured elsewhere this week: it belongs to this week too,
    # and its age counts from its listing day.
    store.upsert_external_votes("hf-daily", [ExternalVote("2503.00001", 50, PAST)])
    params = TrendingParams()
    week = rank(store, params, "week", PAST)
    assert {s.paper.arxiv_id for s in week.items} == {"2503.00001", "2503.00002", "2503.00003"}
    old = next(s for s in week.items if s.paper.arxiv_id == "2503.00001")
    assert old.age_hours == 24 * 35 and old.external == 50
    assert order(store, params, "week", PAST, categories=("math",)) == ["2503.00002"]
    store.hide_paper("2503.00003", "spam", None, "cli")
    assert "2503.00003" not in order(store, params, "week", PAST)
    assert rank(store, params, "week", PAST).total == 2


# --- the pages --------------------------------------------------------------------------------
@pytest.fixture
def client(tmp_path: Path, database_url: str) -> Iterator[TestClient]:
    papers = ([listed(f"2503.0000{i}", PAST) for i in range(1, 4)]
              + [listed("2503.00009", PAST + timedelta(days=1))])
    with make_app(tmp_path, database_url, papers=papers, trending_gravity=1.25,
                  trending_external_weight=0.75) as site:
        site.store.upsert_external_votes("hf-daily", [ExternalVote("2503.00002", 30, PAST),
                                                      ExternalVote("2503.00003", 8, PAST)])
        with site.client() as c:
            yield c


def test_trending_json_ranks_by_score_with_explanations(client: TestClient) -> None:
    data = client.get("/trending.json", params={"period": "day", "date": PAST.isoformat()}
                      ).json()
    assert data["ranking"] == "trending" and data["total"] == 3
    ids = [p["arxiv_id"] for p in data["papers"]]
    assert ids == ["2503.00002", "2503.00003", "2503.00001"]
    top = data["papers"][0]
    assert top["external"] == 30 and top["votes"] == 0 and top["age_hours"] == 24
    assert "30 imported × 0.75" in top["explanation"] and top["score"] > 0
    assert client.get("/api/trending", params={"date": PAST.isoformat()}).json() == data
    week = client.get("/trending.json", params={"period": "week", "date": PAST.isoformat()}
                      ).json()
    assert week["total"] == 4 and week["since"] == "2025-03-10"
    assert client.get("/trending?period=year").status_code == 400
    assert client.get("/trending?date=2025-13-01").status_code == 400


def test_trending_html_shows_counts_scores_and_tabs(client: TestClient) -> None:
    text = client.get("/trending", params={"date": PAST.isoformat()}).text
    # The score explains itself in a disclosure (touch and keyboard open it too).
    assert '<span class="explanation">0 votes + 30 imported × 0.75' in text
    assert 'href="/date/2025-03-12?period=week"' in text
    assert "Trending" in text
    # The home page and the day pages are the same view.
    home = client.get("/index.json").json()
    assert home["date"] == (PAST + timedelta(days=1)).isoformat()
    assert home["ranking"] == "trending"
    assert client.get(f"/date/{PAST.isoformat()}.json").json()["papers"][0][
        "arxiv_id"] == "2503.00002"


def test_about_shows_the_formula_and_parameters(client: TestClient) -> None:
    about = client.get("/about.json").json()["trending"]
    assert about["parameters"]["gravity"] == 1.25
    assert about["parameters"]["external_weight"] == 0.75
    text = client.get("/about").text
    assert "PAPERWIRE_TRENDING_GRAVITY" in text and "1.25" in text and "age_hours" in text


def test_cached_trending_follows_votes_and_moderation(tmp_path: Path, database_url: str
                                                     ) -> None:
    papers = [listed("2503.00001", TODAY), listed("2503.00002", TODAY)]
    with make_app(tmp_path, database_url, papers=papers) as site, site.client() as c:
        store = site.store
        (alice,) = users(store, 1)
        first = c.get("/index.json").json()["papers"]
        assert [p["votes"] for p in first] == [0, 0]
        store.set_vote(alice, "2503.00001", True)  # the cached page must not hide this
        now = c.get("/index.json").json()["papers"]
        assert (now[0]["arxiv_id"], now[0]["votes"]) == ("2503.00001", 1)
        store.hide_paper("2503.00001", "spam", None, "cli")
        assert [p["arxiv_id"] for p in c.get("/index.json").json()["papers"]] == ["2503.00002"]


def test_decay_is_relative_to_the_window(store: Store) -> None:
    # This week (votes count up to a window's end, so a past week would not see them).
    monday = TODAY - timedelta(days=TODAY.weekday())
    sunday = monday + timedelta(days=6)
    store.write_batch([listed("2503.00001", monday), listed("2503.00002", sunday)])
    voters = users(store, 3)
    vote(store, voters, "2503.00001")  # 3 votes on the week's first day
    vote(store, voters[:1], "2503.00002")  # 1 vote on its last day
    params = TrendingParams()
    # With the offset scaled by the week, 4 points six days older beat 2 points: the old
    # paper's score is 4/(168+84)^0.8 vs 2/(24+84)^0.8 (a fixed 12 h offset would not).
    assert order(store, params, "week", TODAY) == ["2503.00001", "2503.00002"]
    assert score(3, 0, 168, params) < score(1, 0, 24, params)
    # The day view of a single day is unaffected: a day's papers are equally old.
    assert order(store, params, "day", monday) == ["2503.00001"]
