"""The web UI in Debian's chromium, against the live server, a real worker and the simulator."""

import itertools
import re
import time

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import Page, expect

from matches.management.commands.bootstrap_demo import DEMO_ACCOUNT_ID, bootstrap_demo
from matches.models import STEAM_ID64_OFFSET, AccountMatch, Match, Player, SteamAccount
from matches.players import due_in_matches_of
from matches.tests.match_builders import ACCOUNT_ID
from matches.upstream.simulator import DEFAULT_CONFIG, persona_name
from syncjobs.models import JobStatus, JobType, SyncJob
from tests.browsing import PASSWORD, artifacts, is_focused, sign_in, tab_to

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SECOND_ACCOUNT_ID = 1234  # a lower id: it would sort first
MATCHES = 300
PHASE_TIMEOUT_MS = 30_000
QUIET_SECONDS = 2.5
POLLS_WATCHED = 3
PHASE_HEADLINES = {
    "Waiting for a worker to start the sync",
    "Starting the sync",
    "Collecting match IDs",
    "Fetching match details",
}


def start_full_sync(page: Page) -> None:
    page.get_by_label("Full Sync (All Matches)").check()
    page.get_by_role("button", name="Sync Matches").click()


def test_sync_watch_and_open_the_matches(page: Page, live_server, sync_worker, simulator):
    failing = simulator.state.world.match_id(ACCOUNT_ID, MATCHES - 3)
    simulator.state.configure(default_matches=MATCHES, match_faults={failing: {"*": "not_found"}})
    get_user_model().objects.create_user("alice", password=PASSWORD)

    sign_in(page, live_server.url, "alice")
    page.get_by_role("link", name="Link a Steam account").click()
    page.get_by_label("Steam account").fill(
        f"https://steamcommunity.com/profiles/{ACCOUNT_ID + STEAM_ID64_OFFSET}"
    )
    page.get_by_role("button", name="Link only").click()
    expect(page.get_by_text(f"Linked Steam account {ACCOUNT_ID}.")).to_be_visible()

    page.goto(live_server.url + "/")
    expect(page.get_by_text("Lists the account's whole history")).to_be_visible()
    start_full_sync(page)
    status = page.locator(".progress-text")
    announcement = page.get_by_role("status")
    expect(status).to_contain_text("Collecting match IDs:", timeout=PHASE_TIMEOUT_MS)
    expect(page.get_by_role("button", name="Sync Matches")).to_have_count(0)
    expect(status).to_contain_text(
        re.compile(rf"Fetching details: \d+/{MATCHES}"), timeout=PHASE_TIMEOUT_MS
    )
    expect(announcement).to_have_text("Fetching match details")
    page.screenshot(path=artifacts() / "dashboard-mid-sync.png", full_page=True)

    expect(announcement).to_have_text(
        f"Sync complete: {MATCHES - 1} matches synced", timeout=PHASE_TIMEOUT_MS
    )
    bar = page.get_by_role("progressbar", name="Match details fetched")
    expect(bar).to_have_attribute("value", "100")
    expect(bar).to_have_class("bar-done")
    outcome = page.locator("#sync-outcome")
    # Both detail sources served matches at once (the split follows their paces).
    expect(outcome).to_contain_text("Details came from")
    expect(outcome).to_contain_text("Steam's match sequence")
    expect(outcome).to_contain_text("OpenDota")
    expect(outcome).to_contain_text("1 match could not be fetched")
    expect(outcome).not_to_contain_text("steam_sequence")
    page.get_by_text("Technical details").click()
    expect(page.locator("#sync-tech")).to_contain_text(
        "Steam GetMatchHistoryBySequenceNum (steam_sequence)"
    )
    expect(page.get_by_role("button", name="Fetch the waiting match")).to_be_visible()
    page.screenshot(path=artifacts() / "dashboard-complete.png", full_page=True)

    polls: list[str] = []
    page.on(
        "request", lambda request: polls.append(request.url) if "/jobs/" in request.url else None
    )
    time.sleep(QUIET_SECONDS)
    assert polls == [], "the page kept polling a finished job"

    # The failed match says why, on the dashboard and on its own page, and offers a backfill.
    page.get_by_role("link", name=str(failing)).click()
    expect(page.get_by_role("heading", name=f"Match {failing}")).to_be_visible()
    expect(page.get_by_text("Details unavailable —")).to_contain_text("not found on OpenDota")
    expect(page.get_by_text("Syncs try again after")).to_be_visible()
    expect(page.get_by_role("button", name="Fetch the waiting match")).to_be_visible()

    page.get_by_role("link", name="Matches", exact=True).click()
    expect(page.get_by_role("heading", name="Matches", exact=True)).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/matches/\?account={ACCOUNT_ID}$"))
    page.screenshot(path=artifacts() / "match-list.png", full_page=True)
    newest = simulator.state.world.match_id(ACCOUNT_ID, MATCHES - 1)
    page.get_by_role("link", name=str(newest)).click()
    expect(page.get_by_role("heading", name=f"Match {newest}")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Details unavailable")


def test_keyboard_only_start_a_sync_and_cancel_it_while_the_panel_updates(
    page: Page, live_server, sync_worker, simulator
):
    # Latency keeps phase 2 going for seconds, though both detail sources serve it at once.
    simulator.state.configure(default_matches=MATCHES, latency_ms=40)
    alice = get_user_model().objects.create_user("alice", password=PASSWORD)
    SteamAccount.objects.create(account_id=ACCOUNT_ID, persona_name="Alice", owner=alice)

    page.goto(live_server.url + "/login/")
    tab_to(page, page.get_by_label("Username"))
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    # The checked radio is the group's tab stop; an arrow key picks the other type.
    tab_to(page, page.get_by_label("New Matches Only"))
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("Full Sync (All Matches)")).to_be_checked()
    tab_to(page, page.get_by_role("button", name="Sync Matches"))
    page.keyboard.press("Enter")
    cancel = page.get_by_role("button", name="Cancel Sync")
    expect(cancel).to_be_visible()

    # Every change of the live region's text, from here on.
    page.evaluate(
        """() => {
            const region = document.getElementById("sync-announcement");
            window.announced = [region.textContent.trim()];
            new MutationObserver(() => window.announced.push(region.textContent.trim()))
                .observe(region, {childList: true, characterData: true, subtree: true});
        }"""
    )
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "shown=" in r.url else None)

    tab_to(page, cancel)
    page.evaluate("() => { window.cancelButton = document.activeElement; }")
    progress = page.locator(".progress-text")
    expect(progress).to_contain_text("Fetching details:", timeout=PHASE_TIMEOUT_MS)
    seen = {progress.text_content()}
    polls_in_phase_two = len(polls)
    while len(polls) < polls_in_phase_two + POLLS_WATCHED:
        page.wait_for_timeout(200)
        seen.add(progress.text_content())
    page.screenshot(path=artifacts() / "keyboard-cancel-focused.png")
    # The numbers moved, and the very same button kept the focus throughout.
    assert len(seen) > 1, seen
    assert page.evaluate("() => document.activeElement === window.cancelButton")

    page.keyboard.press("Enter")
    control = page.locator("#sync-control")
    expect(page.get_by_role("status")).to_contain_text("Sync cancelled", timeout=PHASE_TIMEOUT_MS)
    expect(control).to_have_text("Sync Matches")
    assert is_focused(control), "the focus left the sync control"
    job = SyncJob.objects.get()
    assert job.status == JobStatus.CANCELLED
    page.screenshot(path=artifacts() / "keyboard-cancelled.png", full_page=True)

    announced = page.evaluate("() => window.announced")
    *phases, end = announced
    assert end.startswith("Sync cancelled"), announced
    assert set(phases) <= PHASE_HEADLINES, announced
    assert all(a != b for a, b in itertools.pairwise(announced)), announced
    assert announced.count("Fetching match details") == 1, announced
    # Polls that found the phase the page already announced left the live region alone.
    same_phase = [url for url in polls if "shown=fetching_details.active" in url]
    assert len(same_phase) >= POLLS_WATCHED, polls

    calls_after_cancel = len(simulator.state.log)
    time.sleep(QUIET_SECONDS)
    assert len(simulator.state.log) == calls_after_cancel, "the cancelled job still calls out"


