"""The shared rate limiter, in one process and across two real processes."""

import itertools
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from matches.upstream import ratelimit
from matches.upstream.errors import RateLimited
from matches.upstream.slots import RateLimitSlot
from tests.children import child_env
from tests.processes import ROOT

pytestmark = pytest.mark.sqlite

TOLERANCE = 0.001

# Runs in each child: waits for the parent's "go <start time>", then takes turns until the
# end time and prints, for every turn, the reserved start and the wall-clock time it began.
HAMMER = """
import json, sys, time
import django
django.setup()
from django.db import connection
from matches.upstream import ratelimit

bucket, interval, duration = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
connection.ensure_connection()
print("ready", flush=True)
start_at = float(sys.stdin.readline().split()[1])
time.sleep(max(0.0, start_at - time.time()))
turns = []
while time.time() < start_at + duration:
    reserved = ratelimit.wait_turn(bucket, interval)
    turns.append([reserved, time.time()])
print(json.dumps(turns), flush=True)
"""


def hammer_in_two_processes(
    bucket: str, interval: float, duration: float
) -> list[list[list[float]]]:
    children = [
        subprocess.Popen(
            [sys.executable, "-c", HAMMER, bucket, str(interval), str(duration)],
            cwd=ROOT,
            env=child_env(DJANGO_SETTINGS_MODULE="dotasync.settings", LOG_LEVEL="WARNING"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for child in children:
            assert child.stdout.readline().strip() == "ready"
        start_at = time.time() + 0.2
        for child in children:
            child.stdin.write(f"go {start_at}\n")
            child.stdin.flush()
        outputs = [child.communicate(timeout=30)[0] for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    assert all(child.returncode == 0 for child in children)
    return [json.loads(output.strip().splitlines()[-1]) for output in outputs]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_processes_together_never_call_faster_than_the_interval():
    interval = 0.05

    per_process = hammer_in_two_processes("shared-test", interval, duration=1.5)

    assert all(len(turns) >= 5 for turns in per_process), per_process
    merged = sorted((reserved, began) for turns in per_process for reserved, began in turns)
    # Waking from sleep can be late by a few ms on a busy machine, so the strict spacing is
    # checked on the reserved starts; no turn may begin before its reserved start.
    starts = [reserved for reserved, _ in merged]
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert min(gaps) >= interval - TOLERANCE
    assert all(began >= reserved - TOLERANCE for reserved, began in merged)
    # The limit is used, not just kept: while both wait, the slots follow each other back to
    # back. A late wake-up (a loaded machine) leaves a longer gap now and then; a limiter that
    # wastes slots leaves them everywhere.
    back_to_back = sum(1 for gap in gaps if gap <= interval + TOLERANCE)
    assert back_to_back >= len(gaps) / 2, gaps


# --- one process ------------------------------------------------------------------------------


class RecordingSleep:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


class Cancelled(Exception):
    pass


def cancel(seconds: float) -> None:
    raise Cancelled


@pytest.mark.django_db
def test_reservations_are_spaced_by_the_interval():
    starts = [ratelimit.reserve("steam", 10.0) for _ in range(3)]

    assert starts[1] - starts[0] == pytest.approx(10.0)
    assert starts[2] - starts[1] == pytest.approx(10.0)
    assert RateLimitSlot.objects.get(bucket="steam").next_at == pytest.approx(starts[2] + 10.0)


@pytest.mark.django_db
def test_wait_turn_sleeps_until_the_reserved_slot():
    sleep = RecordingSleep()

    first = ratelimit.wait_turn("steam", 5.0, sleep)
    second = ratelimit.wait_turn("steam", 5.0, sleep)

    assert second - first == pytest.approx(5.0)
    assert len(sleep.calls) == 1
    assert sleep.calls[0] == pytest.approx(5.0, abs=0.1)


@pytest.mark.django_db
def test_zero_interval_neither_waits_nor_touches_the_database():
    sleep = RecordingSleep()

    for _ in range(3):
        ratelimit.wait_turn("opendota", 0, sleep)

    assert sleep.calls == []
    assert not RateLimitSlot.objects.exists()


@pytest.mark.django_db
def test_a_cancelled_wait_keeps_its_slot_taken():
    ratelimit.reserve("steam", 5.0)

    with pytest.raises(Cancelled):
        ratelimit.wait_turn("steam", 5.0, cancel)

    sleep = RecordingSleep()
    ratelimit.wait_turn("steam", 5.0, sleep)
    assert sleep.calls[0] == pytest.approx(10.0, abs=0.1)


@pytest.mark.django_db
def test_push_back_delays_the_next_turn():
    sleep = RecordingSleep()

    ratelimit.push_back("opendota", 30.0)
    ratelimit.wait_turn("opendota", 1.0, sleep)

    assert sleep.calls[0] == pytest.approx(30.0, abs=0.1)


@pytest.mark.django_db
def test_push_back_never_shortens_a_longer_wait():
    ratelimit.push_back("steam", 60.0)
    before = RateLimitSlot.objects.get(bucket="steam").next_at

    ratelimit.push_back("steam", 1.0)

    assert RateLimitSlot.objects.get(bucket="steam").next_at == before


@pytest.mark.django_db
def test_disable_until_switches_a_source_off_until_then():
    assert ratelimit.disabled_reason("opendota") is None

    ratelimit.disable_until(
        "opendota", timezone.now() + timedelta(hours=2), "OpenDota daily API limit exceeded"
    )

    assert ratelimit.disabled_reason("opendota") == "OpenDota daily API limit exceeded"
    assert ratelimit.disabled_reason("steam") is None


@pytest.mark.django_db
def test_a_disable_that_has_passed_no_longer_counts():
    ratelimit.disable_until("opendota", timezone.now() - timedelta(seconds=1), "yesterday")

    assert ratelimit.disabled_reason("opendota") is None


def test_next_utc_midnight():
    now = datetime(2026, 11, 23, 23, 59, 30, tzinfo=UTC)

    assert ratelimit.next_utc_midnight(now) == datetime(2026, 11, 24, tzinfo=UTC)
    assert ratelimit.next_utc_midnight(datetime(2026, 12, 31, 0, 0, tzinfo=UTC)) == datetime(
        2027, 1, 1, tzinfo=UTC
    )


@pytest.mark.django_db
def test_a_negative_day_counter_is_nothing_left_and_switches_the_source_off():
    # OpenDota's daily 429 says X-Rate-Limit-Remaining-Day: -1 (svc/web.ts: limit - count).
    ratelimit.heed_remaining("opendota", minute=58, day=-1)

    assert ratelimit.remaining_today("opendota") == 0
    assert "daily API limit is used up" in ratelimit.disabled_reason("opendota")


@pytest.mark.django_db
def test_a_paced_source_switched_off_refuses_the_next_call_before_it_is_made():
    ratelimit.heed_remaining("opendota", minute=59, day=0)  # the last free call's answer

    with pytest.raises(RateLimited) as refused:
        ratelimit.wait_turn("opendota", 1.0, RecordingSleep())

    assert refused.value.daily
    assert "daily API limit is used up" in refused.value.message


@pytest.mark.django_db
def test_a_caller_waiting_when_another_answer_switches_the_source_off_does_not_call():
    ratelimit.reserve("opendota", 5.0)  # another lane's call is due first

    def meanwhile_the_other_answer_says_nothing_is_left(seconds: float) -> None:
        ratelimit.heed_remaining("opendota", minute=None, day=0)

    with pytest.raises(RateLimited):
        ratelimit.wait_turn("opendota", 5.0, meanwhile_the_other_answer_says_nothing_is_left)
