"""The supervisor: a periodic look at every active job, so none is left stuck unseen.

It runs on the task cluster every minute (syncjobs.schedule). Reads of a job's
status end a dead job too (syncjobs.liveness); the supervisor does it while
nobody looks, and hands out again the task of a pending job that no worker will
run (lost with a killed cluster, or taken by a worker that could not start it).
"""

import logging
from datetime import timedelta

from django.conf import settings

from dotasync import dbclock
from syncjobs import dispatch, engine, liveness
from syncjobs.models import JobStatus, SupervisorRun, SyncJob

logger = logging.getLogger(__name__)

# A job whose task had to be handed out this often is ended instead of handed out again.
MAX_ENQUEUES = 5


def supervise() -> dict[str, int]:
    """End running jobs whose worker is gone; re-enqueue or end orphaned pending jobs."""
    report = {"ended": 0, "requeued": 0, "abandoned": 0}
    for job in SyncJob.objects.filter(status=JobStatus.RUNNING).select_related("account"):
        report["ended"] += liveness.end_if_dead(job)
    grace_start = dbclock.now() - timedelta(seconds=settings.SYNC_PENDING_GRACE)
    stale = SyncJob.objects.filter(status=JobStatus.PENDING, created_at__lt=grace_start)
    for job in stale.select_related("account"):
        if (job.enqueued_at and job.enqueued_at > grace_start) or dispatch.task_waiting(job):
            continue
        if job.enqueue_count >= MAX_ENQUEUES:
            report["abandoned"] += engine.end_if_never_started(job)
            continue
        try:
            dispatch.enqueue(job)
        except dispatch.EnqueueFailed:
            continue  # the broker is down: the next run tries again
        report["requeued"] += 1
        logger.warning("job %s: its task was lost; handed to the cluster again", job.pk)
    if any(report.values()):
        logger.warning("supervisor: %s", report)
    SupervisorRun.record()  # the health check's evidence that a cluster is alive
    return report
