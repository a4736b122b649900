"""Naming the players of a job's matches, after the job: a small task of its own.

A completed job enqueues `syncjobs.tasks.resolve_player_names` (syncjobs.dispatch), which asks
Steam's GetPlayerSummaries about the accounts of the job's matches whose names are missing or older
than PLAYER_NAME_MAX_AGE_DAYS. It runs after the job has ended, so it never holds that sync up,
and it gives way to the syncs it competes with for Steam's rate limit (its calls and theirs
share the `steam` bucket): within a fraction of a second of a sync of any account starting to
list with Steam's GetMatchHistory or to fetch with GetMatchDetails (unless that job's breaker
switched GetMatchDetails off), it stops and hands the players left to a run of itself a minute
later (a one-off django-q schedule), which gives way again while the competition lasts. A sync
that does not call the `steam` bucket (OpenDota, the sequence endpoint) is no competition, so
under the hourly schedule the first account to finish is named too. It stops for good when
the job's cancel flag is set. A failure is reported in the job's message; the names wait for
the next sync.
"""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from matches import players
from matches.upstream.client import STEAM, UpstreamClient
from syncjobs import dispatch
from syncjobs.models import JobPhase, JobStatus, SourceBreaker, SyncJob
from syncjobs.sources import DETAIL_SOURCES, ID_SOURCES

logger = logging.getLogger(__name__)

CHECK_EVERY_SECONDS = 0.25
SLEEP_SLICE_SECONDS = 0.1
HAND_ON_SCHEDULE = "player-names-{}"
MESSAGE_MAX = SyncJob._meta.get_field("message").max_length

CANCELLED = "the job was cancelled"
COMPETING = "a sync is using Steam's rate limit; the players left are handed to a later run"


class GaveWay(Exception):
    """The job was cancelled, or a sync competes for Steam's rate limit (the rate limit is
    the sync's; `hand_on` says whether the players left are asked later)."""

    def __init__(self, reason: str, *, hand_on: bool) -> None:
        super().__init__(reason)
        self.hand_on = hand_on


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
        if stop.hand_on:
            hand_on(job)
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


def hand_on(job: SyncJob) -> None:
    """Name the players left in a run of the task PLAYER_NAMES_RETRY_SECONDS from now (one
    schedule a job, so a task that gives way again moves its run instead of adding one;
    django-q deletes the schedule once it has run)."""
    dispatch.run_once_at(
        HAND_ON_SCHEDULE.format(job.pk),
        "syncjobs.tasks.resolve_player_names",
        (job.pk,),
        timezone.now() + timedelta(seconds=settings.PLAYER_NAMES_RETRY_SECONDS),
        keep_after_run=False,
    )


def competing_syncs() -> Q:
    """The running syncs that call the `steam` bucket now, as a filter of SyncJob: listing
    while a Steam ID source is configured, or fetching details with a Steam detail source
    that the job's breaker has not switched off."""
    competing = Q(pk__in=[])
    if any(ID_SOURCES[name].bucket == STEAM for name in settings.SYNC_ID_SOURCES):
        competing |= ~Q(phase=JobPhase.FETCHING_DETAILS)
    for name in settings.SYNC_DETAIL_SOURCES:
        if DETAIL_SOURCES[name].bucket != STEAM:
            continue
        switched_off = SourceBreaker.objects.filter(job=OuterRef("pk"), source=name).exclude(
            open_reason=""
        )
        competing |= Q(phase=JobPhase.FETCHING_DETAILS) & ~Exists(switched_off)
    return Q(status=JobStatus.RUNNING) & competing


class _Watch:
    """The task's cooperative stop: a checkpoint before every call, and sleeps that keep
    checking while the rate limiter makes the task wait its turn."""

    def __init__(self, job: SyncJob) -> None:
        self.job = job
        self._stopped: GaveWay | None = None
        self._last_check = 0.0

    def checkpoint(self) -> None:
        if self._stopped is not None:
            raise self._stopped
        now = time.monotonic()
        if now - self._last_check < CHECK_EVERY_SECONDS:
            return
        self._last_check = now
        if SyncJob.objects.filter(pk=self.job.pk, cancel_requested_at__isnull=False).exists():
            self._stopped = GaveWay(CANCELLED, hand_on=False)
        elif SyncJob.objects.filter(competing_syncs()).exists():
            self._stopped = GaveWay(COMPETING, hand_on=True)
        if self._stopped is not None:
            raise self._stopped

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
