"""The web UI in Debian's chromium, against the live server, a real worker and the simulator."""

import re
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from matches.models import STEAM_ID64_OFFSET, AccountMatch, Match
from matches.tests.match_builders import ACCOUNT_ID, PASSWORD
from syncjobs.models import JobStatus, JobType, SyncJob

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MATCHES = 300
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
PHASE_TIMEOUT_MS = 30_000
QUIET_SECONDS = 2.5


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def sign_in(page: Page, base_url: str, username: str) -> None:
    page.goto(base_url + "/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def start_full_sync(page: Page) -> None:
    page.get_by_label("Full Sync (All Matches)").check()
    page.get_by_role("button", name="Sync Matches").click()


def test_sync_watch_open_a_match_and_cancel(
    page: Page, live_server, sync_worker, simulator, user, artifacts
):
    failing = simulator.state.world.match_id(ACCOUNT_ID, MATCHES - 3)
    simulator.state.configure(default_matches=MATCHES, match_faults={failing: {"*": "not_found"}})

    sign_in(page, live_server.url, user.username)
    page.get_by_role("link", name="Link a Steam account").click()
    page.get_by_label("Steam account").fill(
        f"https://steamcommunity.com/profiles/{ACCOUNT_ID + STEAM_ID64_OFFSET}"
    )
    page.get_by_role("button", name="Link account").click()
    expect(page.get_by_text(f"Linked Steam account {ACCOUNT_ID}.")).to_be_visible()

    page.goto(live_server.url + "/")
    start_full_sync(page)
    status = page.locator(".progress-text")
    expect(status).to_contain_text("Collecting match IDs:", timeout=PHASE_TIMEOUT_MS)
    expect(page.get_by_role("button", name="Sync Matches")).to_have_count(0)
    expect(status).to_contain_text(
        re.compile(rf"Fetching details: \d+/{MATCHES}"), timeout=PHASE_TIMEOUT_MS
    )
    page.screenshot(path=artifacts / "dashboard-mid-sync.png", full_page=True)

    expect(status).to_have_text("Completed", timeout=PHASE_TIMEOUT_MS)
    bar = page.get_by_role("progressbar", name="Match details fetched")
    expect(bar).to_have_attribute("value", "100")
    expect(page.locator(".details-counts")).to_contain_text(f"{MATCHES - 1} ok")
    expect(page.locator(".details-counts")).to_contain_text("1 failed")
    expect(page.locator(".details-sources")).to_contain_text(f"steam_sequence {MATCHES - 1}")

    polls: list[str] = []
    page.on(
        "request", lambda request: polls.append(request.url) if "/jobs/" in request.url else None
    )
    time.sleep(QUIET_SECONDS)
    assert polls == [], "the page kept polling a finished job"

    # The failed match names its reason, on the dashboard and on its own page.
    page.get_by_role("link", name=str(failing)).click()
    expect(page.get_by_role("heading", name=f"Match {failing}")).to_be_visible()
    expect(page.get_by_text("Details unavailable")).to_contain_text("not found on OpenDota")

    page.get_by_role("link", name="Matches", exact=True).click()
    expect(page.get_by_role("heading", name="Matches", exact=True)).to_be_visible()
    page.screenshot(path=artifacts / "match-list.png", full_page=True)
    newest = simulator.state.world.match_id(ACCOUNT_ID, MATCHES - 1)
    page.get_by_role("link", name=str(newest)).click()
    expect(page.get_by_role("heading", name=f"Match {newest}")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Details unavailable")

    page.get_by_role("link", name="Dashboard").click()
    start_full_sync(page)
    expect(status).to_contain_text("Fetching details:", timeout=PHASE_TIMEOUT_MS)
    page.get_by_role("button", name="Cancel Sync").click()
    expect(page.get_by_role("button", name="Cancelling…")).to_be_visible()
    expect(status).to_have_text("Cancelled", timeout=PHASE_TIMEOUT_MS)
    assert SyncJob.objects.order_by("-pk").first().status == JobStatus.CANCELLED

    calls_after_cancel = len(simulator.state.log)
    time.sleep(QUIET_SECONDS)
    assert len(simulator.state.log) == calls_after_cancel, "the cancelled job still calls out"
    expect(page.get_by_role("button", name="Sync Matches")).to_be_visible()


def test_another_user_cannot_open_the_first_users_matches_or_job(
    page: Page, live_server, transactional_db, account, other_user
):
    match = Match.objects.create(match_id=7_000_000_001, has_details=True)
    AccountMatch.objects.create(account=account, match=match)
    job = SyncJob.objects.create(
        account=account,
        job_type=JobType.FULL,
        status=JobStatus.COMPLETED,
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )

    sign_in(page, live_server.url, other_user.username)
    expect(page.get_by_text("No Steam account linked yet")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Alice")

    for path in (
        f"/matches/?account={ACCOUNT_ID}",
        f"/matches/{match.match_id}/",
        f"/jobs/{job.pk}/",
    ):
        response = page.goto(live_server.url + path)
        assert response.status == 404, path
