"""`paperwire ingest hf-daily`: papers and imported votes from Hugging Face daily papers."""

from __future__ import annotations

import gzip
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from paperwire.cli import cli
from paperwire.models import Checkpoint, Paper
from paperwire.signals import import_hf_daily
from paperwire.sources.hf_daily import HfDailySource
from paperwire.store import Store
from tests.helpers import paper
from tests.shared_data import ARXIV_75K, SHARED_DATA, require

HF_DAILY = SHARED_DATA / "hf-daily-papers" / "daily-papers-2024-2026.jsonl.gz"


def hf_line(arxiv_id: str, day: str = "2025-03-14", upvotes: int = 7, **paper: Any) -> str:
    record = {"id": arxiv_id, "title": f"HF title of {arxiv_id}",
              "summary": "An abstract\n  as HF gives it.", "upvotes": upvotes,
              "authors": [{"_id": "x", "name": "Ada Lovelace"}, {"name": "Alan Turing"}],
              "publishedAt": "2025-03-12T17:59:59.000Z"} | paper
    return json.dumps({"date": day, "item": {"paper": record, "numComments": 2}}) + "\n"


def arxiv_paper(arxiv_id: str) -> Paper:
    return paper(arxiv_id, title="The arXiv title", abstract="The arXiv abstract.",
                 categories=("cs.CL", "cs.LG"), published=None, listed_on=date(2025, 3, 13),
                 source="jsonl")


def run(store: Store, path: Path) -> Any:
    return import_hf_daily(HfDailySource(path, batch_size=2), store, progress=False)


def test_import_creates_papers_and_votes_and_is_idempotent(store: Store, tmp_path: Path
                                                            ) -> None:
    path = tmp_path / "daily.jsonl"
    path.write_text(hf_line("2503.00001", upvotes=7) + hf_line("2503.00002v2", upvotes=3)
                    + hf_line("2503.00001", day="2025-03-20", upvotes=9), encoding="utf-8")
    report = run(store, path)
    assert report.ok and report.written.inserted == 2 and report.votes == 3
    created = store.get_paper("2503.00001")
    assert created is not None
    assert (created.categories, created.primary_category, created.source) == ((), "", "hf-daily")
    assert created.abstract == "An abstract as HF gives it."
    assert created.authors == ("Ada Lovelace", "Alan Turing")
    assert store.get_paper("2503.00002") is not None  # the version suffix is split off
    states = store.vote_states(["2503.00001", "2503.00002"])
    assert (states["2503.00001"].external, states["2503.00002"].external) == (9, 3)
    # Featured twice: the earliest day counts, the later line's count wins.
    week = store.trending_candidates(date(2025, 3, 10), date(2025, 3, 16),
                                     datetime(2025, 3, 17))
    assert {c.arxiv_id: c.featured_on for c in week}["2503.00001"] == date(2025, 3, 14)

    path.write_text(hf_line("2503.00001", upvotes=11) + hf_line("2503.00002v2", upvotes=3),
                    encoding="utf-8")  # a newer file: counts replaced, nothing doubled
    again = run(store, path)
    assert again.written.inserted == 0 and store.count_papers() == 2
    assert store.vote_states(["2503.00001"])["2503.00001"].external == 11


def test_arxiv_metadata_wins_both_ways(store: Store, tmp_path: Path) -> None:
    store.write_batch([arxiv_paper("2503.00001")])
    path = tmp_path / "daily.jsonl"
    path.write_text(hf_line("2503.00001") + hf_line("2503.00002"), encoding="utf-8")
    report = run(store, path)
    assert report.written.inserted == 1 and report.votes == 2
    kept = store.get_paper("2503.00001")
    assert kept is not None and kept.title == "The arXiv title" and kept.source == "jsonl"
    assert kept.categories == ("cs.CL", "cs.LG")
    assert store.vote_states(["2503.00001"])["2503.00001"].external == 7
    assert store.stats()["sources"] == {"hf-daily": 2, "jsonl": 1}  # provenance of both
    # An arXiv source later writes the paper hf-daily created: its metadata replaces HF's,
    # whatever the versions' order says.
    store.write_batch([arxiv_paper("2503.00002")])
    upgraded = store.get_paper("2503.00002")
    assert upgraded is not None and upgraded.title == "The arXiv title"
    assert (upgraded.primary_category, upgraded.source) == ("cs.CL", "jsonl")
    run(store, path)  # and importing HF again leaves it so
    again = store.get_paper("2503.00002")
    assert again is not None and again.title == "The arXiv title"


