"""The settings page and the Accounts page's token and unlinking, with the keyboard only."""

import re
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from playwright.sync_api import Locator, Page, expect

from matches.models import SteamAccount
from matches.tests.match_builders import complete_match, make_account

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ACCOUNT_ID = 86745912
PASSWORD = "a-long-browser-password"
MAX_TABS = 60
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def tab_to(page: Page, target: Locator) -> None:
    """Press Tab until `target` has the focus: it is reachable in the page's tab order."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{target} is not reachable with Tab")


def api_status(base_url: str, key: str) -> int:
    answer = requests.get(
        f"{base_url}/api/accounts/", headers={"Authorization": f"Token {key}"}, timeout=10
    )
    return answer.status_code


def test_keyboard_only_settings_api_token_and_unlinking(page: Page, live_server, transactional_db):
    alice = get_user_model().objects.create_user("alice", password=PASSWORD)
    complete_match(
        7_000_000_001, make_account(ACCOUNT_ID, owner=alice, persona_name="Alice"), won=True
    )
    base = live_server.url

    page.goto(base + "/login/")
    tab_to(page, page.get_by_label("Username"))
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    # Settings: a zone chosen by typing its name into the select, the box ticked with Space.
    tab_to(page, page.get_by_role("link", name="Settings"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Settings")).to_be_visible()
    zone = page.get_by_label("Time zone")
    tab_to(page, zone)
    page.keyboard.type("Asia/Tokyo")
    expect(zone).to_have_value("Asia/Tokyo")
    avatars = page.get_by_label("Show players' avatars from Steam")
    tab_to(page, avatars)
    page.keyboard.press("Space")
    expect(avatars).to_be_checked()
    tab_to(page, page.get_by_role("button", name="Save settings"))
    page.keyboard.press("Enter")
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    expect(page.get_by_text("Times are shown in Asia/Tokyo")).to_be_visible()
    expect(page.get_by_label("Show players' avatars from Steam")).to_be_checked()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "settings.png", full_page=True)

    # An API token: created, read from its labelled field, used, revoked.
    tab_to(page, page.get_by_role("link", name="Accounts"))
    page.keyboard.press("Enter")
    tab_to(page, page.get_by_role("button", name="Create API token"))
    page.keyboard.press("Enter")
    key = page.get_by_label("Your new API token").input_value()
    assert re.fullmatch(r"[0-9a-f]{40}", key)
    assert api_status(base, key) == 200
    page.screenshot(path=ARTIFACTS / "accounts-new-token.png", full_page=True)
    page.reload()
    expect(page.get_by_label("Your new API token")).to_have_count(0)
    expect(page.locator("#api-token")).to_contain_text(f"starting with {key[:6]}…")
    tab_to(page, page.get_by_role("button", name="Revoke token"))
    page.keyboard.press("Enter")
    expect(page.get_by_text("API token revoked")).to_be_visible()
    assert api_status(base, key) == 401

    # Unlinking, after the confirmation page.
    tab_to(page, page.get_by_role("link", name="Unlink Alice"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Unlink Alice?")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "unlink-confirmation.png", full_page=True)
    tab_to(page, page.get_by_role("button", name="Unlink and delete"))
    page.keyboard.press("Enter")
    expect(
        page.get_by_text(f"Unlinked Steam account {ACCOUNT_ID}: 1 of its matches")
    ).to_be_visible()
    expect(page.get_by_text("No Steam account linked yet.")).to_be_visible()
    assert not SteamAccount.objects.filter(account_id=ACCOUNT_ID).exists()
