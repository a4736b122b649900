"""Delivering: retries after a failure, a failing channel switched off (and said so on the
Settings page), the address check on the form and at delivery, the test button, a webhook's
secret shown once, and a sync that a dead endpoint never slows."""

import json
import logging
import socket
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from matches.notifications import channels, delivery, events, tasks
from matches.notifications.models import Channel, ChannelKind, Delivery, DeliveryStatus
from syncjobs import schedule
from syncjobs.models import JobStatus, JobType, SyncJob

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

DISCORD_PATH = "/api/webhooks/123456789012345678/tok-en_SECRET-part"


def _test_message(channel: Channel) -> Delivery:
    """A test message, however recent the channel's last one (the button's wait is over)."""
    earlier = timezone.now() - events.TEST_MESSAGE_INTERVAL
    Delivery.objects.filter(channel=channel, created_at__gt=earlier).update(created_at=earlier)
    assert events.write_test_message(channel)
    return Delivery.objects.filter(channel=channel).latest("pk")


def test_a_500_is_tried_again_after_the_backoff_and_then_sent(receiver, make_channel, settings):
    settings.NOTIFY_RETRY_BACKOFF = 60
    channel = make_channel(ChannelKind.WEBHOOK, receiver.url)
    receiver.statuses = [500]
    row = _test_message(channel)

    assert tasks.deliver_due() == {"sent": 0, "failed": 1}
    row.refresh_from_db()
    assert row.status == DeliveryStatus.PENDING
    assert row.attempts == 1
    assert row.last_error == "127.0.0.1 answered HTTP 500."
    assert timedelta(seconds=55) < row.next_try_at - timezone.now() <= timedelta(seconds=60)
    assert tasks.deliver_due() == {"sent": 0, "failed": 0}  # not due yet
    assert len(receiver.requests) == 1

    Delivery.objects.filter(pk=row.pk).update(next_try_at=timezone.now())  # the minute passed
    assert tasks.deliver_due() == {"sent": 1, "failed": 0}
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.SENT, 2, "")
    bodies = [json.loads(request.body) for request in receiver.requests]
    assert bodies[0] == bodies[1]
    assert bodies[0]["id"] == row.pk  # a receiver drops a retry it has seen by its id


def test_a_channel_failing_again_and_again_is_switched_off_and_the_page_says_why(
    receiver, make_channel, settings, signed_in
):
    settings.NOTIFY_RETRY_BACKOFF = 0
    channel = make_channel(ChannelKind.DISCORD, receiver.url)
    receiver.statuses = [500] * 10
    row = _test_message(channel)

    assert tasks.deliver_due() == {"sent": 0, "failed": delivery.SWITCH_OFF_AFTER}
    channel.refresh_from_db()
    row.refresh_from_db()
    assert not channel.enabled
    assert row.status == DeliveryStatus.GAVE_UP
    assert "failed deliveries in a row" in channel.switched_off_reason

    _test_message(channel)
    assert tasks.deliver_due() == {"sent": 0, "failed": 0}
    assert len(receiver.requests) == delivery.SWITCH_OFF_AFTER
    page = signed_in.get(reverse("user_settings")).content.decode()
    assert "Switched off" in page
    assert "127.0.0.1 answered HTTP 500." in page

    signed_in.post(reverse("notification_switch", args=[channel.pk]), {"on": "1"})
    receiver.statuses = []
    assert tasks.deliver_due() == {"sent": 1, "failed": 0}  # the waiting one goes out


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("https://127.0.0.1/hook", "private or local address (127.0.0.1)"),
        ("https://localhost:8443/hook", "private or local address"),
        ("https://10.1.2.3/hook", "private or local address (10.1.2.3)"),
        ("https://[::1]/hook", "private or local address (::1)"),
        ("https://169.254.169.254/latest/meta-data", "private or local address"),
        ("http://203.0.113.9/hook", "Only https:// URLs are allowed"),
        ("ftp://example.org/x", "starting with https://"),
        ("https://user:pw@93.184.215.14/", "user name or password"),
    ],
)
def test_the_form_refuses_a_url_the_server_must_not_call(signed_in, settings, url, error):
    settings.NOTIFY_ALLOW_PRIVATE_ADDRESSES = False

    answer = signed_in.post(reverse("notification_add"), {"kind": "webhook", "url": url})

    assert answer.status_code == 400
    assert error in answer.content.decode()
    assert not Channel.objects.exists()


