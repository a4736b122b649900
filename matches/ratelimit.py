"""A rate limiter shared by every process that talks to an upstream.

Each source has a row in RateLimitSlot. A caller *reserves* the next free slot
(`next_at`) in one short locked transaction and then waits until that moment,
outside any transaction. Reservations never overlap, so N workers together
make at most one call per interval, and a waiter that is cancelled only wastes
its own slot. pyrate-limiter was considered: its Postgres and SQLite buckets
manage their own connections and tables outside Django's database settings, and
its blocking acquire cannot be interrupted for a cooperative cancel; a slot
reservation in our own database does both in a few lines.
"""

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from matches.models import RateLimitSlot

Sleep = Callable[[float], None]


def reserve(bucket: str, interval: float) -> float:
    """Reserve the next call slot of `bucket`; returns the Unix time it starts."""
    if interval <= 0:
        return time.time()
    _ensure_row(bucket)
    with transaction.atomic():
        slot = RateLimitSlot.objects.select_for_update().get(bucket=bucket)
        now = time.time()
        start = max(now, slot.next_at)
        slot.next_at = start + interval
        slot.save(update_fields=["next_at"])
    return start


def wait_turn(bucket: str, interval: float, sleep: Sleep = time.sleep) -> float:
    """Block (through `sleep`, which may raise to cancel) until this caller may call.

    Returns the reserved start: the pacing guarantee holds for these, while the
    moment `sleep` actually returns depends on the OS scheduler.
    """
    start = reserve(bucket, interval)
    delay = start - time.time()
    if delay > 0:
        sleep(delay)
    return start


def push_back(bucket: str, seconds: float) -> None:
    """Nobody calls `bucket` for `seconds` (the upstream answered 429)."""
    _ensure_row(bucket)
    with transaction.atomic():
        slot = RateLimitSlot.objects.select_for_update().get(bucket=bucket)
        slot.next_at = max(slot.next_at, time.time() + seconds)
        slot.save(update_fields=["next_at"])


def disable_until(bucket: str, until: datetime, reason: str) -> None:
    _ensure_row(bucket)
    RateLimitSlot.objects.filter(bucket=bucket).update(disabled_until=until, disabled_reason=reason)


def disabled_reason(bucket: str) -> str | None:
    """Why `bucket` is switched off right now, or None when it may be used."""
    slot = RateLimitSlot.objects.filter(bucket=bucket, disabled_until__gt=timezone.now()).first()
    return slot.disabled_reason if slot else None


def next_utc_midnight(now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def _ensure_row(bucket: str) -> None:
    if RateLimitSlot.objects.filter(bucket=bucket).exists():
        return
    try:
        with transaction.atomic():
            RateLimitSlot.objects.create(bucket=bucket)
    except IntegrityError:
        pass  # another process created it first
