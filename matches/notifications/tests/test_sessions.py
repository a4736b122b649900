"""A play session that ended is told once to each channel, with its matches, through a real
HTTP receiver (Discord's format and the signed webhook) and a real SMTP server."""

import hashlib
import hmac
import json
from datetime import timedelta
from email import message_from_bytes

import pytest
from django.utils import timezone

from matches.notifications import events, tasks
from matches.notifications.models import ChannelKind, Delivery, SessionMarker
from matches.tests.match_builders import complete_match, stub_match

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

SESSION_ONE = (7_100_000_001, 7_100_000_002)
SESSION_TWO = (7_100_000_010, 7_100_000_011, 7_100_000_012)


@pytest.fixture(autouse=True)
def _site(settings) -> None:
    settings.SITE_URL = "https://dota.example.org"
    settings.NOTIFY_SESSION_GAP_MINUTES = 30


def _play(account, match_ids, first_start, *, won=(True, False, True), duration=1800):
    """Matches one after another, each starting 5 minutes after the previous ended."""
    start = first_start
    for index, match_id in enumerate(match_ids):
        complete_match(
            match_id,
            account,
            won=won[index % len(won)],
            hero_id=1 + index,
            start_time=start,
            kda=(10 + index, 2, 7),
            duration=duration,
        )
        start += timedelta(seconds=duration + 300)


def _verified(received, secret: str) -> dict:
    expected = "sha256=" + hmac.new(secret.encode(), received.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(received.headers["X-DotaSync-Signature"], expected)
    return json.loads(received.body)


def test_each_ended_session_is_told_once_to_every_channel(account, receiver, mailbox, make_channel):
    webhook = make_channel(ChannelKind.WEBHOOK, receiver.url + "/hook")
    make_channel(ChannelKind.DISCORD, receiver.url + "/discord")
    make_channel(ChannelKind.EMAIL, "alice@example.org")
    now = timezone.now()
    _play(account, SESSION_ONE, now - timedelta(hours=6))
    _play(account, SESSION_TWO, now - timedelta(hours=3))

    first = tasks.check_sessions_and_deliver()
    second = tasks.check_sessions_and_deliver()

    assert first == {"sessions": 6, "sent": 6, "failed": 0}
    assert second == {"sessions": 0, "sent": 0, "failed": 0}
    hooks = [r for r in receiver.requests if r.path == "/hook"]
    discord = [r for r in receiver.requests if r.path == "/discord"]
    assert len(hooks) == len(discord) == len(mailbox.messages) == 2
    bodies = sorted(
        (_verified(r, webhook.secret) for r in hooks), key=lambda b: b["matches"][0]["match_id"]
    )
    assert [[m["match_id"] for m in body["matches"]] for body in bodies] == [
        list(SESSION_ONE),
        list(SESSION_TWO),
    ]
    second_session = bodies[1]
    assert [m["won"] for m in second_session["matches"]] == [True, False, True]
    assert [(m["kills"], m["deaths"], m["assists"]) for m in second_session["matches"]] == [
        (10, 2, 7),
        (11, 2, 7),
        (12, 2, 7),
    ]
    assert second_session["matches"][0]["hero"] == "Anti-Mage"
    assert (
        second_session["matches"][0]["url"] == f"https://dota.example.org/matches/{SESSION_TWO[0]}/"
    )
    assert second_session["title"] == "Alice: session over, 2 won, 1 lost"
    assert second_session["event"] == "session_ended"
    assert hooks[0].headers["X-DotaSync-Event"] == "session_ended"

    embed = json.loads(discord[1].body)["embeds"][0]
    assert set(embed) == {"title", "description", "url", "color", "fields"}
    assert [field["name"] for field in embed["fields"]] == [
        "Won · Anti-Mage",
        "Lost · Axe",
        "Won · Bane",
    ]
    assert (
        f"[Match {SESSION_TWO[1]}](https://dota.example.org/matches/{SESSION_TWO[1]}/)"
        in (embed["fields"][1]["value"])
    )

    mails = [message_from_bytes(envelope.content) for envelope in mailbox.messages]
    assert {mail["To"] for mail in mails} == {"alice@example.org"}
    subjects = sorted(mail["Subject"] for mail in mails)
    assert subjects == ["Alice: session over, 1 won, 1 lost", "Alice: session over, 2 won, 1 lost"]
    text = next(m for m in mails if "2 won" in m["Subject"]).get_payload(decode=True).decode()
    assert f"https://dota.example.org/matches/{SESSION_TWO[2]}/" in text
    assert "10/2/7" in text


def test_a_session_that_goes_on_is_told_once_the_quiet_gap_has_passed(
    account, receiver, make_channel
):
    make_channel(ChannelKind.WEBHOOK, receiver.url)
    now = timezone.now()
    _play(account, SESSION_ONE, now - timedelta(minutes=80))  # the last one ended 15 min ago

    assert events.find_ended_sessions(now) == 0
    assert events.find_ended_sessions(now + timedelta(minutes=16)) == 1
    assert events.find_ended_sessions(now + timedelta(minutes=17)) == 0


def test_a_session_waits_for_its_details(account, make_channel, receiver):
    make_channel(ChannelKind.WEBHOOK, receiver.url)
    now = timezone.now()
    _play(account, SESSION_ONE, now - timedelta(hours=3))
    stub_match(7_100_000_003, account, start_time=now - timedelta(hours=2))

    assert events.find_ended_sessions(now) == 0
    assert not SessionMarker.objects.filter(notified_through__isnull=False).exists()


def test_an_old_history_and_matches_stored_before_the_channel_send_nothing(
    account, receiver, make_channel
):
    now = timezone.now()
    _play(account, SESSION_ONE, now - timedelta(hours=5))  # stored by a sync before the channel
    make_channel(ChannelKind.WEBHOOK, receiver.url)
    _play(account, SESSION_TWO, now - timedelta(days=3))  # stored now, but played days ago

    assert tasks.check_sessions_and_deliver()["sessions"] == 0
    assert receiver.requests == []
    assert Delivery.objects.count() == 0


def test_a_channel_not_listening_for_sessions_hears_none(account, receiver, make_channel):
    make_channel(ChannelKind.WEBHOOK, receiver.url, on_sessions=False)
    _play(account, SESSION_ONE, timezone.now() - timedelta(hours=3))

    assert tasks.check_sessions_and_deliver()["sessions"] == 0
