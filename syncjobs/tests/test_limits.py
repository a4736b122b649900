"""What one user may queue: MAX_ACTIVE_JOBS_PER_USER syncs at once (page, API, command), the
web start's throttle (one allowance with the API's), and the schedule's fair order between
users in the broker's first-in, first-out queue."""

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from matches.tests.match_builders import OTHERS_ACCOUNT_ID, make_account
from syncjobs import engine
from syncjobs.models import JobStatus, JobType, SyncJob
from syncjobs.tasks import sync_all_accounts

pytestmark = pytest.mark.sqlite

ALICES = (1001, 1002, 1003, 1004, 1005)
BOBS = 9001  # above all of alice's: an order by account id would put bob last


@pytest.fixture
def limit_two(settings) -> None:
    settings.MAX_ACTIVE_JOBS_PER_USER = 2


@pytest.fixture
def alices_accounts(user) -> list:
    return [make_account(account_id, owner=user) for account_id in ALICES]


def queued_owners() -> list[tuple[str, int]]:
    """(owner, account id) of each sync task in the broker, in the order workers take them."""
    job_ids = [
        package.args()[0]
        for package in OrmQ.objects.order_by("id")
        if package.func() == "syncjobs.tasks.run_sync_job"
    ]
    jobs = SyncJob.objects.select_related("account__owner").in_bulk(job_ids)
    return [(jobs[pk].account.owner.username, jobs[pk].account.account_id) for pk in job_ids]


def start_on_the_page(client, account_id: int):
    return client.post(
        reverse("sync_start"),
        {"account": account_id, "job_type": JobType.INCREMENTAL},
        follow=True,
    )


def test_the_page_refuses_syncs_beyond_the_limit_and_another_users_sync_queues_next(
    client, user, other_user, alices_accounts, limit_two, django_capture_on_commit_callbacks
):
    make_account(BOBS, owner=other_user)
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        pages = [start_on_the_page(client, account_id) for account_id in ALICES]
    client.force_login(other_user)
    with django_capture_on_commit_callbacks(execute=True):
        start_on_the_page(client, BOBS)

    refused = pages[2].text
    assert "did not start. You already have 2 syncs waiting or running" in refused
    assert "MAX_ACTIVE_JOBS_PER_USER" in refused
    assert queued_owners() == [("alice", 1001), ("alice", 1002), ("bob", BOBS)]


def test_the_api_answers_429_beyond_the_limit_and_other_users_still_start(
    api, other_user, alices_accounts, limit_two
):
    bob = APIClient()
    bob.force_authenticate(other_user)
    make_account(BOBS, owner=other_user)

    codes = [
        api.post(
            "/api/sync/trigger", {"job_type": "full_sync", "account_id": account_id}, format="json"
        )
        for account_id in ALICES[:3]
    ]

    assert [response.status_code for response in codes] == [201, 201, 429]
    assert "You already have 2 syncs waiting or running" in codes[2].json()["detail"]
    assert (
        bob.post("/api/sync/trigger", {"job_type": "full_sync"}, format="json").status_code == 201
    )
    assert SyncJob.objects.active().count() == 3


def test_the_sync_command_exits_1_beyond_the_owners_limit(alices_accounts, limit_two):
    for account in alices_accounts[:2]:
        engine.create_job(account, JobType.FULL)

    with pytest.raises(CommandError) as refused:
        call_command("sync_matches", str(ALICES[2]), "--enqueue", stdout=StringIO())

    assert refused.value.returncode == 1
    assert "You already have 2 syncs waiting or running" in str(refused.value)
    assert not SyncJob.objects.filter(account=alices_accounts[2]).exists()


def test_an_ended_job_frees_its_place(alices_accounts, limit_two):
    first, second, third = alices_accounts[:3]
    engine.create_job(first, JobType.FULL)
    engine.request_cancel(engine.create_job(second, JobType.FULL))

    assert engine.create_job(third, JobType.FULL).status == JobStatus.PENDING


def test_a_second_start_of_a_syncing_account_is_already_running_even_at_the_limit(
    alices_accounts, settings
):
    settings.MAX_ACTIVE_JOBS_PER_USER = 1
    running = engine.create_job(alices_accounts[0], JobType.FULL)

    with pytest.raises(engine.AlreadyRunning) as again:
        engine.create_job(alices_accounts[0], JobType.FULL)

    assert again.value.job == running
    with pytest.raises(engine.TooManyJobs):
        engine.create_job(alices_accounts[1], JobType.FULL)


def test_no_limit_when_the_setting_is_zero(alices_accounts, settings):
    settings.MAX_ACTIVE_JOBS_PER_USER = 0

    for account in alices_accounts:
        engine.create_job(account, JobType.INCREMENTAL)

    assert SyncJob.objects.active().count() == len(ALICES)


