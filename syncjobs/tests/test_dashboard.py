"""The sync dashboard through the Django test client: start, progress partial, cancel, isolation.

Jobs are built as rows where a test needs a job in a given state; the worker is not involved.
"""

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from matches.models import AccountMatch, Match, SteamAccount
from syncjobs.models import JobPhase, JobStatus, JobType, SyncJob

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def other_job(others_account) -> SyncJob:
    """bob's running job."""
    return make_job(
        others_account, status=JobStatus.RUNNING, phase=JobPhase.COLLECTING_IDS, ids_found=7
    )


def make_job(account: SteamAccount, **fields) -> SyncJob:
    fields.setdefault("job_type", JobType.FULL)
    if fields.get("status") in (JobStatus.RUNNING, JobStatus.COMPLETED, JobStatus.CANCELLED):
        fields.setdefault("started_at", timezone.now() - timezone.timedelta(seconds=75))
    if fields.get("status") in (JobStatus.COMPLETED, JobStatus.CANCELLED, JobStatus.FAILED):
        fields.setdefault("finished_at", timezone.now())
    return SyncJob.objects.create(account=account, **fields)


def add_match(account: SteamAccount, match_id: int, **fields) -> Match:
    match = Match.objects.create(match_id=match_id, **fields)
    AccountMatch.objects.create(account=account, match=match)
    return match


