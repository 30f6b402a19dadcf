"""The announcement-feed source: fixtures parsed, and the source run against a loopback server.

Fixtures (tests/fixtures/listing/, provenance in its README.md) follow arXiv's specification,
arXiv/arxiv-docs : source/help/rss_specifications.md @ 2d8130a3c7bd. Their entries are
real announcements of 2026-05-22 saved from rss.arxiv.org by public feed-reader notes
(2605.20639, 2605.21846, 2601.18973), and the specification's own example item (2203.01250).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from paperwire.errors import ConfigError, HarvestError
from paperwire.models import Checkpoint, Paper, Rejection
from paperwire.settings import Settings
from paperwire.sources import Source
from paperwire.sources.listing import ListingEntry, ListingSource, entry_to_listing, parse_listing
from tests.replay_server import (  # noqa: F401  (replay_fixture provides the "replay" fixture)
    RecordingSleep,
    ReplayServer,
    Reply,
    replay_fixture,
    split,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "listing"
ATOM_TYPE = [("Content-Type", "application/atom+xml; charset=UTF-8")]
SETTINGS = Settings(request_delay=3.0, max_retries=2, http_timeout=5.0)
DAY = date(2026, 5, 22)


def feed_bytes(name: str = "cs.atom.xml") -> bytes:
    return (FIXTURES / name).read_bytes()


def test_the_feed_date_is_the_listing_day() -> None:
    feed = parse_listing(feed_bytes())
    assert feed.day == DAY
    assert len(feed.entries) == 5
    assert parse_listing(feed_bytes("empty.atom.xml")).entries == []


def test_entries_carry_their_announce_type() -> None:
    feed = parse_listing(feed_bytes())
    got = [entry_to_listing(e, feed.day, "cs.LG+math.OC") for e in feed.entries[:4]]
    assert [(p.versioned_id, kind, day) for p, kind, day in got] == [
        ("2605.20639v1", "new", DAY), ("2605.21846v1", "cross", DAY),
        ("2601.18973v4", "replace-cross", DAY), ("2203.01250v3", "replace", DAY)]
    new, cross, replace_cross, replace = (p for p, _, _ in got)
    assert new.authors == ("April Tran", "Terry Haut", "David Bortz", "Youngsoo Choi")
    assert new.abstract.startswith("Optimization problems constrained")  # header removed
    assert new.categories == ("math.OC", "cs.LG", "math.DS")
    assert new.license == "http://creativecommons.org/licenses/by/4.0/"
    assert (new.listed_on, cross.listed_on) == (DAY, DAY)
    # A replacement's first listing was earlier: the day belongs to the entry, not the paper.
    assert (replace.listed_on, replace_cross.listed_on) == (None, None)
    assert replace.doi == "10.5802/jep.257"
    assert replace.journal_ref and replace.journal_ref.startswith("Journal de l")
    assert "$\\min \\int_{\\mathbb{R}^N}" in replace.abstract  # LaTeX kept as it is


def test_an_unknown_announce_type_is_an_error_naming_it() -> None:
    feed = parse_listing(feed_bytes())
    with pytest.raises(ValueError, match="'withdrawn' is not one of new, cross"):
        entry_to_listing(feed.entries[4], feed.day, "cs")


def test_a_bad_set_is_refused() -> None:
    for bad in ("", "cs LG", "cs/../x", "cs.LG+", "x" * 600):
        with pytest.raises(ConfigError, match="not an arXiv archive or category list"):
            ListingSource(SETTINGS, bad)
    assert ListingSource(SETTINGS, "cs.LG+stat.ML").state_key.endswith(":cs.LG+stat.ML")


def test_the_source_reads_the_feed_over_http(replay: ReplayServer, sleep: RecordingSleep) -> None:
    replay.add("/atom/cs.LG+math.OC", Reply(200, feed_bytes(), ATOM_TYPE))
    source = ListingSource(SETTINGS, "cs.LG+math.OC", endpoint=f"{replay.url}/atom",
                           sleep=sleep)
    assert isinstance(source, Source)
    items = list(source.entries())
    entries = [i for i in items if isinstance(i, ListingEntry)]
    rejections = [i for i in items if isinstance(i, Rejection)]
    checkpoints = [i for i in items if isinstance(i, Checkpoint)]
    assert [(e.paper.arxiv_id, e.announce_type) for e in entries] == [
        ("2605.20639", "new"), ("2605.21846", "cross"), ("2601.18973", "replace-cross"),
        ("2203.01250", "replace")]
    assert {e.listed_on for e in entries} == {DAY}
    assert {e.feed for e in entries} == {"cs.LG+math.OC"}
    assert len(rejections) == 1 and "entry 5" in rejections[0].where
    assert "withdrawn" in rejections[0].reason
    assert items[-1] is checkpoints[0] and checkpoints[0].state.datestamp == "2026-05-22"
    assert checkpoints[0].state.done and source.total == 5
    assert replay.requests[0].path == "/atom/cs.LG+math.OC"
    assert "paperwire" in replay.requests[0].headers.get("User-Agent", "").lower()


def test_read_yields_papers_for_ingest(replay: ReplayServer, sleep: RecordingSleep) -> None:
    replay.add("/atom/cs.LG+math.OC", Reply(200, feed_bytes(), ATOM_TYPE))
    source = ListingSource(SETTINGS, "cs.LG+math.OC", endpoint=f"{replay.url}/atom",
                           sleep=sleep)
    papers, rejections, checkpoints = split(list(source.read(None)))
    assert all(isinstance(p, Paper) and p.source == "listing" for p in papers)
    assert [p.listed_on for p in papers] == [DAY, DAY, None, None]
    assert len(rejections) == 1 and len(checkpoints) == 1


def test_an_empty_feed_keeps_the_previous_day(replay: ReplayServer,
                                              sleep: RecordingSleep) -> None:
    replay.add("/atom/cs", Reply(200, feed_bytes("empty.atom.xml"), ATOM_TYPE))
    source = ListingSource(SETTINGS, "cs", endpoint=f"{replay.url}/atom", sleep=sleep)
    items = list(source.entries())
    assert len(items) == 1 and isinstance(items[0], Checkpoint)
    assert items[0].state.datestamp == "2026-05-23"


def test_a_throttled_then_good_feed_is_read_once(replay: ReplayServer,
                                                 sleep: RecordingSleep) -> None:
    replay.add("/atom/cs", Reply(503, "busy", [("Retry-After", "7")]),
               Reply(200, feed_bytes("empty.atom.xml"), ATOM_TYPE))
    source = ListingSource(SETTINGS, "cs", endpoint=f"{replay.url}/atom", sleep=sleep)
    assert len(list(source.entries())) == 1
    assert 7.0 in sleep.waits and len(replay.requests) == 2


def test_a_feed_that_is_not_atom_fails_with_the_url(replay: ReplayServer,
                                                   sleep: RecordingSleep) -> None:
    replay.add("/atom/cs", Reply(200, "<html>maintenance</html>", [("Content-Type",
                                                                    "text/html")]))
    source = ListingSource(SETTINGS, "cs", endpoint=f"{replay.url}/atom", sleep=sleep)
    with pytest.raises(HarvestError, match="/atom/cs.*not an Atom feed"):
        list(source.entries())
