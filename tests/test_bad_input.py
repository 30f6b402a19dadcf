"""Bad input: each problem named with file and line, good records kept, nothing half-written."""

from __future__ import annotations

import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from paperwire.cli import cli
from paperwire.ingest import ingest
from paperwire.sources.files import JsonlSource
from paperwire.store import Store
from tests.shared_data import arxiv_lines, arxiv_records


def _good(i: int) -> dict[str, object]:
    return arxiv_records(1, start=i)[0]


def _bad_file(tmp_path: Path) -> tuple[Path, list[str]]:
    """A JSONL file of good records around one of each kind of bad line."""
    good = arxiv_records(6)
    huge = dict(good[0], id="2501.00001", summary="x" * (100 * 1024 * 1024))
    lines: list[bytes] = [
        json.dumps(good[0]).encode(),                                   # 1 good
        b'{"id": "2501.00002", "title": "broken',                     # 2 malformed JSON
        json.dumps(dict(good[1], title=None)).encode(),                 # 3 missing title
        json.dumps(dict(good[2], categories=["cs.XX"])).encode(),       # 4 unknown category
        json.dumps(huge).encode(),                                      # 5 100 MB abstract
        json.dumps(dict(good[3], title="nul\u0000byte")).encode(),      # 6 NUL byte
        json.dumps(good[4]).encode()[:40] + b"\xff\xfe" + b'"}',        # 7 invalid UTF-8
        b"[1, 2, 3]",                                                   # 8 not an object
        json.dumps(dict(good[5], id="not-an-id")).encode(),             # 9 bad id
        json.dumps(good[5]).encode(),                                   # 10 good
        json.dumps(good[1])[:60].encode(),                              # 11 truncated, no \n
    ]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join(lines))
    return path, [str(good[0]["id"]), str(good[5]["id"])]


def test_each_bad_line_is_named_and_good_records_are_kept(tmp_path: Path) -> None:
    path, good_ids = _bad_file(tmp_path)
    store = Store.from_url(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        report = ingest(JsonlSource(path), store, progress=False)
        messages = {r.where.split(" (")[0]: r.reason for r in report.rejections}
        assert sorted(store.get_papers(good_ids)) == sorted(good_ids)
        assert store.count_papers() == 2
    finally:
        store.close()
    expect = {
        2: "not valid JSON", 3: "missing required field 'title'",
        4: "unknown category 'cs.XX'", 5: "longer than 1,048,576 bytes",
        6: "contains a NUL byte", 7: "not valid UTF-8", 8: "expected a JSON object",
        9: "'not-an-id' is not an arXiv identifier", 11: "truncated",
    }
    assert report.rejected == len(expect)
    for line, text in expect.items():
        assert text in messages[f"bad.jsonl line {line}"], (line, messages)


def test_cli_reports_rejections_and_exits_non_zero(tmp_path: Path) -> None:
    path, _ = _bad_file(tmp_path)
    result = CliRunner().invoke(cli, ["--home", str(tmp_path / "home"), "ingest", "jsonl",
                                      str(path)])
    assert result.exit_code == 1
    assert "bad.jsonl line 4 (id " in result.output and "unknown category" in result.output
    assert "2 new" in result.output and "9 rejected" in result.output


def test_oversized_abstract_under_the_byte_cap_is_refused_by_length(tmp_path: Path) -> None:
    record = dict(_good(0), summary="word " * 10_000)  # 50 kB: under 1 MiB, over 20k chars
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps(record) + "\n")
    store = Store.from_url(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        report = ingest(JsonlSource(path), store, progress=False)
    finally:
        store.close()
    assert report.rejected == 1
    assert "abstract is 49,999 characters (limit 20,000)" in report.rejections[0].reason


def test_truncated_gzip_keeps_the_lines_before_the_damage(tmp_path: Path) -> None:
    whole = gzip.compress("".join(arxiv_lines(400)).encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(whole[: len(whole) * 2 // 3])
    store = Store.from_url(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        report = ingest(JsonlSource(path, batch_size=50), store, progress=False)
        kept = store.count_papers()
    finally:
        store.close()
    assert 100 < kept < 400
    assert any("truncated or corrupt" in r.reason for r in report.rejections)


def test_bad_setting_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--home", str(tmp_path), "stats"],
                                env={"PAPERWIRE_BATCH_SIZE": "lots"})
    assert result.exit_code == 2
    assert "PAPERWIRE_BATCH_SIZE='lots'" in result.output


@pytest.mark.heavy
def test_kill_9_mid_ingest_leaves_a_consistent_db_that_a_rerun_completes(
        tmp_path: Path) -> None:
    lines = arxiv_lines(20_000)
    path = tmp_path / "big.jsonl"
    path.write_text("".join(lines))
    expected = len({json.loads(line)["id"] for line in lines}) - sum(
        '"na"' in line for line in lines)  # the sample's one record filed under 'na'
    home = tmp_path / "home"
    env = dict(os.environ, PAPERWIRE_HOME=str(home), PAPERWIRE_BATCH_SIZE="500")
    command = [sys.executable, "-m", "paperwire", "ingest", "jsonl", str(path)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    db = home / "paperwire.db"
    deadline = time.monotonic() + 60
    committed = 0
    while time.monotonic() < deadline and proc.poll() is None:
        committed = _count(db, "SELECT count(*) FROM papers")
        if committed >= 2000:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 0 < committed < expected, "the kill should land mid-ingest"

    # Consistent after the kill: whole batches, every paper with its categories, and the
    # checkpoint pointing at the end of the last committed batch.
    papers = _count(db, "SELECT count(*) FROM papers")
    orphans = _count(db, "SELECT count(*) FROM papers WHERE id NOT IN "
                         "(SELECT paper_id FROM paper_categories)")
    position = _count(db, "SELECT position FROM harvest_state")
    assert orphans == 0
    assert position % 500 == 0 and papers >= position - 1  # ≤1 rejected line in the slice

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode in (0, 1), rerun.stderr
    assert f"resumed after line/record {position:,}" in rerun.stderr
    assert _count(db, "SELECT count(*) FROM papers") == expected


def _count(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            row = conn.execute(sql).fetchone()
    except sqlite3.OperationalError:
        return 0  # the schema is still being created
    return int(row[0]) if row and row[0] is not None else 0


@pytest.mark.heavy
def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path: Path) -> None:
    total = 20_000
    path = tmp_path / "big.jsonl"
    path.write_text("".join(arxiv_lines(total)))
    home = tmp_path / "home"
    db = home / "paperwire.db"
    env = dict(os.environ, PAPERWIRE_HOME=str(home), PAPERWIRE_BATCH_SIZE="500")
    proc = subprocess.Popen([sys.executable, "-m", "paperwire", "ingest", "jsonl", str(path)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if _count(db, "SELECT count(*) FROM papers") >= 1000:
            break
        time.sleep(0.02)
    # Hold the write lock, so the ingest waits at its next batch however fast the machine
    # is; the signal comes while it waits, and the lock is let go so it can see the signal.
    blocker = sqlite3.connect(db, timeout=30, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        assert proc.poll() is None, "the ingest ended before it could be interrupted"
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.2)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted; run the same command again to resume" in out
    assert "Traceback" not in err
    assert 1000 <= _count(db, "SELECT count(*) FROM papers") < total
