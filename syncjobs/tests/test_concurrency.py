"""Races: simultaneous starts, two runners on one job, a cancel racing the job's end.

Every thread has its own database connection (transactional tests), so the database's
constraints and locks, not Python, decide who wins.
"""

import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection
from rest_framework.test import APIClient

from matches.identity import api_tokens
from matches.models import Match
from syncjobs import engine
from syncjobs.models import ACTIVE_STATUSES, JobStatus, JobType, SyncJob

pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]

STARTERS = 20
RACES = 20


def at_once(count: int, target: Callable[[int], object]) -> list[object]:
    """Run `target(i)` in `count` threads released together; their results (or exceptions)."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = target(index)
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results


def test_twenty_simultaneous_triggers_create_exactly_one_job(user, account):
    token = api_tokens.create_token(user)

    def trigger(_: int) -> int:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        response = client.post("/api/sync/trigger", {"job_type": JobType.FULL}, format="json")
        return response.status_code

    statuses = Counter(at_once(STARTERS, trigger))

    assert statuses == {201: 1, 409: STARTERS - 1}
    assert SyncJob.objects.filter(account=account).count() == 1


def test_twenty_simultaneous_engine_starts_create_exactly_one_job(account):
    def start(_: int) -> SyncJob:
        return engine.create_job(account, JobType.INCREMENTAL)

    results = at_once(STARTERS, start)

    created = [r for r in results if isinstance(r, SyncJob)]
    refused = [r for r in results if isinstance(r, engine.AlreadyRunning)]
    assert len(created) == 1, results
    assert len(refused) == STARTERS - 1
    assert {r.job.pk for r in refused} == {created[0].pk}


def test_two_runners_on_one_job_fetch_nothing_twice(
    simulator, account, set_matches, fetches_per_match
):
    matches = 120
    set_matches(matches, latency_ms=1)
    job = engine.create_job(account, JobType.FULL)

    results = at_once(2, lambda _: engine.run_job(job.pk))

    assert not [r for r in results if isinstance(r, Exception)], results
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED, job.error_message
    assert job.details_ok == matches
    # Exactly the calls of one run: phase 1 was listed once, each match fetched once.
    assert simulator.state.calls("history") == 2
    assert simulator.state.calls("opendota_player_matches") == 1
    per_match = fetches_per_match()
    assert len(per_match) == matches
    assert set(per_match.values()) == {1}


def test_a_cancel_racing_the_end_of_the_job_leaves_one_consistent_state(
    simulator, account, set_matches
):
    set_matches(6, latency_ms=2)
    began = time.monotonic()
    engine.run_job(engine.create_job(account, JobType.FULL).pk)
    duration = time.monotonic() - began  # of a run nobody cancels, on this machine today
    endings: Counter[str] = Counter()
    for race in range(RACES):
        Match.objects.all().delete()
        job = engine.create_job(account, JobType.FULL)
        runner = threading.Thread(target=_run_and_close, args=(job.pk,))
        runner.start()
        # From "before the worker claims it" to well after it would have finished.
        time.sleep(race * duration / (RACES / 2))
        try:
            answered = engine.request_cancel(job).status
        except engine.NotCancellable:
            answered = "too late"
        runner.join(timeout=30)
        assert not runner.is_alive()

        job.refresh_from_db()
        endings[f"{answered} -> {job.status}"] += 1
        assert job.status in (JobStatus.COMPLETED, JobStatus.CANCELLED), race
        assert job.finished_at is not None
        if answered == "too late":
            assert job.status == JobStatus.COMPLETED
        if answered == JobStatus.CANCELLED:  # cancelled while pending: it never ran
            assert job.started_at is None
            assert job.details_done == 0
        if job.status == JobStatus.CANCELLED:
            assert job.cancel_requested_at is not None
        else:
            assert job.details_ok == job.details_total == 6
        # The counters say exactly what the database holds.
        stored = Match.objects.for_account(account).complete().count()
        assert stored == job.details_ok, (race, answered, job.status)
        assert not SyncJob.objects.filter(account=account, status__in=ACTIVE_STATUSES).exists()
    # The sweep must have hit both sides of the race, or it tested nothing.
    assert any(ending.endswith(JobStatus.CANCELLED) for ending in endings), endings
    assert any(ending.endswith(JobStatus.COMPLETED) for ending in endings), endings


def _run_and_close(job_id: int) -> None:
    try:
        engine.run_job(job_id)
    finally:
        connection.close()
