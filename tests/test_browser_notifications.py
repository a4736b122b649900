"""The Settings page's Notifications section in Debian's chromium: adding a channel (a refused
address's error, the secret shown once), the test button, a switched-off channel; axe-core
finds nothing serious at 1280 and 390 px, and nothing scrolls sideways at 390 px."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from matches.notifications import delivery, tasks
from tests.browsing import (
    DESKTOP,
    PASSWORD,
    PHONE,
    artifacts,
    axe_violations,
    blocking,
    horizontal_overflow,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _problems(page: Page, name: str) -> list:
    """axe-core's blocking findings at both widths, and any sideways scrolling at 390 px."""
    found = []
    for size, viewport in (("1280", DESKTOP), ("390", PHONE)):
        page.set_viewport_size(viewport)
        found += [(name, size, violation) for violation in blocking(axe_violations(page))]
        if size == "390":
            page.screenshot(path=artifacts() / f"a11y-notifications-{name}-390.png", full_page=True)
            found += [(name, size, overflow) for overflow in horizontal_overflow(page)]
    page.set_viewport_size(DESKTOP)
    return found


def test_the_notifications_section_works_and_passes_axe(
    page: Page, live_server, transactional_db, settings, receiver
):
    get_user_model().objects.create_user("alice", password=PASSWORD)
    settings.NOTIFY_RETRY_BACKOFF = 0
    problems = []
    sign_in(page, live_server.url, "alice")
    page.goto(live_server.url + "/settings/")
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    problems += _problems(page, "empty")

    settings.NOTIFY_ALLOW_PRIVATE_ADDRESSES = False
    page.get_by_label("Send to").select_option(label="Webhook (signed JSON)")
    page.get_by_label("Webhook URL").fill("https://127.0.0.1/hook")
    page.get_by_role("button", name="Add channel").click()
    field = page.get_by_label("Webhook URL")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert").filter(has_text="resolves")).to_contain_text(
        "private or local address (127.0.0.1)"
    )
    problems += _problems(page, "refused-url")

    settings.NOTIFY_ALLOW_PRIVATE_ADDRESSES = True
    page.get_by_label("Webhook URL").fill(receiver.url + "/hook")
    page.get_by_role("button", name="Add channel").click()
    secret = page.get_by_label("The webhook's signing secret")
    expect(secret).to_have_value(re.compile(r"^[0-9a-f]{64}$"))
    problems += _problems(page, "secret")

    page.get_by_role("link", name="Back to Settings").click()
    page.get_by_role("button", name="Send a test message to 127.0.0.1").click()
    expect(page.get_by_text("A test message to 127.0.0.1 is on its way")).to_be_visible()
    assert tasks.deliver_due() == {"sent": 1, "failed": 0}
    assert len(receiver.requests) == 1

    page.get_by_label("Send to").select_option(label="Discord webhook")
    page.get_by_label("Webhook URL").fill(receiver.url + "/discord")
    page.get_by_role("button", name="Add channel").click()
    receiver.statuses = [500] * delivery.SWITCH_OFF_AFTER
    page.get_by_role("button", name="Send a test message to 127.0.0.1").last.click()
    tasks.deliver_due()
    page.reload()
    expect(page.get_by_text("Switched off", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Switch on 127.0.0.1")).to_be_visible()
    problems += _problems(page, "switched-off")
    assert problems == []
