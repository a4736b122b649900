"""Fixtures of the browser tests: Debian's chromium, and a real task worker on the test database."""

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db.models.functions import Now
from django_q.models import Schedule

from matches.simulator import SimulatorHandle
from syncjobs import locks
from syncjobs.models import SyncJob
from syncjobs.tests.processes import child_env, stop

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    # Playwright cannot download its own browser here; Debian's chromium runs as root in CI.
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
        ],
    }


@pytest.fixture
def sync_worker(transactional_db, simulator: SimulatorHandle, tmp_path: Path) -> Iterator[None]:
    """`manage.py qcluster` in its own process group, on the test database and the simulator.

    Steam is paced at one call a second so phase 1 lasts a few seconds and can be watched;
    details come from the (fast-paced) sequence endpoint and OpenDota, so phase 2 takes seconds.
    """
    # The post-migrate schedule would start syncs of its own the moment the cluster starts.
    Schedule.objects.all().delete()
    env = child_env(
        simulator,
        DEMO_MODE="false",
        STEAM_API_MIN_INTERVAL="1.0",
        STEAM_SEQUENCE_MIN_INTERVAL="0.02",
        OPENDOTA_MIN_INTERVAL="0.02",
        SYNC_DETAIL_SOURCES="steam_sequence,opendota",
        Q_WORKERS="1",
        LOG_DIR=str(tmp_path),
    )
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=(tmp_path / "worker.out").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield
    finally:
        # The cluster takes longer than stop()'s 15 s grace to end on SIGTERM, and is then
        # killed anyway; the test is over and its database emptied, so kill it at once.
        stop(worker, signal.SIGKILL)


@pytest.fixture
def live_worker(db):
    """Makes a job look run by a live worker: this process holds the account's sync lock
    (PostgreSQL) and the job has a fresh heartbeat (SQLite). Released after the test."""

    def hold(job: SyncJob) -> SyncJob:
        locks.acquire(job.account.account_id)
        SyncJob.objects.filter(pk=job.pk).update(heartbeat_at=Now())
        job.refresh_from_db()
        return job

    yield hold
    for account_id in locks.held_here():
        locks.release(account_id)
