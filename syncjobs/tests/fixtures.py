"""Fixtures that run sync jobs: against the simulator, in real task clusters, with workers that
die or live. The engine's tests use them, and so do the notification tests and the tests that
cross apps (tests/): the root conftest.py shares them with every test (pytest_plugins).

The account, the users and the simulator are in the root conftest.py.
"""

import signal
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db.models.functions import Now
from django_q.models import Schedule

from matches.tests.match_builders import ACCOUNT_ID
from matches.upstream.simulator import SEQ_OFFSET, SimulatorHandle
from syncjobs import engine, locks
from syncjobs.models import JobStatus, JobType, SyncJob
from tests.children import child_env
from tests.processes import Child, start_manage, stop, wait_for


@pytest.fixture
def set_matches(simulator: SimulatorHandle) -> Callable[..., None]:
    """set_matches(count, private=False, **config): the account ACCOUNT_ID has `count` matches
    in the simulator (its profile private, if asked); `config` configures the simulator too."""

    def configure(count: int, *, private: bool = False, **config: object) -> None:
        account = {"matches": count, **({"private": True} if private else {})}
        simulator.state.configure(accounts={str(ACCOUNT_ID): account}, **config)

    return configure


@pytest.fixture
def sync() -> Callable[..., SyncJob]:
    """sync(account, job_type=FULL, **options): a new job, run to its end in this process."""

    def run(account, job_type: str = JobType.FULL, **options: object) -> SyncJob:
        return engine.run_job(engine.create_job(account, job_type, **options).pk)

    return run


@pytest.fixture
def fetches_per_match(simulator: SimulatorHandle) -> Callable[[], Counter]:
    """fetches_per_match(): how often the simulator was asked for each match's details, by
    whichever detail source (the sequence endpoint's sequence number counts as its match)."""

    def count() -> Counter:
        fetches: Counter = Counter()
        for entry in simulator.state.log:
            if entry["endpoint"] in ("details", "opendota_match"):
                fetches[int(entry["params"]["match_id"])] += 1
            elif entry["endpoint"] == "sequence":
                fetches[int(entry["params"]["start_at_match_seq_num"]) + SEQ_OFFSET] += 1
        return fetches

    return count


# --- workers that die ---------------------------------------------------------------------------


@pytest.fixture
def worker_gone() -> Callable[[SyncJob], None]:
    """worker_gone(job): the job reads as running, but no worker runs it any more.

    A job's worker holds its account's lock (an advisory lock on PostgreSQL, an flock beside
    the SQLite database): nobody holds it here, so nothing else is needed.
    """

    def mark(job: SyncJob) -> None:
        SyncJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)

    return mark


@pytest.fixture
def wait_until_seen_dead() -> Callable[[SyncJob], None]:
    """wait_until_seen_dead(job), after its worker was killed: returns once this process can
    tell that the worker is gone, as the next start of a sync must: once its account's lock
    went with it (PostgreSQL's server notices the closed connection; SQLite's flock goes with
    the process at once)."""

    def wait(job: SyncJob) -> None:
        account_id = job.account.account_id
        wait_for(lambda: locks.held_by_nobody(account_id), 10, "the dead worker's lock to go")

    return wait


# --- real task clusters -------------------------------------------------------------------------


@pytest.fixture
def start_cluster(
    transactional_db, simulator: SimulatorHandle, tmp_path: Path
) -> Iterator[Callable[..., Child]]:
    """start_cluster(**env): `manage.py qcluster` with one worker on the test database and the
    simulator, logging to tmp_path. Every cluster a test starts is killed at its end."""
    # The post-migrate schedules would start syncs of their own the moment a cluster starts.
    Schedule.objects.all().delete()
    started: list[Child] = []

    def start(**env: object) -> Child:
        cluster = start_manage(
            "qcluster",
            env=child_env(simulator, **{"Q_WORKERS": 1, "LOG_DIR": tmp_path, **env}),
            log=tmp_path / f"cluster-{len(started)}.log",
        )
        started.append(cluster)
        return cluster

    yield start
    for cluster in started:
        stop(cluster, signal.SIGKILL)  # nothing is left to save, and the simulator goes next


@pytest.fixture
def live_worker(db):
    """Makes a job look run by a live worker: this process holds the account's sync lock and
    the job has a fresh heartbeat. Released after the test."""

    def hold(job: SyncJob) -> SyncJob:
        locks.acquire_account_lock(job.account.account_id)
        SyncJob.objects.filter(pk=job.pk).update(heartbeat_at=Now())
        job.refresh_from_db()
        return job

    yield hold
    for account_id in locks.held_here():
        locks.release_account_lock(account_id)
