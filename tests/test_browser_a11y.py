"""Every page of the app, at desktop and phone (390 px) widths, in Debian's chromium: axe-core
finds no serious or critical violation, nothing scrolls sideways, chart labels stay readable
and the match list shows each row's result, hero and K/D/A on screen."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import Page, expect

from matches.models import AccountMatch, MatchPlayer
from matches.tests.match_builders import complete_match, failed_match, make_account, stub_match
from syncjobs.models import JobPhase, JobStatus, JobType, SyncJob
from tests.browsing import (
    DESKTOP,
    PASSWORD,
    PHONE,
    artifacts,
    axe_violations,
    blocking,
    contrast,
    focus_ring,
    horizontal_overflow,
    inside_viewport,
    sign_in,
    smallest_chart_label_px,
    tab_to,
    write_report,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ACCOUNT_ID = 86745912
FRIENDS = (2002, 2003, 2004)
STRANGER = 3001
COMPLETE = 7_000_000_100
STUB = 7_000_000_001
FAILED = 7_000_000_002
GAVE_UP = 7_000_000_003
MIN_LABEL_PX = 11
DESKTOP_SCREENSHOTS = {"dashboard", "match", "match-waiting", "teammates", "accounts"}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def history(transactional_db, settings):
    """A user with a synced history: months of matches with details and teammates, a match
    that waits, one that failed, one given up on, and finished jobs of every kind."""
    settings.ALLOW_SIGNUP = True
    alice = get_user_model().objects.create_user("alice", password=PASSWORD)
    account = make_account(ACCOUNT_ID, owner=alice, persona_name="Alice")
    make_account(FRIENDS[0], persona_name="A friend with a rather long persona name")
    start = datetime(2024, 1, 5, 18, 0, tzinfo=UTC)
    for index in range(40):
        match = complete_match(
            COMPLETE + index,
            account,
            won=index % 3 != 0,
            hero_id=1 + index % 12,
            teammates=[FRIENDS[index % 3], STRANGER + index if index % 5 == 0 else None],
            opponents=[4000 + index],
            start_time=start + timedelta(days=11 * index),
            kda=(index % 15, 3, 20 - index % 9),
        )
        MatchPlayer.objects.filter(match=match).update(
            item_0=1, item_1=36, item_2=48, item_3=63, item_4=116, backpack_1=188, item_neutral=357
        )
    # The completeness page's tables: OpenDota listed them all, Steam's history the newest half.
    AccountMatch.objects.filter(account=account).update(listed_by=2)
    AccountMatch.objects.filter(account=account, match_id__gte=COMPLETE + 20).update(listed_by=3)
    stub_match(STUB, account)
    failed_match(FAILED, account, error="not found on OpenDota", attempts=1)
    failed_match(GAVE_UP, account, error="not found on OpenDota", attempts=3)
    now = timezone.now()
    for job_type, status, fields in (
        (JobType.FULL, JobStatus.COMPLETED, {"details_ok": 40, "details_failed": 2}),
        (JobType.INCREMENTAL, JobStatus.CANCELLED, {"details_ok": 3}),
        (JobType.BACKFILL, JobStatus.FAILED, {"error_message": "No source of details is left."}),
    ):
        SyncJob.objects.create(
            account=account,
            job_type=job_type,
            status=status,
            phase=JobPhase.FETCHING_DETAILS,
            details_total=43,
            details_done=43 if status == JobStatus.COMPLETED else 10,
            sources={"opendota": 30, "steam_sequence": 10},
            message="Steam GetMatchDetails is failing (HTTP 500); skipped for the rest.",
            started_at=now - timedelta(minutes=5),
            finished_at=now,
            **fields,
        )
    return account


# (name, path, what the page shows once loaded); paths are filled in per run.
PAGES = [
    ("dashboard", "/", "Dashboard"),
    ("matches", "/matches/", "Matches"),
    ("matches-filtered", "/matches/?result=loss&status=complete", "Matches"),
    ("match", f"/matches/{COMPLETE + 39}/", f"Match {COMPLETE + 39}"),
    ("match-waiting", f"/matches/{STUB}/", f"Match {STUB}"),
    ("match-failed", f"/matches/{FAILED}/", f"Match {FAILED}"),
    ("match-given-up", f"/matches/{GAVE_UP}/", f"Match {GAVE_UP}"),
    ("teammates", "/teammates/", "Teammates"),
    ("teammates-all", "/teammates/?all=1", "Teammates"),
    ("stats", "/stats/", "Stats"),
    ("completeness", "/completeness/", "Completeness"),
    ("accounts", "/accounts/", "Steam accounts"),
    ("settings", "/settings/", "Settings"),
    ("unlink", f"/accounts/{ACCOUNT_ID}/unlink/", "Unlink Alice?"),
]


def _check(page: Page, name: str, size: str, report: dict, problems: list) -> None:
    """axe-core on the page as it is, and at 390 px a screenshot and the sideways check.
    Every finding goes to `report` (the test's artifact), the blocking ones to `problems`."""
    violations = axe_violations(page)
    report[f"{name} @ {size}"] = {v["id"]: v["impact"] for v in violations}
    problems += [(name, size, v) for v in blocking(violations)]
    if size == "390" or name in DESKTOP_SCREENSHOTS:
        page.screenshot(path=artifacts() / f"a11y-{name}-{size}.png", full_page=True)
    if size == "390":
        problems += [(name, size, overflow) for overflow in horizontal_overflow(page)]


def test_every_page_passes_axe_at_desktop_and_phone_widths(page: Page, live_server, history):
    base = live_server.url
    report: dict[str, dict] = {}
    problems: list[tuple] = []
    for size, viewport in (("desktop", DESKTOP), ("390", PHONE)):
        page.set_viewport_size(viewport)
        page.context.clear_cookies()

        # Signed out: the sign-in page, then with a wrong password (its error), and sign-up.
        page.goto(base + "/login/")
        _check(page, "sign-in", size, report, problems)
        page.get_by_label("Username").fill("alice")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page.get_by_role("alert")).to_contain_text("enter a correct username")
        _check(page, "sign-in-error", size, report, problems)
        page.goto(base + "/signup/")
        page.get_by_role("button", name="Sign up").click()
        _check(page, "sign-up-errors", size, report, problems)

        sign_in(page, base, "alice")
        for name, path, heading in PAGES:
            page.goto(base + path)
            expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
            _check(page, name, size, report, problems)

        # The link form with an error: its input points at the error, which exists.
        page.goto(base + "/accounts/")
        page.get_by_label("Steam account").fill("not an account")
        page.get_by_role("button", name="Link only").click()
        field = page.get_by_label("Steam account")
        expect(field).to_have_attribute("aria-invalid", "true")
        for described_by in field.get_attribute("aria-describedby").split():
            expect(page.locator(f"#{described_by}")).to_have_count(1)
        _check(page, "link-error", size, report, problems)

        # The phone's menu, opened.
        if size == "390":
            page.goto(base + "/")
            page.locator("label.nav-toggle-label").click()
            expect(page.get_by_role("link", name="Teammates")).to_be_visible()
            _check(page, "menu-open", size, report, problems)
    write_report("axe-report.json", report)
    assert problems == []


