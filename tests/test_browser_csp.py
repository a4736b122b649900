"""Every page works in Chromium under the site's Content-Security-Policy: no violation, no error.

Chromium reports a refused script, style or image on the console ("Refused to ... because it
violates the following Content Security Policy directive"); the page's own
`securitypolicyviolation` events are counted too.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import Page, expect

from matches.tests.match_builders import complete_match, make_account
from syncjobs.models import JobPhase, JobStatus, JobType, SyncJob
from tests.browsing import PASSWORD, sign_in, write_report

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ACCOUNT_ID = 86745912
FRIEND = 2002
FIRST_MATCH = 7_000_000_100
# Counts the violations the page itself sees; added before any of the page's own scripts.
COUNT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", event => {
    window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


@pytest.fixture
def history(transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    alice = get_user_model().objects.create_user("alice", password=PASSWORD)
    account = make_account(ACCOUNT_ID, owner=alice, persona_name="Alice")
    make_account(FRIEND, persona_name="A friend")
    start = datetime(2024, 1, 5, 18, 0, tzinfo=UTC)
    for index in range(12):
        complete_match(
            FIRST_MATCH + index,
            account,
            won=index % 3 != 0,
            hero_id=1 + index % 5,
            teammates=[FRIEND],
            start_time=start + timedelta(days=9 * index),
        )
    SyncJob.objects.create(account=account, job_type=JobType.FULL, status=JobStatus.COMPLETED)
    return account


def test_every_page_works_without_a_policy_violation(page: Page, live_server, history, live_worker):
    problems: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            if message.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.add_init_script(COUNT_VIOLATIONS)
    base = live_server.url
    seen: dict[str, list[str]] = {}

    def visit(path: str) -> None:
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        seen[path] = page.evaluate("window.__cspViolations")

    visit("/login/")
    sign_in(page, base, "alice")
    for path in (
        "/",
        "/matches/",
        f"/matches/{FIRST_MATCH}/",
        "/teammates/",
        "/stats/",
        "/stats/heroes/",
        "/stats/activity/",
        "/accounts/",
        "/settings/",
    ):
        visit(path)
    # Style attributes carry data: the bars' widths still apply.
    page.goto(base + "/teammates/")
    width = page.locator(".record-games").first.evaluate("e => e.getBoundingClientRect().width")
    assert width > 0
    # Swagger UI builds its page from scripts it loads as files.
    visit("/api/docs/")
    expect(page.locator(".swagger-ui .info")).to_be_visible()
    seen["/api/docs/ (rendered)"] = page.evaluate("window.__cspViolations")
    # htmx runs: a running sync's panel polls and swaps its parts in, with no eval and no
    # inline <style>, and shows the progress made meanwhile.
    job = live_worker(
        SyncJob.objects.create(
            account=history,
            job_type=JobType.FULL,
            status=JobStatus.RUNNING,
            phase=JobPhase.FETCHING_DETAILS,
            details_total=300,
            details_done=120,
            details_ok=120,
            started_at=timezone.now(),
        )
    )
    visit("/")
    with page.expect_response(lambda answer: f"/jobs/{job.pk}/?shown=" in answer.url):
        SyncJob.objects.filter(pk=job.pk).update(details_done=250, details_ok=250)
    expect(page.locator("#sync-progress")).to_contain_text("250")
    seen["/ (after polls)"] = page.evaluate("window.__cspViolations")

    write_report("browser-csp.json", {"violations": seen, "console": problems})
    assert {path: found for path, found in seen.items() if found} == {}
    assert problems == []
