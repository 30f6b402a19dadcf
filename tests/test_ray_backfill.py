"""Embedding on a Ray cluster (`paperwire index --engine ray`) against the single-process path.

A real local Ray (two CPUs, no dashboard) and the real embedder on real abstracts: the Ray
path must store the very vectors the single-process path stores, embed only what is missing,
survive a killed embedding actor without losing or repeating a paper, and pick up after a
Ctrl-C. The small test runs by default (CI installs Ray through the test extra); the ones
over 2,000 papers are slow.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from paperwire.cli import cli
from paperwire.errors import ConfigError
from paperwire.index import embedder as emb
from paperwire.index.indexer import IndexReport, document_text, embed_missing
from paperwire.index.ray_backfill import BatchEmbedder, RayBackfill, RayOptions
from paperwire.settings import Settings
from paperwire.store import Store
from tests.app import load_corpus
from tests.shared_data import arxiv_lines

try:
    import ray
except ImportError:  # pragma: no cover - CI installs it (the test extra)
    ray = None

# A local Ray cluster runs in `make test` (CI), not in a bare `pytest`: see pyproject's markers.
pytestmark = [pytest.mark.heavy,
              pytest.mark.skipif(ray is None, reason="Ray is not installed: pip install "
                                 "'paperwire[cluster]' (the test extra includes it)")]
ROOT = Path(__file__).resolve().parents[1]
ACTOR = f"ray::MapWorker(MapBatches({BatchEmbedder.__name__}))"


@pytest.fixture(scope="module")
def embedder() -> emb.Embedder:
    missing = emb.missing_packages(emb.DEFAULT_RUNTIME)
    if missing:
        pytest.skip(f"the default embedder needs {', '.join(missing)}")
    return emb.load_embedder("auto", threads=2)


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    """A local Ray of two CPUs for the module's tests (RayBackfill joins it, and leaves it
    running)."""
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield
    ray.shutdown()


def corpus(home: Path, n: int, start: int = 0) -> Store:
    store = Store.open(Settings(home=home))
    load_corpus(store, home, lines=arxiv_lines(n, start=start))
    return store


def stored(store: Store, model: str) -> tuple[np.ndarray, bytes]:
    """(paper ids, the float16 bytes of their vectors) as the store holds them, in id order."""
    parts = list(store.iter_embeddings(model, emb.DIM))
    ids = np.concatenate([p[0] for p in parts])
    vectors = np.concatenate([p[1] for p in parts]).astype(np.float16)
    return ids, vectors.tobytes()


def same(got: tuple[np.ndarray, bytes], expected: tuple[np.ndarray, bytes]) -> bool:
    return np.array_equal(got[0], expected[0]) and got[1] == expected[1]


def embed_here(store: Store, embedder: emb.Embedder) -> tuple[np.ndarray, bytes]:
    embed_missing(store, embedder, IndexReport())
    return stored(store, embedder.model)


def test_ray_stores_the_single_process_vectors_and_only_what_is_missing(
        tmp_path: Path, embedder: emb.Embedder, cluster: None) -> None:
    n, first = 48, 10
    expected = embed_here(corpus(tmp_path / "one", n, start=500), embedder)
    store = corpus(tmp_path / "ray", n, start=500)
    rows = store.papers_to_embed(embedder.model, 0, first)  # a run that stopped early
    store.write_embeddings(embedder.model, [r[0] for r in rows], [r[1] for r in rows],
                           embedder.embed([document_text(r[2], r[3]) for r in rows]))
    step = RayBackfill(RayOptions(actors=2, batch_size=8))
    report = IndexReport()
    step(store, embedder, report)
    assert report.embedded == n - first
    assert store.count_to_embed(embedder.model) == 0
    ids, vectors = stored(store, embedder.model)
    assert np.array_equal(ids, expected[0])
    assert vectors == expected[1], "the Ray path stored other vectors than one process does"
    again = IndexReport()
    step(store, embedder, again)
    assert again.embedded == 0
    assert ray.is_initialized(), "a run must leave a cluster it joined running"


def test_index_command_embeds_on_ray(tmp_path: Path, embedder: emb.Embedder,
                                     cluster: None) -> None:
    store = corpus(tmp_path, 12, start=900)
    runner = CliRunner()
    env = {"PAPERWIRE_PROGRESS": "0", "PAPERWIRE_RAY_BATCH_SIZE": "4"}
    wrong = runner.invoke(cli, ["--home", str(tmp_path), "index", "--address", "auto"],
                          env=env)
    assert wrong.exit_code == 2
    assert "--address is for --engine ray" in wrong.output
    result = runner.invoke(cli, ["--home", str(tmp_path), "index", "--engine", "ray"],
                           env=env)
    assert result.exit_code == 0, result.output
    assert "embedded 12 papers" in result.output
    assert "vector index rebuilt, 12 papers" in result.output
    assert "Dataset" not in result.output, "Ray Data's own logs should stay quiet"
    assert store.count_to_embed(embedder.model) == 0


def test_bad_ray_options_are_refused() -> None:
    with pytest.raises(ConfigError, match="batch size"):
        RayOptions(batch_size=0)
    with pytest.raises(ConfigError, match="actors"):
        RayOptions(actors=100_000)


def test_without_ray_the_engine_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what an environment without Ray imports
    with pytest.raises(ConfigError, match=r"pip install 'paperwire\[cluster\]'"):
        RayBackfill(RayOptions())


# --- 2,000 papers -----------------------------------------------------------------------

N = 2_000


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, embedder: emb.Embedder
              ) -> tuple[np.ndarray, bytes]:
    """The single-process path's vectors of the first 2,000 papers of the sample."""
    return embed_here(corpus(tmp_path_factory.mktemp("one"), N), embedder)


