"""Jobs as processes see them: cancellation, crashes (kill -9), redelivery, the real cluster."""

import signal
import threading
import time

import pytest
from django.conf import settings
from django.db import connection

from matches.models import Match
from matches.tests.match_builders import ACCOUNT_ID
from syncjobs import engine, locks
from syncjobs.concurrency import BATCH_SIZE
from syncjobs.liveness import INTERRUPTED
from syncjobs.models import JobPhase, JobStatus, JobType, SyncJob
from tests.children import child_env
from tests.processes import start_manage, stop, wait_for

pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]


def job_where(job, **conditions):
    return SyncJob.objects.filter(pk=job.pk, **conditions).exists()


def in_thread(target):
    def run():
        try:
            target()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


# --- cancellation --------------------------------------------------------------------------


def test_cancelling_a_running_job_stops_its_upstream_calls(simulator, account, set_matches):
    """A cancel stops every upstream call: none comes after the job has ended, or later.

    How soon is measured by benchmark 5 (request to last call, 20 runs), not here: on a
    loaded machine a one-second bound in the suite failed now and then with nothing wrong."""
    set_matches(400, latency_ms=10)
    job = engine.create_job(account, JobType.FULL)
    worker = in_thread(lambda: engine.run_job(job.pk))
    wait_for(lambda: job_where(job, details_done__gte=25), 60, "phase 2 to start")

    engine.request_cancel(job)
    worker.join(timeout=10)

    assert not worker.is_alive()
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert job.finished_at is not None
    calls = len(simulator.state.log)
    assert max(entry["t"] for entry in simulator.state.log) <= job.finished_at.timestamp()
    time.sleep(0.5)
    assert len(simulator.state.log) == calls  # nothing left running calls on
    kept = Match.objects.for_account(account).complete().count()
    assert 25 <= kept < 400  # what was stored before the cancel stays


def test_a_cancel_mid_batch_keeps_every_answer_and_the_next_sync_fetches_nothing_twice(
    simulator, account, settings, set_matches
):
    settings.SYNC_DETAIL_SOURCES = ["steam_sequence"]
    set_matches(100, latency_ms=40)
    job = engine.create_job(account, JobType.FULL)
    worker = in_thread(lambda: engine.run_job(job.pk))
    wait_for(lambda: simulator.state.calls("sequence") >= 10, 60, "ten answers of a batch")

    engine.request_cancel(job)
    worker.join(timeout=10)

    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    answered = simulator.state.calls("sequence")
    assert answered < BATCH_SIZE  # the cancel came in the middle of the first batch
    assert Match.objects.for_account(account).complete().count() == answered
    assert job.details_ok == answered

    resumed = engine.run_job(engine.create_job(account, JobType.FULL).pk)

    assert resumed.status == JobStatus.COMPLETED
    assert Match.objects.for_account(account).complete().count() == 100
    fetched = [
        e["params"]["start_at_match_seq_num"]
        for e in simulator.state.log
        if e["endpoint"] == "sequence"
    ]
    assert len(fetched) == len(set(fetched)) == 100


def test_cancel_interrupts_a_long_rate_limit_wait(simulator, account, set_matches):
    set_matches(50, rate_limit={"details": {"burst": 1, "retry_after": 30}})
    job = engine.create_job(account, JobType.FULL)
    worker = in_thread(lambda: engine.run_job(job.pk))
    wait_for(lambda: simulator.state.calls("details") == 1, 30, "the 429")

    engine.request_cancel(job)
    worker.join(timeout=3)

    assert not worker.is_alive()
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert simulator.state.calls("details") == 1


def test_a_pending_job_is_cancelled_at_once_and_never_runs(simulator, account):
    job = engine.create_job(account, JobType.FULL)

    job = engine.request_cancel(job)
    assert job.status == JobStatus.CANCELLED
    engine.run_job(job.pk)

    assert sum(simulator.state.calls().values()) == 0
    with pytest.raises(engine.NotCancellable, match="Cannot cancel"):
        engine.request_cancel(job)


def test_finished_jobs_cannot_be_cancelled(simulator, account, set_matches):
    set_matches(5)
    job = engine.run_job(engine.create_job(account, JobType.FULL).pk)

    with pytest.raises(engine.NotCancellable, match="completed"):
        engine.request_cancel(job)


def test_sigint_cancels_a_foreground_sync_and_exits_130(simulator, account, set_matches):
    set_matches(400, latency_ms=10)
    process = start_manage("sync_matches", str(ACCOUNT_ID), "--full", env=child_env(simulator))
    job = wait_for(
        lambda: SyncJob.objects.filter(account=account, details_done__gte=25).first(),
        60,
        "phase 2",
    )

    process.send_signal(signal.SIGINT)
    process.wait(timeout=10)

    assert process.returncode == 130
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert Match.objects.for_account(account).complete().count() >= 25


# --- crashes, redelivery, double starts ---------------------------------------------------


