"""How soon a dead worker or cluster is known, with real processes: a task in the hands of a
killed busy cluster, a killed worker known at once on both databases, a paused worker that is
not taken for dead, and a coordinator killed while its helper task goes on.

The test process never lowers SYNC_STALE_AFTER here: what it sees is what a user sees.
"""

import io
import json
import os
import re
import signal
import sqlite3
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from django_q.models import OrmQ

from matches.tests.match_builders import ACCOUNT_ID, OTHERS_ACCOUNT_ID
from syncjobs import engine, liveness, supervisor
from syncjobs.models import ACTIVE_STATUSES, JobPhase, JobStatus, JobType, SyncJob
from tests.processes import Child, stop, wait_for

pytestmark = [pytest.mark.sqlite, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def job_is(job: SyncJob, **conditions) -> bool:
    return SyncJob.objects.filter(pk=job.pk, **conditions).exists()


def latest_job(account_id: int) -> dict:
    """The account's latest job as `sync_status --json` reads it (ending a dead one first)."""
    out = io.StringIO()
    call_command("sync_status", str(account_id), "--json", stdout=out)
    return json.loads(out.getvalue().splitlines()[-1])["latest_job"]


def wait_until_completed(job_id: int, timeout: float = 120) -> SyncJob:
    wait_for(
        lambda: not SyncJob.objects.filter(pk=job_id, status__in=ACTIVE_STATUSES).exists(),
        timeout,
        f"job {job_id} to end",
    )
    job = SyncJob.objects.get(pk=job_id)
    assert job.status == JobStatus.COMPLETED, job.error_message
    return job


def pulled_by_a_cluster(job: SyncJob) -> bool:
    """Whether a cluster took the job's task out of the ORM broker's queue (it locks the row)."""
    job.refresh_from_db()
    return any(
        row.task_id() == job.task_id and row.lock > timezone.now() for row in OrmQ.objects.all()
    )


def pids_calling(cluster: Child, endpoint: str) -> set[int]:
    """The processes of the cluster that logged an upstream call whose URL contains `endpoint`."""
    return {
        int(pid)
        for pid, url in re.findall(r" DEBUG matches\.upstream (\d+) \S+ (\S+)", cluster.output())
        if endpoint in url
    }


# --- item: a task in a busy cluster's hands -------------------------------------------------


@pytest.fixture
def task_held_by_a_killed_cluster(simulator, account, others_account, start_cluster, settings):
    """Account ACCOUNT_ID's long sync keeps the only worker busy; the second account's job
    waits in that cluster's own queue, its broker row locked for Q_CLUSTER's retry (6 h 10
    min by default); then the cluster is killed and a new one started. Returns that job."""
    settings.SYNC_PENDING_GRACE = 1.0
    simulator.state.configure(
        accounts={str(ACCOUNT_ID): {"matches": 400}, str(OTHERS_ACCOUNT_ID): {"matches": 20}},
        latency_ms=50,
    )
    cluster = start_cluster()
    busy = engine.start_sync(account, JobType.FULL)
    wait_for(lambda: job_is(busy, status=JobStatus.RUNNING), 60, "the long sync to start")
    waiting = engine.start_sync(others_account, JobType.FULL)
    wait_for(lambda: pulled_by_a_cluster(waiting), 30, "the busy cluster to pull the task")
    assert job_is(waiting, status=JobStatus.PENDING)

    stop(cluster, signal.SIGKILL)
    start_cluster()
    time.sleep(settings.SYNC_PENDING_GRACE)
    assert pulled_by_a_cluster(waiting)  # the dead cluster's lock stays for hours
    return waiting


def test_a_new_start_replaces_a_job_whose_task_a_killed_cluster_held(
    task_held_by_a_killed_cluster,
):
    lost = task_held_by_a_killed_cluster

    def start() -> dict | None:
        out = io.StringIO()
        try:
            call_command("sync_matches", str(OTHERS_ACCOUNT_ID), "--enqueue", "--json", stdout=out)
        except CommandError as refused:  # "A sync is already pending …" while it is held
            if "already pending" not in str(refused):
                raise
            return None
        return json.loads(out.getvalue().splitlines()[-1])

    # The killed cluster's status expires within seconds; then the start goes through.
    started = wait_for(start, 15, "a new start to replace the job")

    assert started["id"] != lost.pk
    wait_until_completed(started["id"])
    lost.refresh_from_db()
    assert lost.status == JobStatus.FAILED
    assert "replaced by a new sync" in lost.error_message


def test_the_supervisor_hands_out_again_a_task_a_killed_cluster_held(
    task_held_by_a_killed_cluster,
):
    lost = task_held_by_a_killed_cluster

    # The supervisor's run every minute, as its schedule makes it.
    wait_for(lambda: supervisor.supervise()["requeued"], 15, "the supervisor to hand it out")

    wait_until_completed(lost.pk)
    assert latest_job(OTHERS_ACCOUNT_ID)["status"] == "completed"


# --- item: a killed worker is known at once, a paused one is not taken for dead -----------------


def test_a_killed_worker_is_known_at_once(simulator, account, set_matches, start_cluster):
    set_matches(300, latency_ms=10)
    cluster = start_cluster(LOG_LEVEL="DEBUG")
    dead = engine.start_sync(account, JobType.FULL)
    wait_for(lambda: job_is(dead, details_done__gte=50), 60, "phase 2 to store a batch")
    (worker,) = pids_calling(cluster, "/") - {cluster.pid}
    os.kill(worker, signal.SIGKILL)

    # On SQLite too, well within SYNC_STALE_AFTER (60 s): the worker's lock went with it.
    read = wait_for(
        lambda: (job := latest_job(ACCOUNT_ID))["status"] != "running" and job,
        10,
        "the killed worker's job to read as ended",
    )
    assert (read["id"], read["status"], read["error_message"]) == (
        dead.pk,
        "failed",
        liveness.INTERRUPTED,
    )
    fresh = engine.start_sync(account, JobType.FULL)  # no "A sync is already running"
    wait_until_completed(fresh.pk)


def test_a_paused_worker_is_not_taken_for_dead(simulator, account, set_matches, start_cluster):
    set_matches(200, latency_ms=10)
    cluster = start_cluster(LOG_LEVEL="DEBUG")
    job = engine.start_sync(account, JobType.FULL)
    wait_for(lambda: job_is(job, details_done__gte=25), 60, "phase 2 to store a batch")
    (worker,) = pids_calling(cluster, "/") - {cluster.pid}

    pause(worker)  # a laptop asleep: no heartbeat for longer than SYNC_STALE_AFTER
    try:
        SyncJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
        assert latest_job(ACCOUNT_ID)["status"] == "running"
        with pytest.raises(engine.AlreadyRunning):
            engine.start_sync(account, JobType.INCREMENTAL)
        assert supervisor.supervise()["ended"] == 0
    finally:
        os.kill(worker, signal.SIGCONT)

    wait_until_completed(job.pk)


def pause(pid: int) -> None:
    """SIGSTOP the process, at a moment it holds no write lock on a SQLite database (a
    process paused inside a write would block every other writer until it goes on)."""
    for _ in range(20):
        os.kill(pid, signal.SIGSTOP)
        if connection.vendor != "sqlite" or _can_write(connection.settings_dict["NAME"]):
            return
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.05)
    raise AssertionError(f"process {pid} held the database's write lock at every try")


