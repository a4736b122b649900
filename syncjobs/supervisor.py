"""The supervisor: a periodic look at every active job, so none is left stuck unseen."""

import logging

from syncjobs import engine
from syncjobs.models import JobStatus, SupervisorRun, SyncJob

logger = logging.getLogger(__name__)


def supervise() -> int:
    """End every running job whose worker is gone; returns how many were ended."""
    ended = 0
    running = SyncJob.objects.filter(status=JobStatus.RUNNING).select_related("account")
    for account in {job.account for job in running}:
        ended += engine.reap_dead_jobs(account)
    if ended:
        logger.warning("supervisor ended %s job(s) whose worker was gone", ended)
    SupervisorRun.record()  # the health check's evidence that a cluster is alive
    return ended
