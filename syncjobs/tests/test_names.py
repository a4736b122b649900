"""Naming a job's players after the job: its own task, which never holds a sync up."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.html import escape
from django_q.models import OrmQ, Schedule

from matches import players
from matches.models import Match, MatchPlayer, Player
from matches.tests.match_builders import ACCOUNT_ID, OTHERS_ACCOUNT_ID
from matches.upstream.simulator.world import persona_name
from syncjobs import dispatch, engine, names, tasks
from syncjobs.models import JobStatus, JobType, SyncJob
from tests.processes import wait_for

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


def resolve_in_a_thread(job: SyncJob, outcome: list[str]) -> threading.Thread:
    def resolve():
        try:
            outcome.append(tasks.resolve_player_names(job.pk))
        finally:
            connection.close()

    worker = threading.Thread(target=resolve)
    worker.start()
    return worker


def sync_in_a_thread(job: SyncJob) -> threading.Thread:
    def run():
        try:
            engine.run_job(job.pk)
        finally:
            connection.close()

    runner = threading.Thread(target=run)
    runner.start()
    return runner


@pytest.mark.parametrize("stop", ["cancel", "another account's sync listing with Steam"])
def test_the_task_gives_way_to_a_cancel_or_a_sync_using_steam(
    simulator, settings, stop, sync, account, others_account
):
    simulator.state.configure(
        accounts={str(ACCOUNT_ID): {"matches": 150}, str(OTHERS_ACCOUNT_ID): {"matches": 1200}}
    )
    job = sync(account)
    settings.STEAM_API_MIN_INTERVAL = 0.5  # ~9 calls of 100 names: about 4 s if left alone
    outcome: list[str] = []
    worker = resolve_in_a_thread(job, outcome)
    wait_for(lambda: summaries_calls(simulator) >= 2, 30, "the task to start asking")
    asked_at = time.monotonic()
    competitor = None
    if stop == "cancel":
        SyncJob.objects.filter(pk=job.pk).update(cancel_requested_at=timezone.now())
    else:
        competitor = sync_in_a_thread(engine.create_job(others_account, JobType.FULL))
    worker.join(timeout=10)
    try:
        assert not worker.is_alive()
        assert time.monotonic() - asked_at < 2.5
        assert outcome[0].startswith("stopped")
        calls = summaries_calls(simulator)
        assert calls < 9
        time.sleep(0.6)
        assert summaries_calls(simulator) == calls
        # Given way to a sync, the players left are handed to a run PLAYER_NAMES_RETRY_SECONDS
        # (a minute) later.
        handed_on = Schedule.objects.filter(name=names.HAND_ON_SCHEDULE.format(job.pk)).first()
        assert (handed_on is not None) == (stop != "cancel")
        if handed_on:
            assert (handed_on.func, handed_on.args) == (
                "syncjobs.tasks.resolve_player_names",
                repr((job.pk,)),
            )
            assert handed_on.next_run > timezone.now() + timedelta(seconds=50)
    finally:
        if competitor:
            SyncJob.objects.filter(account=others_account).update(cancel_requested_at=Now())
            competitor.join(timeout=30)


@pytest.mark.parametrize(
    "other", ["a newer job of the account", "another account's pending sync", "an OpenDota sync"]
)
def test_the_task_does_not_give_way_to_what_leaves_steam_alone(
    simulator, settings, other, sync, account, others_account
):
    simulator.state.configure(
        accounts={str(ACCOUNT_ID): {"matches": 150}, str(OTHERS_ACCOUNT_ID): {"matches": 300}},
        latency_ms=20,
    )
    job = sync(account)
    settings.STEAM_API_MIN_INTERVAL = 0.3
    outcome: list[str] = []
    worker = resolve_in_a_thread(job, outcome)
    wait_for(lambda: summaries_calls(simulator) >= 2, 30, "the task to start asking")
    competitor = None
    if other == "a newer job of the account":
        engine.create_job(account, JobType.INCREMENTAL)
    elif other == "another account's pending sync":
        engine.create_job(others_account, JobType.INCREMENTAL)
    else:  # lists and fetches from OpenDota and the sequence endpoint: not the steam bucket
        settings.SYNC_ID_SOURCES = ["opendota"]
        settings.SYNC_DETAIL_SOURCES = ["steam_sequence", "opendota"]
        competitor = sync_in_a_thread(engine.create_job(others_account, JobType.FULL))
        wait_for(
            lambda: SyncJob.objects.filter(
                account=others_account, status=JobStatus.RUNNING
            ).exists(),
            10,
            "the other sync to run",
        )
    worker.join(timeout=30)
    if competitor:
        competitor.join(timeout=60)

    assert outcome[0].startswith("named")
    assert not Schedule.objects.filter(name=names.HAND_ON_SCHEDULE.format(job.pk)).exists()


def test_an_unusable_broker_never_fails_the_job(simulator, account, monkeypatch, set_matches, sync):
    def broken(*args, **kwargs):
        raise ConnectionError("the broker is down")

    monkeypatch.setattr(dispatch, "async_task", broken)
    set_matches(3)

    assert sync(account).status == JobStatus.COMPLETED


@pytest.mark.slow
def test_under_the_hourly_schedule_the_first_account_to_finish_is_named_too(
    simulator, signed_in, account, others_account, start_cluster
):
    """The schedule starts every account's sync at once: alice's small one ends while bob's
    long one still calls Steam. Her names wait for his sync, and then come, on her match
    pages."""
    simulator.state.configure(
        accounts={str(ACCOUNT_ID): {"matches": 10}, str(OTHERS_ACCOUNT_ID): {"matches": 600}}
    )
    # Steam paced, as it is for real; no OpenDota details, whose answers carry names already.
    start_cluster(
        Q_WORKERS=2,
        STEAM_API_MIN_INTERVAL=0.2,
        SYNC_DETAIL_SOURCES="steam_details,steam_sequence",
        PLAYER_NAMES_RETRY_SECONDS=5,
    )

    assert tasks.sync_all_accounts() == 2  # what the hourly schedule runs
    alices = SyncJob.objects.get(account=account)
    wait_for(
        lambda: SyncJob.objects.filter(pk=alices.pk, status=JobStatus.COMPLETED).exists(),
        60,
        "alice's sync to complete",
    )
    assert SyncJob.objects.filter(account=others_account, status=JobStatus.RUNNING).exists()
    mates = set(
        MatchPlayer.objects.filter(match__account_links__account=account)
        .exclude(account_id=ACCOUNT_ID)
        .values_list("account_id", flat=True)
    )
    mates = {mate for mate in mates if players.is_known_account(mate)}
    assert mates

    # Handed on to a run 5 s later, which gives way while bob's sync lasts (the cluster's
    # scheduler looks every 30 s), then names them.
    wait_for(
        lambda: (
            Player.objects.filter(pk__in=mates, refreshed_at__isnull=False).count() == len(mates)
        ),
        240,
        "alice's teammates to be named",
    )
    named = {
        player.pk: player.persona_name
        for player in Player.objects.filter(pk__in=mates)
        if simulator.state.world.has_profile(player.pk)
    }
    assert named
    assert all(name == persona_name(mate) for mate, name in named.items())
    for match in Match.objects.for_account(account).prefetch_related("players"):
        page = signed_in.get(f"/matches/{match.pk}/").content.decode()
        for seat in match.players.all():
            if seat.account_id in named:
                assert escape(named[seat.account_id]) in page, (match.pk, seat.account_id)
