"""The stats page and its JSON twin, on SQLite and PostgreSQL: what each aggregate counts
(hidden papers left out), its range parameters, the admin-only part, charts that the CSP
allows, the vote sparkline, and `paperwire stats --by`."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from paperwire.cli import cli
from paperwire.models import ExternalVote
from paperwire.web import charts
from tests.app import make_app
from tests.helpers import make_user, paper

D1, D2, D3 = date(2025, 3, 17), date(2025, 3, 18), date(2025, 3, 19)
PAPERS = [
    paper("2503.00001", categories=("cs.CL", "cs.LG"), listed_on=D1),
    paper("2503.00002", categories=("cs.CL",), listed_on=D1),
    paper("2503.00003", categories=("cs.CL",), listed_on=D1),  # hidden below
    paper("2503.00004", categories=("cs.CV",), listed_on=D2),
    paper("2503.00005", categories=("cs.CV", "cs.LG"), listed_on=D2),
    paper("2503.00006", categories=("math.AG",), listed_on=D3,
          published=datetime(2025, 3, 18, 12)),
]
USERS = [("admin@example.org", "admin", "Root"), ("ann@example.org", "user", "Ann")]


def _setup(store: object) -> None:
    from paperwire.store import Store
    assert isinstance(store, Store)
    store.hide_paper("2503.00003", "spam", None, "test")
    for address in ("v1@example.org", "v2@example.org"):
        store.set_vote(make_user(store, address).id, "2503.00001", True)
    store.upsert_external_votes("hf-daily", [ExternalVote("2503.00004", 5, D2)])


def test_stats_counts_papers_votes_and_leaves_hidden_papers_out(tmp_path: Path,
                                                               database_url: str) -> None:
    with make_app(tmp_path, database_url, papers=PAPERS) as site:
        _setup(site.store)
        today = date.today()
        client = site.client()
        data = client.get(f"/stats.json?since={D1}&until={D3}").json()
        per_day = data["per_day"]
        assert per_day["days"] == [D1.isoformat(), D2.isoformat(), D3.isoformat()]
        assert per_day["totals"] == [2, 2, 1]  # the hidden paper of D1 is not counted
        assert per_day["counts"]["cs.CL"] == [2, 0, 0]
        assert per_day["counts"]["cs.CV"] == [0, 2, 0]
        assert data["per_category"] == {"cs.CL": 2, "cs.CV": 2, "cs.LG": 2, "math.AG": 1}
        assert data["votes"] == {"days": [D2.isoformat()], "local": [0], "imported": [5]}
        assert data["admin"] is None  # anonymous
        # Rising: trending over the week of the range's last day, hidden papers left out.
        rising = [p["arxiv_id"] for p in data["rising"]["papers"]]
        assert data["rising"]["since"] <= D3.isoformat() <= data["rising"]["until"]
        assert "2503.00003" not in rising
        assert set(rising) == {p.arxiv_id for p in PAPERS} - {"2503.00003"}
        assert rising[0] in ("2503.00001", "2503.00004")  # the voted ones lead
        # Votes are counted on the day they were cast (today, here).
        recent = client.get(f"/stats.json?since={today - timedelta(days=1)}&until={today}")
        assert recent.json()["votes"] == {"days": [today.isoformat()], "local": [2],
                                          "imported": [0]}


def test_stats_range_defaults_to_days_ending_on_the_latest_day(tmp_path: Path) -> None:
    with make_app(tmp_path, papers=PAPERS) as site:
        client = site.client()
        data = client.get("/stats.json").json()
        assert (data["since"], data["until"], data["days"]) == (
            (D3 - timedelta(days=29)).isoformat(), D3.isoformat(), 30)
        assert client.get("/stats.json?days=365").json()["since"] == (
            D3 - timedelta(days=364)).isoformat()
        one_day = client.get(f"/stats.json?since={D2}&until={D2}").json()
        assert one_day["per_day"]["totals"] == [2]
        assert one_day["per_category"] == {"cs.CV": 2, "cs.LG": 1}


def test_stats_refuses_bad_ranges_saying_why(tmp_path: Path) -> None:
    cases = {"days=7": "days must be one of 30, 90, 365 (got '7')",
             "days=9" * 100: "days must be one of",
             f"since={D3}&until={D1}": f"since {D3} is after until {D1}",
             "since=2020-01-01&until=2025-01-01": "may span 366 days at most (got 1828)",
             "since=yesterday": "since must be a day written YYYY-MM-DD",
             "days=30&since=2025-01-01": "give days, or since and until, not both"}
    with make_app(tmp_path, papers=PAPERS) as site:
        client = site.client()
        for query, message in cases.items():
            answer = client.get(f"/stats.json?{query}")
            assert answer.status_code == 400, query
            assert message in answer.json()["error"], (query, answer.json())
            assert client.get(f"/stats?{query}").status_code == 400


def test_subscribers_and_digests_are_for_admins_only(tmp_path: Path, database_url: str
                                                     ) -> None:
    with make_app(tmp_path, database_url, papers=PAPERS, users=USERS) as site:
        plain = site.client(signed_in="ann@example.org").get("/stats.json").json()
        assert plain["admin"] is None
        admin = site.client(signed_in="admin@example.org")
        data = admin.get("/stats.json").json()
        assert data["admin"]["subscribers"] == {}
        assert data["admin"]["digests"] == {"days": [], "sent": [], "total": 0}
        html = admin.get("/stats").text
        assert "Subscribers and digests" in html and 'id="chart-digests"' in html
        assert "Subscribers and digests" not in site.client().get("/stats").text


def test_stats_page_charts_are_labelled_and_carry_nothing_the_csp_refuses(tmp_path: Path
                                                                           ) -> None:
    with make_app(tmp_path, papers=PAPERS) as site:
        answer = site.client().get(f"/stats?since={D1}&until={D3}")
        assert answer.status_code == 200
        csp = answer.headers["content-security-policy"]
        assert "style-src 'self'" in csp and "unsafe-inline" not in csp
        html = answer.text
        svgs = re.findall(r"<svg\b.*?</svg>", html, flags=re.S)
        assert len(svgs) == 3
        for svg in svgs:
            chart_id = re.search(r'<svg[^>]* id="([^"]+)"', svg)
            assert chart_id is not None
            assert 'role="img"' in svg and f'aria-labelledby="{chart_id[1]}-title' in svg
            assert re.search(rf'<title id="{chart_id[1]}-title">[^<]+</title>', svg)
            assert "<script" not in svg and "<style" not in svg and " style=" not in svg
        assert "Papers per day, 2025-03-17 to 2025-03-19" in html
        assert "<th scope=\"col\">cs.CL</th>" in html  # the numbers as a table too
        assert "<script>" not in html  # no inline script anywhere on the page


def test_paper_page_carries_its_vote_history_and_sparkline(tmp_path: Path,
                                                           database_url: str) -> None:
    with make_app(tmp_path, database_url, papers=PAPERS) as site:
        _setup(site.store)
        client = site.client()
        data = client.get("/papers/2503.00001.json").json()
        assert data["vote_history"] == [[date.today().isoformat(), 2]]
        assert "chart-spark" not in client.get("/papers/2503.00001").text  # one day: no line
        assert client.get("/papers/2503.00002.json").json()["vote_history"] == []
    spark = charts.render(charts.spec("spark", "spark-x", "Votes over time: 5", "1 then 5",
                                      ["2025-03-01", "2025-03-04"], {"votes": [1, 5]},
                                      width=160, height=32))
    assert spark.startswith("<svg") and 'role="img"' in spark and "<script" not in spark
    assert '<title id="spark-x-title">Votes over time: 5</title>' in spark


def test_cli_stats_by_day_and_category(tmp_path: Path) -> None:
    with make_app(tmp_path, papers=PAPERS) as site:
        site.store.hide_paper("2503.00003", "spam", None, "test")
    runner = CliRunner()
    home = ["--home", str(tmp_path)]
    plain = json.loads(runner.invoke(cli, [*home, "stats", "--json"]).output)
    assert set(plain) == {"papers", "published", "listed", "categories",
                          "primary_categories", "sources", "vector_backend"}  # its shape is kept
    assert plain["vector_backend"]["name"] == "faiss"
    assert plain["vector_backend"]["reason"]  # says why (the setting, or the database)
    by_day = runner.invoke(cli, [*home, "stats", "--by", "day", "--json"])
    assert by_day.exit_code == 0, by_day.output
    assert json.loads(by_day.output)["days"] == {D1.isoformat(): 2, D2.isoformat(): 2,
                                                 D3.isoformat(): 1}
    by_category = runner.invoke(cli, [*home, "stats", "--by", "category"])
    assert by_category.exit_code == 0
    assert re.search(r"^cs\.CL\s+2$", by_category.output, flags=re.M)
    wrong = runner.invoke(cli, [*home, "stats", "--by", "week"])
    assert wrong.exit_code == 2 and "'week' is not one of 'day', 'category'" in wrong.output
