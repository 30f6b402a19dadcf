"""`paperwire eval beir`: the product's search measured on a BEIR folder, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from paperwire.cli import cli
from tests.shared_data import SHARED_DATA, require

ENV = {"PAPERWIRE_PROGRESS": "0", "PAPERWIRE_EMBEDDER": "onnx-int8"}


def tiny_beir(root: Path) -> Path:
    docs = [
        ("d1", "Aspirin and heart attacks", "Daily low-dose aspirin lowers the risk of a "
                                            "first heart attack in older adults."),
        ("d2", "Coffee and sleep", "Caffeine taken late in the day delays sleep onset."),
        ("d3", "Exercise and memory", "Aerobic exercise improves memory in the elderly."),
    ]
    root.mkdir()
    (root / "corpus.jsonl").write_text("".join(
        json.dumps({"_id": i, "title": t, "text": x}) + "\n" for i, t, x in docs))
    (root / "queries.jsonl").write_text(
        json.dumps({"_id": "q1", "text": "does aspirin prevent heart attacks"}) + "\n"
        + json.dumps({"_id": "q2", "text": "caffeine delays sleep"}) + "\n")
    (root / "qrels").mkdir()
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n")
    return root


def test_eval_prints_the_four_numbers_as_json(tmp_path: Path) -> None:
    folder = tiny_beir(tmp_path / "beir")
    result = CliRunner().invoke(cli, ["--home", str(tmp_path / "h"), "eval", "beir",
                                      str(folder), "--mode", "lexical", "--json"], env=ENV)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {"ndcg@10", "recall@100", "mrr@10", "latency_ms_p50",
            "latency_ms_p95"} <= set(data)
    # Each query's one relevant document shares its key words: ranked first, perfect scores.
    assert data["ndcg@10"] == pytest.approx(1.0) and data["mrr@10"] == pytest.approx(1.0)


def test_eval_names_the_broken_file_and_line(tmp_path: Path) -> None:
    folder = tiny_beir(tmp_path / "beir")
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\tnope\t1\n")
    result = CliRunner().invoke(cli, ["--home", str(tmp_path / "h"), "eval", "beir",
                                      str(folder), "--mode", "lexical"], env=ENV)
    assert result.exit_code == 1
    assert "test.tsv line 3" in result.output and "'nope'" in result.output


@pytest.mark.slow
def test_scifact_meets_the_quality_targets(tmp_path: Path) -> None:
    scifact = require(SHARED_DATA / "beir" / "scifact")
    targets = {"lexical": 0.67, "semantic": 0.63, "hybrid": 0.72}
    for mode, target in targets.items():
        result = CliRunner().invoke(cli, ["--home", str(tmp_path), "eval", "beir",
                                          str(scifact), "--mode", mode, "--json"], env=ENV)
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["ndcg@10"] >= target, mode
