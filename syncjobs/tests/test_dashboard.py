"""The sync dashboard through the Django test client: start, progress partial, cancel, isolation.

Jobs are built as rows where a test needs a job in a given state; the worker is not involved.
"""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
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


def oob_ids(html: str) -> set[str]:
    """The ids of the parts a poll's answer swaps into the page."""
    return set(re.findall(r'<[a-z]+ id="([^"]+)"[^>]* hx-swap-oob=', html))


def oob_part(html: str, part_id: str) -> str:
    """The content of one out-of-band part of a poll's answer (they follow each other)."""
    starts = list(re.finditer(r'<([a-z]+) id="([^"]+)"[^>]* hx-swap-oob="[^"]*">', html))
    for index, start in enumerate(starts):
        if start.group(2) == part_id:
            end = starts[index + 1].start() if index + 1 < len(starts) else len(html)
            content = html[start.end() : end].rstrip()
            closing = f"</{start.group(1)}>"
            assert content.endswith(closing)
            return content.removesuffix(closing).strip()
    raise AssertionError(f"no part {part_id}")


def poll_url(html: str) -> str | None:
    """Where the page's (or an answer's) poller asks next; None once it stopped polling."""
    match = re.search(r'<div id="sync-poller"[^>]*?hx-get="([^"]+)"', html)
    return match.group(1).replace("&amp;", "&") if match else None


def outside_disclosure(html: str) -> str:
    """The page without its technical-details disclosure."""
    return re.sub(r'<details class="tech-notes">.*?</details>', "", html, flags=re.S)


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


def test_idle_dashboard_offers_both_sync_types_and_says_what_a_full_sync_does(signed_in, account):
    for match_id in (7001, 7002, 7003):
        add_match(account, match_id, has_details=True)

    html = signed_in.get("/").text

    assert 'value="incremental_sync" checked' in html
    assert re.search(r'value="full_sync" aria-describedby="sync-type-full-note"', html)
    assert "New Matches Only" in html
    assert "Full Sync (All Matches)" in html
    assert re.search(
        r'id="sync-type-full-note">Lists the whole history again and re-fetches the details of '
        r"all 3 matches already stored.<",
        html,
    )
    assert re.search(r'<button type="submit" id="sync-control" class="btn">Sync Matches', html)
    assert poll_url(html) is None  # nothing to poll


def test_a_full_sync_of_a_new_account_says_it_fetches_everything(signed_in, account):
    html = signed_in.get("/").text

    assert "Lists the account&#x27;s whole history and fetches every match&#x27;s details." in html


def test_without_a_choice_the_account_linked_first_is_shown(signed_in, user, account):
    SteamAccount.objects.create(account_id=5555, persona_name="Smurf", owner=user)
    make_job(account, status=JobStatus.COMPLETED, message="main account's job")

    html = signed_in.get("/").text

    assert 'id="account-select"' in html
    assert "Smurf (5555)" in html
    assert '<option value="86745912" selected>Alice (86745912)</option>' in html
    assert "main account&#x27;s job" in html


def test_the_chosen_account_is_kept_across_visits(signed_in, user, account):
    SteamAccount.objects.create(account_id=5555, persona_name="Smurf", owner=user)

    chosen = signed_in.get("/", {"account": "5555"}).text
    later = signed_in.get("/").text

    for html in (chosen, later):
        assert '<option value="5555" selected>Smurf (5555)</option>' in html
        assert 'name="account" value="5555"' in html
        assert f'href="{reverse("match_list")}?account=5555"' in html


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


# --- live progress: the poll answers only what changed ---------------------------------------


