"""`paperwire index --engine ray`: embed the papers that lack a current embedding on a Ray cluster.

The same step as ``indexer.embed_missing``, spread over many processes and machines:

- the driver (the process running ``paperwire index``) reads the papers still to embed from
  the store, a window at a time, in id order, and builds their texts exactly as the
  single-process path does (``document_text``);
- each window becomes a Ray Data dataset of one block per batch, embedded by
  ``map_batches`` over an actor pool: each actor loads one embedder (the runtime the driver
  uses; the model ships inside the installed packages, nothing is downloaded) and keeps it
  for every batch it is given;
- the driver writes each batch back through the Store as it arrives, one transaction per
  batch, keyed by paper and content hash. Workers never open the database: they need the
  package, not the data directory or its credentials.

So an interrupted run (Ctrl-C, a lost driver) keeps every batch already written and loses no
more than the batches in flight; a rerun asks the store again and embeds only what is still
missing, and a paper is never written half. A worker that dies (killed, out of memory, its
node gone) is restarted by Ray and its batch retried, at most ``MAX_RESTARTS`` times each.

A dataset's actors start with it (a second or two each to build the model graph), so a
window holds many batches per actor (``WINDOW_BATCHES``), which keeps that start-up a few
per cent of a window's time.
"""

from __future__ import annotations

import importlib
import logging
import math
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from paperwire.errors import ConfigError
from paperwire.index.embedder import Embedder, load_embedder
from paperwire.index.indexer import IndexReport, document_text

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from paperwire.settings import Settings
    from paperwire.store import Store

INSTALL_HINT = "pip install 'paperwire[cluster]'"
MAX_ACTORS = 4_096
MAX_BATCH = 4_096
MAX_RESTARTS = 4  # per actor, and per batch whose actor died under it
WINDOW_BATCHES = 16  # batches per actor in one window (one dataset, one actor pool)
MAX_WINDOW = 200_000  # papers a window holds at most (their texts are in the driver's memory)
ACTOR_CPUS = 1  # each actor runs its model on one thread: many small actors, no shared pool


def import_ray() -> ModuleType:
    """The ``ray`` package with Ray Data, or a ConfigError saying how to install it."""
    try:
        ray = importlib.import_module("ray")
        importlib.import_module("ray.data")
    except ImportError as exc:
        raise ConfigError(f"--engine ray needs Ray with Ray Data ({exc.name} is missing): "
                          f"{INSTALL_HINT}") from None
    return ray


@dataclass(frozen=True)
class RayOptions:
    """Where the cluster is and how the work is cut up.

    ``address``: "local" starts a private Ray on this machine for the run; "auto" joins the
    cluster `ray start` runs here; "HOST:PORT" or "ray://HOST:10001" (Ray Client) another;
    "" does what ``ray.init()`` does (RAY_ADDRESS, else "auto" if there is one, else "local").
    ``actors``: embedding actors, 0 for one per CPU of the cluster. ``batch_size``: papers
    per batch, the unit of work and of writing back."""

    address: str = ""
    actors: int = 0
    batch_size: int = 256

    def __post_init__(self) -> None:
        if not 0 <= self.actors <= MAX_ACTORS:
            raise ConfigError(f"Ray actors: expected 0 to {MAX_ACTORS}, got {self.actors}")
        if not 1 <= self.batch_size <= MAX_BATCH:
            raise ConfigError(f"Ray batch size: expected 1 to {MAX_BATCH}, "
                              f"got {self.batch_size}")

    @classmethod
    def from_settings(cls, settings: Settings, address: str | None = None) -> RayOptions:
        return cls(address=settings.ray_address if address is None else address,
                   actors=settings.ray_actors, batch_size=settings.ray_batch_size)


