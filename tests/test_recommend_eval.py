"""`paperwire eval recommend`: the folder format, the metrics, and the command end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from paperwire.cli import cli
from paperwire.errors import SourceError
from paperwire.evaluate import RANKING_METRICS, evaluate
from paperwire.recommend.dataset import load_folder
from tests.recommend_data import paper_id, write_folder

SIX = {"paperwire", "arxiv-sanity-svm", "zotero-similarity", "scholar-inbox-logreg",
       "trending", "newest"}
ROWS = SIX | {"paperwire-content"}  # paperwire's linear model without the fusion


def test_ranking_metrics_on_hand_checked_runs() -> None:
    run = {"q1": {"a": 3.0, "b": 2.0, "c": 1.0},  # relevant b at rank 2
           "q2": {"x": 2.0, "y": 1.0}}  # relevant z never retrieved
    qrels = {"q1": {"b": 1}, "q2": {"z": 1}, "q3": {"a": 1}}  # q3 unanswered: a miss
    got = evaluate(run, qrels, RANKING_METRICS)
    assert got["mrr@10"] == pytest.approx(0.5 / 3)
    assert got["hit@10"] == pytest.approx(1 / 3)
    assert got["recall@50"] == pytest.approx(1 / 3)
    assert got["ndcg@10"] == pytest.approx((1 / 1.5849625007) / 3, rel=1e-6)
    with pytest.raises(ValueError, match="unknown metrics"):
        evaluate(run, qrels, ("p@3",))


def test_folder_errors_name_the_file_and_line(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "set")
    lines = (root / "tests.jsonl").read_text().splitlines()
    bad = json.loads(lines[1])
    bad["relevant"] = ["2501.99999"]
    lines[1] = json.dumps(bad)
    (root / "tests.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(SourceError, match=r"tests.jsonl line 2 relevant: '2501.99999' is "
                                          "not in corpus.jsonl"):
        load_folder(root)
    (root / "profiles.jsonl").unlink()
    with pytest.raises(SourceError, match="profiles.jsonl: missing"):
        load_folder(root)


def test_profile_holds_only_events_before_the_day(tmp_path: Path) -> None:
    data = load_folder(write_folder(tmp_path / "set"))
    first = next(t for t in data.tests if t.user == "gina")
    kept = {s.arxiv_id for s in data.profile("gina", first.start).positives}
    assert kept == {paper_id("graphs", n) for n in range(8)}
    early = data.profile("gina", data.positives["gina"][3].at)
    assert {s.arxiv_id for s in early.positives} == {paper_id("graphs", n) for n in range(3)}
    assert not data.profile("late", first.start).positives


def test_eval_recommend_json_end_to_end(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "set")
    result = CliRunner().invoke(cli, ["--home", str(tmp_path / "home"), "eval", "recommend",
                                      str(root), "--embedder", "none", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output.strip().splitlines()[-1])
    assert set(out) == {"users", "tests", "rankers", "train_ms_p50"}
    assert (out["users"], out["tests"]) == (3, 9)
    assert set(out["rankers"]) == ROWS
    details = json.loads(result.output.strip().splitlines()[-2])
    assert details["fusion"]["readers"] == 2 and details["fusion"]["weights"]["content"] > 0
    for row in out["rankers"].values():
        assert set(row) == set(RANKING_METRICS)
    # "late" has no positive before any test day: 3 of 9 tests are misses for everyone.
    assert all(row["hit@10"] <= 6 / 9 + 1e-9 for row in out["rankers"].values())
    assert out["rankers"]["paperwire"]["mrr@10"] == pytest.approx(6 / 9)
    assert out["rankers"]["arxiv-sanity-svm"]["mrr@10"] == pytest.approx(6 / 9)
    # Without vectors the embedding-only anchors have nothing to rank with.
    assert out["rankers"]["zotero-similarity"]["hit@10"] == 0
    # Votes rank robots, then graphs, then speech, whoever reads.
    assert out["rankers"]["trending"]["mrr@10"] == pytest.approx((3 / 2 + 3 / 3) / 9)
    assert out["train_ms_p50"] > 0


def test_eval_recommend_rejects_a_broken_folder(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "set")
    (root / "tests.jsonl").write_text('{"user": "gina", "day": "soon"}\n')
    result = CliRunner().invoke(cli, ["--home", str(tmp_path / "home"), "eval", "recommend",
                                      str(root), "--embedder", "none"])
    assert result.exit_code != 0
    assert "tests.jsonl line 1: 'day' must be YYYY-MM-DD" in result.output
