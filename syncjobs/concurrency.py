"""The writer of phase 2: it stores outcomes while the sources' lanes keep fetching.

Every outcome goes to the `Writer` the moment it is known; the writer stores
them a batch per short transaction on its own thread (with its own database
connection), so fetching never waits for the database, and a cancel stores
everything already answered before the job ends.
"""

import threading
import time
from collections.abc import Callable

from django.db import connection

from matches.store import FetchOutcome

BATCH_SIZE = 25
# An outcome waits at most this long for its batch to fill before it is stored anyway.
MAX_WAIT_SECONDS = 1.0


class Writer:
    """Stores outcomes in arrival order, a batch at a time, on its own thread.

    Outcomes wait for the writer while it stores the previous batch, but never more
    than one batch of them: at most two batches are ever answered but not stored
    (the one being written and the one waiting), which bounds what a kill -9 throws
    away. A storing error surfaces in the thread that submits or flushes next.
    """

    def __init__(
        self,
        store: Callable[[list[FetchOutcome]], None],
        *,
        batch_size: int = BATCH_SIZE,
        max_wait: float = MAX_WAIT_SECONDS,
    ) -> None:
        self.store = store
        self.batch_size = batch_size
        self.max_wait = max_wait
        self.error: BaseException | None = None
        self._pending: list[FetchOutcome] = []
        self._first_pending_at = 0.0
        self._busy = False
        self._closing = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="writer", daemon=True)
        self._thread.start()

    def submit(self, outcome: FetchOutcome) -> None:
        with self._cond:
            while len(self._pending) >= self.batch_size and self.error is None:
                self._cond.wait()
            self._raise_error()
            if not self._pending:
                self._first_pending_at = time.monotonic()
            self._pending.append(outcome)
            self._cond.notify_all()

    def flush(self) -> None:
        """Return once everything submitted so far is stored."""
        with self._cond:
            self._first_pending_at = 0.0  # due now
            self._cond.notify_all()
            while (self._pending or self._busy) and self.error is None:
                self._cond.wait()
            self._raise_error()

    def close(self) -> None:
        """Store what is left and stop the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join()
        self._raise_error()

    def _due(self) -> bool:
        if not self._pending:
            return False
        if self._closing or len(self._pending) >= self.batch_size:
            return True
        return time.monotonic() - self._first_pending_at >= self.max_wait

    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    while not self._due() and not (self._closing and not self._pending):
                        self._cond.wait(self.max_wait / 4)
                    if not self._pending:
                        return
                    batch, self._pending = self._pending, []
                    self._busy = True
                    self._cond.notify_all()
                try:
                    if self.error is None:
                        self.store(batch)
                except BaseException as exc:  # re-raised in the submitting thread
                    self.error = exc
                finally:
                    with self._cond:
                        self._busy = False
                        self._cond.notify_all()
        finally:
            connection.close()

    def _raise_error(self) -> None:
        if self.error is not None:
            raise self.error
