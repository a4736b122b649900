from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from matches.models import Match, SteamAccount
from matches.tests.match_builders import ACCOUNT_ID, OTHERS_ACCOUNT_ID, make_account
from syncjobs.models import JobPhase, JobStatus, JobType, SyncJob

pytestmark = pytest.mark.django_db

SECOND = 1234


def make_job(account: SteamAccount, status: str = JobStatus.PENDING, **fields) -> SyncJob:
    return SyncJob.objects.create(
        account=account, job_type=JobType.INCREMENTAL, status=status, **fields
    )


def as_comparable(job: dict) -> dict:
    """A job's fields with timestamps parsed, so `Z` and `+00:00` compare equal."""
    return {
        key: datetime.fromisoformat(value) if key.endswith("_at") and value else value
        for key, value in job.items()
    }


# --- trigger ------------------------------------------------------------------------------------


@pytest.mark.parametrize("job_type", [JobType.INCREMENTAL, JobType.FULL])
def test_trigger_creates_a_pending_job_and_enqueues_it_on_commit(
    api, account, user, job_type, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api.post("/api/sync/trigger", {"job_type": job_type}, format="json")

    assert response.status_code == 201, response.json()
    job = SyncJob.objects.get()
    assert (job.account, job.job_type, job.status, job.requested_by) == (
        account,
        job_type,
        JobStatus.PENDING,
        user,
    )
    assert len(callbacks) == 1
    assert job.task_id
    assert as_comparable(response.json()) == as_comparable(job.as_dict())


def test_trigger_names_the_account_when_the_user_has_several(api, account, user):
    second = make_account(SECOND, owner=user)

    ambiguous = api.post("/api/sync/trigger", {"job_type": "full_sync"}, format="json")
    chosen = api.post(
        "/api/sync/trigger", {"job_type": "full_sync", "account_id": SECOND}, format="json"
    )

    assert ambiguous.status_code == 400
    assert list(ambiguous.json()["errors"]) == ["account_id"]
    assert chosen.status_code == 201
    assert chosen.json()["account_id"] == SECOND
    assert SyncJob.objects.get().account == second


def test_trigger_while_a_job_is_pending_is_409_with_that_job(api, account):
    # A pending job, not a running one: the engine reaps running jobs whose worker holds no lock.
    pending = make_job(account)

    response = api.post("/api/sync/trigger", {"job_type": "full_sync"}, format="json")

    assert response.status_code == 409
    body = response.json()
    assert str(ACCOUNT_ID) in body["detail"]
    assert body["job"]["id"] == pending.pk
    assert SyncJob.objects.count() == 1


@pytest.mark.parametrize("job_type", ["backfill", "everything", ""])
def test_trigger_refuses_job_types_it_does_not_start(api, account, job_type):
    response = api.post("/api/sync/trigger", {"job_type": job_type}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("job_type: ")
    assert not SyncJob.objects.exists()


def test_trigger_without_a_linked_account_is_400(api):
    response = api.post("/api/sync/trigger", {"job_type": "incremental_sync"}, format="json")

    assert response.status_code == 400
    assert "Link a Steam account" in response.json()["detail"]


def test_trigger_for_another_users_account_is_404(api, account, others_account):
    response = api.post(
        "/api/sync/trigger",
        {"job_type": "full_sync", "account_id": OTHERS_ACCOUNT_ID},
        format="json",
    )

    assert response.status_code == 404
    assert not SyncJob.objects.exists()


def test_malformed_json_is_a_400_with_detail(api, account):
    response = api.post("/api/sync/trigger", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_starting_syncs_is_throttled_per_user(api, account, other_user, monkeypatch):
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "sync", "2/minute")
    make_account(OTHERS_ACCOUNT_ID, owner=other_user)
    bob = APIClient()
    bob.force_authenticate(other_user)

    codes = [
        api.post("/api/sync/trigger", {"job_type": "full_sync"}, format="json").status_code,
        api.post("/api/sync/backfill", {}, format="json").status_code,
        api.post("/api/sync/trigger", {"job_type": "full_sync"}, format="json").status_code,
    ]

    assert codes == [201, 409, 429]
    assert "throttled" in api.post("/api/sync/backfill", {}, format="json").json()["detail"]
    assert bob.post("/api/sync/backfill", {}, format="json").status_code == 201


# --- backfill -----------------------------------------------------------------------------------


@pytest.mark.parametrize("force", [False, True])
def test_backfill_creates_a_backfill_job(api, account, force):
    response = api.post("/api/sync/backfill", {"force": force}, format="json")

    assert response.status_code == 201
    assert response.json()["job_type"] == "backfill"
    job = SyncJob.objects.get(pk=response.json()["id"])
    assert (job.job_type, job.force) == (JobType.BACKFILL, force)


def test_backfill_while_busy_is_409(api, account):
    make_job(account)

    response = api.post("/api/sync/backfill", {"account_id": ACCOUNT_ID}, format="json")

    assert response.status_code == 409
    assert SyncJob.objects.count() == 1


def test_backfill_of_another_users_account_is_404(api, account, others_account):
    response = api.post("/api/sync/backfill", {"account_id": OTHERS_ACCOUNT_ID}, format="json")

    assert response.status_code == 404


# --- cancel -------------------------------------------------------------------------------------


def test_cancelling_a_pending_job_cancels_it_at_once(api, account):
    job = make_job(account)

    response = api.post(f"/api/sync/cancel/{job.pk}")

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["status"], body["cancel_requested"]) == (job.pk, "cancelled", True)
    assert body["detail"] == "Job cancelled."
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED


def test_cancelling_a_running_job_asks_the_worker_to_stop(api, account, live_worker):
    job = live_worker(
        make_job(
            account, JobStatus.RUNNING, phase=JobPhase.COLLECTING_IDS, started_at=timezone.now()
        )
    )

    response = api.post(f"/api/sync/cancel/{job.pk}")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["cancel_requested"]) == ("running", True)
    assert body["detail"].startswith("Cancellation requested")
    job.refresh_from_db()
    assert job.cancel_requested_at is not None