def test_bad_lines_are_named_and_good_ones_kept(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "daily.jsonl.gz"
    lines = [hf_line("2503.00001"), "{not json\n", hf_line("not-an-id"),
             hf_line("2503.00003", upvotes=-2), json.dumps({"date": "2025-03-14"}) + "\n",
             hf_line("2503.00004", day="14/03/2025"), hf_line("2503.00005", title=""),
             hf_line("2503.00006", authors="Ada"), hf_line("2503.00007")]
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.writelines(lines)
    report = run(store, path)
    where = [r.where for r in report.rejections]
    assert report.rejected == 7 and report.written.inserted == 2
    assert where[0] == "daily.jsonl.gz line 2"
    assert where[1].startswith("daily.jsonl.gz line 3 (id not-an-id)")
    reasons = " | ".join(str(r) for r in report.rejections)
    for expected in ("not valid JSON", "not an arXiv identifier", "upvotes", "item.paper",
                     "date", "title", "authors"):
        assert expected in reasons


def test_cli_imports_and_reports(tmp_path: Path) -> None:
    path = tmp_path / "daily.jsonl"
    path.write_text(hf_line("2503.00001") + "[]\n", encoding="utf-8")
    runner = CliRunner()
    args = ["--home", str(tmp_path / "home"), "--no-progress", "ingest", "hf-daily", str(path)]
    result = runner.invoke(cli, args, env={"PAPERWIRE_INDEX_ON_INGEST": "0"})
    assert result.exit_code == 1, result.output
    assert "daily.jsonl line 2: expected a JSON object" in result.output
    assert "1 new" in result.output and "1 imported votes written" in result.output
    shown = runner.invoke(cli, ["--home", str(tmp_path / "home"), "trending", "--date",
                                "2025-03-14", "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output.splitlines()[0])["external"] == 7


@pytest.mark.slow
def test_the_real_file_with_the_arxiv_sample(tmp_path: Path) -> None:
    from paperwire.ingest import ingest
    from paperwire.sources.files import JsonlSource

    with Store.from_url(f"sqlite:///{tmp_path / 'p.db'}") as store:
        ingest(JsonlSource(require(ARXIV_75K)), store, progress=False)
        arxiv_count = store.count_papers()
        report = import_hf_daily(HfDailySource(require(HF_DAILY)), store, progress=False)
        assert report.ok and report.rejected == 0
        overlap = report.written.unchanged
        assert 4_000 < overlap < 4_600  # HF papers the arXiv sample already holds
        assert store.count_papers() == arxiv_count + 9_877 - overlap
        again = import_hf_daily(HfDailySource(HF_DAILY), store, progress=False)
        assert again.written.inserted == again.written.updated == 0
        assert store.stats()["sources"]["hf-daily"] == 9_877


def test_an_interrupted_import_resumes_after_its_last_batch(store: Store, tmp_path: Path
                                                            ) -> None:
    path = tmp_path / "daily.jsonl"
    path.write_text("".join(hf_line(f"2503.0000{i}") for i in range(1, 6)), encoding="utf-8")
    source = HfDailySource(path, batch_size=2)
    # What a run stopped after its second batch leaves behind: lines 1–4 committed.
    checkpoints = (i for i in source.read(None) if isinstance(i, Checkpoint))
    next(checkpoints)
    state = next(checkpoints).state
    assert state.position == 4 and not state.done
    store.save_state(state)
    report = import_hf_daily(source, store, progress=False)
    assert report.resumed_from == 4 and report.written.inserted == 1
    assert store.get_paper("2503.00005") is not None and store.get_paper("2503.00001") is None
