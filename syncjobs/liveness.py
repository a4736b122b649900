"""A job's pulse: the heartbeat, live progress and cancel flag, and how a dead job is told.

A running job's worker keeps a `Pulse`: a thread that, about once a second
whatever the phases are doing (a paced call can take minutes), adds the
progress counted since its last beat to the job row, stamps the heartbeat,
renews the work claims the worker holds and checks the job's cancel flag (four
times a second): a worker stops as on a cancel once its job has ended too, so a
helper task never works on for a job its coordinator concluded. Waits and calls
go through `Pulse.sleep` and `Pulse.checkpoint`, which raise `Cancelled` within a
fraction of a second of a cancel.

A job whose worker is gone is ended where users look: `end_if_dead` runs on
every read of a job's status and in the periodic supervisor.
"""

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from dotasync import dbclock
from syncjobs import claims, locks, signals
from syncjobs.models import JobStatus, SyncJob

logger = logging.getLogger(__name__)

BEAT_SECONDS = 1.0
ESTIMATE_SECONDS = 5.0
CANCEL_CHECK_SECONDS = 0.25
SLEEP_SLICE_SECONDS = 0.1
NOTES_MAX = 500

INTERRUPTED = "Interrupted: the worker running this job stopped (crash, kill or restart)."
DATABASE_LOST = (
    "Interrupted: the worker lost its database connection (a database restart?); "
    "the next sync continues where it stopped."
)


def timed_out(seconds: float) -> str:
    return (
        f"Timed out after {seconds:.0f} s (SYNC_TASK_TIMEOUT): the task cluster stopped it; "
        "the next sync continues where it stopped."
    )


class Cancelled(Exception):
    """Raised inside a running job once its cancel flag is seen."""


@dataclass
class JobState:
    """What only the job's coordinator writes to its row (helper tasks leave it alone)."""

    phase: str = ""
    ids_found: int = 0
    ids_new: int = 0
    details_total: int = 0
    details_started_at: object = None
    eta_seconds: int | None = None
    eta_waiting: int = 0
    eta_resets_at: object = None


