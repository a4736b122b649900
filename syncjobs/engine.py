"""The two-phase sync engine's entry points: start, cancel and run a job.

Phase 1 (syncjobs.listing) lists the account's match IDs and stores each page
as stubs at once, so no ID is ever lost and the total is known when it ends;
phase 2 (syncjobs.details) fetches details stub by stub and records failures
for a later retry instead of dropping them. A job runs in one worker
(syncjobs.runner), keeps a pulse (syncjobs.liveness) and claims its phase-2
work in the database (syncjobs.claims), so everything it does is resumable from
the database alone.

Web views, the API, management commands and django-q tasks are thin adapters
over these functions.
"""

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce, Now
from django.utils import timezone

from dotasync import dbclock
from matches.models import Match, SteamAccount
from matches.upstream.client import UpstreamClient
from syncjobs import dispatch, liveness, locks
from syncjobs.context import JobContext
from syncjobs.details import DetailPhase
from syncjobs.dispatch import EnqueueFailed
from syncjobs.liveness import Cancelled
from syncjobs.models import ACTIVE_STATUSES, JobPhase, JobStatus, JobType, SyncJob
from syncjobs.runner import JobRunner

logger = logging.getLogger(__name__)

# A task that finds its account locked waits this long for the lock before giving up.
LOCK_WAIT_SECONDS = 5.0

__all__ = [
    "AlreadyRunning",
    "EnqueueFailed",
    "NotCancellable",
    "TooManyJobs",
    "create_job",
    "request_cancel",
    "reset_failed",
    "run_details_part",
    "run_job",
    "start_sync",
]


class AlreadyRunning(Exception):
    def __init__(self, job: SyncJob) -> None:
        super().__init__(
            f"A sync is already {job.status} for account {job.account.account_id} (job #{job.pk})."
        )
        self.job = job


class NotCancellable(Exception):
    pass


class TooManyJobs(Exception):
    """The account's owner already has MAX_ACTIVE_JOBS_PER_USER syncs waiting or running."""

    def __init__(self, active: int) -> None:
        super().__init__(
            f"You already have {active} syncs waiting or running, the most one user may have "
            "at once (MAX_ACTIVE_JOBS_PER_USER): wait for one to end, or cancel one, then start "
            "this one."
        )
        self.active = active


def create_job(
    account: SteamAccount,
    job_type: str,
    requested_by=None,
    *,
    force: bool = False,
    reset_failed: bool = False,
    _retried: bool = False,
) -> SyncJob:
    """Create a pending job, or raise AlreadyRunning while the account has a live one, or
    TooManyJobs while the account's owner has MAX_ACTIVE_JOBS_PER_USER live ones.

    A running job whose worker is gone is ended first, and so is a pending job that
    no worker took within SYNC_PENDING_GRACE: neither blocks the account.
    `reset_failed` (a backfill) first gives permanently failed matches their attempts back.
    """
    if job_type not in JobType.values:
        raise ValueError(f"unknown job type {job_type!r}; use one of {JobType.values}")
    for active in SyncJob.objects.active().filter(account=account).select_related("account"):
        liveness.end_if_dead(active)
        end_if_never_started(active, replaced=True)
    try:
        with transaction.atomic():
            _refuse_beyond_owners_share(account)
            if reset_failed:
                _reset_failed(account)
            return SyncJob.objects.create(
                account=account,
                job_type=job_type,
                requested_by=requested_by if getattr(requested_by, "pk", None) else None,
                force=force,
                refresh_since=_resumed_refresh_time(account) if job_type == JobType.FULL else None,
            )
    except IntegrityError:
        active = SyncJob.objects.active().filter(account=account).first()
        if active is None and not _retried:  # it finished in the meantime: try once more
            return create_job(
                account,
                job_type,
                requested_by,
                force=force,
                reset_failed=reset_failed,
                _retried=True,
            )
        if active is None:
            raise  # not the one-active-job constraint (e.g. the account was just deleted)
        raise AlreadyRunning(active) from None


