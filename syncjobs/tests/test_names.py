"""Naming a job's players after the job: its own task, which never holds a sync up."""

import threading
import time

import pytest
from django.db import connection
from django.utils import timezone
from django_q.models import OrmQ

from dotasync.processes import wait_for
from matches.models import MatchPlayer, Player, SteamAccount
from matches.tests.match_builders import ACCOUNT_ID
from syncjobs import engine, names, tasks
from syncjobs.models import JobStatus, JobType, SyncJob

# A sync's phase 2 runs on threads with their own connections: the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def queued_name_tasks() -> list[list]:
    return [
        list(queued.args())
        for queued in OrmQ.objects.all()
        if queued.func() == "syncjobs.tasks.resolve_player_names"
    ]


def summaries_calls(simulator) -> int:
    return simulator.state.calls("summaries")


def test_a_completed_sync_hands_its_names_to_a_task_and_makes_no_summary_call(
    simulator, account, set_matches, sync
):
    set_matches(30)

    job = sync(account)

    assert job.status == JobStatus.COMPLETED
    assert summaries_calls(simulator) == 0, "the sync itself asked Steam for names"
    assert queued_name_tasks() == [[job.pk]]
    assert not Player.objects.filter(refreshed_at__isnull=False).exists()

    result = tasks.resolve_player_names(job.pk)

    known = set(
        MatchPlayer.objects.filter(account_id__isnull=False).values_list("account_id", flat=True)
    )
    assert result == f"named {len(known)} players"
    assert set(Player.objects.filter(refreshed_at__isnull=False).values_list("pk", flat=True)) == (
        known
    )
    assert summaries_calls(simulator) == -(-len(known) // 100)
    account.refresh_from_db()
    assert account.persona_name == Player.objects.get(pk=ACCOUNT_ID).persona_name != ""


def test_the_job_ends_before_its_names_are_asked_for(
    simulator, account, settings, set_matches, sync
):
    """Even a name lookup that takes long never delays the job: the job's end is stored
    before the task starts, and the task's calls come after it."""
    set_matches(20)
    settings.STEAM_API_MIN_INTERVAL = 0.3
    job = sync(account)
    ended = job.finished_at.timestamp()

    tasks.resolve_player_names(job.pk)

    summary_times = [e["t"] for e in simulator.state.log if e["endpoint"] == "summaries"]
    assert summary_times
    assert min(summary_times) > ended


@pytest.mark.parametrize("job_type", [JobType.INCREMENTAL, JobType.BACKFILL])
def test_every_completed_job_type_enqueues_its_names(
    simulator, account, job_type, set_matches, sync
):
    set_matches(5)
    sync(account)
    OrmQ.objects.all().delete()

    job = sync(account, job_type)

    assert queued_name_tasks() == [[job.pk]]


def test_a_failed_or_cancelled_job_enqueues_nothing(simulator, account, sync):
    simulator.state.configure(accounts={str(ACCOUNT_ID): {"private": True}})
    job = sync(account)
    assert job.status == JobStatus.FAILED

    cancelled = engine.create_job(account, JobType.FULL)
    engine.request_cancel(cancelled)

    assert queued_name_tasks() == []
    assert tasks.resolve_player_names(job.pk).startswith("skipped")


def test_a_failure_is_reported_in_the_jobs_message(simulator, account, set_matches, sync):
    set_matches(10)
    job = sync(account)
    simulator.state.configure(error_rate={"summaries": 1.0})

    assert tasks.resolve_player_names(job.pk).startswith("failed")

    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED
    assert "Player names: Steam's GetPlayerSummaries failed (Steam answered HTTP 500)" in (
        job.message
    )
    assert "wait for the next sync" in job.message


def test_without_a_steam_key_opendota_names_still_name_the_account(
    simulator, account, settings, set_matches, sync
):
    settings.STEAM_API_KEY = ""
    settings.SYNC_DETAIL_SOURCES = ["opendota"]
    set_matches(5)
    job = sync(account)

    assert tasks.resolve_player_names(job.pk).startswith("skipped: no Steam API key")

    assert summaries_calls(simulator) == 0
    account.refresh_from_db()
    assert account.persona_name == Player.objects.get(pk=ACCOUNT_ID).persona_name != ""


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("stop", ["cancel", "newer job", "another account's sync"])
def test_the_task_gives_way_to_a_cancel_or_any_sync(
    simulator, settings, stop, set_matches, sync, account
):
    set_matches(150)
    job = sync(account)
    settings.STEAM_API_MIN_INTERVAL = 0.5  # ~9 calls of 100 names: about 4 s if left alone
    outcome = []

    def resolve():
        try:
            outcome.append(tasks.resolve_player_names(job.pk))
        finally:
            connection.close()

    worker = threading.Thread(target=resolve)
    worker.start()
    wait_for(lambda: summaries_calls(simulator) >= 2, 30, "the task to start asking")
    asked_at = time.monotonic()
    if stop == "cancel":
        SyncJob.objects.filter(pk=job.pk).update(cancel_requested_at=timezone.now())
    elif stop == "newer job":
        engine.create_job(account, JobType.INCREMENTAL)
    else:
        other = SteamAccount.objects.create(account_id=ACCOUNT_ID + 1)
        engine.create_job(other, JobType.INCREMENTAL)
    worker.join(timeout=10)

    assert not worker.is_alive()
    assert time.monotonic() - asked_at < 1.5
    assert outcome[0].startswith("stopped")
    calls = summaries_calls(simulator)
    assert calls < 9
    time.sleep(0.6)
    assert summaries_calls(simulator) == calls


def test_an_unusable_broker_never_fails_the_job(simulator, account, monkeypatch, set_matches, sync):
    def broken(*args, **kwargs):
        raise ConnectionError("the broker is down")

    monkeypatch.setattr(names, "async_task", broken)
    set_matches(3)

    assert sync(account).status == JobStatus.COMPLETED
