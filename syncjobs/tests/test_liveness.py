"""Jobs that die, get lost or time out are ended where users look, and never block the account.

Real processes where the behaviour is about processes (the broker, the cluster's timeout),
the engine in this process otherwise; the upstream is the simulator over HTTP.
"""

import socket
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.timeout import TimeoutHandler

from dotasync import dbclock
from matches.models import Match
from matches.tests.match_builders import ACCOUNT_ID
from matches.upstream import ratelimit
from syncjobs import claims, engine, liveness, locks, supervisor
from syncjobs.models import JobPhase, JobStatus, JobType, SyncJob
from tests.children import child_env
from tests.processes import start_manage


def dead_running_job(account, **fields) -> SyncJob:
    """A job that says running while no worker holds its account (killed, disconnected)."""
    job = engine.create_job(account, JobType.FULL)
    SyncJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING,
        started_at=timezone.now() - timedelta(seconds=90),
        heartbeat_at=timezone.now() - timedelta(hours=1),
        **fields,
    )
    job.refresh_from_db()
    return job


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- a running job whose worker is gone ---------------------------------------------------


def test_reading_a_dead_job_through_the_api_ends_it(api, account):
    job = dead_running_job(account, phase=JobPhase.FETCHING_DETAILS)

    body = api.get(f"/api/sync/jobs/{job.pk}/").json()

    assert (body["status"], body["error_message"]) == ("failed", liveness.INTERRUPTED)
    assert api.get("/api/sync/jobs/").json()["results"][0]["status"] == "failed"