def _refuse_beyond_owners_share(account: SteamAccount) -> None:
    """Raise TooManyJobs when the account's owner already has MAX_ACTIVE_JOBS_PER_USER jobs
    waiting or running. An account nobody owns (a command's) has no owner to limit.

    The owner's row is locked until the caller's transaction ends, so two starts of the same
    user's accounts count one after the other and cannot both pass; other users' starts do
    not wait for it. A running job whose worker is gone does not count.
    """
    limit = settings.MAX_ACTIVE_JOBS_PER_USER
    if not limit:
        return
    # Read afresh: the account may have changed hands (a Steam sign-in) since it was loaded.
    owner_id = SteamAccount.objects.filter(pk=account.pk).values_list("owner_id", flat=True).first()
    if owner_id is None:
        return
    get_user_model().objects.select_for_update().filter(pk=owner_id).first()
    active = list(SyncJob.objects.active().for_user(owner_id).select_related("account"))
    live = [job for job in active if not liveness.end_if_dead(job)]
    # A second start of an account that is syncing is told so (AlreadyRunning), not this.
    if len(live) >= limit and all(job.account_id != account.pk for job in live):
        raise TooManyJobs(len(live))


def _resumed_refresh_time(account: SteamAccount):
    """A full sync after one that did not complete (interrupted, timed out, cancelled, or
    failed for any reason, a lost database connection too) continues it: what that one
    stored already stays fresh, and is not paid for twice. The resume point is the
    account's newest full sync, whatever ran since: the hourly incremental syncs in
    between never reset it, so the older matches are reached in the end."""
    previous = (
        SyncJob.objects.filter(account=account, job_type=JobType.FULL)
        .order_by("-created_at", "-pk")
        .first()
    )
    if previous is None or previous.status not in (JobStatus.CANCELLED, JobStatus.FAILED):
        return None
    return previous.refresh_since or previous.started_at


def start_sync(
    account: SteamAccount,
    job_type: str,
    requested_by=None,
    *,
    force: bool = False,
    reset_failed: bool = False,
) -> SyncJob:
    """Create a job and hand it to the task cluster once the transaction commits.

    Raises EnqueueFailed (and leaves the job failed, not pending) when the broker
    refuses the task; outside a transaction that happens before this returns.
    """
    job = create_job(account, job_type, requested_by, force=force, reset_failed=reset_failed)
    transaction.on_commit(lambda: _enqueue_or_fail(job), robust=False)
    return job


def _enqueue_or_fail(job: SyncJob) -> None:
    try:
        dispatch.enqueue(job)
    except EnqueueFailed as exc:
        now = timezone.now()
        SyncJob.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(
            status=JobStatus.FAILED, finished_at=now, error_message=str(exc)[:500]
        )
        raise


def end_if_never_started(job: SyncJob, *, replaced: bool = False) -> bool:
    """End a pending job that no worker took within SYNC_PENDING_GRACE and whose task is
    not waiting in the broker (lost with a killed cluster, or never handed over)."""
    if job.status != JobStatus.PENDING:
        return False
    since = job.enqueued_at or job.created_at
    if since > dbclock.now() - timedelta(seconds=settings.SYNC_PENDING_GRACE):
        return False
    if dispatch.task_waiting(job):
        return False
    why = "replaced by a new sync" if replaced else "start a new sync"
    ended = SyncJob.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(
        status=JobStatus.FAILED,
        finished_at=timezone.now(),
        error_message=f"Never started: no worker took its task (it was lost); {why}.",
    )
    job.refresh_from_db()
    return bool(ended)


def request_cancel(job: SyncJob) -> SyncJob:
    """Cancel a pending job, or a running one whose worker is gone, at once; ask a live
    running one to stop (it does within a second)."""
    now = timezone.now()
    cancelled = SyncJob.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(
        status=JobStatus.CANCELLED,
        cancel_requested_at=now,
        finished_at=now,
        # A job between two tasks (handed over) keeps its notes.
        message=Case(
            When(handovers=0, then=Value("Cancelled before it started.")), default=F("message")
        ),
    )
    if not cancelled:
        flagged = SyncJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
            cancel_requested_at=now
        )
        if not flagged:
            job.refresh_from_db()
            raise NotCancellable(
                f"Cannot cancel job #{job.pk}: it has already {job.get_status_display().lower()}."
            )
        job.refresh_from_db()
        if liveness.worker_is_gone(job):
            liveness.finish(
                job,
                JobStatus.CANCELLED,
                message=liveness.merge_notes(job.message, ["Its worker had already stopped."]),
            )
    job.refresh_from_db()
    return job