@pytest.mark.postgresql_only(reason="SQLite runs one writing transaction at a time anyway")
@pytest.mark.django_db(transaction=True)
def test_two_starts_at_once_cannot_both_pass_the_limit(user, settings):
    settings.MAX_ACTIVE_JOBS_PER_USER = 1
    first, second = make_account(1001, owner=user), make_account(1002, owner=user)
    outcome: list[object] = []

    def start_second() -> None:
        try:
            outcome.append(engine.create_job(second, JobType.FULL))
        except engine.TooManyJobs as exc:
            outcome.append(exc)
        finally:
            connection.close()

    with transaction.atomic():  # the first start, not committed yet
        engine.create_job(first, JobType.FULL)
        racing = threading.Thread(target=start_second)
        racing.start()
        racing.join(timeout=1.0)
        assert racing.is_alive(), "the second start must wait for the first one's count"
    racing.join(timeout=10)

    assert len(outcome) == 1
    assert isinstance(outcome[0], engine.TooManyJobs)
    assert list(SyncJob.objects.values_list("account__account_id", flat=True)) == [1001]


# --- the web start's throttle ----------------------------------------------------------------


def test_the_web_start_is_throttled_with_the_apis_allowance(
    signed_in, api, alices_accounts, monkeypatch
):
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "sync", "2/minute")

    through_api = api.post(
        "/api/sync/trigger", {"job_type": "full_sync", "account_id": ALICES[0]}, format="json"
    )
    start_on_the_page(signed_in, ALICES[1])
    throttled = start_on_the_page(signed_in, ALICES[2])

    assert through_api.status_code == 201
    assert "Too many syncs started: wait" in throttled.text
    assert list(SyncJob.objects.values_list("account__account_id", flat=True).order_by("pk")) == [
        ALICES[0],
        ALICES[1],
    ]
    linked = signed_in.post("/accounts/", {"reference": "1234", "then": "sync"})
    notes = [str(message) for message in get_messages(linked.wsgi_request)]
    assert any("1234 did not start. Too many syncs started" in note for note in notes)
    assert not SyncJob.objects.filter(account__account_id=1234).exists()


# --- the schedule's order ----------------------------------------------------------------------


def test_the_schedule_interleaves_users_and_holds_what_is_beyond_a_share(
    user, other_user, limit_two, django_capture_on_commit_callbacks
):
    for account_id in ALICES[:3]:
        make_account(account_id, owner=user)
    make_account(BOBS, owner=other_user)
    make_account(OTHERS_ACCOUNT_ID)  # nobody linked it: never scheduled

    with django_capture_on_commit_callbacks(execute=True):
        assert sync_all_accounts() == 3
        assert sync_all_accounts() == 0  # the next look: alice's share is in use
    first_look = queued_owners()
    OrmQ.objects.all().delete()
    SyncJob.objects.filter(account__account_id=1001).update(status=JobStatus.COMPLETED)
    with django_capture_on_commit_callbacks(execute=True):
        sync_all_accounts()

    assert first_look == [("alice", 1001), ("bob", BOBS), ("alice", 1002)]
    # One of alice's syncs ended: the account held back starts at the next look.
    assert queued_owners() == [("alice", 1003)]


def test_the_least_recently_synced_accounts_go_first(
    user, other_user, limit_two, settings, django_capture_on_commit_callbacks
):
    accounts = [make_account(account_id, owner=user) for account_id in ALICES[:3]]
    make_account(BOBS, owner=other_user)
    long_ago = timezone.now() - timedelta(minutes=settings.SYNC_SCHEDULE_INTERVAL_MINUTES + 5)
    for minutes, account in zip((0, 2, 1), accounts, strict=True):
        job = engine.create_job(account, JobType.INCREMENTAL)
        SyncJob.objects.filter(pk=job.pk).update(
            status=JobStatus.COMPLETED, created_at=long_ago - timedelta(minutes=minutes)
        )

    with django_capture_on_commit_callbacks(execute=True):
        sync_all_accounts()

    # bob never synced, so he waited longest; alice's 1002 and 1003 synced before 1001.
    assert queued_owners() == [("bob", BOBS), ("alice", 1002), ("alice", 1003)]


def test_the_schedule_gives_a_user_only_their_free_share(
    user, other_user, alices_accounts, limit_two, django_capture_on_commit_callbacks
):
    engine.create_job(alices_accounts[0], JobType.FULL)  # started by hand, still waiting
    make_account(BOBS, owner=other_user)

    with django_capture_on_commit_callbacks(execute=True):
        sync_all_accounts()

    assert queued_owners() == [("alice", 1002), ("bob", BOBS)]
