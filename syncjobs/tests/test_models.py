"""The sync job's constraints (enforced by the database), its query helpers and its progress."""

import pytest
from django.db import IntegrityError, transaction

from matches.models import SteamAccount
from matches.tests.match_builders import ACCOUNT_ID
from syncjobs.models import JobPhase, JobStatus, JobType, SyncJob

pytestmark = pytest.mark.django_db


def violates_constraint(create) -> bool:
    try:
        with transaction.atomic():
            create()
    except IntegrityError:
        return True
    return False


def new_job(account: SteamAccount, status: str = JobStatus.PENDING, **fields) -> SyncJob:
    return SyncJob.objects.create(
        account=account, job_type=JobType.INCREMENTAL, status=status, **fields
    )


@pytest.mark.parametrize("first", [JobStatus.PENDING, JobStatus.RUNNING])
@pytest.mark.parametrize("second", [JobStatus.PENDING, JobStatus.RUNNING])
def test_one_active_job_per_account(account, first, second):
    new_job(account, first)

    assert violates_constraint(lambda: new_job(account, second))


@pytest.mark.parametrize("finished", [JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED])
def test_a_new_job_is_allowed_once_the_first_has_finished(account, finished):
    first = new_job(account)
    first.status = finished
    first.save()

    second = new_job(account)

    assert SyncJob.objects.active().get() == second
    new_job(account, finished)


def test_active_jobs_of_different_accounts_coexist(account):
    new_job(account)
    new_job(SteamAccount.objects.create(account_id=1))

    assert SyncJob.objects.active().count() == 2


def test_details_done_cannot_exceed_total(account):
    assert violates_constraint(lambda: new_job(account, details_total=3, details_done=4))


def test_jobs_for_user(account, user):
    job = new_job(account)
    new_job(SteamAccount.objects.create(account_id=1))

    assert list(SyncJob.objects.for_user(user)) == [job]


@pytest.mark.parametrize(
    ("fields", "text", "percent"),
    [
        ({"status": JobStatus.PENDING}, "Waiting for a worker", None),
        (
            {"status": JobStatus.RUNNING, "phase": JobPhase.COLLECTING_IDS, "ids_found": 12},
            "Collecting match IDs: 0 new, 12 listed",
            None,
        ),
        (
            {
                "status": JobStatus.RUNNING,
                "phase": JobPhase.FETCHING_DETAILS,
                "details_done": 3,
                "details_total": 8,
            },
            "Fetching details: 3/8",
            38,
        ),
        (
            {"status": JobStatus.RUNNING, "phase": JobPhase.FETCHING_DETAILS},
            "Fetching details: 0/0",
            0,
        ),
        ({"status": JobStatus.COMPLETED, "phase": JobPhase.FETCHING_DETAILS}, "Completed", 100),
        (
            {
                "status": JobStatus.COMPLETED,
                "phase": JobPhase.FETCHING_DETAILS,
                "details_done": 8,
                "details_total": 8,
            },
            "Completed",
            100,
        ),
        (
            {
                "status": JobStatus.FAILED,
                "phase": JobPhase.FETCHING_DETAILS,
                "details_done": 1,
                "details_total": 4,
            },
            "Failed",
            25,
        ),
        ({"status": JobStatus.CANCELLED, "phase": JobPhase.COLLECTING_IDS}, "Cancelled", None),
    ],
)
def test_progress_text_and_percent(fields, text, percent):
    job = SyncJob(job_type=JobType.FULL, **fields)

    assert job.progress_text == text
    assert job.percent == percent


def test_as_dict_reports_progress(account):
    job = new_job(
        account,
        JobStatus.RUNNING,
        phase=JobPhase.FETCHING_DETAILS,
        details_total=4,
        details_done=2,
    )

    data = job.as_dict()

    assert data["account_id"] == ACCOUNT_ID
    assert (data["status"], data["percent"], data["progress_text"]) == (
        "running",
        50,
        "Fetching details: 2/4",
    )
    assert data["finished_at"] is None
    assert data["created_at"] == job.created_at.isoformat()
