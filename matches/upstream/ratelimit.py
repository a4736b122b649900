"""A rate limiter shared by every process that talks to an upstream.

Each source has a row in RateLimitSlot. A caller *reserves* the next free slot
(`next_at`) in one short locked transaction and then waits until that moment,
outside any transaction. Reservations never overlap, so N workers together
make at most one call per interval, and a waiter that is cancelled only wastes
its own slot. pyrate-limiter was considered: its Postgres and SQLite buckets
manage their own connections and tables outside Django's database settings, and
its blocking acquire cannot be interrupted for a cooperative cancel; a slot
reservation in our own database does both in a few lines.

Slots are times on the database's clock (dotasync.dbclock), and a caller waits
for the difference the database computed: workers on machines whose clocks
disagree still keep the pace.
"""

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models.functions import Now
from django.utils import timezone

from dotasync import dbclock
from matches.upstream.errors import RateLimited
from matches.upstream.slots import RateLimitSlot

Sleep = Callable[[float], None]


def reserve(bucket: str, interval: float) -> float:
    """Reserve the next call slot of `bucket`; returns the time it starts (database clock)."""
    return _reserve(bucket, interval)[0]


def _reserve(bucket: str, interval: float) -> tuple[float, float]:
    """(the reserved start as Unix seconds on the database's clock, the delay until it in
    seconds, measured when the database read its clock: time.monotonic() then).

    Raises RateLimited (daily) while a paced bucket is switched off for the day: an answer
    that said nothing is left today stops every caller of every worker before its next
    call, not after the 429 that call would get. An unpaced bucket (interval 0, in tests)
    never touches the database."""
    if interval <= 0:
        return time.time(), time.monotonic()
    _ensure_row(bucket)
    with transaction.atomic():
        slot = RateLimitSlot.objects.select_for_update().get(bucket=bucket)
        now = dbclock.epoch()
        if slot.disabled_until is not None and slot.disabled_until.timestamp() > now:
            raise _switched_off(bucket, slot.disabled_reason)
        read_at = time.monotonic()
        start = max(now, slot.next_at)
        slot.next_at = start + interval
        slot.save(update_fields=["next_at"])
    return start, read_at + (start - now)


def _switched_off(bucket: str, reason: str) -> RateLimited:
    return RateLimited(reason, daily=True, status=None, source=bucket)


def wait_turn(bucket: str, interval: float, sleep: Sleep = time.sleep) -> float:
    """Block (through `sleep`, which may raise to cancel) until this caller may call.

    Returns the reserved start: the pacing guarantee holds for these, while the
    moment `sleep` actually returns depends on the OS scheduler. The wait is counted
    from when the database read its clock, so the commit's own latency is not added
    to it (that would make the gaps between calls jitter by as much). A caller that
    waited asks again whether the bucket was switched off meanwhile (another lane's
    answer said nothing is left today) and then raises RateLimited (daily) too.
    """
    start, due = _reserve(bucket, interval)
    delay = due - time.monotonic()
    if delay > 0:
        sleep(delay)
        reason = disabled_reason(bucket)
        if reason is not None:
            raise _switched_off(bucket, reason)
    return start


def push_back(bucket: str, seconds: float) -> None:
    """Nobody calls `bucket` for `seconds` (the upstream answered 429)."""
    _ensure_row(bucket)
    with transaction.atomic():
        slot = RateLimitSlot.objects.select_for_update().get(bucket=bucket)
        slot.next_at = max(slot.next_at, dbclock.epoch() + seconds)
        slot.save(update_fields=["next_at"])


def heed_remaining(
    bucket: str,
    *,
    minute: int | None,
    day: int | None,
    second: int | None = None,
    hour: int | None = None,
    label: str = "OpenDota",
) -> None:
    """Pace by what the source says is left (OpenDota's X-Rate-Limit-Remaining-* headers,
    STRATZ's X-RateLimit-Remaining-Second/Minute/Hour/Day): nothing left of a window waits
    for the next; nothing left today switches the source off until the end of the UTC day,
    before it has to answer 429.

    OpenDota sends `limit - calls counted`, this call and 429s included (odota/core
    svc/web.ts: `remDay = API_FREE_LIMIT - dailyIncrValue`), so on its daily 429 the day
    counter is negative: what is left is then 0. Kong's windows (STRATZ) are calendar
    windows too: a second, minute or hour ends on its boundary."""
    for left, window in ((second, 1), (minute, 60), (hour, 3600)):
        if left is not None and left <= 0:
            now = dbclock.epoch()
            push_back(bucket, window - now % window + (0.5 if window > 1 else 0.05))
    if day is None:
        return
    _ensure_row(bucket)
    RateLimitSlot.objects.filter(bucket=bucket).update(
        remaining_today=max(0, day), remaining_at=Now()
    )
    if day <= 0:
        until = next_utc_midnight()
        disable_until(
            bucket,
            until,
            f"{label}'s daily API limit is used up; it is skipped until {until:%H:%M} UTC.",
        )


def remaining_today(bucket: str) -> int | None:
    """What is left of `bucket`'s daily allowance today, if the source told us (else None)."""
    slot = RateLimitSlot.objects.filter(bucket=bucket).first()
    if slot is None or slot.remaining_today is None or slot.remaining_at is None:
        return None
    if slot.remaining_at < next_utc_midnight() - timedelta(days=1):
        return None  # told yesterday: the allowance has been renewed since
    return slot.remaining_today


def disable_until(bucket: str, until: datetime, reason: str) -> None:
    _ensure_row(bucket)
    RateLimitSlot.objects.filter(bucket=bucket).update(disabled_until=until, disabled_reason=reason)


def disabled_reason(bucket: str) -> str | None:
    """Why `bucket` is switched off right now, or None when it may be used."""
    slot = RateLimitSlot.objects.filter(bucket=bucket, disabled_until__gt=Now()).first()
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
