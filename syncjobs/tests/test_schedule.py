"""The periodic incremental sync of every linked account."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from django_q.models import Schedule

from matches.models import SteamAccount
from syncjobs import engine
from syncjobs.models import JobStatus, JobType, SyncJob
from syncjobs.schedule import SCHEDULE_NAME, SUPERVISOR_SCHEDULE_NAME, ensure_schedule
from syncjobs.tasks import supervise, sync_all_accounts

pytestmark = pytest.mark.sqlite


def test_migrate_creates_the_schedule_looking_every_minute_for_due_accounts(db):
    schedule = Schedule.objects.get(name=SCHEDULE_NAME)

    assert schedule.func == "syncjobs.tasks.sync_all_accounts"
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == (
        Schedule.MINUTES,
        1,
        -1,
    )


def test_zero_interval_removes_the_schedule(db, settings):
    settings.SYNC_SCHEDULE_INTERVAL_MINUTES = 0
    ensure_schedule()
    assert not Schedule.objects.filter(name=SCHEDULE_NAME).exists()

    settings.SYNC_SCHEDULE_INTERVAL_MINUTES = 15
    ensure_schedule()
    assert Schedule.objects.get(name=SCHEDULE_NAME).minutes == 1


def test_an_account_is_due_once_its_last_sync_started_an_interval_ago(
    db, settings, django_capture_on_commit_callbacks
):
    settings.SYNC_SCHEDULE_INTERVAL_MINUTES = 60
    owner = get_user_model().objects.create_user("ana")
    account = SteamAccount.objects.create(account_id=1001, owner=owner)
    synced = engine.create_job(account, JobType.INCREMENTAL)
    SyncJob.objects.filter(pk=synced.pk).update(status=JobStatus.COMPLETED)

    assert sync_all_accounts() == 0  # synced just now
    SyncJob.objects.filter(pk=synced.pk).update(created_at=timezone.now() - timedelta(minutes=61))
    with django_capture_on_commit_callbacks(execute=True):
        assert sync_all_accounts() == 1


def test_every_linked_account_not_already_syncing_gets_an_incremental_sync(
    db, django_capture_on_commit_callbacks
):
    owner = get_user_model().objects.create_user("ana")
    idle = SteamAccount.objects.create(account_id=1001, owner=owner)
    busy = SteamAccount.objects.create(account_id=1002, owner=owner)
    SteamAccount.objects.create(account_id=1003)  # nobody linked it: not synced
    running = engine.create_job(busy, JobType.FULL)

    with django_capture_on_commit_callbacks(execute=True):
        started = sync_all_accounts()

    assert started == 1
    job = SyncJob.objects.get(account=idle)
    assert (job.job_type, job.status) == (JobType.INCREMENTAL, JobStatus.PENDING)
    assert job.task_id
    assert list(SyncJob.objects.filter(account=busy)) == [running]
    assert not SyncJob.objects.filter(account__account_id=1003).exists()


@pytest.mark.parametrize("job_type", ["incremental_sync", "full_sync", "backfill"])
def test_start_sync_enqueues_the_task_on_commit(db, django_capture_on_commit_callbacks, job_type):
    account = SteamAccount.objects.create(account_id=1001)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = engine.start_sync(account, job_type)
    assert not SyncJob.objects.get(pk=job.pk).task_id  # nothing is queued before the commit
    for callback in callbacks:
        callback()

    assert SyncJob.objects.get(pk=job.pk).task_id


def test_migrate_creates_the_supervisor_running_every_minute(db, settings):
    settings.SYNC_SCHEDULE_INTERVAL_MINUTES = 0
    ensure_schedule()

    schedule = Schedule.objects.get(name=SUPERVISOR_SCHEDULE_NAME)
    assert (schedule.func, schedule.minutes, schedule.repeats) == (
        "syncjobs.tasks.supervise",
        1,
        -1,
    )


def test_the_supervisor_ends_a_running_job_whose_worker_is_gone(account, worker_gone):
    job = engine.create_job(account, JobType.FULL)
    worker_gone(job)

    assert supervise()["ended"] == 1

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error_message.startswith("Interrupted")


def test_the_sync_after_a_daily_reset_starts_unless_one_runs(
    db, django_capture_on_commit_callbacks
):
    from syncjobs.tasks import continue_sync

    account = SteamAccount.objects.create(account_id=1004)
    with django_capture_on_commit_callbacks(execute=True):
        started = continue_sync(1004)

    assert SyncJob.objects.get(pk=started).job_type == JobType.INCREMENTAL
    assert continue_sync(1004) is None  # the first one is still pending
    assert continue_sync(999) is None  # an account that is gone
    assert account.sync_jobs.count() == 1
