"""Syncs under OpenDota's real daily limit, through `sync_matches` and `sync_status`.

OpenDota's answers say what is left of the day as `limit - calls counted`, so the counter is
negative on the daily 429 (odota/core svc/web.ts); the simulator counts the same way.
"""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from matches.models import Match
from matches.tests.match_builders import ACCOUNT_ID
from matches.upstream import ratelimit
from matches.upstream.slots import RateLimitSlot
from syncjobs import quota
from syncjobs.models import JobStatus, SyncJob

# Phase 2 runs on threads with their own connections: the data must be committed.
pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def paced(settings):
    """OpenDota paced as in production (only much faster): a paced source is the one whose
    slot is read before each call."""
    settings.OPENDOTA_MIN_INTERVAL = 0.001


def sync_matches(*args: str) -> dict:
    out = StringIO()
    call_command("sync_matches", str(ACCOUNT_ID), *args, "--json", stdout=out, stderr=StringIO())
    return json.loads(out.getvalue().strip().splitlines()[-1])


def sync_status() -> str:
    out = StringIO()
    call_command("sync_status", str(ACCOUNT_ID), stdout=out)
    return out.getvalue()


def opendota_calls(simulator) -> int:
    return simulator.state.calls("opendota_player_matches") + simulator.state.calls(
        "opendota_match"
    )


def test_a_first_day_with_more_matches_than_the_quota_waits_for_the_reset(
    simulator, account, set_matches, settings, paced
):
    settings.STEAM_API_KEY = ""  # OpenDota alone: it lists and serves every match
    set_matches(40, opendota_daily_allowance=16)

    report = sync_matches()

    assert report["status"] == JobStatus.COMPLETED, report["error_message"]
    assert Match.objects.for_account(account).complete().count() == 15  # 1 call listed them
    # The answer that said 0 was left was the last call: no 429 was asked for.
    assert opendota_calls(simulator) == 16
    reset = ratelimit.next_utc_midnight()
    waiting = f"25 matches wait for OpenDota's daily limit, reset {reset:%H:%M} UTC"
    assert waiting in report["message"]
    assert waiting in sync_status()
    follow_up = Schedule.objects.get(name=quota.CONTINUE_SCHEDULE.format(ACCOUNT_ID))
    assert follow_up.next_run > reset
    assert RateLimitSlot.objects.get(bucket="opendota").remaining_today == 0


def test_the_daily_429_itself_ends_the_day_cleanly(simulator, account, set_matches, settings):
    """Unpaced (or when another client spends the rest): the 429's day counter is -1."""
    settings.STEAM_API_KEY = ""
    set_matches(40, opendota_daily_allowance=16)

    report = sync_matches()

    assert report["status"] == JobStatus.COMPLETED, report["error_message"]
    assert "Internal error" not in report["error_message"]
    assert "25 matches wait for OpenDota's daily limit" in report["message"]
    assert RateLimitSlot.objects.get(bucket="opendota").remaining_today == 0


def test_a_quota_spent_before_the_sync_leaves_the_work_to_the_sequence_endpoint(
    simulator, account, set_matches, settings, paced
):
    # Another client on the same address used up the day before our first call.
    set_matches(40, opendota_daily_allowance=3000, opendota_spent_today=3000)
    settings.SYNC_DETAIL_SOURCES = ["steam_sequence", "opendota"]

    report = sync_matches("--full")

    assert report["status"] == JobStatus.COMPLETED, report["error_message"]
    assert report["details_ok"] == 40
    assert report["sources"]["steam_sequence"] == 40
    assert "OpenDota's daily API limit is used up" in report["message"]
    assert opendota_calls(simulator) == 1  # its 429, then it is off until the reset

    simulator.state.reset()
    set_matches(45, opendota_daily_allowance=3000, opendota_spent_today=3000)
    again = sync_matches()  # the hourly sync, later the same day

    assert again["status"] == JobStatus.COMPLETED, again["error_message"]
    assert again["details_ok"] == 5
    assert opendota_calls(simulator) == 0


def test_a_daily_limit_is_not_carried_over_as_a_failing_source(
    simulator, account, set_matches, settings
):
    settings.SYNC_ID_SOURCES = ["steam_history"]
    settings.SYNC_DETAIL_SOURCES = ["opendota"]
    # At the 5th call another client on the address spends the rest of OpenDota's day.
    set_matches(30, call_faults={"opendota_match": {5: "daily"}})
    first = sync_matches("--full")
    assert first["details_ok"] == 4
    assert "daily" in first["message"]

    # Midnight UTC has passed, within the hour: the allowance is back.
    RateLimitSlot.objects.filter(bucket="opendota").update(
        disabled_until=timezone.now() - timedelta(seconds=1)
    )
    simulator.state.reset()
    simulator.state.configure(call_faults={"opendota_match": {1: "503"}})
    second = sync_matches()

    # One 503 is one failure of five, not the one that opens a breaker carried over.
    assert second["status"] == JobStatus.COMPLETED, second["error_message"]
    assert "is failing" not in second["message"]
    assert (second["details_ok"], second["details_deferred"]) == (25, 1)  # the 503'd one waits
    assert SyncJob.objects.count() == 2


def test_without_steam_a_spent_day_fails_each_sync_saying_when_it_goes_on(
    simulator, account, set_matches, settings, paced
):
    settings.STEAM_API_KEY = ""
    set_matches(30, opendota_daily_allowance=3000, opendota_spent_today=3000)
    reset = ratelimit.next_utc_midnight()

    first = sync_matches()
    later = sync_matches()  # the hourly sync, later the same day

    for report in (first, later):
        assert report["status"] == JobStatus.FAILED
        assert "daily API limit is used up" in report["error_message"]
        assert f"a sync of this account starts after {reset:%H:%M} UTC" in report["error_message"]
    assert opendota_calls(simulator) == 1  # the later one did not even ask
    assert Schedule.objects.filter(name=quota.CONTINUE_SCHEDULE.format(ACCOUNT_ID)).exists()
