"""run_source: the one resume/progress/checkpoint loop behind ingest and the HF votes import."""

from __future__ import annotations

from collections.abc import Iterator

from paperwire.ingest import IngestReport, run_source
from paperwire.models import Checkpoint, HarvestState, Rejection
from paperwire.store import Store


class Numbers:
    """A stream of ints with a rejection and checkpoints, resumable by position."""

    name = "numbers"
    state_key = "numbers:test"
    total = 10

    def read(self, resume: HarvestState | None) -> Iterator[int | Rejection | Checkpoint]:
        start = resume.position if resume else 0
        for n in range(start, 10):
            yield n
            if n == 4:
                yield Rejection("line 5", "not a number")
            if n in (6, 9):
                yield Checkpoint(HarvestState(self.state_key, "numbers", position=n + 1,
                                              done=n == 9),
                                 progress=n + 1)


def test_batches_end_at_checkpoints_and_at_the_flush_limit(store: Store) -> None:
    batches: list[tuple[list[int], int | None]] = []

    def write(batch: list[int], state: HarvestState | None) -> None:
        batches.append((list(batch), state.position if state else None))
        if state is not None:
            store.save_state(state)

    report = run_source(Numbers(), store, IngestReport("numbers"), int, write, verb="test",
                        unit=" rec", progress=False, max_pending=3)
    assert batches == [([0, 1, 2], None), ([3, 4, 5], None), ([6], 7), ([7, 8, 9], None),
                       ([], 10)]
    assert report.rejected == 1 and report.rejections[0].where == "line 5"
    assert report.state is not None and report.state.position == 10
    assert not report.interrupted and report.resumed_from == 0


def test_a_rerun_resumes_from_the_stored_state(store: Store) -> None:
    store.save_state(HarvestState(Numbers.state_key, "numbers", position=7))
    seen: list[int] = []
    report = run_source(Numbers(), store, IngestReport("numbers"), int,
                        lambda batch, state: seen.extend(batch), verb="test", unit=" rec",
                        progress=False)
    assert report.resumed_from == 7 and seen == [7, 8, 9]