def reset_failed(account: SteamAccount) -> int:
    """Give the account's permanently failed matches their attempts back (they become
    stubs again); returns how many. For when the failures were our own configuration's."""
    with transaction.atomic():
        return _reset_failed(account)


def _reset_failed(account: SteamAccount) -> int:
    return Match.objects.for_account(account).give_attempts_back(settings.SYNC_MAX_ATTEMPTS)


def run_job(
    job_id: int,
    *,
    client: UpstreamClient | None = None,
    cancel_event: threading.Event | None = None,
    on_progress: Callable[[SyncJob], None] | None = None,
    time_limit: float | None = None,
) -> SyncJob:
    """Run a job to its end in this process. Safe to call twice for one job.

    A redelivered task for a job that has ended, or that a live worker runs, returns
    without doing anything; one for a job whose worker died ends it as interrupted.
    With a `time_limit` (a task's), phase 2 still running after that many seconds is
    handed to a fresh task, which continues the same job.
    A job runs on several threads with connections of their own, so never inside a
    transaction: they could not see what it holds.
    """
    if connection.in_atomic_block:
        raise RuntimeError("run a sync job outside any transaction")
    deadline = time.monotonic() + time_limit if time_limit is not None else None
    job, handed_over = _run_locked(job_id, client, cancel_event, on_progress, deadline)
    if handed_over:  # once the account's lock is let go, which the fresh task takes
        dispatch.enqueue_continuation(job)
        job.refresh_from_db()
    return job


def _run_locked(job_id, client, cancel_event, on_progress, deadline) -> tuple[SyncJob, bool]:
    """run_job's work under the account's lock: (the job, whether it was handed over)."""
    job = SyncJob.objects.select_related("account").get(pk=job_id)
    if job.status not in ACTIVE_STATUSES:
        logger.info("job %s has already %s; nothing to do", job.pk, job.status)
        return job, False
    account_id = job.account.account_id
    if not _acquire_account(account_id, wait=job.status == JobStatus.PENDING):
        logger.warning("job %s: another worker holds account %s", job.pk, account_id)
        job.refresh_from_db()
        return job, False
    try:
        if job.status == JobStatus.RUNNING:
            # Holding the account's lock proves the job's own worker is gone (PostgreSQL).
            if locks.supported() or liveness.worker_is_gone(job):
                liveness.finish(job, JobStatus.FAILED, error=liveness.INTERRUPTED)
            job.refresh_from_db()
            return job, False
        claimed = SyncJob.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(
            status=JobStatus.RUNNING,
            started_at=Coalesce("started_at", Now()),  # a job handed over keeps its start
            heartbeat_at=Now(),
            refresh_since=Coalesce("refresh_since", Value(dbclock.now())),
        )
        job.refresh_from_db()
        if not claimed:
            return job, False
        JobRunner(
            job,
            client=client,
            cancel_event=cancel_event,
            on_progress=on_progress,
            deadline=deadline,
        ).run()
        job.refresh_from_db()
        return job, job.status == JobStatus.PENDING
    finally:
        locks.release_account_lock(account_id)


def _acquire_account(account_id: int, *, wait: bool) -> bool:
    """The account's lock; with `wait`, a worker that is just letting it go (the previous
    job of the account ending) gets a few seconds."""
    deadline = time.monotonic() + (LOCK_WAIT_SECONDS if wait else 0)
    while not locks.acquire_account_lock(account_id):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def run_details_part(job_id: int, *, time_limit: float | None = None) -> int:
    """A helper task of a running job's phase 2 (SYNC_DETAIL_TASKS > 1); returns how many
    matches it attempted. With a `time_limit`, it stops after that many seconds."""
    deadline = time.monotonic() + time_limit if time_limit is not None else None
    job = SyncJob.objects.select_related("account").get(pk=job_id)
    if job.status != JobStatus.RUNNING or job.phase != JobPhase.FETCHING_DETAILS:
        return 0
    context = JobContext(job, coordinator=False, deadline=deadline)
    phase = DetailPhase(context)
    context.pulse.start()
    try:
        phase.run_part()
    except Cancelled:
        pass
    except Exception:
        logger.exception("a phase-2 part of job %s crashed", job.pk)
    finally:
        context.pulse.stop()
    return phase.attempted