@pytest.mark.parametrize("status", [JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED])
def test_cancelling_a_finished_job_is_400(api, account, status):
    job = make_job(account, status, finished_at=timezone.now())

    response = api.post(f"/api/sync/cancel/{job.pk}")

    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"Cannot cancel job #{job.pk}")
    job.refresh_from_db()
    assert job.status == status


def test_cancelling_another_users_job_or_none_is_404(api, account, others_account):
    theirs = make_job(others_account)

    assert api.post(f"/api/sync/cancel/{theirs.pk}").status_code == 404
    assert api.post(f"/api/sync/cancel/{theirs.pk + 1000}").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == JobStatus.PENDING


# --- jobs ---------------------------------------------------------------------------------------


def test_job_list_is_the_users_jobs_newest_first(api, account, user, others_account):
    second = make_account(SECOND, owner=user)
    old = make_job(account, JobStatus.COMPLETED, finished_at=timezone.now())
    SyncJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=1))
    newer = make_job(account)
    on_second = make_job(second)
    make_job(others_account)

    response = api.get("/api/sync/jobs/")

    assert response.status_code == 200
    assert [job["id"] for job in response.json()["results"]] == [on_second.pk, newer.pk, old.pk]
    filtered = api.get("/api/sync/jobs/", {"account": ACCOUNT_ID}).json()["results"]
    assert [job["id"] for job in filtered] == [newer.pk, old.pk]
    assert api.get("/api/sync/jobs/", {"account": OTHERS_ACCOUNT_ID}).status_code == 404


def test_job_detail_has_the_fields_of_as_dict(api, account, live_worker):
    job = live_worker(
        make_job(
            account,
            JobStatus.RUNNING,
            phase=JobPhase.FETCHING_DETAILS,
            started_at=timezone.now(),
            ids_found=40,
            details_total=40,
            details_done=10,
            details_ok=9,
            details_failed=1,
            sources={"opendota": 9},
        )
    )

    response = api.get(f"/api/sync/jobs/{job.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert as_comparable(body) == as_comparable(job.as_dict())
    assert (body["percent"], body["progress_text"]) == (25, "Fetching details: 10/40")


def test_another_users_job_is_404(api, account, others_account):
    theirs = make_job(others_account)

    response = api.get(f"/api/sync/jobs/{theirs.pk}/")

    assert response.status_code == 404
    assert set(response.json()) == {"detail"}


# --- authentication -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/sync/trigger", "/api/sync/backfill", "/api/sync/cancel/1"])
def test_starting_and_cancelling_need_authentication(account, path):
    assert APIClient().post(path, {"job_type": "full_sync"}).status_code == 401
    assert not SyncJob.objects.exists()


def test_session_post_without_csrf_token_is_403(user, account):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)

    assert client.get("/api/sync/jobs/").status_code == 200
    response = client.post("/api/sync/trigger", {"job_type": "full_sync"}, format="json")

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not SyncJob.objects.exists()


def test_session_post_with_csrf_token_starts_a_sync(user, account):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    client.cookies["csrftoken"] = "k" * 32

    response = client.post(
        "/api/sync/trigger", {"job_type": "full_sync"}, format="json", HTTP_X_CSRFTOKEN="k" * 32
    )

    assert response.status_code == 201


def test_form_encoded_bodies_are_refused_as_415(api, account):
    response = api.post("/api/sync/trigger", {"job_type": "full_sync"})

    assert response.status_code == 415
    assert "detail" in response.json()
    assert not SyncJob.objects.exists()


@pytest.mark.parametrize("account_id", ["86745912.0", 86745912.0, True])
def test_account_id_must_be_a_whole_number(api, account, account_id):
    response = api.post(
        "/api/sync/trigger", {"job_type": "full_sync", "account_id": account_id}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["account_id"]


def test_backfill_with_reset_failed_gives_used_up_matches_their_attempts_back(api, account):
    Match.objects.create(match_id=31, has_details=False, retry_count=3).account_links.create(
        account=account
    )

    response = api.post("/api/sync/backfill", {"reset_failed": True}, format="json")

    assert response.status_code == 201
    assert response.json()["job_type"] == "backfill"
    match = Match.objects.get(pk=31)
    assert (match.has_details, match.retry_count) == (None, 0)
