"""One job's run in one worker: the two phases, then how the job ends.

`JobRunner` holds what both phases share: the job's pulse (syncjobs.liveness),
the upstream client, waiting out 429s, which sources the job may still use, and
the task's deadline. Phase 1 lives in syncjobs.listing, phase 2 in syncjobs.details.

A job outlives its task: once the deadline nears in phase 2, the runner leaves
the job pending with its progress (`hand_over`) and syncjobs.engine hands it to
a fresh task, which goes straight on with phase 2. A kill -9 at any point of that
leaves either a running job whose worker is gone (ended as interrupted; the next
full sync resumes it) or a pending one the supervisor hands out again.
"""

import logging
import threading
import time
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.db.models import F
from django.db.models.functions import Now
from django_q.exceptions import TimeoutException

from matches import dbclock, ratelimit
from matches.errors import PrivateProfile, RateLimited, ServerError, SourceRefused, UpstreamError
from matches.upstream import KEY_SETTINGS, URL_SETTINGS, UpstreamClient
from syncjobs import liveness, names
from syncjobs.details import DetailPhase, HandOver
from syncjobs.listing import ListingPhase
from syncjobs.liveness import Cancelled, Pulse
from syncjobs.models import JobPhase, JobStatus, JobType, SyncJob
from syncjobs.sources import DetailSource, IdSource

logger = logging.getLogger(__name__)

MAX_RATE_LIMIT_WAITS = 20


class NoSourceLeft(Exception):
    """Every source the job could use refused or failed: the job fails with this message."""