def test_the_dashboard_shows_a_dead_job_ended_and_offers_sync_again(client, user, account):
    job = dead_running_job(account, phase=JobPhase.COLLECTING_IDS)
    client.force_login(user)

    html = client.get(f"/jobs/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()

    assert "Interrupted" in html
    assert "Sync Matches" in html
    assert "hx-trigger" not in html  # polling stopped
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


def test_sync_status_ends_a_dead_job(account, capsys):
    job = dead_running_job(account)

    call_command("sync_status", str(ACCOUNT_ID))

    assert "failed" in capsys.readouterr().out
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


def test_cancel_on_a_dead_job_ends_it_at_once(account):
    job = dead_running_job(account)

    job = engine.request_cancel(job)

    assert job.status == JobStatus.CANCELLED
    assert "Its worker had already stopped." in job.message


def test_a_dead_job_killed_by_the_clusters_timeout_reads_as_timed_out(account, settings):
    settings.SYNC_TASK_TIMEOUT = 60
    job = dead_running_job(account)
    SyncJob.objects.filter(pk=job.pk).update(started_at=timezone.now() - timedelta(seconds=61))
    job.refresh_from_db()

    liveness.end_if_dead(job)

    assert job.status == JobStatus.FAILED
    assert job.error_message.startswith("Timed out after 61 s (SYNC_TASK_TIMEOUT)")


def test_the_dead_jobs_claims_are_released(account):
    job = dead_running_job(account)
    Match.objects.create(match_id=1, claimed_by=job, claimed_until=timezone.now())

    supervisor.supervise()

    assert Match.objects.get(pk=1).claimed_by is None


@pytest.mark.django_db(transaction=True)
def test_the_clusters_timeout_ends_the_job_as_timed_out(simulator, account, settings):
    """django-q's own timeout (SIGALRM raising a SystemExit subclass) in the job's task."""
    simulator.state.configure(accounts={str(ACCOUNT_ID): {"matches": 50}})
    settings.STEAM_API_MIN_INTERVAL = 0.5  # 50 details would take 25 s
    settings.SYNC_ID_SOURCES = ["steam_history"]
    settings.SYNC_DETAIL_SOURCES = ["steam_details"]
    job = engine.create_job(account, JobType.FULL)

    with TimeoutHandler(1):
        job = engine.run_job(job.pk)

    assert job.status == JobStatus.FAILED
    assert job.error_message.startswith("Timed out after 1 s (SYNC_TASK_TIMEOUT)")
    assert not Match.objects.filter(claimed_by__isnull=False).exists()


# --- pending jobs that no worker will run -------------------------------------------------


def lose_the_task(job: SyncJob, seconds_ago: float = 120) -> None:
    """The broker lost the job's task (a killed cluster), a while ago."""
    OrmQ.objects.all().delete()
    long_ago = timezone.now() - timedelta(seconds=seconds_ago)
    SyncJob.objects.filter(pk=job.pk).update(created_at=long_ago, enqueued_at=long_ago)


def test_the_supervisor_hands_a_lost_task_out_again(account, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = engine.start_sync(account, JobType.INCREMENTAL)
    lose_the_task(job)

    report = supervisor.supervise()

    assert report["requeued"] == 1
    job.refresh_from_db()
    assert job.enqueue_count == 2
    assert [package.task_id() for package in OrmQ.objects.all()] == [job.task_id]


def test_a_waiting_task_is_left_alone(account, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = engine.start_sync(account, JobType.INCREMENTAL)
    SyncJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - timedelta(hours=1),
        enqueued_at=timezone.now() - timedelta(hours=1),
    )

    assert supervisor.supervise() == {"ended": 0, "requeued": 0, "abandoned": 0}


def test_a_task_lost_again_and_again_ends_the_job_with_a_reason(
    account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = engine.start_sync(account, JobType.INCREMENTAL)
    SyncJob.objects.filter(pk=job.pk).update(enqueue_count=supervisor.MAX_ENQUEUES)
    lose_the_task(job)

    assert supervisor.supervise()["abandoned"] == 1

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error_message.startswith("Never started: no worker took its task")


def test_a_pending_job_whose_task_was_lost_does_not_block_a_new_sync(
    api, account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        lost = engine.start_sync(account, JobType.INCREMENTAL)
    lose_the_task(lost)

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/sync/trigger", {"job_type": "full_sync"}, format="json")

    assert response.status_code == 201
    lost.refresh_from_db()
    assert lost.status == JobStatus.FAILED
    assert "replaced by a new sync" in lost.error_message


@pytest.mark.django_db(transaction=True)
def test_a_run_that_cannot_get_the_account_leaves_the_job_pending_for_the_supervisor(account):
    job = engine.create_job(account, JobType.INCREMENTAL)
    holding, release = threading.Event(), threading.Event()

    def another_process_holds_the_account():  # e.g. its previous job still ending
        locks.acquire_account_lock(ACCOUNT_ID)
        holding.set()
        release.wait(30)
        locks.release_account_lock(ACCOUNT_ID)
        connection.close()

    holder = threading.Thread(target=another_process_holds_the_account)
    holder.start()
    holding.wait(5)
    try:
        started = time.monotonic()
        assert engine.run_job(job.pk).status == JobStatus.PENDING
        assert time.monotonic() - started >= engine.LOCK_WAIT_SECONDS * 0.9
    finally:
        release.set()
        holder.join()


# --- the broker is down when a sync is triggered --------------------------------------------


@pytest.fixture
def broker_down(monkeypatch):
    """django-q's broker is Redis on a port where nothing listens."""
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", f"redis://127.0.0.1:{closed_port()}/0")


@pytest.mark.django_db(transaction=True)  # on_commit runs as in production: at once
def test_broker_down_gives_503_and_leaves_no_pending_job(api, account, broker_down):
    response = api.post("/api/sync/trigger", {"job_type": "incremental_sync"}, format="json")

    assert response.status_code == 503
    assert "task queue did not accept the job" in response.json()["detail"]
    assert not SyncJob.objects.active().exists()
    job = SyncJob.objects.get()
    assert job.status == JobStatus.FAILED


@pytest.mark.django_db(transaction=True)
def test_broker_down_shows_a_message_on_the_dashboard(client, user, account, broker_down):
    client.force_login(user)

    page = client.post(
        "/sync/", {"account": ACCOUNT_ID, "job_type": "incremental_sync"}, follow=True
    )

    assert "The sync could not start." in page.content.decode()
    assert not SyncJob.objects.active().exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_broker_down_makes_enqueue_exit_non_zero(account):
    env = child_env(REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0")
    process = start_manage("sync_matches", str(ACCOUNT_ID), "--enqueue", env=env)

    assert process.wait(timeout=60) == 1
    assert "task queue did not accept the job" in process.output()
    assert not SyncJob.objects.active().exists()


# --- liveness that does not depend on pacing ------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_slow_paced_live_job_is_never_taken_for_dead(simulator, account, settings):
    """Heartbeats come every second even while a call waits five seconds for its slot."""
    simulator.state.configure(accounts={str(ACCOUNT_ID): {"matches": 3}})
    settings.SYNC_ID_SOURCES = ["steam_history"]
    settings.SYNC_DETAIL_SOURCES = ["steam_sequence"]
    settings.STEAM_SEQUENCE_MIN_INTERVAL = 3.0
    settings.SYNC_STALE_AFTER = 5.0
    job = engine.create_job(account, JobType.FULL)
    runner = threading.Thread(target=engine.run_job, args=(job.pk,))
    runner.start()
    beats = set()
    try:
        while runner.is_alive():
            running = SyncJob.objects.select_related("account").get(pk=job.pk)
            if running.status == JobStatus.RUNNING:
                assert not liveness.end_if_dead(running)
                beats.add(running.heartbeat_at)
            time.sleep(0.5)
    finally:
        runner.join()
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED
    assert len(beats) >= 5  # six seconds of pacing, a beat a second


@pytest.mark.django_db(transaction=True)
def test_with_a_lease_shorter_than_a_batch_no_match_is_fetched_twice(simulator, account, settings):
    simulator.state.configure(accounts={str(ACCOUNT_ID): {"matches": 60}}, latency_ms=60)
    settings.SYNC_CLAIM_LEASE = 1.0  # a batch of 25 takes 1.5 s and more
    settings.SYNC_DETAIL_SOURCES = ["steam_sequence"]
    job = engine.create_job(account, JobType.FULL)
    coordinator = threading.Thread(target=engine.run_job, args=(job.pk,))
    coordinator.start()
    while not SyncJob.objects.filter(pk=job.pk, phase=JobPhase.FETCHING_DETAILS).exists():
        time.sleep(0.05)
    helper = threading.Thread(target=engine.run_details_part, args=(job.pk,))
    helper.start()
    coordinator.join()
    helper.join()

    job.refresh_from_db()
    fetched = [
        e["params"]["start_at_match_seq_num"]
        for e in simulator.state.log
        if e["endpoint"] == "sequence"
    ]
    assert job.status == JobStatus.COMPLETED
    assert len(fetched) == len(set(fetched)) == 60
    assert (job.details_done, job.details_ok) == (60, 60)


# --- one clock for every machine ----------------------------------------------------------


def test_claims_and_slots_use_the_databases_clock_not_this_hosts(account, settings, monkeypatch):
    """A worker whose clock runs an hour ahead neither steals live claims nor skips pacing."""
    settings.SYNC_CLAIM_LEASE = 60
    job = dead_running_job(account)
    SyncJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    match = Match.objects.create(match_id=5)
    match.account_links.create(account=account)
    assert [stub.match_id for stub in claims.claim_batch(job, 10)] == [5]
    ratelimit.reserve("steam", 10.0)
    skewed = time.time() + 3600
    monkeypatch.setattr(time, "time", lambda: skewed)
    monkeypatch.setattr(timezone, "now", lambda: dbclock.now() + timedelta(hours=1))

    assert claims.claim_batch(job, 10) == []  # the claim is still live for the database
    slept = []
    ratelimit.wait_turn("steam", 10.0, slept.append)
    assert 9 < slept[0] <= 10  # the second slot, not an hour's worth of "free" calls
