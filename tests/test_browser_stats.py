"""The stats pages in Debian's chromium, at desktop and phone (390 px) widths: axe-core finds
no serious or critical violation, nothing scrolls sideways, charts stay readable, and the
filters, the stats menu and the heroes table's sorting work from the keyboard alone."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from matches.models import MatchPlayer
from matches.tests.match_builders import (
    complete_match,
    make_account,
    store_parsed_answer,
    varied_parsed_answer,
)
from tests.browsing import (
    DESKTOP,
    PASSWORD,
    PHONE,
    artifacts,
    axe_violations,
    blocking,
    horizontal_overflow,
    sign_in,
    smallest_chart_label_px,
    tab_to,
    write_report,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ACCOUNT_ID = 86745912
FRIEND = 2002
MIN_LABEL_PX = 11
STATS_PAGES = [
    ("stats-overview", "/stats/", "Stats"),
    ("stats-week", "/stats/?by=week&side=radiant", "Stats"),
    ("stats-heroes", "/stats/heroes/?sort=-kda", "Heroes"),
    ("stats-breakdowns", "/stats/breakdowns/", "Breakdowns"),
    ("stats-records", "/stats/records/", "Records"),
    ("stats-activity", "/stats/activity/", "Activity"),
    ("stats-with-against", "/stats/with-against/", "With and against"),
    ("stats-parsed", "/stats/parsed/", "Parsed matches"),
    ("stats-parsed-none", "/stats/parsed/?start=2024-01-01&end=2024-02-28", "Parsed matches"),
    ("stats-bad-filters", "/stats/heroes/?hero=99999&start=2025-03-01&end=2025-01-01", "Heroes"),
]


@pytest.fixture
def history(transactional_db):
    alice = get_user_model().objects.create_user("alice", password=PASSWORD)
    account = make_account(ACCOUNT_ID, owner=alice, persona_name="Alice")
    make_account(FRIEND, persona_name="A friend with a rather long persona name")
    start = datetime(2024, 1, 5, 18, 0, tzinfo=UTC)
    for index in range(40):
        match = complete_match(
            8_000_000_000 + index,
            account,
            won=index % 3 != 0,
            hero_id=1 + index % 12,
            dire=index % 4 == 0,
            teammates=[FRIEND if index % 2 else 2003 + index % 5],
            opponents=[4000 + index % 7],
            start_time=start + timedelta(days=11 * index, hours=index % 9),
            kda=(index % 15, 1 + index % 6, 20 - index % 9),
            duration=900 + 97 * index,
        )
        MatchPlayer.objects.filter(match=match, account_id=ACCOUNT_ID).update(
            gold_per_min=300 + index * 7,
            xp_per_min=400 + index * 5,
            hero_damage=10_000 + index * 311,
            hero_healing=index * 50,
            last_hits=50 + index * 4,
            party_size=1 + index % 3,
        )
    # Parsed matches on four heroes over a dozen days, for the parsed matches' tab.
    for index in range(12):
        raw = varied_parsed_answer(
            8_100_000_000 + index,
            ACCOUNT_ID,
            slot=(0, 1, 129, 132)[index % 4],
            hero_id=(109, 23, 106, 22)[index % 4],
            radiant_win=index % 3 != 0,
            start_time=datetime(2025, 6, 1, 18, tzinfo=UTC) + timedelta(days=index),
            change=index % 5 - 2,
        )
        store_parsed_answer(account, raw, datetime(2025, 7, 1, tzinfo=UTC))
    return account


def test_the_stats_pages_pass_axe_and_fit_a_phone(page: Page, live_server, history):
    base = live_server.url
    report: dict[str, dict] = {}
    problems: list[tuple] = []
    sign_in(page, base, "alice")
    for size, viewport in (("desktop", DESKTOP), ("390", PHONE)):
        page.set_viewport_size(viewport)
        for name, path, heading in STATS_PAGES:
            page.goto(base + path)
            expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
            violations = axe_violations(page)
            report[f"{name} @ {size}"] = {v["id"]: v["impact"] for v in violations}
            problems += [(name, size, v) for v in blocking(violations)]
            page.screenshot(path=artifacts() / f"{name}-{size}.png", full_page=True)
            if size == "390":
                problems += [(name, size, overflow) for overflow in horizontal_overflow(page)]
            smallest = smallest_chart_label_px(page)
            if smallest is not None and smallest < MIN_LABEL_PX:
                problems.append((name, size, f"chart label of {smallest:.1f} px"))
    write_report("axe-report-stats.json", report)
    assert problems == [], problems


def test_the_stats_pages_work_from_the_keyboard(page: Page, live_server, history):
    page.set_viewport_size(PHONE)
    sign_in(page, live_server.url, "alice")
    page.goto(live_server.url + "/stats/")

    # The stats menu: to the heroes table.
    heroes_link = page.get_by_role("navigation", name="Stats").get_by_role("link", name="Heroes")
    tab_to(page, heroes_link)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Heroes", exact=True)).to_be_visible()

    # A column heading sorts the table, highest first.
    kda = page.get_by_role("columnheader", name="KDA").get_by_role("link")
    tab_to(page, kda)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/stats/heroes/?sort=-kda")
    expect(page.get_by_role("columnheader", name="KDA ▼")).to_have_attribute(
        "aria-sort", "descending"
    )

    # A filter chosen and applied from the keyboard: the phone's folded filters open with
    # Enter on their summary, and the URL holds the filter.
    tab_to(page, page.locator("details.filters-disclosure > summary"))
    page.keyboard.press("Enter")
    side = page.get_by_label("Side")
    tab_to(page, side)
    side.select_option("dire")
    tab_to(page, page.get_by_role("button", name="Filter"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]side=dire&"))
    expect(page).to_have_url(re.compile(r"[?&]sort=-kda$"))
    assert page.locator("tbody tr").count() > 0

    # The parsed matches' tab from the stats menu, and its table view opened.
    parsed_link = page.get_by_role("navigation", name="Stats").get_by_role(
        "link", name="Parsed matches"
    )
    tab_to(page, parsed_link)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Parsed matches", exact=True)).to_be_visible()
    table_view = page.get_by_text("As a table").first
    tab_to(page, table_view)
    page.keyboard.press("Enter")
    expect(page.get_by_role("columnheader", name="Last hits at 10:00")).to_be_visible()

    # A preset is a link that fills in the dates.
    tab_to(page, page.get_by_role("link", name="Last 7 days"))
    page.keyboard.press("Enter")
    expect(page.get_by_label("From")).not_to_have_value("")
    page.screenshot(path=artifacts() / "stats-keyboard-390.png", full_page=True)