class JobRunner:
    def __init__(
        self,
        job: SyncJob,
        *,
        client: UpstreamClient | None = None,
        cancel_event: threading.Event | None = None,
        on_progress: Callable[[SyncJob], None] | None = None,
        coordinator: bool = True,
        deadline: float | None = None,
    ) -> None:
        self.job = job
        # time.monotonic() by which this task hands its phase 2 over; None: never.
        self.deadline = deadline
        self.account = job.account
        self.pulse = Pulse(
            job, coordinator=coordinator, cancel_event=cancel_event, on_progress=on_progress
        )
        self.client = client or UpstreamClient.from_settings(
            sleep=self.pulse.sleep, checkpoint=self.pulse.checkpoint
        )
        # Sources refused for this job, by the setting to fix (a wrong key, a wrong URL).
        self.refusals: dict[str, str] = {}
        self._refusals_lock = threading.Lock()

    # --- the coordinator's run

    def run(self) -> None:
        """Both phases (phase 2 alone for a backfill or a job handed over), then end the job
        or hand it over."""
        self.pulse.start()
        started = dbclock.now()
        try:
            continued = self.job.phase == JobPhase.FETCHING_DETAILS
            if self.job.job_type != JobType.BACKFILL and not continued:
                ListingPhase(self).run()
            DetailPhase(self).run()
        except HandOver:
            self.hand_over(started)
        except Cancelled:
            self.conclude(JobStatus.CANCELLED)
        except TimeoutException:
            ran = (dbclock.now() - started).total_seconds()
            self.conclude(JobStatus.FAILED, error=liveness.timed_out(ran))
        except PrivateProfile as exc:
            self.conclude(JobStatus.FAILED, error=exc.message)
        except NoSourceLeft as exc:
            self.conclude(JobStatus.FAILED, error=str(exc))
        except UpstreamError as exc:
            self.conclude(JobStatus.FAILED, error=f"Could not list matches: {exc.message}")
        except (OperationalError, InterfaceError):
            logger.warning("job %s lost its database connection", self.job.pk, exc_info=True)
            self.conclude(JobStatus.FAILED, error=liveness.DATABASE_LOST)
        except Exception as exc:
            logger.exception("job %s crashed", self.job.pk)
            self.conclude(JobStatus.FAILED, error=f"Internal error: {type(exc).__name__}")
        else:
            self.conclude(JobStatus.COMPLETED)

    def hand_over(self, started) -> None:
        """Leave the job pending for a fresh task, its progress written and its claims
        released (the phase did); a job cancelled meanwhile ends cancelled instead."""
        ran = (dbclock.now() - started).total_seconds()
        self.note("Phase 2 goes on in a fresh task each time one nears SYNC_TASK_TIMEOUT.")
        try:
            self.pulse.stop()
        except Exception:
            logger.exception("job %s: could not write its last progress", self.job.pk)
        handed = SyncJob.objects.filter(
            pk=self.job.pk, status=JobStatus.RUNNING, cancel_requested_at__isnull=True
        ).update(status=JobStatus.PENDING, handovers=F("handovers") + 1, enqueued_at=Now())
        if not handed:
            self.conclude(JobStatus.CANCELLED)
            return
        logger.info("job %s: handed over after %.0f s in this task", self.job.pk, ran)

    def time_is_up(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def conclude(self, status: str, *, error: str = "") -> None:
        try:
            self.pulse.stop()  # the last progress, before the job ends
        except Exception:
            # Its end is still written below if the database is back; else a read ends it.
            logger.exception("job %s: could not write its last progress", self.job.pk)
        liveness.finish(self.job, status, error=error)
        self.job.refresh_from_db()
        job = self.job
        logger.info(
            "job %s %s: %s ids (%s new), %s/%s details (%s ok, %s failed, %s deferred) %s",
            job.pk,
            job.status,
            job.ids_found,
            job.ids_new,
            job.details_done,
            job.details_total,
            job.details_ok,
            job.details_failed,
            job.details_deferred,
            error,
        )
        if self.pulse.on_progress:
            self.pulse.on_progress(job)
        if job.status == JobStatus.COMPLETED:
            names.enqueue_name_resolution(job)  # its own task: it never holds a sync up

    # --- what both phases share

    def note(self, text: str) -> None:
        self.pulse.note(text)

    def call(self, bucket: str, label: str, fn: Callable[[], object]) -> object:
        """Call `fn`, waiting out 429s (Retry-After, else backoff); nothing is counted for them."""
        for attempt in range(MAX_RATE_LIMIT_WAITS):
            try:
                return fn()
            except RateLimited as exc:
                if exc.daily:
                    raise
                wait = exc.retry_after if exc.retry_after is not None else min(60, 2**attempt)
                wait = max(wait, 0.5)
                ratelimit.push_back(bucket, wait)
                logger.info("%s rate-limited us; waiting %.1f s", label, wait)
                self.pulse.sleep(wait)
        raise ServerError(f"{label} kept answering 429 Too Many Requests", status=429)

    def disable_for_today(self, bucket: str, label: str) -> None:
        until = ratelimit.next_utc_midnight()
        reason = f"{label}'s daily API limit is used up; it is skipped until {until:%H:%M} UTC."
        ratelimit.disable_until(bucket, until, reason)
        self.note(reason)

    def refuse(self, refusal: SourceRefused) -> None:
        """A source refused us: every source behind the same setting is off for this job."""
        with self._refusals_lock:
            if refusal.setting in self.refusals:
                return
            self.refusals[refusal.setting] = refusal.message
        self.note(f"{refusal.message}: check {refusal.setting}; its sources were not used.")

    def refused(self, bucket: str) -> bool:
        with self._refusals_lock:
            return KEY_SETTINGS[bucket] in self.refusals or URL_SETTINGS[bucket] in self.refusals

    def usable(self, source: IdSource | DetailSource) -> bool:
        if source.needs_key and not self.client.has_steam_key:
            return False
        if self.refused(source.bucket):
            return False
        reason = ratelimit.disabled_reason(source.bucket)
        if reason:
            self.note(reason)
            return False
        return True

    def no_source_left(self, what: str) -> NoSourceLeft:
        """The error that fails the job, naming what to fix when sources refused us."""
        with self._refusals_lock:
            refusals = dict(self.refusals)
        if refusals:
            fixes = "; ".join(f"{message} (check {name})" for name, message in refusals.items())
            return NoSourceLeft(f"No source of {what} is left: {fixes}.")
        return NoSourceLeft(f"No source of {what} is available.")