def test_a_stored_private_url_is_refused_at_delivery(receiver, make_channel, settings, caplog):
    secure_url = receiver.url.replace("http://", "https://") + "/hook"
    channel = make_channel(ChannelKind.WEBHOOK, secure_url)
    settings.NOTIFY_ALLOW_PRIVATE_ADDRESSES = False
    row = _test_message(channel)

    with caplog.at_level(logging.WARNING):
        assert tasks.deliver_due() == {"sent": 0, "failed": 1}

    row.refresh_from_db()
    assert "resolves to a private or local address (127.0.0.1)" in row.last_error
    assert receiver.requests == []
    assert "/hook" not in caplog.text


def test_a_discord_url_never_reaches_a_log_line(receiver, make_channel, caplog):
    url = receiver.url + DISCORD_PATH
    channel = make_channel(ChannelKind.DISCORD, url)
    receiver.statuses = [500]
    row = _test_message(channel)

    with caplog.at_level(logging.DEBUG):
        assert tasks.deliver_due() == {"sent": 0, "failed": 1}
        logging.getLogger("anywhere").warning("posting to %s", url)

    row.refresh_from_db()
    assert row.last_error == "127.0.0.1 answered HTTP 500."
    assert receiver.requests[0].path == DISCORD_PATH
    assert "tok-en_SECRET-part" not in caplog.text
    assert "/api/webhooks/123456789012345678/REDACTED" in caplog.text


def test_adding_a_webhook_shows_its_secret_once(signed_in, receiver):
    answer = signed_in.post(
        reverse("notification_add"),
        {"kind": "webhook", "url": receiver.url + "/hook", "on_sessions": "on"},
    )

    channel = Channel.objects.get()
    assert answer.url == reverse("notification_secret", args=[channel.pk])
    assert len(channel.secret) == 64
    assert (channel.on_sessions, channel.on_sync_problems) == (True, False)
    assert channel.secret in signed_in.get(answer.url).content.decode()
    assert channel.secret not in signed_in.get(answer.url).content.decode()
    assert channel.secret not in signed_in.get(reverse("user_settings")).content.decode()


def test_the_test_button_sends_a_message(signed_in, receiver, make_channel, other_user, client):
    channel = make_channel(ChannelKind.WEBHOOK, receiver.url + "/hook")

    answer = signed_in.post(reverse("notification_test", args=[channel.pk]), follow=True)

    assert "A test message to 127.0.0.1 is on its way" in answer.content.decode()
    queued = [task.func() for task in OrmQ.objects.all()]
    assert queued == ["matches.notifications.tasks.deliver_due"]
    assert tasks.deliver_due() == {"sent": 1, "failed": 0}  # the task the button enqueued
    assert json.loads(receiver.requests[0].body)["title"] == "DotaSync test message"
    again = signed_in.post(reverse("notification_test", args=[channel.pk]), follow=True)
    assert "A test message was sent moments ago" in again.content.decode()
    assert Delivery.objects.count() == 1
    client.force_login(other_user)
    assert client.post(reverse("notification_test", args=[channel.pk])).status_code == 404
    assert client.post(reverse("notification_remove", args=[channel.pk])).status_code == 404


def test_an_email_channel_needs_an_address(signed_in):
    answer = signed_in.post(reverse("notification_add"), {"kind": "email", "email": ""})

    assert answer.status_code == 400
    assert "Enter the address to send the e-mails to." in answer.content.decode()


