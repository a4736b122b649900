"""One job's run in one worker: the two phases and the parse step, then how the job ends.

`JobRunner` gives both phases (phase 1 in syncjobs.listing, phase 2 in
syncjobs.details) and the parse step after them (syncjobs.parsing; alone in a parse job)
the job's context (syncjobs.context: its pulse, client, sources, deadline), runs them and
ends the job.

A job outlives its task: once the deadline nears in phase 2, the runner leaves
the job pending with its progress (`hand_over`) and syncjobs.engine hands it to
a fresh task, which goes straight on with phase 2. A kill -9 at any point of that
leaves either a running job whose worker is gone (ended as interrupted; the next
full sync resumes it) or a pending one the supervisor hands out again.
"""

import logging
import threading
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.db.models import F
from django.db.models.functions import Now
from django_q.exceptions import TimeoutException

from dotasync import dbclock
from matches.upstream.client import UpstreamClient
from matches.upstream.errors import PrivateProfile, UpstreamError
from syncjobs import dispatch, liveness
from syncjobs.context import JobContext, NoSourceLeft
from syncjobs.details import DetailPhase, HandOver
from syncjobs.listing import ListingPhase
from syncjobs.liveness import Cancelled
from syncjobs.models import JobPhase, JobStatus, JobType, SyncJob
from syncjobs.parsing import ParseStep

logger = logging.getLogger(__name__)


class JobRunner:
    def __init__(
        self,
        job: SyncJob,
        *,
        client: UpstreamClient | None = None,
        cancel_event: threading.Event | None = None,
        on_progress: Callable[[SyncJob], None] | None = None,
        deadline: float | None = None,
    ) -> None:
        self.job = job
        self.context = JobContext(
            job,
            client=client,
            cancel_event=cancel_event,
            on_progress=on_progress,
            deadline=deadline,
        )
        self.pulse = self.context.pulse

    def run(self) -> None:
        """Both phases (phase 2 alone for a backfill or a job handed over) and the parse step
        (alone for a parse job), then end the job or hand it over."""
        self.pulse.start()
        started = dbclock.now()
        try:
            continued = self.job.phase == JobPhase.FETCHING_DETAILS
            if self.job.job_type != JobType.PARSE:
                if self.job.job_type != JobType.BACKFILL and not continued:
                    ListingPhase(self.context).run()
                DetailPhase(self.context).run()
            ParseStep(self.context).run()
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
        self.context.note("Phase 2 goes on in a fresh task each time one nears SYNC_TASK_TIMEOUT.")
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
            dispatch.enqueue_name_resolution(job)  # its own task: it never holds a sync up
