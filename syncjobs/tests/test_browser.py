"""The web UI in Debian's chromium, against the live server, a real worker and the simulator."""

import re
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from matches.management.commands.bootstrap_demo import DEMO_ACCOUNT_ID, bootstrap_demo
from matches.models import STEAM_ID64_OFFSET, AccountMatch, Match, Player, SteamAccount
from matches.players import due_in_matches_of
from matches.simulator import DEFAULT_CONFIG, persona_name
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


def sign_in(page: Page, base_url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(base_url + "/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
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
    # Both detail sources served matches at once (the split follows their paces).
    expect(page.locator(".details-sources")).to_contain_text("steam_sequence")
    expect(page.locator(".details-sources")).to_contain_text("opendota")

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


def test_the_demo_after_one_full_sync_shows_months_of_history_and_named_players(
    page: Page, live_server, sync_worker, simulator, artifacts, settings
):
    """What `make run` shows: the simulator as the Procfile starts it (default data, Valve's
    broken GetMatchDetails), the user and account of `bootstrap_demo`, one full sync."""
    assert simulator.state.config["default_matches"] == DEFAULT_CONFIG["default_matches"]
    simulator.state.configure(details_broken=True)
    settings.DEMO_MODE = True
    demo = bootstrap_demo()

    sign_in(page, live_server.url, "demo", demo.new_password)
    start_full_sync(page)
    status = page.locator(".progress-text")
    expect(status).to_have_text("Completed", timeout=PHASE_TIMEOUT_MS)

    page.get_by_role("link", name="Stats").click()
    expect(page.get_by_role("heading", name="Stats")).to_be_visible()
    bars = page.locator("svg.chart rect.bar")
    months = bars.count()
    assert months >= 6, f"the stats page draws {months} month(s) of history"
    page.get_by_text("As a table").first.click()
    first_month = page.locator("details table tbody tr").first.locator("td").first.inner_text()
    assert first_month.split()[-1] < time.strftime("%Y"), "the history should reach back a year"
    page.screenshot(path=artifacts / "demo-stats.png", full_page=True)

    # The players are named in the background once the job has ended.
    account = SteamAccount.objects.get(account_id=DEMO_ACCOUNT_ID)
    deadline = time.monotonic() + PHASE_TIMEOUT_MS / 1000
    while due_in_matches_of(account):
        assert time.monotonic() < deadline, "the players were not named"
        time.sleep(0.5)
    friend = DEMO_ACCOUNT_ID // 5 * 5 + (DEMO_ACCOUNT_ID + 1) % 5
    assert Player.objects.get(pk=friend).persona_name == persona_name(friend)
    page.get_by_role("link", name="Teammates").click()
    expect(page.get_by_role("link", name=persona_name(friend), exact=True)).to_be_visible()
    page.screenshot(path=artifacts / "demo-teammates.png")

    page.get_by_role("link", name="Matches", exact=True).click()
    page.locator("table a.mono").first.click()
    expect(page.get_by_role("heading", name="Skill builds")).to_be_visible()
    expect(page.locator("body")).to_contain_text(persona_name(DEMO_ACCOUNT_ID))
    page.screenshot(path=artifacts / "demo-match.png", full_page=True)

    # A folded skill build opens from the keyboard; a phone scrolls tables, not the page.
    builds = page.locator("details.skill-build")
    folded = builds.nth(
        next(i for i in range(builds.count()) if builds.nth(i).get_attribute("open") is None)
    )
    folded.locator("summary").focus()
    page.keyboard.press("Enter")
    expect(folded).to_have_attribute("open", "")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=artifacts / "demo-match-phone.png")
