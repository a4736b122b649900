"""The writer of phase 2: what it keeps unstored is bounded, and nothing submitted is lost."""

import threading

import pytest

from matches.store import FetchOutcome
from syncjobs.concurrency import Writer


def outcome(n: int) -> FetchOutcome:
    return FetchOutcome.deferred(n, "test")


class BlockingStore:
    """A store that takes batches only when the test lets it."""

    def __init__(self) -> None:
        self.stored: list[int] = []
        self.entered = threading.Semaphore(0)
        self.go = threading.Semaphore(0)

    def __call__(self, batch: list[FetchOutcome]) -> None:
        self.entered.release()
        self.go.acquire()
        self.stored.extend(o.match_id for o in batch)


def test_at_most_two_batches_are_ever_answered_but_not_stored():
    store = BlockingStore()
    writer = Writer(store, batch_size=5, max_wait=60)
    submitted = []

    def submit_forever():
        for n in range(100):
            writer.submit(outcome(n))
            submitted.append(n)

    submitter = threading.Thread(target=submit_forever, daemon=True)
    submitter.start()
    store.entered.acquire()  # the first batch is being written, and stays so
    submitter.join(timeout=1)

    assert submitter.is_alive()  # the submitter waits for the writer...
    assert len(submitted) - len(store.stored) <= 2 * 5  # ...with at most two batches unstored
    for _ in range(100):
        store.go.release()
    submitter.join(timeout=5)
    writer.close()
    assert store.stored == list(range(100))  # in order, every one


def test_an_outcome_is_stored_within_max_wait_even_when_its_batch_does_not_fill():
    stored = threading.Event()
    writer = Writer(lambda batch: stored.set(), batch_size=25, max_wait=0.2)

    writer.submit(outcome(1))

    assert stored.wait(2)
    writer.close()


def test_a_storing_error_surfaces_in_the_submitting_thread():
    def broken(batch):
        raise RuntimeError("database gone")

    writer = Writer(broken, batch_size=1, max_wait=60)
    writer.submit(outcome(1))

    with pytest.raises(RuntimeError, match="database gone"):
        writer.flush()