class BatchEmbedder:
    """One embedding actor: loads its embedder once, then embeds the batches it is given."""

    def __init__(self, runtime: str, threads: int) -> None:
        self.embedder = load_embedder(runtime, threads=threads)

    def __call__(self, batch: dict[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
        vectors = self.embedder.embed([str(t) for t in batch["text"]])
        return {"id": batch["id"], "hash": batch["hash"], "vector": vectors}


class RayBackfill:
    """An embedding step for ``update_index`` (``embed=``) that runs on a Ray cluster."""

    def __init__(self, options: RayOptions) -> None:
        self.options = options
        self.ray = import_ray()

    def __call__(self, store: Store, embedder: Embedder, report: IndexReport, *,
                 show: bool = False) -> None:
        """Embed what lacks a current embedding with ``embedder``'s runtime on the cluster,
        writing batch by batch (counted in ``report``)."""
        total = store.count_to_embed(embedder.model)
        if not total:
            return
        started_here = self._connect()
        # Ray Data logs each dataset's plan and progress (and that its bars are off); the
        # run's own bar says what matters, in papers written. Errors still show.
        data_log = logging.getLogger("ray.data")
        level = data_log.level
        data_log.setLevel(logging.ERROR)
        try:
            actors = self._actors()
            window = min(MAX_WINDOW, actors * self.options.batch_size * WINDOW_BATCHES)
            started = time.perf_counter()
            with tqdm(total=total, desc=f"embed on Ray ({embedder.model}, {actors} actors)",
                      unit=" papers", disable=not show, file=sys.stderr) as bar:
                after = 0
                while rows := store.papers_to_embed(embedder.model, after, window):
                    for ids, hashes, vectors in self._embed(rows, embedder, actors):
                        store.write_embeddings(embedder.model, ids, hashes, vectors)
                        report.embedded += len(ids)
                        report.embed_seconds = time.perf_counter() - started
                        bar.update(len(ids))
                    after = rows[-1][0]
        finally:
            data_log.setLevel(level)
            if started_here:
                self.ray.shutdown()

    def _connect(self) -> bool:
        """Join (or start) the cluster unless this process already has; True if it started
        the connection here (and so closes it after the run)."""
        if self.ray.is_initialized():
            return False
        address = self.options.address or None
        try:
            self.ray.init(address=address, include_dashboard=False,
                          logging_level=logging.WARNING)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise ConfigError(f"cannot reach the Ray cluster at {address or 'RAY_ADDRESS'}: "
                              f"{exc}") from None
        return True

    def _actors(self) -> int:
        if self.options.actors:
            return self.options.actors
        cpus = int(self.ray.cluster_resources().get("CPU", 0))
        return max(1, min(MAX_ACTORS, cpus // ACTOR_CPUS))

    def _embed(self, rows: Sequence[tuple[int, str, str, str]], embedder: Embedder,
               actors: int) -> Iterator[tuple[list[int], list[str], NDArray[np.float32]]]:
        """(ids, hashes, vectors) of each batch of ``rows`` as the actors finish it, in no
        particular order."""
        size = self.options.batch_size
        blocks = math.ceil(len(rows) / size)
        items = [{"id": r[0], "hash": r[1], "text": document_text(r[2], r[3])} for r in rows]
        context = self.ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # the driver shows its own, in papers written
        context.print_on_execution_start = False
        with warnings.catch_warnings():
            # Ray 2.60 has no other way to bound them (its default: restart forever, so a
            # batch that kills every actor it meets would never end the run); the extra
            # pins Ray below 2.64, which drops these keywords.
            warnings.filterwarnings("ignore", message=".*ray_remote_args.* is deprecated")
            dataset = self.ray.data.from_items(items, override_num_blocks=blocks).map_batches(
                BatchEmbedder, batch_size=size, batch_format="numpy",
                compute=self.ray.data.ActorPoolStrategy(size=min(actors, blocks)),
                fn_constructor_kwargs={"runtime": embedder.name, "threads": ACTOR_CPUS},
                num_cpus=ACTOR_CPUS, max_restarts=MAX_RESTARTS,
                max_task_retries=MAX_RESTARTS)
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy",
                                          prefetch_batches=0):
            ids = [int(i) for i in batch["id"]]
            vectors = np.asarray(batch["vector"], dtype=np.float32)
            if vectors.shape != (len(ids), embedder.dim):
                raise ConfigError(f"a Ray worker returned vectors of shape {vectors.shape} "
                                  f"for {len(ids)} papers; expected {embedder.dim} columns "
                                  "(is the same paperwire installed on every node?)")
            yield ids, [str(h) for h in batch["hash"]], vectors
