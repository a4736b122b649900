"""Phase 2 spread over threads, over several tasks, and over two clusters on Redis."""

import re
import threading
import uuid

import pytest
import redis
from django.db import connection

from matches.models import Match
from matches.tests.match_builders import ACCOUNT_ID
from syncjobs import engine
from syncjobs.models import JobPhase, JobStatus, JobType, SyncJob
from tests.children import child_env
from tests.processes import start_manage, stop, wait_for

REDIS_URL = "redis://127.0.0.1:6379/0"
pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]


def test_threads_overlap_round_trips_without_fetching_twice(
    simulator, account, settings, set_matches, fetches_per_match
):
    settings.SYNC_CONCURRENCY = 6
    set_matches(300, latency_ms=5)

    job = engine.run_job(engine.create_job(account, JobType.FULL).pk)

    assert job.status == JobStatus.COMPLETED, job.error_message
    assert (job.details_total, job.details_done, job.details_ok) == (300, 300, 300)
    fetched = fetches_per_match()
    assert len(fetched) == 300
    assert set(fetched.values()) == {1}


def test_helper_parts_share_one_jobs_phase_2(
    simulator, account, settings, set_matches, fetches_per_match
):
    set_matches(400, latency_ms=5)
    job = engine.create_job(account, JobType.FULL)
    parts = []
    attempted_by_helpers = []

    def coordinator():
        try:
            engine.run_job(job.pk)
        finally:
            connection.close()

    def helper():
        try:
            attempted_by_helpers.append(engine.run_details_part(job.pk))
        finally:
            connection.close()

    main = threading.Thread(target=coordinator)
    main.start()
    wait_for(
        lambda: SyncJob.objects.filter(pk=job.pk, phase=JobPhase.FETCHING_DETAILS).exists(),
        30,
        "phase 2",
    )
    for _ in range(2):
        part = threading.Thread(target=helper)
        part.start()
        parts.append(part)
    main.join(timeout=60)
    for part in parts:
        part.join(timeout=10)

    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED
    assert (job.details_done, job.details_ok) == (400, 400)
    assert sum(job.sources.values()) == 400
    assert set(fetches_per_match().values()) == {1}
    assert not Match.objects.filter(claimed_by__isnull=False).exists()
    assert len(attempted_by_helpers) == 2
    assert all(attempted > 0 for attempted in attempted_by_helpers)  # both took a share


@pytest.mark.slow
@pytest.mark.postgresql_only(
    reason="clusters on several machines share a database server; a SQLite file is one machine's"
)
def test_two_clusters_on_redis_share_one_jobs_phase_2(
    simulator, account, settings, set_matches, fetches_per_match, start_cluster
):
    """The multi-machine mode: two django-q clusters, one Redis broker, one PostgreSQL."""
    settings.STEAM_API_MIN_INTERVAL = 0.004  # the shared limit both clusters must respect
    set_matches(300, latency_ms=10)
    name = f"dotasync-test-{uuid.uuid4().hex[:8]}"
    env = {
        "REDIS_URL": REDIS_URL,
        "Q_CLUSTER_NAME": name,
        # A busy one-worker cluster can hold two more tasks (one queued, one in its pusher's
        # hand), so with three helper tasks the idle cluster is sure to get at least one.
        "SYNC_DETAIL_TASKS": 4,
        "STEAM_API_MIN_INTERVAL": 0.004,
        "LOG_LEVEL": "INFO",
    }
    clusters = [start_cluster(**env) for _ in range(2)]
    broker = redis.Redis.from_url(REDIS_URL)
    try:
        wait_for(lambda: len(broker.keys(f"django_q:{name}:cluster:*")) == 2, 60, "2 clusters")
        enqueue = start_manage(
            "sync_matches",
            *(str(ACCOUNT_ID), "--full", "--enqueue"),
            env=child_env(simulator, **env),
        )
        assert enqueue.wait(timeout=60) == 0, enqueue.output()
        job = wait_for(
            lambda: SyncJob.objects.filter(
                account=account, status__in=[JobStatus.COMPLETED, JobStatus.FAILED]
            ).first(),
            120,
            "the job to end",
        )
    finally:
        for cluster in clusters:
            stop(cluster)  # gracefully: their last log lines are written
    outputs = [cluster.output() for cluster in clusters]

    assert job.status == JobStatus.COMPLETED, job.error_message
    assert job.details_ok == 300
    assert set(fetches_per_match().values()) == {1}  # no match fetched twice
    worked = [sum(int(n) for n in re.findall(r"attempted (\d+) matches", out)) for out in outputs]
    coordinator_share = [("completed: 300 ids" in out) for out in outputs]
    assert any(coordinator_share)
    helper_cluster = coordinator_share.index(False)
    assert worked[helper_cluster] > 0, outputs  # the other cluster fetched part of phase 2
    steam_calls = sorted(
        e["t"] for e in simulator.state.log if e["endpoint"] in {"history", "details"}
    )
    assert len(steam_calls) / (steam_calls[-1] - steam_calls[0]) <= 1 / 0.004 * 1.05