@pytest.mark.slow
def test_ctrl_c_then_rerun_embeds_every_paper_once(
        tmp_path: Path, embedder: emb.Embedder, reference: tuple[np.ndarray, bytes]) -> None:
    store = corpus(tmp_path, N)
    env = dict(os.environ, PYTHONPATH=str(ROOT), PAPERWIRE_PROGRESS="0",
               PAPERWIRE_RAY_ADDRESS="local", PAPERWIRE_RAY_ACTORS="2",
               PAPERWIRE_RAY_BATCH_SIZE="50")
    command = [sys.executable, "-m", "paperwire", "--home", str(tmp_path), "index",
               "--engine", "ray"]
    run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
    written = _wait_for(lambda: store.count_embeddings(embedder.model) >= 200, run)
    assert written, "the first run ended before it had written 200 papers"
    run.send_signal(signal.SIGINT)
    output = run.communicate(timeout=120)[0]
    assert run.returncode == 130, output
    assert "interrupted" in output
    kept = store.count_embeddings(embedder.model)
    assert 200 <= kept < N
    rerun = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stdout
    assert f"embedded {N - kept:,} papers" in rerun.stdout
    assert same(stored(store, embedder.model), reference)


@pytest.mark.slow
def test_ray_vectors_equal_the_single_process_ones_on_2000_papers(
        tmp_path: Path, embedder: emb.Embedder, cluster: None,
        reference: tuple[np.ndarray, bytes]) -> None:
    store = corpus(tmp_path, N)
    report = IndexReport()
    RayBackfill(RayOptions(actors=2, batch_size=100))(store, embedder, report)
    assert report.embedded == N
    ids, vectors = stored(store, embedder.model)
    assert np.array_equal(ids, reference[0])
    assert vectors == reference[1], "not bit-identical to the single-process path"


@pytest.mark.slow
def test_a_killed_worker_loses_no_paper_and_repeats_none(
        tmp_path: Path, embedder: emb.Embedder, cluster: None,
        reference: tuple[np.ndarray, bytes]) -> None:
    store = corpus(tmp_path, N)
    killed: list[int] = []
    done = threading.Event()

    def kill_one_actor() -> None:
        while not done.is_set():
            if store.count_embeddings(embedder.model) >= 200:
                actors = _actor_processes()
                if actors:
                    actors[0].kill()
                    killed.append(actors[0].pid)
                    return
            time.sleep(0.1)

    killer = threading.Thread(target=kill_one_actor)
    killer.start()
    report = IndexReport()
    try:
        RayBackfill(RayOptions(actors=2, batch_size=50))(store, embedder, report)
    finally:
        done.set()
        killer.join()
    assert killed, "no embedding actor was killed while the run went on"
    assert store.count_embeddings(embedder.model) == N
    assert report.embedded == N, "a paper was written twice, or one was lost"
    assert same(stored(store, embedder.model), reference)


def _actor_processes() -> list[Any]:
    """The embedding actors of this process's Ray (its descendants, so no one else's)."""
    import psutil

    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.cmdline()[0].startswith(ACTOR):
                found.append(child)
        except (psutil.Error, IndexError):
            continue
    return found


def _wait_for(condition: Any, run: subprocess.Popen[str], timeout: float = 600) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and run.poll() is None:
        if condition():
            return True
        time.sleep(0.2)
    return False