def test_phase_one_shows_ids_listed_an_indeterminate_bar_and_polls(signed_in, account, live_worker):
    job = live_worker(
        make_job(account, status=JobStatus.RUNNING, phase=JobPhase.COLLECTING_IDS, ids_found=450)
    )

    html = signed_in.get("/").text

    assert re.search(r'<p id="sync-announcement" [^>]*role="status">Collecting match IDs</p>', html)
    assert "Collecting match IDs: 0 new, 450 listed" in html
    assert '<progress class="bar-running" aria-label="Collecting match IDs"></progress>' in html
    assert poll_url(html) == f"{progress_url(job)}?shown=collecting_ids.active"
    assert 'hx-trigger="load delay:1s" hx-swap="none"' in html
    assert re.search(r'<button type="submit" id="sync-control" class="btn btn-danger">Cancel', html)
    assert "Sync Matches" not in html
    assert 'id="account-select"' not in html  # one account: nothing to choose


def test_a_poll_in_the_same_phase_updates_numbers_not_the_live_region_or_controls(
    signed_in, account, live_worker
):
    live_worker(
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
    page = signed_in.get("/").text

    response = signed_in.get(poll_url(page), **HTMX)

    html = response.text
    assert response.status_code == 200
    assert "<html" not in html
    assert oob_ids(html) == {"sync-poller", "sync-progress", "sync-tech", "sync-summary"}
    progress = oob_part(html, "sync-progress")
    assert "Fetching details: 230/450" in progress
    assert '<progress class="bar-running" value="51" max="100"' in progress
    tech = oob_part(html, "sync-tech")
    assert "200 stored, 20 refused by every source, 10 deferred" in tech
    assert "Steam GetMatchHistoryBySequenceNum (steam_sequence) 50" in tech
    assert poll_url(html) == poll_url(page)


def test_a_poll_reads_the_job_and_the_counts_not_the_lists_it_does_not_show(
    signed_in, account, live_worker
):
    job = live_worker(make_job(account, status=JobStatus.RUNNING, phase=JobPhase.FETCHING_DETAILS))
    poll = f"{progress_url(job)}?shown=fetching_details.active"
    signed_in.get(poll, **HTMX)
    with CaptureQueriesContext(connection) as few:
        signed_in.get(poll, **HTMX)
    for n in range(12):
        make_job(account, status=JobStatus.FAILED)
        add_match(account, 5_000 + n, has_details=False, retry_count=1)

    with CaptureQueriesContext(connection) as many:
        html = signed_in.get(poll, **HTMX).text

    assert "sync-recent" not in oob_ids(html)
    read = " ".join(query["sql"] for query in many.captured_queries)
    assert read.count('FROM "syncjobs_syncjob"') == 1  # the job itself, not the recent ones
    assert "last_fetch_attempt" not in read  # nor the failed matches
    assert len(many) == len(few)


def test_a_phase_change_is_announced_once(signed_in, account, live_worker):
    job = live_worker(
        make_job(account, status=JobStatus.RUNNING, phase=JobPhase.FETCHING_DETAILS, ids_found=9)
    )

    changed = signed_in.get(progress_url(job), {"shown": "collecting_ids.active"}, **HTMX).text
    again = signed_in.get(poll_url(changed), **HTMX).text

    assert "sync-announcement" in oob_ids(changed)
    assert oob_part(changed, "sync-announcement") == "Fetching match details"
    assert "sync-controls" not in oob_ids(changed)
    assert poll_url(changed).endswith("?shown=fetching_details.active")
    assert "sync-announcement" not in oob_ids(again)


def test_a_pending_job_waits_for_a_worker(signed_in, account):
    job = make_job(account, status=JobStatus.PENDING)

    response = signed_in.get(progress_url(job), **HTMX)

    assert response.status_code == 200
    assert oob_part(response.text, "sync-announcement") == "Waiting for a worker to start the sync"
    assert poll_url(response.text) == f"{progress_url(job)}?shown=pending.active"


def test_the_end_is_announced_and_stops_the_polling_with_286(signed_in, account):
    job = make_job(
        account,
        status=JobStatus.COMPLETED,
        phase=JobPhase.FETCHING_DETAILS,
        details_total=40,
        details_done=40,
        details_ok=40,
        sources={"opendota": 30, "steam_sequence": 10},
        message="Steam GetMatchDetails is failing (HTTP 500); skipped for the rest of this job.",
    )

    response = signed_in.get(progress_url(job), {"shown": "fetching_details.active"}, **HTMX)

    html = response.text
    assert response.status_code == 286
    assert oob_part(html, "sync-announcement") == "Sync complete: 40 matches synced"
    assert "Details came from OpenDota and Steam&#x27;s match sequence." in oob_part(
        html, "sync-outcome"
    )
    assert '<progress class="bar-done" value="100" max="100"' in oob_part(html, "sync-progress")
    assert "Sync Matches" in oob_part(html, "sync-controls")  # the form is back
    assert "GetMatchDetails is failing" in oob_part(html, "sync-tech")
    assert poll_url(html) is None
    assert "hx-trigger" not in html


def test_a_finished_sync_speaks_plain_words_and_keeps_the_technical_notes_in_a_disclosure(
    signed_in, account
):
    make_job(
        account,
        status=JobStatus.COMPLETED,
        phase=JobPhase.FETCHING_DETAILS,
        ids_found=450,
        ids_new=450,
        details_total=450,
        details_done=450,
        details_ok=448,
        details_failed=1,
        details_deferred=1,
        sources={"opendota": 400, "steam_sequence": 48},
        message="Steam GetMatchDetails is failing (HTTP 500); skipped for the rest of this job. "
        "1 matches wait for a later sync.",
    )

    html = signed_in.get("/").text
    plain = outside_disclosure(html)

    assert "Sync complete: 448 matches synced" in plain
    assert "Details came from OpenDota and Steam&#x27;s match sequence." in plain
    assert "1 match could not be fetched: no source has its details" in plain
    assert "1 match still waits for details: the next sync fetches them." in plain
    for technical in ("steam_sequence", "opendota", "deferred", "GetMatchDetails", "HTTP 500"):
        assert technical not in plain, technical
    assert "<summary>Technical details</summary>" in html
    assert "Steam GetMatchDetails is failing (HTTP 500)" in html
    assert "448 stored, 1 refused by every source, 1 deferred" in html
    assert '<progress class="bar-done" value="100"' in html


@pytest.mark.parametrize(
    ("status", "fields", "headline", "bar"),
    [
        (
            JobStatus.CANCELLED,
            {"details_ok": 12},
            "Sync cancelled: 12 of 40 matches synced",
            "stopped",
        ),
        (
            JobStatus.FAILED,
            {"error_message": "Interrupted: the worker stopped."},
            "Sync interrupted",
            "stopped",
        ),
        (
            JobStatus.FAILED,
            {"error_message": "No source of match IDs is left."},
            "Sync failed",
            "stopped",
        ),
    ],
)
def test_a_stopped_sync_says_so_and_its_bar_is_grey_not_red(
    signed_in, account, status, fields, headline, bar
):
    make_job(
        account,
        status=status,
        phase=JobPhase.FETCHING_DETAILS,
        details_total=40,
        details_done=20,
        **fields,
    )

    html = signed_in.get("/").text

    assert re.search(rf'role="status">{headline}</p>', html)
    assert f'<progress class="bar-{bar}" value="50"' in html
    if "error_message" in fields:
        assert fields["error_message"] in outside_disclosure(html)


def test_the_job_url_without_htmx_is_a_full_page_even_when_finished(signed_in, account):
    job = make_job(account, status=JobStatus.CANCELLED)

    response = signed_in.get(progress_url(job))

    assert response.status_code == 200
    assert "<html" in response.text
    assert "Sync cancelled" in response.text


# --- cancelling -----------------------------------------------------------------------------


def test_cancel_changes_only_the_control_which_keeps_its_id(signed_in, account, live_worker):
    job = live_worker(
        make_job(account, status=JobStatus.RUNNING, phase=JobPhase.COLLECTING_IDS, ids_found=3)
    )

    response = signed_in.post(cancel_url(job), {"shown": "collecting_ids.active"}, **HTMX)

    job.refresh_from_db()
    assert job.cancel_requested
    assert job.status == JobStatus.RUNNING
    html = response.text
    assert response.status_code == 200
    assert "sync-announcement" not in oob_ids(html)
    controls = oob_part(html, "sync-controls")
    # Focusable (aria-disabled, not disabled) under the same id, so the focus stays on it.
    assert re.search(
        r'<button type="button" id="sync-control" [^>]*aria-disabled="true">Cancel', controls
    )
    assert poll_url(html) == f"{progress_url(job)}?shown=collecting_ids.cancelling"

    SyncJob.objects.filter(pk=job.pk).update(status=JobStatus.CANCELLED, finished_at=timezone.now())
    final = signed_in.get(poll_url(html), **HTMX)

    assert final.status_code == 286
    assert oob_part(final.text, "sync-announcement") == "Sync cancelled"
    assert 'id="sync-control" class="btn">Sync Matches' in oob_part(final.text, "sync-controls")


def test_cancelling_a_pending_job_cancels_it_at_once(signed_in, account):
    job = make_job(account, status=JobStatus.PENDING)

    response = signed_in.post(cancel_url(job), {"shown": "pending.active"}, **HTMX)

    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert response.status_code == 286
    assert oob_part(response.text, "sync-announcement") == "Sync cancelled"


def test_cancelling_a_finished_job_just_shows_how_it_ended(signed_in, account):
    job = make_job(account, status=JobStatus.COMPLETED)

    response = signed_in.post(cancel_url(job), {"shown": "fetching_details.active"}, **HTMX)

    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED
    assert not job.cancel_requested
    assert oob_part(response.text, "sync-announcement") == "Sync complete: no new matches"


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


# --- matches without details and the job list ----------------------------------------------


def test_waiting_matches_are_offered_as_a_backfill(signed_in, account):
    add_match(account, 7001, has_details=True)
    assert "waiting match" not in signed_in.get("/").text

    add_match(account, 7002, has_details=False, retry_count=2, fetch_error="not found on Steam")
    add_match(account, 7003)
    add_match(account, 7004)
    html = signed_in.get("/").text

    assert re.search(
        r'value="backfill">\s*<button [^>]*>Fetch the 3 waiting matches</button>', html
    )
    assert (
        "2 matches wait for details; 1 match could not be fetched; it can be tried again." in html
    )
    assert "7002" in html
    assert "not found on Steam" in html
    assert reverse("match_detail", args=[7002]) in html


def test_one_waiting_match_is_named_as_one(signed_in, account):
    add_match(account, 7003)

    assert "Fetch the waiting match</button>" in signed_in.get("/").text


def test_no_backfill_when_every_failed_match_used_up_its_attempts(signed_in, account):
    add_match(account, 7005, has_details=False, retry_count=3, fetch_error="not found")

    html = signed_in.get("/").text

    assert "waiting match" not in html
    assert "1 match could not be fetched and will not be tried again." in html
    assert "7005" in html  # still listed with its reason


def test_no_backfill_while_a_job_runs(signed_in, account, live_worker):
    add_match(account, 7004, has_details=False, fetch_error="OpenDota answered HTTP 500")
    live_worker(
        make_job(
            account, status=JobStatus.RUNNING, phase=JobPhase.FETCHING_DETAILS, details_total=1
        )
    )

    assert "waiting match" not in signed_in.get("/").text


def test_recent_jobs_show_status_type_result_and_duration(signed_in, account):
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
    make_job(account, job_type=JobType.BACKFILL, status=JobStatus.CANCELLED)

    html = signed_in.get("/").text
    body = html.split('class="recent-jobs')[1].split("<tbody", 1)[1]
    rows = re.findall(r'<tr role="row">(.*?)</tr>', body, re.S)

    assert len(rows) == 3
    assert 'data-label="Type">Fetch waiting matches<' in rows[0]
    assert "badge-cancelled" in rows[0]
    assert "Full sync (all matches)" in rows[1]
    assert "badge-failed" in rows[1]
    assert 'data-label="Result">Sync failed<' in rows[1]
    assert "New matches only" in rows[2]
    assert 'data-label="Result">Sync complete: 11 matches synced<' in rows[2]
    assert 'data-label="Duration" class="num">1:15<' in rows[2]  # 75 seconds