def kill_foreground_sync_when(simulator, account, condition, **env):
    process = start_manage(
        "sync_matches", str(ACCOUNT_ID), "--full", env=child_env(simulator, **env)
    )
    try:
        job = wait_for(
            lambda: SyncJob.objects.filter(account=account, **condition).first(), 60, condition
        )
    finally:
        stop(process, signal.SIGKILL)
    return job


def test_kill_9_in_phase_1_then_a_new_sync_completes_everything(
    simulator, account, set_matches, fetches_per_match, wait_until_seen_dead
):
    set_matches(1200)
    dead = kill_foreground_sync_when(
        simulator,
        account,
        {"phase": JobPhase.COLLECTING_IDS, "ids_found__gte": 100},
        STEAM_API_MIN_INTERVAL=0.3,
    )
    stored_before = Match.objects.for_account(account).count()
    assert stored_before >= 100  # every answered page was committed
    wait_until_seen_dead(dead)

    job = engine.run_job(engine.create_job(account, JobType.FULL).pk)  # not blocked

    dead.refresh_from_db()
    assert dead.status == JobStatus.FAILED
    assert "Interrupted" in dead.error_message
    assert job.status == JobStatus.COMPLETED
    assert Match.objects.for_account(account).complete().count() == 1200
    assert max(fetches_per_match().values()) == 1


def test_kill_9_in_phase_2_then_a_new_sync_resumes_without_refetching(
    simulator, account, set_matches, fetches_per_match, wait_until_seen_dead
):
    set_matches(300)
    dead = kill_foreground_sync_when(
        simulator,
        account,
        {"phase": JobPhase.FETCHING_DETAILS, "details_done__gte": 60},
        STEAM_API_MIN_INTERVAL=0.005,
    )
    stored = set(Match.objects.for_account(account).complete().values_list("pk", flat=True))
    assert len(stored) >= 60
    calls_before = fetches_per_match()
    wait_until_seen_dead(dead)

    job = engine.run_job(engine.create_job(account, JobType.FULL).pk)

    assert job.status == JobStatus.COMPLETED
    assert Match.objects.for_account(account).complete().count() == 300
    calls = fetches_per_match()
    refetched = {int(m) for m, n in calls.items() if n > calls_before.get(m, 0) and n > 1}
    assert not refetched & stored  # nothing stored before the kill is fetched again
    # Only what was in flight is lost: at most two batches of answers the writer had not
    # stored yet, and the calls the sources' lanes were making.
    in_flight = len(settings.SYNC_DETAIL_SOURCES) * settings.SYNC_CONCURRENCY
    assert sum(calls.values()) <= 300 + 2 * BATCH_SIZE + in_flight
    dead.refresh_from_db()
    assert dead.status == JobStatus.FAILED


def test_a_job_whose_worker_died_is_reaped_by_the_next_start(account, worker_gone):
    dead = engine.create_job(account, JobType.FULL)
    worker_gone(dead)

    fresh = engine.create_job(account, JobType.INCREMENTAL)

    dead.refresh_from_db()
    assert (dead.status, dead.error_message) == (JobStatus.FAILED, INTERRUPTED)
    assert fresh.status == JobStatus.PENDING


def test_a_live_running_job_blocks_a_second_start(account):
    live = engine.create_job(account, JobType.FULL)
    SyncJob.objects.filter(pk=live.pk).update(status=JobStatus.RUNNING)
    holding = threading.Event()
    release = threading.Event()

    def hold_the_lock():
        locks.acquire_account_lock(ACCOUNT_ID)
        holding.set()
        release.wait(10)
        locks.release_account_lock(ACCOUNT_ID)

    holder = in_thread(hold_the_lock)
    holding.wait(5)
    try:
        with pytest.raises(engine.AlreadyRunning):
            engine.create_job(account, JobType.INCREMENTAL)
        assert engine.run_job(live.pk).status == JobStatus.RUNNING  # redelivery: hands off
    finally:
        release.set()
        holder.join()


def test_a_redelivered_task_for_a_finished_job_does_nothing(simulator, account, set_matches):
    set_matches(10)
    job = engine.run_job(engine.create_job(account, JobType.FULL).pk)
    simulator.state.reset()

    again = engine.run_job(job.pk)

    assert again.status == JobStatus.COMPLETED
    assert again.finished_at == job.finished_at
    assert sum(simulator.state.calls().values()) == 0


@pytest.mark.slow
def test_a_running_task_cluster_picks_up_an_enqueued_job(account, set_matches, start_cluster):
    set_matches(60)
    start_cluster()
    job = engine.start_sync(account, JobType.FULL)
    wait_for(
        lambda: (
            job_where(job, status=JobStatus.COMPLETED) or job_where(job, status=JobStatus.FAILED)
        ),
        90,
        "the cluster to finish the job",
    )
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED, job.error_message
    assert job.task_id
    assert Match.objects.for_account(account).complete().count() == 60