@pytest.mark.django_db(transaction=True)  # a job runs outside transactions
def test_a_sync_ends_at_once_while_the_endpoint_never_answers(
    account, receiver, make_channel, set_matches, sync
):
    """The sync path writes a row and nothing else: the job ends although the receiver would
    hold any request forever, and the receiver saw no request before the delivery ran."""
    make_channel(ChannelKind.WEBHOOK, receiver.url + "/hook")
    receiver.blocked.set()
    set_matches(20, private=True)

    started = time.monotonic()
    job = sync(account)
    took = time.monotonic() - started

    assert job.status == "failed"
    assert took < 5
    assert receiver.requests == []
    row = Delivery.objects.get()
    assert row.status == DeliveryStatus.PENDING
    assert row.payload["reason"] == "private"
    assert "Expose Public Match Data" in row.payload["text"]


@pytest.mark.django_db(transaction=True)  # a job runs outside transactions
def test_a_sync_that_needs_the_user_is_told_once_a_day(
    account, receiver, make_channel, set_matches, sync
):
    make_channel(ChannelKind.WEBHOOK, receiver.url + "/hook")
    make_channel(ChannelKind.WEBHOOK, receiver.url + "/quiet", on_sync_problems=False)
    set_matches(20, private=True)

    sync(account)
    sync(account)
    assert tasks.deliver_due() == {"sent": 1, "failed": 0}

    body = json.loads(receiver.requests[0].body)
    assert receiver.requests[0].path == "/hook"
    assert body["event"] == "sync_needs_you"
    assert body["title"] == "The sync of Alice needs you: the account's match history is private"


@pytest.mark.django_db(transaction=True)  # a job runs outside transactions
def test_a_refused_key_is_told(account, simulator, receiver, make_channel, settings, sync):
    make_channel(ChannelKind.WEBHOOK, receiver.url)
    settings.STEAM_API_KEY = "not-the-key"

    sync(account)

    assert Delivery.objects.get().payload["reason"] == "refused-STEAM_API_KEY"


@pytest.mark.django_db(transaction=True)  # a job runs outside transactions
def test_a_completed_sync_tells_nothing(account, receiver, make_channel, set_matches, sync):
    make_channel(ChannelKind.WEBHOOK, receiver.url)
    set_matches(5)

    assert sync(account).status == "completed"
    assert not Delivery.objects.exists()


def test_a_long_session_fits_discord_s_25_fields():
    message = {"title": "t", "fields": [{"name": f"m{i}", "value": "v"} for i in range(30)]}

    fields = channels.discord_body(message)["embeds"][0]["fields"]

    assert len(fields) == channels.DISCORD_MAX_FIELDS
    assert fields[-2]["name"] == "m23"
    assert fields[-1]["value"] == "and 6 more"


def test_old_done_deliveries_are_forgotten_and_waiting_ones_kept(make_channel):
    channel = make_channel(ChannelKind.EMAIL, "alice@example.org")
    for status in DeliveryStatus.values:
        _test_message(channel)
        Delivery.objects.filter(pk=Delivery.objects.latest("pk").pk).update(status=status)
    recent = _test_message(channel)
    Delivery.objects.exclude(pk=recent.pk).update(created_at=timezone.now() - timedelta(days=31))

    assert delivery.prune() == 2
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.PENDING}
    assert Delivery.objects.count() == 2


def test_a_redirect_is_not_followed(receiver, make_channel):
    channel = make_channel(ChannelKind.WEBHOOK, receiver.url + "/hook")
    receiver.statuses = [302]
    row = _test_message(channel)

    assert tasks.deliver_due() == {"sent": 0, "failed": 1}

    row.refresh_from_db()
    assert row.last_error == "127.0.0.1 answered HTTP 302."
    assert len(receiver.requests) == 1


def _ended_job(account, status: str, **fields) -> SyncJob:
    return SyncJob.objects.create(
        account=account,
        job_type=JobType.INCREMENTAL,
        status=status,
        finished_at=timezone.now(),
        **fields,
    )


