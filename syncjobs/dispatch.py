"""Handing work to the django-q task cluster, and telling whether a job's task still waits.

Every write DotaSync makes to django-q is here: the tasks it enqueues (a sync job, its phase-2
helpers, the naming of its players, notifications to send, OpenDota's refresh of an account)
and the schedules it keeps (the periodic ones, syncjobs.schedule; one-off runs later, of the
naming and of a sync after a daily limit's reset).

django-q's ORM broker keeps a task's row until a worker has finished it, locked
for Q_CLUSTER's `retry` (hours) from when a cluster pulled it; its Redis broker
hands a task out once, so a task a worker took and lost (a kill -9) is gone.
Either way the database alone says what a job needs: a job whose task is gone,
or held by a cluster that is gone, is handed out again (its task is idempotent:
a second copy of it finds the job running or ended and does nothing).
"""

import logging
from datetime import datetime, timedelta

from django.db.models import F
from django.db.models.functions import Now
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.brokers.orm import ORM
from django_q.brokers.redis_broker import Redis
from django_q.conf import Conf
from django_q.models import OrmQ, Schedule
from django_q.signing import SignedPackage
from django_q.status import Stat
from django_q.tasks import async_task

from syncjobs.models import SyncJob

logger = logging.getLogger(__name__)


class EnqueueFailed(Exception):
    """The task broker did not take the job's task (e.g. Redis is down)."""


def enqueue(job: SyncJob) -> None:
    """Hand the job's task to the cluster; raises EnqueueFailed when the broker refuses it."""
    try:
        task_id = async_task(
            "syncjobs.tasks.run_sync_job", job.pk, task_name=f"sync-job-{job.pk}", group="sync"
        )
    except Exception as exc:
        logger.exception("could not enqueue job %s", job.pk)
        raise EnqueueFailed(
            f"The task queue did not accept the job ({type(exc).__name__}): is the broker "
            "(REDIS_URL, or the database) reachable?"
        ) from exc
    SyncJob.objects.filter(pk=job.pk).update(
        task_id=str(task_id or ""), enqueued_at=Now(), enqueue_count=F("enqueue_count") + 1
    )


def enqueue_continuation(job: SyncJob) -> None:
    """Hand a job that a task left pending before its timeout to a fresh task. When the
    broker refuses, the job waits as pending and the supervisor hands it out later."""
    try:
        task_id = async_task(
            "syncjobs.tasks.run_sync_job",
            job.pk,
            task_name=f"sync-job-{job.pk}-{job.handovers}",
            group="sync",
        )
    except Exception:
        logger.exception("could not hand job %s to a fresh task", job.pk)
        return
    # One hand-out of this task so far: the supervisor's count of lost tasks starts again.
    SyncJob.objects.filter(pk=job.pk).update(task_id=str(task_id or ""), enqueue_count=1)


def enqueue_part(job: SyncJob) -> None:
    """A helper task for the job's phase 2; the job goes on alone when the broker refuses."""
    try:
        async_task("syncjobs.tasks.fetch_details_part", job.pk, group="sync")
    except Exception:
        logger.exception("could not enqueue a phase-2 helper of job %s", job.pk)


def enqueue_deliveries() -> None:
    """Send due notifications now rather than at the schedule's next minute; when the broker
    refuses, the schedule sends them."""
    try:
        async_task("matches.notifications.tasks.deliver_due", group="notifications")
    except Exception:
        logger.exception("could not enqueue sending notifications")


def enqueue_opendota_refresh(account_id: int) -> None:
    """Hand OpenDota's refresh of an account to the task cluster (syncjobs.refresh)."""
    async_task(
        "syncjobs.tasks.refresh_opendota",
        account_id,
        task_name=f"opendota-refresh-{account_id}",
        group="opendota-refresh",
    )


def enqueue_name_resolution(job: SyncJob) -> None:
    """Hand the naming of a completed job's players to the task cluster (syncjobs.names).

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


def keep_repeating(name: str, func: str, minutes: int) -> None:
    """The schedule `name` runs the task `func` every `minutes`, for ever: created, or brought
    in step with these arguments."""
    Schedule.objects.update_or_create(
        name=name,
        defaults={
            "func": func,
            "schedule_type": Schedule.MINUTES,
            "minutes": minutes,
            "repeats": -1,
        },
    )


def run_once_at(
    name: str, func: str, args: tuple, run_at: datetime, *, keep_after_run: bool
) -> None:
    """One run of the task `func(*args)` at `run_at`, under a schedule of its own, `name`: a
    second call moves that run instead of adding one. django-q deletes a one-off schedule
    once it has run, unless `keep_after_run` (its row then stays, spent)."""
    Schedule.objects.update_or_create(
        name=name,
        defaults={
            "func": func,
            "args": repr(args),
            "schedule_type": Schedule.ONCE,
            "next_run": run_at,
            # A positive count keeps a spent one-off schedule, a negative one deletes it.
            "repeats": 1 if keep_after_run else -1,
        },
    )


def drop_schedule(name: str) -> None:
    Schedule.objects.filter(name=name).delete()


def task_waiting(job: SyncJob) -> bool:
    """Whether the job's task is in the broker's queue, or in the hands of a live cluster.

    A broker this cannot look into counts as waiting: better a job waits than it
    runs twice. A Redis task a busy cluster has pulled already but not started is in
    no queue: while any cluster reports such tasks, the job's may be one of them.
    """
    if not job.task_id:
        return False
    broker = get_broker()
    if isinstance(broker, ORM):
        queued = broker.get_connection().filter(key=broker.list_key)
        row = next((package for package in queued if package.task_id() == job.task_id), None)
        return row is not None and _in_live_hands(row, broker)
    if isinstance(broker, Redis):
        for payload in broker.connection.lrange(broker.list_key, 0, -1):
            try:
                if SignedPackage.loads(payload).get("id") == job.task_id:
                    return True
            except Exception:  # another cluster's task signed with another key
                continue
        return any(stat.task_q_size for stat in Stat.get_all(broker))
    return True


def _in_live_hands(row: OrmQ, broker: ORM) -> bool:
    """Whether an ORM broker's task row waits: unlocked in the queue, or locked by a cluster
    that is still alive.

    A cluster that pulls a row locks it for `retry` seconds (ORM.timeout) and keeps it in its
    own queue while its workers are busy; a cluster killed meanwhile leaves the row locked
    for hours. The row does not name its cluster, but its lock tells when it was pulled, and
    a cluster born after that cannot hold it. Live clusters are those whose status (django-q
    saves it every half second, expiring after 3 s) is in the cache: with the database as
    broker every cluster runs on this machine (several machines need Redis, see the README).
    """
    now = timezone.now()
    if row.lock is None or row.lock <= now:
        return True
    pulled_at = row.lock - timedelta(seconds=Conf.RETRY)
    try:
        clusters = Stat.get_all(broker)
    except Exception:
        logger.exception("could not read the task clusters' status")
        return True
    return any(stat.tob <= pulled_at for stat in clusters if stat.status != Conf.STOPPED)