def test_linking_a_second_account_keeps_the_first_one_selected_on_every_page(
    page: Page, live_server, transactional_db
):
    get_user_model().objects.create_user("alice", password=PASSWORD)
    sign_in(page, live_server.url, "alice")
    page.get_by_role("link", name="Accounts").click()
    page.get_by_label("Steam account").fill(str(ACCOUNT_ID))
    page.get_by_role("button", name="Link only").click()
    expect(page.get_by_text(f"Linked Steam account {ACCOUNT_ID}.")).to_be_visible()

    page.get_by_label("Steam account").fill(str(SECOND_ACCOUNT_ID))
    page.get_by_role("button", name="Link and sync").click()
    expect(page.get_by_text(f"Linked Steam account {SECOND_ACCOUNT_ID}.")).to_be_visible()
    expect(page.locator(".messages")).to_contain_text(f"Syncing {SECOND_ACCOUNT_ID}")
    second = SteamAccount.objects.get(account_id=SECOND_ACCOUNT_ID)
    assert SyncJob.objects.get().account == second  # "Link and sync" started its sync

    pickers = {
        "Dashboard": "#account-select",
        "Matches": "#filter-account",
        "Teammates": "#account-picker",
        "Stats": "#filter-account",  # the stats filters name the account
    }
    for name, picker in pickers.items():
        page.get_by_role("link", name=name, exact=True).click()
        expect(page).to_have_url(re.compile(rf"\?account={ACCOUNT_ID}$"))
        expect(page.locator(picker)).to_have_value(str(ACCOUNT_ID))

    # Choosing the other account on one page carries over to the others.
    page.get_by_role("link", name="Matches", exact=True).click()
    page.locator("#filter-account").select_option(str(SECOND_ACCOUNT_ID))
    page.get_by_role("button", name="Filter").click()
    for name, picker in pickers.items():
        page.get_by_role("link", name=name, exact=True).click()
        expect(page.locator(picker)).to_have_value(str(SECOND_ACCOUNT_ID))