def test_the_third_failed_sync_in_a_row_is_told_and_the_first_two_are_not(account, make_channel):
    make_channel(ChannelKind.EMAIL, "alice@example.org")
    _ended_job(account, JobStatus.COMPLETED)
    for _ in range(2):
        events.job_ended(_ended_job(account, JobStatus.FAILED, error_message="timed out").pk)
    assert not Delivery.objects.exists()

    events.job_ended(_ended_job(account, JobStatus.FAILED, error_message="timed out").pk)

    assert Delivery.objects.get().payload["reason"] == "failing"


def test_matches_left_waiting_for_a_daily_limit_are_told(account, make_channel):
    make_channel(ChannelKind.EMAIL, "alice@example.org")
    note = "OpenDota's daily API limit is used up; it is skipped until 00:00 UTC."
    events.job_ended(_ended_job(account, JobStatus.COMPLETED, message=note).pk)
    assert not Delivery.objects.exists()  # nothing was left waiting

    events.job_ended(_ended_job(account, JobStatus.COMPLETED, message=note, details_deferred=40).pk)

    row = Delivery.objects.get()
    assert row.payload["reason"] == "quota"
    assert row.payload["title"] == (
        "The sync of Alice needs you: 40 matches wait for a daily API limit"
    )


def test_migrate_keeps_the_notifications_schedule():
    schedule.ensure_schedule()

    kept = Schedule.objects.get(name=schedule.NOTIFICATIONS_SCHEDULE_NAME)
    task = "matches.notifications.tasks.check_sessions_and_deliver"
    assert (kept.func, kept.minutes) == (task, 1)


@pytest.fixture
def dns(monkeypatch) -> dict[str, str | list[str]]:
    """Names this test resolves itself (the outside world's DNS); others resolve as usual.
    A name's answer is an address, or a list of them given out one lookup after another."""
    answers: dict[str, str | list[str]] = {}
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        answer = answers[host]
        address = (
            (answer.pop(0) if len(answer) > 1 else answer[0])
            if isinstance(answer, list)
            else answer
        )
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return answers


def test_a_name_that_resolves_elsewhere_later_is_checked_again(settings, signed_in, dns):
    settings.NOTIFY_ALLOW_PRIVATE_ADDRESSES = False
    dns["hooks.example.test"] = "93.184.215.14"
    signed_in.post(
        reverse("notification_add"), {"kind": "discord", "url": "https://hooks.example.test/x"}
    )
    channel = Channel.objects.get()
    dns["hooks.example.test"] = "127.0.0.1"  # a rebinding name
    row = _test_message(channel)

    assert tasks.deliver_due() == {"sent": 0, "failed": 1}

    row.refresh_from_db()
    assert "hooks.example.test resolves to a private or local address (127.0.0.1)" in (
        row.last_error
    )


def test_delivery_connects_to_the_address_it_checked_and_names_the_host(
    receiver, make_channel, dns
):
    # Checked, it is the receiver's address; any later lookup leads nowhere (nothing listens
    # on 127.0.0.2): only a connection to the checked address arrives.
    dns["hooks.example.test"] = ["127.0.0.1", "127.0.0.2"]
    port = receiver.url.rsplit(":", 1)[1]
    channel = make_channel(ChannelKind.WEBHOOK, f"http://hooks.example.test:{port}/hook")
    _test_message(channel)

    assert tasks.deliver_due() == {"sent": 1, "failed": 0}
    assert receiver.requests[0].headers["Host"] == f"hooks.example.test:{port}"


def test_a_mail_server_that_is_down_is_a_failed_attempt(make_channel, settings):
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    row = _test_message(make_channel(ChannelKind.EMAIL, "alice@example.org"))

    assert tasks.deliver_due() == {"sent": 0, "failed": 1}

    row.refresh_from_db()
    assert row.last_error == "Could not hand the mail over (ConnectionRefusedError)."
    assert row.status == DeliveryStatus.PENDING
