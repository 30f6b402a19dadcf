"""The harvest commands end to end: CLI → real HTTP server on 127.0.0.1 → SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from paperwire.cli import cli
from tests.replay_server import (  # noqa: F401  (replay_fixture provides the "replay" fixture)
    ReplayServer,
    Reply,
    replay_fixture,
)
from tests.shared_data import SHARED_DATA, require

OAI_PAGE = SHARED_DATA / "arxiv" / "fixtures" / "oai-pmh" / "arxiv-format" / \
    "arxiv-physics-hep-th.xml"
ATOM = SHARED_DATA / "arxiv" / "fixtures" / "api-atom" / "atom" / \
    "id_1605.08386_s0_m100_199195aa31ad.atom.xml"
LISTING_EMPTY = Path(__file__).resolve().parent / "fixtures" / "listing" / "empty.atom.xml"
FAST = {"PAPERWIRE_REQUEST_DELAY": "0", "PAPERWIRE_PROGRESS": "0"}


def run(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--home", str(home), *args], env=FAST)
    return result.exit_code, result.output


def test_oai_harvest_then_incremental_rerun(tmp_path: Path, replay: ReplayServer) -> None:
    page = require(OAI_PAGE).read_bytes()
    replay.add(lambda seen: True, Reply(200, page, [("Content-Type", "text/xml")]))
    endpoint = f"{replay.url}/oai2"
    code, out = run(tmp_path, "ingest", "oai", "--set", "physics:hep-th", "--from",
                    "2017-01-01", "--until", "2017-01-31", "--endpoint", endpoint)
    assert code == 0, out
    records = page.count(b"<record>")
    assert f"{records} new" in out
    first = replay.requests[0]
    assert (first.param("verb"), first.param("set"), first.param("from")) == (
        "ListRecords", "physics:hep-th", "2017-01-01")

    # Without --from, the next harvest starts where the last one ended (its --until).
    code, out = run(tmp_path, "ingest", "oai", "--set", "physics:hep-th", "--endpoint",
                    endpoint)
    assert code == 0, out
    assert replay.requests[-1].param("from") == "2017-01-31"
    assert f"{records} unchanged" in out

    code, out = run(tmp_path, "stats", "--json")
    stats = json.loads(out)
    assert stats["papers"] == records and stats["sources"] == {"oai": records}



def test_the_worker_harvests_a_few_days_first_then_incrementally(tmp_path: Path,
                                                                replay: ReplayServer) -> None:
    page = require(OAI_PAGE).read_bytes()
    # After OAI-PMH the worker reads the set's announcement feed (a day without one here).
    replay.add(lambda seen: seen.path == "/atom/hep-th",
               Reply(200, LISTING_EMPTY.read_bytes(), [("Content-Type", "application/atom+xml")]))
    replay.add(lambda seen: True, Reply(200, page, [("Content-Type", "text/xml")]))
    env = {**FAST, "PAPERWIRE_ARXIV_OAI_URL": f"{replay.url}/oai2",
           "PAPERWIRE_ARXIV_LISTING_URL": f"{replay.url}/atom",
           "PAPERWIRE_WORKER_HARVEST_SETS": "physics:hep-th", "PAPERWIRE_EMBEDDER": "none",
           "PAPERWIRE_WORKER_FIRST_HARVEST_DAYS": "3"}

    def worker(at: str) -> str:
        result = CliRunner().invoke(cli, ["--home", str(tmp_path), "worker", "--once", "--at",
                                          at], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    out = worker("2025-03-25T07:00")  # a Tuesday, after the 06:00 slot
    assert "harvest 2025-03-25T06:00: done" in out and "index 2025-03-25T06:00: done" in out
    assert "0 new listing entries (feed hep-th)" in out
    # The first harvest starts three days back, never at the beginning of the set.
    assert replay.requests[0].param("from") == "2025-03-22"
    assert replay.requests[0].param("set") == "physics:hep-th"
    asked = len(replay.requests)
    out = worker("2025-03-26T07:00")
    # The next day's continues from where that one ended: the day the server said it
    # answered the first (the replayed page's responseDate, 2017-12-14), not 3 days back.
    assert replay.requests[asked].param("from") == "2017-12-14"
    code, stats = run(tmp_path, "stats", "--json")
    assert json.loads(stats)["papers"] == page.count(b"<record>")

def test_ids_lookup_reports_invalid_id_and_keeps_the_rest(tmp_path: Path,
                                                          replay: ReplayServer) -> None:
    replay.add(lambda seen: True,
               Reply(200, require(ATOM).read_bytes(), [("Content-Type", "application/atom+xml")]))
    code, out = run(tmp_path, "ingest", "ids", "1605.08386", "not-an-id", "--endpoint",
                    f"{replay.url}/api/query")
    assert code == 1
    assert "'not-an-id' is not an arXiv identifier" in out
    assert "1 new" in out
    assert [r.param("id_list") for r in replay.requests] == ["1605.08386"]