def test_another_user_cannot_open_the_first_users_matches_or_job(
    page: Page, live_server, transactional_db
):
    alice = get_user_model().objects.create_user("alice", password=PASSWORD)
    get_user_model().objects.create_user("bob", password=PASSWORD)
    account = SteamAccount.objects.create(account_id=ACCOUNT_ID, persona_name="Alice", owner=alice)
    match = Match.objects.create(match_id=7_000_000_001, has_details=True)
    AccountMatch.objects.create(account=account, match=match)
    job = SyncJob.objects.create(
        account=account,
        job_type=JobType.FULL,
        status=JobStatus.COMPLETED,
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )

    sign_in(page, live_server.url, "bob")
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
    page: Page, live_server, sync_worker, simulator, settings
):
    """What `make run` shows: the simulator as the Procfile starts it (default data, Valve's
    broken GetMatchDetails), the user and account of `bootstrap_demo`, one full sync."""
    assert simulator.state.config["default_matches"] == DEFAULT_CONFIG["default_matches"]
    simulator.state.configure(details_broken=True)
    settings.DEMO_MODE = True
    demo = bootstrap_demo()

    sign_in(page, live_server.url, "demo", demo.new_password)
    start_full_sync(page)
    expect(page.get_by_role("status")).to_contain_text("Sync complete", timeout=PHASE_TIMEOUT_MS)

    page.get_by_role("link", name="Stats").click()
    expect(page.get_by_role("heading", name="Stats")).to_be_visible()
    bars = page.locator("svg.chart rect.bar")
    months = bars.count()
    assert months >= 6, f"the stats page draws {months} month(s) of history"
    page.get_by_text("As a table").first.click()
    first_month = page.locator("details table tbody tr").first.locator("td").first.inner_text()
    assert first_month.split()[-1] < time.strftime("%Y"), "the history should reach back a year"
    page.screenshot(path=artifacts() / "demo-stats.png", full_page=True)

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
    page.screenshot(path=artifacts() / "demo-teammates.png")

    page.get_by_role("link", name="Matches", exact=True).click()
    page.locator("table a.mono").first.click()
    expect(page.get_by_role("heading", name="Skill builds")).to_be_visible()
    expect(page.locator("body")).to_contain_text(persona_name(DEMO_ACCOUNT_ID))
    page.screenshot(path=artifacts() / "demo-match.png", full_page=True)

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
    page.screenshot(path=artifacts() / "demo-match-phone.png")