def without_csrf_tokens(html: str) -> str:
    """Each rendering masks the CSRF token differently; the rest must be identical."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


def progress_url(job: SyncJob) -> str:
    return reverse("job_progress", args=[job.pk])


def cancel_url(job: SyncJob) -> str:
    return reverse("job_cancel", args=[job.pk])


# --- sign-in required -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/"),
        ("get", "/jobs/1/"),
        ("post", "/jobs/1/cancel/"),
        ("post", "/sync/"),
        ("get", "/accounts/"),
        ("get", "/matches/"),
    ],
)
def test_every_page_sends_anonymous_visitors_to_sign_in(client, method, url):
    response = getattr(client, method)(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


# --- the page -------------------------------------------------------------------------------


def test_without_accounts_the_dashboard_points_to_linking(signed_in):
    response = signed_in.get("/")

    assert response.status_code == 200
    assert "No Steam account linked yet" in response.text
    assert reverse("accounts") in response.text


def test_idle_dashboard_offers_both_sync_types_with_new_matches_checked(signed_in, account):
    response = signed_in.get("/")

    html = response.text
    assert 'value="incremental_sync" checked' in html
    assert 'value="full_sync">' in html
    assert "New Matches Only" in html
    assert "Full Sync (All Matches)" in html
    assert "Sync Matches" in html
    assert "hx-get" not in html  # nothing to poll


def test_account_selector_switches_between_the_users_accounts(signed_in, user, account):
    SteamAccount.objects.create(account_id=5555, persona_name="Smurf", owner=user)
    make_job(account, status=JobStatus.COMPLETED, message="main account's job")

    first_page = signed_in.get("/")
    main_page = signed_in.get("/", {"account": str(account.account_id)})

    assert 'id="account-select"' in first_page.text
    assert "Smurf (5555)" in first_page.text
    assert "Alice (86745912)" in first_page.text
    assert "main account&#x27;s job" not in first_page.text
    assert "main account&#x27;s job" in main_page.text
    assert f'name="account" value="{account.account_id}"' in main_page.text


def test_another_users_account_cannot_be_selected(signed_in, account, other_job):
    assert signed_in.get("/", {"account": other_job.account.account_id}).status_code == 404


# --- starting a sync ------------------------------------------------------------------------


@pytest.mark.parametrize("job_type", [JobType.INCREMENTAL, JobType.FULL, JobType.BACKFILL])
def test_sync_button_creates_a_pending_job_of_the_chosen_type(signed_in, user, account, job_type):
    response = signed_in.post("/sync/", {"account": account.account_id, "job_type": job_type})

    assert response.status_code == 302
    assert response["Location"] == f"/?account={account.account_id}"
    job = SyncJob.objects.get()
    assert (job.account, job.job_type, job.status, job.requested_by) == (
        account,
        job_type,
        JobStatus.PENDING,
        user,
    )
    assert job.force == (job_type == JobType.BACKFILL)  # a click retries now, not after backoff


def test_a_second_sync_while_one_runs_is_refused_with_a_message(signed_in, account):
    waiting = make_job(account, status=JobStatus.PENDING)

    response = signed_in.post(
        "/sync/", {"account": account.account_id, "job_type": JobType.FULL}, follow=True
    )

    assert list(SyncJob.objects.all()) == [waiting]
    assert "already under way" in response.text


def test_syncing_another_users_account_is_a_404(signed_in, account, other_job):
    response = signed_in.post(
        "/sync/", {"account": other_job.account.account_id, "job_type": JobType.FULL}
    )

    assert response.status_code == 404
    assert SyncJob.objects.count() == 1


def test_an_unknown_sync_type_is_refused(signed_in, account):
    response = signed_in.post("/sync/", {"account": account.account_id, "job_type": "everything"})

    assert response.status_code == 400
    assert not SyncJob.objects.exists()


def test_sync_requires_post_and_a_csrf_token(user, account):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)

    assert strict.get("/sync/").status_code == 405
    response = strict.post("/sync/", {"account": account.account_id, "job_type": JobType.FULL})
    assert response.status_code == 403
    assert not SyncJob.objects.exists()


# --- the progress partial -------------------------------------------------------------------


def test_phase_one_shows_ids_found_and_an_indeterminate_bar_and_keeps_polling(
    signed_in, account, live_worker
):
    job = live_worker(
        make_job(account, status=JobStatus.RUNNING, phase=JobPhase.COLLECTING_IDS, ids_found=450)
    )

    response = signed_in.get(progress_url(job), **HTMX)

    html = response.text
    assert response.status_code == 200
    assert "Collecting match IDs: 0 new, 450 listed" in html
    assert '<progress aria-label="Collecting match IDs: 0 new, 450 listed"></progress>' in html
    assert f'hx-get="{progress_url(job)}"' in html
    assert 'hx-trigger="load delay:1s"' in html
    assert 'hx-swap="outerHTML"' in html
    assert "<html" not in html  # the partial alone
    assert "Sync Matches" not in html
    assert 'id="account-select"' not in html
    assert "Cancel Sync" in html


def test_phase_two_shows_details_progress_counts_and_sources(signed_in, account, live_worker):
    job = live_worker(
        make_job(
            account,
            status=JobStatus.RUNNING,
            phase=JobPhase.FETCHING_DETAILS,
            ids_found=450,
            details_total=450,
            details_done=230,
            details_ok=200,
            details_failed=20,
            details_deferred=10,
            sources={"opendota": 150, "steam_sequence": 50},
        )
    )

    response = signed_in.get(progress_url(job), **HTMX)

    html = response.text
    assert response.status_code == 200
    assert "Fetching details: 230/450" in html
    assert 'value="51" max="100"' in html
    assert 'aria-valuenow="51"' in html
    assert "200 ok" in html
    assert "20 failed" in html
    assert "10 deferred" in html
    assert "opendota 150, steam_sequence 50" in html
    assert 'hx-trigger="load delay:1s"' in html


def test_a_pending_job_waits_for_a_worker(signed_in, account):
    job = make_job(account, status=JobStatus.PENDING)

    response = signed_in.get(progress_url(job), **HTMX)

    assert response.status_code == 200
    assert "Waiting for a worker" in response.text
    assert "hx-get" in response.text


def test_a_finished_job_stops_the_polling_with_286(signed_in, account):
    job = make_job(
        account,
        status=JobStatus.COMPLETED,
        phase=JobPhase.FETCHING_DETAILS,
        details_total=40,
        details_done=40,
        details_ok=40,
        message="40 new matches.",
    )

    response = signed_in.get(progress_url(job), **HTMX)

    html = response.text
    assert response.status_code == 286
    assert "Completed" in html
    assert "40 new matches." in html
    assert 'value="100"' in html
    assert "hx-get" not in html
    assert "hx-trigger" not in html
    assert "Sync Matches" in html  # the form is back for the next sync


def test_a_failed_job_shows_its_error(signed_in, account):
    job = make_job(account, status=JobStatus.FAILED, error_message="the Steam API key is invalid")

    response = signed_in.get(progress_url(job), **HTMX)

    assert response.status_code == 286
    assert "Failed" in response.text
    assert "the Steam API key is invalid" in response.text


def test_first_page_load_renders_the_same_partial_inside_the_page(signed_in, account, live_worker):
    job = live_worker(
        make_job(account, status=JobStatus.RUNNING, phase=JobPhase.COLLECTING_IDS, ids_found=12)
    )

    page = signed_in.get("/").text
    partial = signed_in.get(progress_url(job), **HTMX).text

    assert "<html" in page
    assert without_csrf_tokens(partial).strip() in without_csrf_tokens(page)


def test_the_job_url_without_htmx_is_a_full_page_even_when_finished(signed_in, account):
    job = make_job(account, status=JobStatus.CANCELLED)

    response = signed_in.get(progress_url(job))

    assert response.status_code == 200
    assert "<html" in response.text
    assert "Cancelled" in response.text


# --- cancelling -----------------------------------------------------------------------------


def test_cancelling_a_running_job_shows_cancelling_until_the_worker_stops(
    signed_in, account, live_worker
):
    job = live_worker(
        make_job(account, status=JobStatus.RUNNING, phase=JobPhase.COLLECTING_IDS, ids_found=3)
    )

    response = signed_in.post(cancel_url(job), **HTMX)

    job.refresh_from_db()
    assert job.cancel_requested
    assert job.status == JobStatus.RUNNING
    assert response.status_code == 200
    assert "Cancelling…" in response.text
    assert "Cancel Sync" not in response.text
    assert "hx-get" in response.text  # still polling until the worker confirms

    SyncJob.objects.filter(pk=job.pk).update(status=JobStatus.CANCELLED, finished_at=timezone.now())
    final = signed_in.get(progress_url(job), **HTMX)

    assert final.status_code == 286
    assert "Cancelled" in final.text
    assert "Cancelling…" not in final.text


def test_cancelling_a_pending_job_cancels_it_at_once(signed_in, account):
    job = make_job(account, status=JobStatus.PENDING)

    response = signed_in.post(cancel_url(job), **HTMX)

    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert response.status_code == 286
    assert "Cancelled" in response.text


def test_cancelling_a_finished_job_just_shows_how_it_ended(signed_in, account):
    job = make_job(account, status=JobStatus.COMPLETED)

    response = signed_in.post(cancel_url(job), **HTMX)

    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED
    assert not job.cancel_requested
    assert "Completed" in response.text


def test_cancel_without_htmx_returns_to_the_dashboard(signed_in, account, live_worker):
    job = live_worker(make_job(account, status=JobStatus.RUNNING, phase=JobPhase.COLLECTING_IDS))

    response = signed_in.post(cancel_url(job))

    assert response.status_code == 302
    assert response["Location"] == f"/?account={account.account_id}"
    job.refresh_from_db()
    assert job.cancel_requested


# --- another user's jobs --------------------------------------------------------------------


def test_another_users_job_is_a_404_for_progress_and_cancel(signed_in, account, other_job):
    assert signed_in.get(progress_url(other_job), **HTMX).status_code == 404
    assert signed_in.get(progress_url(other_job)).status_code == 404
    assert signed_in.post(cancel_url(other_job), **HTMX).status_code == 404

    other_job.refresh_from_db()
    assert not other_job.cancel_requested


def test_the_dashboard_lists_only_the_users_own_jobs(signed_in, account, other_job):
    make_job(account, status=JobStatus.COMPLETED, message="alice's sync")
    SyncJob.objects.filter(pk=other_job.pk).update(message="bob's sync")

    html = signed_in.get("/").text

    assert "alice&#x27;s sync" in html
    assert "bob&#x27;s sync" not in html


# --- retrying failed matches and the job list -----------------------------------------------


def test_retry_button_appears_only_with_pending_or_failed_matches(signed_in, account):
    add_match(account, 7001, has_details=True)
    assert "Retry failed matches" not in signed_in.get("/").text

    add_match(account, 7002, has_details=False, retry_count=2, fetch_error="not found on Steam")
    html = signed_in.get("/").text

    assert "Retry failed matches" in html
    assert 'name="job_type" value="backfill"' in html
    assert "7002" in html
    assert "not found on Steam" in html
    assert reverse("match_detail", args=[7002]) in html


def test_no_retry_button_when_every_failed_match_used_up_its_attempts(signed_in, account):
    add_match(account, 7005, has_details=False, retry_count=3, fetch_error="not found")

    html = signed_in.get("/").text

    assert "Retry failed matches" not in html
    assert "7005" in html  # still listed with its reason


def test_pending_stubs_also_offer_a_retry(signed_in, account):
    add_match(account, 7003)

    assert "Retry failed matches" in signed_in.get("/").text


def test_no_retry_button_while_a_job_runs(signed_in, account, live_worker):
    add_match(account, 7004, has_details=False, fetch_error="OpenDota answered HTTP 500")
    live_worker(
        make_job(
            account, status=JobStatus.RUNNING, phase=JobPhase.FETCHING_DETAILS, details_total=1
        )
    )

    assert "Retry failed matches" not in signed_in.get("/").text


def test_recent_jobs_show_status_type_counts_duration_and_notes(signed_in, account):
    make_job(
        account,
        job_type=JobType.INCREMENTAL,
        status=JobStatus.COMPLETED,
        ids_found=12,
        details_total=12,
        details_done=12,
        details_ok=11,
        details_failed=1,
        message="12 new matches.",
    )
    make_job(account, status=JobStatus.FAILED, error_message="OpenDota daily API limit exceeded")

    html = signed_in.get("/").text

    assert "New matches only" in html
    assert "Full sync (all matches)" in html
    assert "badge-completed" in html
    assert "badge-failed" in html
    assert "11 / 1 / 0" in html
    assert "1:15" in html  # 75 seconds
    assert "12 new matches." in html
    assert "OpenDota daily API limit exceeded" in html
