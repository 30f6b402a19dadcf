"""Listing days and announce types end to end: a day's announcement feed replayed from the
fixtures (tests/fixtures/listing/, provenance in its README.md) on a loopback server, through
`ingest listing`, into the store and the day view's new, cross and revised sections, on
SQLite and PostgreSQL; and the day computed where no listing was seen."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

from click.testing import CliRunner

from paperwire.cli import cli
from paperwire.ingest import ingest, ingest_listing
from paperwire.settings import Settings
from paperwire.sources.files import JsonlSource
from paperwire.sources.listing import ListingSource
from paperwire.store import Store
from tests.app import make_app
from tests.helpers import paper
from tests.replay_server import (  # noqa: F401  (replay_fixture provides the "replay" fixture)
    RecordingSleep,
    ReplayServer,
    Reply,
    replay_fixture,
)

FEED = Path(__file__).resolve().parent / "fixtures" / "listing" / "cs.atom.xml"
ATOM_TYPE = [("Content-Type", "application/atom+xml; charset=UTF-8")]
DAY = date(2026, 5, 22)
SET = "cs.LG+math.OC"
NEW, CROSS, REPLACE_CROSS, REPLACE = "2605.20639", "2605.21846", "2601.18973", "2203.01250"
EARLIER = date(2026, 1, 27)  # the replaced papers' own (first) listing day


def _source(replay: ReplayServer, sleep: RecordingSleep) -> ListingSource:
    replay.add(f"/atom/{SET}", Reply(200, FEED.read_bytes(), ATOM_TYPE))
    return ListingSource(Settings(request_delay=0, max_retries=1), SET,
                         endpoint=f"{replay.url}/atom", sleep=sleep)


def _earlier_versions() -> list:
    # What an earlier harvest stored of the two papers the feed announces as replaced.
    return [paper(REPLACE_CROSS, version=3, categories=("quant-ph", "cs.LG"),
                  listed_on=EARLIER, published=datetime(2026, 1, 26, 10)),
            paper(REPLACE, version=2, categories=("math.OC",), listed_on=date(2022, 3, 3),
                  published=datetime(2022, 3, 2, 10))]


def test_a_replayed_feed_is_the_day_view_in_new_cross_and_revised_sections(
        tmp_path: Path, database_url: str, replay: ReplayServer, sleep: RecordingSleep) -> None:
    with make_app(tmp_path, database_url, papers=_earlier_versions()) as site:
        report = ingest_listing(_source(replay, sleep), site.store, progress=False)
        assert (report.entries, report.rejected) == (4, 1)  # "withdrawn" is no type
        # A reread of the same day adds nothing.
        again = ingest_listing(_source(replay, sleep), site.store, progress=False)
        assert again.entries == 0 and again.written.inserted == 0
        stored = site.store.get_papers([NEW, CROSS, REPLACE_CROSS, REPLACE])
        assert stored[NEW].listed_on == stored[CROSS].listed_on == DAY
        # A replacement moves the paper to its new version, never to today's listing.
        assert (stored[REPLACE_CROSS].version, stored[REPLACE_CROSS].listed_on) == (4, EARLIER)
        assert stored[REPLACE].listed_on == date(2022, 3, 3)

        client = site.client()
        data = client.get(f"/date/{DAY}.json").json()
        got = [(p["arxiv_id"], p["listing"]["type"], p["listing"]["section"])
               for p in data["papers"]]
        assert got[:2] == [(NEW, "new", "new"), (CROSS, "cross", "cross")]
        assert sorted(got[2:]) == [(REPLACE, "replace", "revised"),
                                   (REPLACE_CROSS, "replace-cross", "revised")]
        assert data["total"] == 4  # the same papers the feed had that day
        labels = {p["arxiv_id"]: p["listing"]["label"] for p in data["papers"]}
        assert labels == {NEW: "new", CROSS: "cross-listed from stat.ME",
                          REPLACE_CROSS: "updated to v4", REPLACE: "updated to v3"}

        html = client.get(f"/date/{DAY}").text
        sections = [html.index(h) for h in
                    ("New submissions</h2>", "Cross-lists</h2>", "Replacements</h2>")]
        assert sections == sorted(sections)
        assert html.index(CROSS) < sections[2] < html.index(REPLACE_CROSS)
        assert "cross-listed from stat.ME" in html and "updated to v4" in html

        kept = client.get(f"/date/{DAY}.json?type=new,cross").json()
        assert [p["arxiv_id"] for p in kept["papers"]] == [NEW, CROSS]
        assert kept["total"] == 2 and kept["types"] == ["new", "cross"]
        assert client.get(f"/date/{DAY}.json?type=withdrawn").status_code == 400
        assert client.get(f"/date/{DAY}.json?type=new&period=week").status_code == 400

        # The paper's page tells its announcements; the earlier day lists the paper as new.
        page = client.get(f"/papers/{REPLACE_CROSS}.json").json()
        assert [(e["listed_on"], e["announce_type"], e["version"]) for e in page["listings"]] \
            == [(DAY.isoformat(), "replace-cross", 4)]
        before = client.get(f"/date/{EARLIER}.json").json()
        assert [(p["arxiv_id"], p["listing"]["type"]) for p in before["papers"]] == [
            (REPLACE_CROSS, "new")]


def test_a_category_day_calls_papers_from_elsewhere_cross_lists(
        tmp_path: Path, replay: ReplayServer, sleep: RecordingSleep) -> None:
    with make_app(tmp_path, papers=_earlier_versions()) as site:
        ingest_listing(_source(replay, sleep), site.store, progress=False)
        kinds = site.store.day_kinds(DAY, "math.OC")
        by_id = {k.arxiv_id: k.announce_type for k in kinds.values()}
        assert by_id == {NEW: "new", REPLACE: "replace"}  # primary math.OC; 2605.21846 is not
        kinds = site.store.day_kinds(DAY, "cs")
        assert {k.arxiv_id: k.announce_type for k in kinds.values()} == {
            NEW: "cross", CROSS: "cross", REPLACE_CROSS: "replace-cross"}


def test_ingest_listing_on_the_command_line(tmp_path: Path, replay: ReplayServer) -> None:
    replay.add(f"/atom/{SET}", Reply(200, FEED.read_bytes(), ATOM_TYPE))
    env = {"PAPERWIRE_REQUEST_DELAY": "0", "PAPERWIRE_PROGRESS": "0",
           "PAPERWIRE_INDEX_ON_INGEST": "0"}
    args = ["--home", str(tmp_path), "ingest", "listing", "--set", SET, "--endpoint",
            f"{replay.url}/atom"]
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 1, result.output  # one entry rejected, named
    assert "4 new," in result.output and "4 new listing entries" in result.output
    assert "withdrawn" in result.output
    again = CliRunner().invoke(cli, args, env=env)
    assert "0 new listing entries" in again.output
    bad = CliRunner().invoke(cli, [*args[:5], "cs LG"], env=env)
    assert bad.exit_code != 0 and "not an arXiv archive or category list" in bad.output


def test_where_no_listing_was_seen_the_day_is_computed(tmp_path: Path) -> None:
    lines = [  # Thursday 13:59 and 14:00 US Eastern (EDT), and a Friday evening
        {"id": "2605.00001", "published": "2026-05-21T17:59:00", "first_seen": None},
        {"id": "2605.00002", "published": "2026-05-21T18:00:00"},
        {"id": "2605.00003", "published": "2026-05-22T23:00:00"},
        {"id": "2605.00004", "published": "2026-05-21T17:59:00", "first_seen": "2026-05-26"},
    ]
    source = tmp_path / "papers.jsonl"
    source.write_text("".join(json.dumps({
        **{k: v for k, v in line.items() if v is not None}, "title": "T", "summary": "A",
        "authors": ["A. B"], "categories": ["cs.LG"]}) + "\n" for line in lines))
    with Store.from_url(f"sqlite:///{tmp_path / 'db.sqlite'}") as store:
        assert ingest(JsonlSource(source), store, progress=False).rejected == 0
        days = {i: p.listed_on for i, p in store.get_papers(
            [f"2605.0000{n}" for n in range(1, 5)]).items()}
    # 13:59 makes Thursday's deadline (Friday's listing); 14:00 misses it, so Friday's
    # window is announced Sunday evening (Monday's listing); Friday evening is in Monday's
    # window (Tuesday's listing). A listing seen (first_seen) is kept as it is.
    assert days == {"2605.00001": date(2026, 5, 22), "2605.00002": date(2026, 5, 25),
                    "2605.00003": date(2026, 5, 26), "2605.00004": date(2026, 5, 26)}
    assert replace(paper(), listed_on=None).listed_on is None  # Paper itself computes nothing
