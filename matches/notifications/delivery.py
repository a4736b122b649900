"""Sending the deliveries that are due, with retries, backoff, and switching a failing
channel off.

A worker claims a due row with a conditional UPDATE that moves its `next_try_at` past the
attempt (a lease): two workers never send one row, and a worker that dies mid-send leaves
a row that is due again once the lease is over. A failed attempt waits
NOTIFY_RETRY_BACKOFF * 2**(attempts-1) seconds; after MAX_ATTEMPTS a row is given up.
A channel whose deliveries failed SWITCH_OFF_AFTER times in a row is switched off, with the
reason on the Settings page; its rows wait until the user switches it on again.
Log lines name rows and channels by id: a webhook's URL is its credential. Rows done with
are forgotten after KEPT_FOR (what a session told is kept by its SessionMarker, not its rows).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from matches.notifications import channels
from matches.notifications.addresses import DeliveryFailed, UnsafeAddress
from matches.notifications.models import Channel, Delivery, DeliveryStatus

logger = logging.getLogger(__name__)

KEPT_FOR = timedelta(days=30)
MAX_ATTEMPTS = 5
SWITCH_OFF_AFTER = 5
LEASE = timedelta(seconds=4 * channels.TIMEOUT_SECONDS)
BATCH = 50


def deliver_due(limit: int = BATCH) -> dict[str, int]:
    """Send up to `limit` due deliveries; returns how many were sent and how many failed."""
    report = {"sent": 0, "failed": 0}
    for _ in range(limit):
        delivery = claim_next()
        if delivery is None:
            break
        report["sent" if attempt(delivery) else "failed"] += 1
    return report


def prune() -> int:
    """Forget deliveries sent or given up more than KEPT_FOR ago; returns how many."""
    done = Delivery.objects.exclude(status=DeliveryStatus.PENDING)
    deleted, _ = done.filter(created_at__lt=timezone.now() - KEPT_FOR).delete()
    return deleted


def claim_next() -> Delivery | None:
    now = timezone.now()
    due = Delivery.objects.filter(
        status=DeliveryStatus.PENDING, next_try_at__lte=now, channel__enabled=True
    ).order_by("next_try_at", "pk")
    for pk, next_try_at in due.values_list("pk", "next_try_at")[:10]:
        claimed = Delivery.objects.filter(
            pk=pk, status=DeliveryStatus.PENDING, next_try_at=next_try_at
        ).update(next_try_at=now + LEASE, attempts=F("attempts") + 1)
        if claimed:
            return Delivery.objects.select_related("channel").get(pk=pk)
    return None


def attempt(delivery: Delivery) -> bool:
    """One attempt at a claimed delivery; True when it was sent."""
    try:
        channels.send(delivery)
    except (UnsafeAddress, DeliveryFailed) as exc:
        _failed(delivery, str(exc))
        return False
    except Exception as exc:
        # Only the exception's type: its text may hold the URL.
        _failed(delivery, f"Internal error ({type(exc).__name__}).")
        return False
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENT, sent_at=timezone.now(), last_error=""
    )
    Channel.objects.filter(pk=delivery.channel_id).update(failures_in_a_row=0)
    return True


def _failed(delivery: Delivery, error: str) -> None:
    now = timezone.now()
    gave_up = delivery.attempts >= MAX_ATTEMPTS
    wait = timedelta(seconds=settings.NOTIFY_RETRY_BACKOFF * 2 ** (delivery.attempts - 1))
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.GAVE_UP if gave_up else DeliveryStatus.PENDING,
        next_try_at=now + wait,
        last_error=error[:300],
    )
    Channel.objects.filter(pk=delivery.channel_id).update(
        failures_in_a_row=F("failures_in_a_row") + 1
    )
    switched_off = Channel.objects.filter(
        pk=delivery.channel_id, enabled=True, failures_in_a_row__gte=SWITCH_OFF_AFTER
    ).update(
        enabled=False,
        switched_off_reason=(
            f"Switched off {now:%Y-%m-%d %H:%M} UTC after {SWITCH_OFF_AFTER} failed deliveries "
            f"in a row. The last one: {error}"
        )[:300],
    )
    logger.warning(
        "notification %s to channel %s failed (attempt %s%s): %s",
        delivery.pk,
        delivery.channel_id,
        delivery.attempts,
        ", channel switched off" if switched_off else "",
        error,
    )
