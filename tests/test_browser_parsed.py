"""A parsed match's page in Debian's chromium, at 1280 and 390 px: every section passes axe-core
(nothing serious or critical), nothing scrolls sideways, chart labels stay readable, and a
screenshot of each goes to test-artifacts/; the section tabs are reached with Tab and followed
with Enter, keep the focus when htmx swaps the section in, and work without JavaScript."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Browser, Page, expect

from matches.parsed_page import SECTIONS
from matches.tests.match_builders import PARSED_MATCH_ID, make_account, parsed_match
from tests.browsing import (
    DESKTOP,
    PASSWORD,
    PHONE,
    artifacts,
    axe_violations,
    blocking,
    focus_ring,
    horizontal_overflow,
    is_focused,
    sign_in,
    smallest_chart_label_px,
    tab_to,
    write_report,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ACCOUNT_ID = 86745912
MIN_LABEL_PX = 11
HEADING = f"Match {PARSED_MATCH_ID}"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def parsed(transactional_db):
    """alice, whose account played slot 0 of OpenDota's real parsed match."""
    alice = get_user_model().objects.create_user("alice", password=PASSWORD)
    account = make_account(ACCOUNT_ID, owner=alice, persona_name="Alice")
    return parsed_match(account)


def _url(base: str, section: str) -> str:
    if section == "overview":
        return f"{base}/matches/{PARSED_MATCH_ID}/"
    return f"{base}/matches/{PARSED_MATCH_ID}/{section}/"


def _tab(page: Page, title: str):
    return page.get_by_role("navigation", name="Match sections").get_by_role(
        "link", name=title, exact=True
    )


def test_every_section_passes_axe_and_fits_at_both_widths(page: Page, live_server, parsed):
    base = live_server.url
    sign_in(page, base, "alice")
    report: dict[str, dict] = {}
    problems: list[tuple] = []
    for size, viewport in (("1280", DESKTOP), ("390", PHONE)):
        page.set_viewport_size(viewport)
        for section, title in SECTIONS:
            page.goto(_url(base, section))
            expect(page.get_by_role("heading", name=HEADING, exact=True)).to_be_visible()
            expect(_tab(page, title)).to_have_attribute("aria-current", "page")
            violations = axe_violations(page)
            report[f"{section} @ {size}"] = {v["id"]: v["impact"] for v in violations}
            problems += [(section, size, v) for v in blocking(violations)]
            problems += [(section, size, found) for found in horizontal_overflow(page)]
            smallest = smallest_chart_label_px(page)
            if smallest is not None and smallest < MIN_LABEL_PX:
                problems.append((section, size, f"chart label of {smallest:.1f} px"))
            page.screenshot(path=artifacts() / f"parsed-{section}-{size}.png", full_page=True)
    write_report("axe-report-parsed.json", report)
    assert problems == []


def test_tab_reaches_the_sections_and_enter_moves_between_them(page: Page, live_server, parsed):
    base = live_server.url
    page.set_viewport_size(PHONE)
    sign_in(page, base, "alice")
    page.goto(_url(base, "overview"))

    graphs = _tab(page, "Graphs")
    tab_to(page, graphs)
    ring = focus_ring(page)
    assert ring["style"] == "solid", ring
    assert ring["width"] >= 2, ring
    page.keyboard.press("Enter")
    expect(graphs).to_have_attribute("aria-current", "page")
    expect(page).to_have_url(_url(base, "graphs"))
    expect(page).to_have_title(f"Graphs · {HEADING} · DotaSync")
    expect(page.get_by_role("heading", name="Every player's gold")).to_be_visible()
    # htmx swapped the tabs with the section: the focus is on the tab that was followed.
    assert is_focused(graphs)

    page.keyboard.press("Tab")
    laning = _tab(page, "Laning")
    assert is_focused(laning)
    page.keyboard.press("Enter")
    expect(laning).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("heading", name="Lane matchups")).to_be_visible()
    expect(_tab(page, "Graphs")).not_to_have_attribute("aria-current", "page")

    page.go_back()
    expect(page).to_have_url(_url(base, "graphs"))
    expect(_tab(page, "Graphs")).to_have_attribute("aria-current", "page")


def test_the_sections_are_links_that_work_without_javascript(browser: Browser, live_server, parsed):
    context = browser.new_context(java_script_enabled=False, viewport=DESKTOP)
    try:
        page = context.new_page()
        sign_in(page, live_server.url, "alice")
        page.goto(_url(live_server.url, "overview"))
        _tab(page, "Combat").click()
        expect(page).to_have_url(_url(live_server.url, "combat"))
        expect(page.get_by_role("heading", name="Who killed whom")).to_be_visible()
        expect(_tab(page, "Combat")).to_have_attribute("aria-current", "page")
    finally:
        context.close()