class Pulse:
    """One worker's link to its job row; safe to use from every thread of the worker."""

    def __init__(
        self,
        job: SyncJob,
        *,
        coordinator: bool,
        cancel_event: threading.Event | None = None,
        on_progress: Callable[[SyncJob], None] | None = None,
    ) -> None:
        self.job = job
        self.coordinator = coordinator
        self.state = JobState(
            phase=job.phase,
            ids_found=job.ids_found,
            ids_new=job.ids_new,
            details_total=job.details_total,
            details_started_at=job.details_started_at,
        )
        self.cancel_event = cancel_event or threading.Event()
        self.on_progress = on_progress
        # The coordinator's phase 2 sets this: how long the work left takes (syncjobs.quota).
        self.estimate: Callable[[], object] | None = None
        self._last_estimate = 0.0
        self.claimed: set[int] = set()
        self._counts: Counter[str] = Counter()
        self._notes: list[str] = []
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- used by the phases, from any thread

    def checkpoint(self) -> None:
        """Raise Cancelled once the job's cancel flag is set; called before every call."""
        if self.cancel_event.is_set():
            raise Cancelled

    def sleep(self, seconds: float) -> None:
        """A wait that ends with Cancelled within a fraction of a second of a cancel."""
        deadline = time.monotonic() + seconds
        while True:
            self.checkpoint()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.cancel_event.wait(min(SLEEP_SLICE_SECONDS, left))

    def count(self, key: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[key] += amount

    def note(self, text: str) -> None:
        """A sentence for the job's message (each is kept once)."""
        with self._lock:
            if text in self._notes:
                return
            self._notes.append(text)
        logger.warning("job %s: %s", self.job.pk, text)

    @property
    def notes(self) -> list[str]:
        with self._lock:
            return list(self._notes)

    def hold(self, match_ids: Iterable[int]) -> None:
        with self._lock:
            self.claimed.update(match_ids)

    def let_go(self, match_ids: Iterable[int]) -> None:
        with self._lock:
            self.claimed.difference_update(match_ids)

    # --- the beat

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"pulse-{self.job.pk}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the beat and write what is left (call from the worker's main thread)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.beat()

    def _run(self) -> None:
        last_beat = last_renewal = time.monotonic()
        # A claim is renewed well within its lease, even a lease shorter than a beat.
        renew_every = min(BEAT_SECONDS, settings.SYNC_CLAIM_LEASE / 4)
        try:
            while not self._stop.wait(min(CANCEL_CHECK_SECONDS, renew_every)):
                try:
                    if not self.cancel_event.is_set() and stop_requested(self.job.pk):
                        self.cancel_event.set()
                    if time.monotonic() - last_beat >= BEAT_SECONDS:
                        self.beat()
                        last_beat = last_renewal = time.monotonic()
                    elif time.monotonic() - last_renewal >= renew_every:
                        self.renew_claims()
                        last_renewal = time.monotonic()
                except Exception:
                    # A lost connection must not kill the beat: the next one reconnects.
                    logger.exception("job %s: heartbeat failed", self.job.pk)
                    connection.close()
        finally:
            connection.close()

    def beat(self) -> None:
        """Add the progress counted since the last beat to the job row; renew held claims."""
        if self.estimate is not None and time.monotonic() - self._last_estimate >= ESTIMATE_SECONDS:
            self._last_estimate = time.monotonic()
            guess = self.estimate()
            self.state.eta_seconds = guess.seconds
            self.state.eta_waiting = guess.waiting
            self.state.eta_resets_at = guess.resets_at
        with self._lock:
            counts, self._counts = self._counts, Counter()
            notes = list(self._notes)
            held = list(self.claimed)
        try:
            row = self._write(counts, notes)
        except BaseException:
            with self._lock:
                self._counts.update(counts)  # counted at the next beat instead
            raise
        if held:
            claims.renew(self.job, held)
        if row.cancel_requested_at is not None or row.status != JobStatus.RUNNING:
            self.cancel_event.set()
        if self.on_progress:
            self.on_progress(row)

    def renew_claims(self) -> None:
        with self._lock:
            held = list(self.claimed)
        if held:
            claims.renew(self.job, held)

    def _write(self, counts: Counter, notes: list[str]) -> SyncJob:
        with transaction.atomic():
            row = SyncJob.objects.select_for_update().get(pk=self.job.pk)
            fields = ["details_done", "details_ok", "details_failed", "details_deferred"]
            fields += ["sources", "message", "heartbeat_at"]
            if self.coordinator:
                for name, value in vars(self.state).items():
                    setattr(row, name, value)
                fields += list(vars(self.state))
            row.details_ok += counts["ok"]
            row.details_failed += counts["failed"]
            row.details_deferred += counts["deferred"]
            row.details_done = min(row.details_total, row.details_done + counts["done"])
            sources = dict(row.sources or {})
            for key, amount in counts.items():
                if key.startswith("source:"):
                    name = key.removeprefix("source:")
                    sources[name] = sources.get(name, 0) + amount
            row.sources = sources
            row.message = merge_notes(row.message, notes)
            row.heartbeat_at = Now()
            row.save(update_fields=fields)
        row.refresh_from_db(fields=["heartbeat_at"])
        row.account = self.job.account
        return row


def merge_notes(existing: str, notes: Iterable[str]) -> str:
    merged = existing
    for note in notes:
        if note not in merged:
            merged = f"{merged} {note}".strip()
    return merged[:NOTES_MAX]


def stop_requested(job_id: int) -> bool:
    """Whether the job's workers stop: its cancel flag is set, or it has ended (a helper task
    whose coordinator concluded, or a job a reader ended for dead)."""
    return (
        SyncJob.objects.filter(pk=job_id)
        .filter(Q(cancel_requested_at__isnull=False) | ~Q(status=JobStatus.RUNNING))
        .exists()
    )


# --- ending jobs ---------------------------------------------------------------------------


def finish(job: SyncJob, status: str, *, error: str = "", message: str | None = None) -> bool:
    """End a running job (a conditional update: a job ends once, whoever gets there first)."""
    changes = {"status": status, "finished_at": timezone.now(), "error_message": error[:500]}
    if message is not None:
        changes["message"] = message[:NOTES_MAX]
    ended = SyncJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(**changes)
    if ended:
        claims.free_claims(job)
        signals.job_ended.send(sender=SyncJob, job_id=job.pk)
    return bool(ended)


def worker_is_gone(job: SyncJob) -> bool:
    """Whether the worker of a running job is gone (killed, disconnected, timed out)."""
    free = locks.held_by_nobody(job.account.account_id)
    if free is not None:
        return free
    last_sign_of_life = job.heartbeat_at or job.started_at or job.created_at
    stale_before = dbclock.now() - timedelta(seconds=settings.SYNC_STALE_AFTER)
    return last_sign_of_life < stale_before


def end_if_dead(job: SyncJob) -> bool:
    """End `job` if it says running but its worker is gone; True when it was ended here.

    A job killed by the task cluster's timeout (its guard terminates a worker that
    does not stop in time) reads as timed out; any other death as interrupted.
    """
    if job.status != JobStatus.RUNNING or not worker_is_gone(job):
        return False
    ran = (dbclock.now() - job.started_at).total_seconds() if job.started_at else 0.0
    reason = timed_out(ran) if ran >= settings.SYNC_TASK_TIMEOUT else INTERRUPTED
    ended = finish(job, JobStatus.FAILED, error=reason)
    if ended:
        logger.warning("job %s ended: %s", job.pk, reason)
    job.refresh_from_db()
    return ended


def refresh(jobs: Iterable[SyncJob]) -> None:
    """Before showing jobs: end those that say running but whose worker is gone."""
    for job in jobs:
        end_if_dead(job)
