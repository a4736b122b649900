"""Naming the players of a job's matches, after the job: a small task of its own.

A completed job enqueues `syncjobs.tasks.resolve_player_names`, which asks Steam's
GetPlayerSummaries about the accounts of the job's matches whose names are missing or older
than PLAYER_NAME_MAX_AGE_DAYS. It runs after the job has ended, so it never holds that sync up,
and it gives way to every other: it stops within a fraction of a second once the job's cancel
flag is set, a newer job of the account is created, or any sync is waiting or running (the
Steam rate limit, and the task cluster's workers, are theirs; the names left wait for the
account's next sync, which names them when it ends). A failure is reported in the job's
message; the names wait for the next sync.
"""

import logging
import threading
import time

from django.conf import settings
from django.db.models import Q
from django_q.tasks import async_task

from matches import players
from matches.upstream import UpstreamClient
from syncjobs.models import ACTIVE_STATUSES, JobStatus, SyncJob

logger = logging.getLogger(__name__)

CHECK_EVERY_SECONDS = 0.25
SLEEP_SLICE_SECONDS = 0.1
MESSAGE_MAX = SyncJob._meta.get_field("message").max_length


GAVE_WAY = "the job was cancelled, or a sync is waiting or running"


class GaveWay(Exception):
    """The job was cancelled, a newer job of the account was created, or some sync is active:
    the Steam rate limit is theirs."""


def enqueue_name_resolution(job: SyncJob) -> None:
    """Hand the naming of a completed job's players to the task cluster.

    The job has ended when this runs; a broker that cannot take the task costs the names of
    this round, never the job.
    """
    try:
        async_task(
            "syncjobs.tasks.resolve_player_names",
            job.pk,
            task_name=f"player-names-{job.pk}",
            group="player-names",
        )
    except Exception:
        logger.exception("job %s: could not enqueue naming its players", job.pk)


def resolve_names_for_job(job_id: int) -> str:
    """Name the players of a completed job's matches; returns what happened, for the task log."""
    job = SyncJob.objects.select_related("account").filter(pk=job_id).first()
    if job is None or job.status != JobStatus.COMPLETED:
        return "skipped: the job is gone or did not complete"
    # Names OpenDota gave during the sync already name the account itself on every page.
    players.copy_to_linked([job.account.account_id])
    if not settings.STEAM_API_KEY:
        return "skipped: no Steam API key (names come from OpenDota's answers only)"
    watch = _Watch(job)
    try:
        watch.checkpoint()
        due = players.due_in_matches_of(job.account)
        if not due:
            return "nothing due"
        client = UpstreamClient.from_settings(sleep=watch.sleep)
        client.checkpoint = watch.checkpoint
        try:
            result = players.refresh(client, due)
        finally:
            client.close()
    except GaveWay as stop:
        logger.info("job %s: naming its players stopped: %s", job.pk, stop)
        return f"stopped: {stop}"
    logger.info(
        "job %s: %s of %s players described by Steam in %s calls",
        job.pk,
        result.asked,
        len(due),
        result.calls,
    )
    if result.error:
        _add_note(
            job,
            f"Player names: Steam's GetPlayerSummaries failed ({result.error}); "
            f"{result.left} of {len(due)} players wait for the next sync.",
        )
        return f"failed: {result.error}"
    return f"named {result.asked} players"


class _Watch:
    """The task's cooperative stop: a checkpoint before every call, and sleeps that keep
    checking while the rate limiter makes the task wait its turn."""

    def __init__(self, job: SyncJob) -> None:
        self.job = job
        self._stopped = threading.Event()
        self._last_check = 0.0

    def checkpoint(self) -> None:
        if self._stopped.is_set():
            raise GaveWay(GAVE_WAY)
        now = time.monotonic()
        if now - self._last_check < CHECK_EVERY_SECONDS:
            return
        self._last_check = now
        gave_way = SyncJob.objects.filter(
            Q(pk=self.job.pk, cancel_requested_at__isnull=False)
            | Q(account_id=self.job.account_id, pk__gt=self.job.pk)
            | Q(status__in=ACTIVE_STATUSES)
        ).exists()
        if gave_way:
            self._stopped.set()
            raise GaveWay(GAVE_WAY)

    def sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.checkpoint()
            time.sleep(min(SLEEP_SLICE_SECONDS, left))


def _add_note(job: SyncJob, note: str) -> None:
    job.refresh_from_db(fields=["message"])
    if note in job.message:
        return
    message = f"{job.message} {note}".strip()[:MESSAGE_MAX]
    SyncJob.objects.filter(pk=job.pk).update(message=message)
    logger.warning("job %s: %s", job.pk, note)