def test_a_running_sync_passes_axe_at_both_widths(page: Page, live_server, history, live_worker):
    live_worker(
        SyncJob.objects.create(
            account=history,
            job_type=JobType.FULL,
            status=JobStatus.RUNNING,
            phase=JobPhase.FETCHING_DETAILS,
            details_total=300,
            details_done=120,
            details_ok=118,
            details_deferred=2,
            started_at=timezone.now(),
        )
    )
    sign_in(page, live_server.url, "alice")
    expect(page.get_by_role("button", name="Cancel Sync")).to_be_visible()
    for size, viewport in (("desktop", DESKTOP), ("390", PHONE)):
        page.set_viewport_size(viewport)
        assert not blocking(axe_violations(page)), size
        if size == "390":
            page.screenshot(path=artifacts() / "a11y-dashboard-running-390.png", full_page=True)
            assert horizontal_overflow(page) == []


def test_at_390_px_a_match_row_shows_result_hero_and_kda_without_scrolling(
    page: Page, live_server, history
):
    page.set_viewport_size(PHONE)
    sign_in(page, live_server.url, "alice")
    page.goto(live_server.url + "/matches/")

    row = page.locator("tbody tr").first
    for cell in (".cell-result .badge", ".cell-hero", ".cell-kda"):
        target = row.locator(cell)
        expect(target).to_be_visible()
        assert inside_viewport(page, target), cell
    expect(row.locator(".cell-kda")).to_have_text("9/3/17")
    assert horizontal_overflow(page) == []
    page.screenshot(path=artifacts() / "match-list-390.png")


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("390", PHONE)])
def test_chart_labels_are_at_least_11_px(page: Page, live_server, history, size, viewport):
    page.set_viewport_size(viewport)
    sign_in(page, live_server.url, "alice")
    page.goto(live_server.url + "/stats/")

    smallest = smallest_chart_label_px(page)
    assert smallest is not None
    assert smallest >= MIN_LABEL_PX, (size, smallest)
    page.screenshot(path=artifacts() / f"stats-{size}.png", full_page=True)


