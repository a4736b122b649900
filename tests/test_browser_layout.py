"""The match page and the filter forms in Debian's chromium, at 1280 and 390 px: a full match
(ten players, each with six items, a backpack, a neutral item and upgrades) fits a desktop
without sideways scrolling and stays stacked on a phone (and a 768 px tablet); the filter
forms fold on a phone unless a filter is set; the stats form's "Per" shows the unit the chart
is drawn by."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from matches.models import MatchPlayer
from matches.tests.match_builders import complete_match, make_account
from tests.browsing import (
    DESKTOP,
    PASSWORD,
    PHONE,
    accessible_names,
    artifacts,
    axe_violations,
    blocking,
    horizontal_overflow,
    inside_viewport,
    sign_in,
    tab_to,
    wider_than_their_box,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ACCOUNT_ID = 86745912
FULL_MATCH = 7_100_000_000
TEAMMATES = (2002, 2003, 2004, 2005)
OPPONENTS = (4001, 4002, 4003, 4004, 4005)
# The longest names a row meets: a long persona, one without spaces at Steam's 32 characters.
PERSONAS = (
    "A friend with a rather long persona name",
    "Averyveryverylongnamewithnospace",
    "Third",
    "Fourth teammate",
    "Opponent number one",
    "x" * 32,
    "Opponent three",
    "Opponent four",
    "Opponent five",
)
# Six of the longest item names, a backpack of three, a neutral item and its enchantment.
INVENTORY = {
    "item_0": 114,  # Heart of Tarrasque
    "item_1": 100,  # Eul's Scepter of Divinity
    "item_2": 600,  # Overwhelming Blink
    "item_3": 231,  # Guardian Greaves
    "item_4": 116,  # Black King Bar
    "item_5": 98,  # Orchid Malevolence
    "backpack_0": 218,  # Observer and Sentry Wards
    "backpack_1": 46,  # Town Portal Scroll
    "backpack_2": 188,  # Smoke of Deceit
    "item_neutral": 357,  # Nether Shawl
    "item_neutral2": 1595,  # Keen-eyed
}
# Each player's chips: the items above and the three upgrades (scepter, shard, moon shard).
CHIPS_PER_PLAYER = len(INVENTORY) + 3
# All of a player's items take at most two lines of chips.
MAX_ITEM_LINES = 2
STACKED_ITEMS_MAX = 6
FILTER_FIELDS = ("From", "To", "Hero", "Side")
TABLET = {"width": 768, "height": 1024}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def full_match(transactional_db):
    """Alice's account, a few months of matches, and one full match whose ten players have
    long names, every item slot filled, every upgrade and big numbers."""
    alice = get_user_model().objects.create_user("alice", password=PASSWORD)
    account = make_account(ACCOUNT_ID, owner=alice, persona_name="Alice")
    for account_id, persona in zip((*TEAMMATES, *OPPONENTS), PERSONAS, strict=True):
        make_account(account_id, persona_name=persona)
    start = datetime(2024, 1, 5, 18, 0, tzinfo=UTC)
    for index in range(6):
        complete_match(
            FULL_MATCH + 1 + index,
            account,
            won=index % 2 == 0,
            hero_id=1 + index,
            start_time=start + timedelta(days=40 * index),
        )
    complete_match(
        FULL_MATCH,
        account,
        won=True,
        hero_id=1,
        teammates=TEAMMATES,
        opponents=OPPONENTS,
        start_time=start + timedelta(days=300),
        kda=(24, 12, 31),
    )
    MatchPlayer.objects.filter(match_id=FULL_MATCH).update(
        **INVENTORY,
        last_hits=1234,
        denies=56,
        gold_per_min=1012,
        xp_per_min=1345,
        net_worth=123_456,
        gold_spent=98_765,
        gold=4321,
        hero_damage=345_678,
        hero_healing=45_678,
        aghanims_scepter=True,
        aghanims_shard=True,
        moonshard=True,
    )
    # One player left, with the badge that says so next to their name.
    MatchPlayer.objects.filter(match_id=FULL_MATCH, account_id=TEAMMATES[0]).update(leaver_status=2)
    return account


def _players_layout(page: Page) -> list[dict]:
    """Each player's row: its height, its item chips (how many, how tall, on how many lines)
    and on how many lines its tallest number cell is written."""
    return page.evaluate(
        """() => [...document.querySelectorAll("table.players tbody tr")].map(row => {
            const chips = [...row.querySelectorAll("td[data-label='Items'] li")];
            const tops = new Set(chips.map(chip => Math.round(chip.getBoundingClientRect().top)));
            const textLines = cell => {
                const style = getComputedStyle(cell);
                const text = cell.clientHeight - parseFloat(style.paddingTop)
                    - parseFloat(style.paddingBottom);
                return Math.round(text / parseFloat(style.lineHeight));
            };
            return {
                height: row.getBoundingClientRect().height,
                chips: chips.length,
                chipHeight: chips.length ? chips[0].getBoundingClientRect().height : 0,
                lines: tops.size,
                numberLines: Math.max(...[...row.querySelectorAll("td.num")].map(textLines)),
            };
        })"""
    )


def test_a_full_match_fits_a_desktop_and_stacks_on_a_phone(page: Page, live_server, full_match):
    sign_in(page, live_server.url, "alice")
    for size, viewport in (("1280", DESKTOP), ("768", TABLET), ("390", PHONE)):
        page.set_viewport_size(viewport)
        page.goto(f"{live_server.url}/matches/{FULL_MATCH}/")
        expect(page.get_by_role("heading", name=f"Match {FULL_MATCH}")).to_be_visible()
        page.screenshot(path=artifacts() / f"match-full-{size}.png", full_page=True)
        assert horizontal_overflow(page) == [], size
        assert wider_than_their_box(page, "table") == [], size
        assert blocking(axe_violations(page)) == [], size

        rows = _players_layout(page)
        assert len(rows) == 10, size
        assert all(row["chips"] == CHIPS_PER_PLAYER for row in rows), (size, rows)
        chips = page.locator("table.players td[data-label='Items'] li")
        for index in range(chips.count()):
            expect(chips.nth(index)).to_be_visible()
            assert inside_viewport(page, chips.nth(index)), (size, index)

        # The items are the row's last cell, in lists a screen reader names.
        first = page.get_by_role("row").filter(has_text=PERSONAS[0])
        expect(first.get_by_role("list", name="Backpack")).to_contain_text("Smoke of Deceit")
        expect(first.get_by_role("list", name="Neutral item")).to_contain_text("Nether Shawl")
        expect(first.get_by_role("cell").last).to_contain_text("Heart of Tarrasque")

        if size == "1280":
            # The numbers on one line, all the items on at most two below them; the rows
            # are less tall than six item names stacked, as they were with an items column.
            for row in rows:
                assert row["numberLines"] == 1, row
                assert row["lines"] <= MAX_ITEM_LINES, row
            total = sum(row["height"] for row in rows)
            assert total < len(rows) * STACKED_ITEMS_MAX * rows[0]["chipHeight"], rows
            expect(page.get_by_role("columnheader", name="Healing").first).to_be_visible()
        else:
            # Stacked (a tablet's width cannot hold the nine columns either): the headings
            # are hidden, each cell is labelled and below the player.
            assert page.locator("table.players thead").first.bounding_box()["height"] <= 1
            player = first.locator("td.stack-title").bounding_box()
            kda = first.locator("td[data-label='K/D/A']").bounding_box()
            assert kda["y"] >= player["y"] + player["height"]


def _filters(page: Page):
    return page.locator("details.filters-disclosure")


@pytest.mark.parametrize("path", ["/matches/", "/stats/", "/stats/heroes/"])
def test_a_phone_folds_the_filters_until_one_is_set(page: Page, live_server, full_match, path):
    sign_in(page, live_server.url, "alice")
    base = live_server.url + path
    name = path.strip("/").replace("/", "-")

    page.set_viewport_size(PHONE)
    page.goto(base)
    expect(_filters(page)).not_to_have_attribute("open", "")
    for field in FILTER_FIELDS:
        expect(page.get_by_label(field, exact=True)).to_be_hidden()
    assert "hero" not in accessible_names(page, "combobox")
    # The first screen shows numbers, not the form: what follows it starts in its top half.
    following = page.locator(".filters-disclosure + *")
    assert following.bounding_box()["y"] < PHONE["height"] / 2
    page.screenshot(path=artifacts() / f"filters-folded-{name}-390.png")
    assert not blocking(axe_violations(page))

    # From the keyboard alone: Tab to the summary, Enter opens it, a field takes a value.
    summary = _filters(page).locator("summary")
    tab_to(page, summary)
    page.keyboard.press("Enter")
    expect(_filters(page)).to_have_attribute("open", "")
    side = page.get_by_label("Side", exact=True)
    tab_to(page, side)
    side.select_option("dire")
    tab_to(page, page.get_by_role("button", name="Filter"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]side=dire(&|$)"))

    # A filter is set: the form is open on arrival, its value shown.
    expect(_filters(page)).to_have_attribute("open", "")
    expect(page.get_by_label("Side", exact=True)).to_have_value("dire")
    expect(summary).to_contain_text("1 set")
    page.screenshot(path=artifacts() / f"filters-open-{name}-390.png")
    assert not blocking(axe_violations(page))
    assert horizontal_overflow(page) == []

    # On a desktop the form is shown, with no disclosure to open, filtered or not.
    page.set_viewport_size(DESKTOP)
    page.goto(base)
    expect(summary).to_be_hidden()
    for field in FILTER_FIELDS:
        expect(page.get_by_label(field, exact=True)).to_be_visible()
    # Shown by the stylesheet in a closed <details>, the fields are there for a screen reader.
    assert {"hero", "side"} <= set(accessible_names(page, "combobox"))
    tab_to(page, page.get_by_label("Hero", exact=True))
    page.screenshot(path=artifacts() / f"filters-{name}-1280.png")
    assert not blocking(axe_violations(page))


def test_a_bad_filter_opens_the_form_on_a_phone(page: Page, live_server, full_match):
    sign_in(page, live_server.url, "alice")
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/stats/?by=year")
    expect(_filters(page)).to_have_attribute("open", "")
    expect(page.get_by_role("alert").filter(has_text="not year")).to_be_visible()


@pytest.mark.parametrize(("query", "unit"), [("", "month"), ("?by=week", "week")])
def test_the_per_select_shows_the_unit_the_chart_is_drawn_by(
    page: Page, live_server, full_match, query, unit
):
    sign_in(page, live_server.url, "alice")
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/stats/{query}")
    expect(page.get_by_label("Per", exact=True)).to_have_value(unit)
    chart = page.get_by_role("img", name=f"Win rate and games per {unit}").first
    expect(chart).to_be_attached()