def _can_write(path: str) -> bool:
    probe = sqlite3.connect(path, timeout=1.0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()
    return True


# --- item: the coordinator dies while a helper task goes on -------------------------------


def test_a_job_whose_coordinator_died_reads_ended_while_its_helper_still_beats(
    simulator, account, set_matches, start_cluster
):
    # One detail source at 30 ms a match: the helper has half a minute of work left.
    set_matches(1200, latency_ms=30)
    cluster = start_cluster(
        LOG_LEVEL="DEBUG", Q_WORKERS=2, SYNC_DETAIL_TASKS=2, SYNC_DETAIL_SOURCES="steam_sequence"
    )
    job = engine.start_sync(account, JobType.FULL)
    wait_for(
        lambda: job_is(job, phase=JobPhase.FETCHING_DETAILS, details_done__gte=50),
        60,
        "phase 2 to store a batch",
    )
    # Only the coordinator lists the account's matches; both fetch details.
    (coordinator,) = pids_calling(cluster, "/GetMatchHistory/")
    wait_for(
        lambda: pids_calling(cluster, "/GetMatchHistoryBySequenceNum/") - {coordinator},
        30,
        "the helper task to fetch details",
    )
    os.kill(coordinator, signal.SIGKILL)
    killed_at = timezone.now()
    # The helper still writes the job's heartbeat after its coordinator died.
    wait_for(
        lambda: job_is(
            job, status=JobStatus.RUNNING, heartbeat_at__gt=killed_at + timedelta(seconds=1)
        ),
        10,
        "the helper's heartbeat",
    )

    read = wait_for(
        lambda: (job := latest_job(ACCOUNT_ID))["status"] != "running" and job,
        10,
        "the job of the killed coordinator to read as ended",
    )

    assert (read["status"], read["error_message"]) == ("failed", liveness.INTERRUPTED)
    fresh = engine.start_sync(account, JobType.FULL)
    wait_until_completed(fresh.pk)