def test_a_focused_radio_has_a_ring_of_at_least_3_to_1_against_the_card(
    page: Page, live_server, history
):
    page.set_viewport_size(DESKTOP)
    sign_in(page, live_server.url, "alice")

    tab_to(page, page.get_by_label("New Matches Only"))
    for radio in ("New Matches Only", "Full Sync (All Matches)"):
        expect(page.get_by_label(radio)).to_be_focused()
        ring = focus_ring(page)
        assert ring["style"] == "solid", ring
        assert ring["width"] >= 2, ring
        assert contrast(tuple(ring["color"]), tuple(ring["background"])) >= 3, ring
        page.keyboard.press("ArrowDown")


# The pages of issue #24 (a player side by side, the Overview's streaks, the Trends tab and the
# Turbo switch); the one with the most text side by side is the long-named friend's.
BETWEEN_GAMES_PAGES = [
    ("friend", f"/stats/with-against/{FRIENDS[0]}/", "A friend with a rather long persona name"),
    ("stranger", f"/stats/with-against/{STRANGER + 999}/", str(STRANGER + 999)),
    ("streaks", "/stats/", "Stats"),
    ("trends", "/stats/trends/", "Trends"),
    ("trends-histogram", "/stats/trends/?histogram=gold_per_min", "Trends"),
]


def test_the_between_games_pages_pass_axe_and_fit_at_both_widths(page: Page, live_server, history):
    MatchPlayer.objects.filter(account_id=ACCOUNT_ID).update(gold_per_min=420, last_hits=150)
    base = live_server.url
    report: dict[str, dict] = {}
    problems: list[tuple] = []
    sign_in(page, base, "alice")
    for size, viewport in (("desktop", DESKTOP), ("390", PHONE)):
        page.set_viewport_size(viewport)
        for name, path, heading in BETWEEN_GAMES_PAGES:
            page.goto(base + path)
            expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
            violations = axe_violations(page)
            report[f"{name} @ {size}"] = {v["id"]: v["impact"] for v in violations}
            problems += [(name, size, v) for v in blocking(violations)]
            problems += [(name, size, overflow) for overflow in horizontal_overflow(page)]
            page.screenshot(path=artifacts() / f"a11y-{name}-{size}.png", full_page=True)
        # The Turbo switch: visible on every filtered page, and it changes what is counted.
        page.goto(base + "/stats/trends/")
        page.get_by_role("button", name="Leave Turbo out").click()
        expect(page.get_by_text("Turbo matches: left out")).to_be_visible()
        assert page.url.endswith("/stats/trends/")
        problems += [(f"turbo-off-{size}", size, v) for v in blocking(axe_violations(page))]
        page.get_by_role("button", name="Count Turbo").click()
        expect(page.get_by_text("Turbo matches: counted")).to_be_visible()
    write_report("axe-report-between-games.json", report)
    assert problems == []
