"""Faults of the environment: damaged indexes, two indexers at once, a full disk, odd homes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, event

from paperwire.cli import cli
from paperwire.errors import Busy
from paperwire.index.embedder import Embedder, load_embedder, missing_packages
from paperwire.index.indexer import IndexPaths, update_index
from paperwire.index.minilm import MODEL
from tests.app import WebApp, make_app
from tests.helpers import paper
from tests.shared_data import arxiv_lines

TOPICS = ["graph neural networks for molecules", "protein folding with transformers",
          "quantum error correction codes", "galaxy rotation curves and dark matter",
          "speech recognition in noisy rooms", "reinforcement learning for robot arms"]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    if missing_packages("onnx-int8"):
        pytest.skip(f"default embedder not installed: {missing_packages('onnx-int8')}")
    return load_embedder("onnx-int8", threads=1)


@pytest.fixture
def site(tmp_path: Path, embedder: Embedder) -> Iterator[WebApp]:
    papers = [paper(f"2501.0000{n}", title=topic.capitalize(),
                    abstract=f"We study {topic}. Results on {topic} improve.")
              for n, topic in enumerate(TOPICS, start=1)]
    with make_app(tmp_path, papers=papers, embedder="onnx-int8") as built:
        update_index(built.store, IndexPaths.for_home(tmp_path), embedder, progress=False)
        yield built


def _index(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--home", str(home), "--no-progress", "index", *args])
    return result.exit_code, result.output


def test_a_damaged_keyword_index_degrades_search_and_index_rebuilds_it(site: WebApp) -> None:
    home = site.settings.home
    (home / "index" / "lexical" / "meta.json").write_text('{"ind')
    client = site.client()
    semantic = client.get("/search.json", params={"q": "folding proteins", "mode": "semantic"})
    assert semantic.status_code == 200
    assert semantic.json()["hits"][0]["arxiv_id"] == "2501.00002"
    hybrid = client.get("/search.json", params={"q": "folding proteins"}).json()
    assert hybrid["hits"] and any("search by keyword is unavailable" in n
                                  for n in hybrid["notes"])
    lexical = client.get("/search.json", params={"q": "folding", "mode": "lexical"})
    assert lexical.status_code == 503 and lexical.headers["Retry-After"] == "30"
    assert "keyword" in lexical.json()["error"] and str(home) not in lexical.text
    assert client.get("/search", params={"q": "folding", "mode": "lexical"}).status_code == 503
    assert client.get("/feeds/search.atom", params={"q": "folding"}).status_code == 200
    page = client.get("/papers/2501.00002.json")
    assert page.status_code == 200 and page.json()["similar"]

    code, output = _index(home, "--no-embed")
    assert code == 0, output
    assert "keyword index was damaged: rebuilt from the store" in output
    assert "6 added" in output
    again = client.get("/search.json", params={"q": "folding", "mode": "lexical"})
    assert again.status_code == 200 and again.json()["hits"][0]["arxiv_id"] == "2501.00002"


def test_a_damaged_vector_index_falls_back_to_keywords_and_index_rebuilds_it(
        site: WebApp) -> None:
    home = site.settings.home
    (home / "index" / f"vectors-{MODEL}.faiss").write_bytes(b"not a faiss file")
    client = site.client()
    hybrid = client.get("/search.json", params={"q": "folding proteins"}).json()
    assert hybrid["hits"][0]["arxiv_id"] == "2501.00002"
    assert any("search by meaning is unavailable" in n for n in hybrid["notes"])
    semantic = client.get("/search.json", params={"q": "folding", "mode": "semantic"})
    assert semantic.status_code == 503 and "meaning" in semantic.json()["error"]
    assert client.get("/papers/2501.00002").status_code == 200

    code, output = _index(home)
    assert code == 0, output
    assert "vector index was damaged: rebuilt from the store" in output
    semantic = client.get("/search.json", params={"q": "folding", "mode": "semantic"})
    assert semantic.status_code == 200 and semantic.json()["hits"]


def test_index_on_a_damaged_keyword_index_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    with make_app(tmp_path, papers=[paper("2501.00001")], index=True):
        pass
    (tmp_path / "index" / "lexical" / "meta.json").write_text("")
    code, output = _index(tmp_path, "--no-embed")
    assert code == 0, output
    assert "Traceback" not in output and "rebuilt from the store" in output
    found = CliRunner().invoke(cli, ["--home", str(tmp_path), "search", "paper", "--mode",
                                     "lexical", "--json"])
    assert found.exit_code == 0 and "2501.00001" in found.output


def test_a_second_index_run_waits_for_the_first(tmp_path: Path) -> None:
    from paperwire.index import writer_lock  # the lock `paperwire index` takes

    with make_app(tmp_path, papers=[paper("2501.00001")]):
        pass
    command = [sys.executable, "-m", "paperwire", "--home", str(tmp_path), "--no-progress",
               "index", "--no-embed"]
    with writer_lock(tmp_path / "index"):  # as a first run would hold it
        second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
        # It says why it waits (a run without the lock would finish without saying so)...
        assert "waiting for it to finish" in second.stderr.readline()  # type: ignore[union-attr]
        assert second.poll() is None  # ...and does wait, blocked on the lock
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert "1 added" in out


@pytest.mark.heavy
def test_a_full_disk_during_ingest_is_one_line_and_the_rerun_resumes(tmp_path: Path) -> None:
    """The disk fills at SQLite's own boundary: a page limit on every connection makes
    SQLite fail its writes with SQLITE_FULL ("database or disk is full"), as a full disk
    does, without filling a real one (mounting a small tmpfs needs privileges CI lacks)."""
    source = tmp_path / "papers.jsonl"
    source.write_text("".join(arxiv_lines(3000)), encoding="utf-8")
    home = tmp_path / "home"
    runner = CliRunner(env={"PAPERWIRE_BATCH_SIZE": "200"})
    assert runner.invoke(cli, ["--home", str(home), "init"]).exit_code == 0
    database = home / "paperwire.db"
    pages = database.stat().st_size // 4096 + 400  # room for a few batches, not all

    def limit(connection: Any, _record: Any) -> None:
        connection.execute(f"PRAGMA max_page_count={pages}")

    event.listen(Engine, "connect", limit)
    try:
        full = runner.invoke(cli, ["--home", str(home), "--no-progress", "ingest", "file",
                                   str(source)])
    finally:
        event.remove(Engine, "connect", limit)
    assert full.exit_code == 1, full.output
    lines = full.output.strip().splitlines()
    assert lines[-1] == (f"error: no space left on the disk holding {database.resolve()}; "
                         "nothing stored was lost: free some space, then run the same "
                         "command again to resume")
    assert "Traceback" not in full.output
    resumed = runner.invoke(cli, ["--home", str(home), "--no-progress", "ingest", "file",
                                  str(source)])
    assert resumed.exit_code == 0, resumed.output
    assert "resumed after line/record" in resumed.output
    stats = runner.invoke(cli, ["--home", str(home), "stats", "--json"])
    assert json.loads(stats.output)["papers"] == 3000


def test_a_home_that_is_not_a_directory_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--home", "/dev/null", "stats"])
    assert result.exit_code == 2
    assert result.output.strip() == ("error: the home /dev/null is not a directory (--home / "
                                     "PAPERWIRE_HOME names the folder paperwire keeps its "
                                     "data in)")


def test_a_database_url_into_a_missing_directory_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent" / "dir"
    result = CliRunner().invoke(cli, ["--home", str(tmp_path), "--database-url",
                                      f"sqlite:///{missing}/x.db", "stats"])
    assert result.exit_code == 2, result.output
    assert f"the directory {missing} does not exist" in result.output
    assert not missing.parent.exists()


def test_a_first_line_over_the_record_limit_is_said_to_be_too_long(tmp_path: Path) -> None:
    source = tmp_path / "big.jsonl"
    source.write_text('{"id": "' + "y" * 2_000 + '"}\n')
    result = CliRunner(env={"PAPERWIRE_MAX_RECORD_BYTES": "1000"}).invoke(
        cli, ["--home", str(tmp_path / "home"), "ingest", "file", str(source)])
    assert result.exit_code != 0
    assert "line 1: line is longer than 1,000 bytes" in result.output, result.output


def test_the_database_is_owner_only_and_init_tightens_an_old_one(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["--home", str(tmp_path), "init"]).exit_code == 0
    database = tmp_path / "paperwire.db"
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    database.chmod(0o644)
    again = runner.invoke(cli, ["--home", str(tmp_path), "init"])
    assert again.exit_code == 0 and "made it owner-only (0600)" in again.output
    assert stat.S_IMODE(database.stat().st_mode) == 0o600


def test_a_job_lock_leaves_no_file_behind(tmp_path: Path) -> None:
    with make_app(tmp_path) as built:
        with built.store.exclusive("digest:daily:2025-01-02"):
            assert list(tmp_path.glob("*.lock"))
            with pytest.raises(Busy), built.store.exclusive("digest:daily:2025-01-02"):
                pass
        assert not list(tmp_path.glob("*.lock"))
        with built.store.exclusive("digest:daily:2025-01-02"):  # and it can be taken again
            pass
