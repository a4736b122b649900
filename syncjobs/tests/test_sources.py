"""Sources that work in 2026: OpenDota past Steam's 500 cap, fallbacks, breakers, limits."""

from collections import defaultdict
from itertools import pairwise

import pytest

from matches.models import Match
from matches.upstream import ratelimit
from matches.upstream.client import OPENDOTA, STEAM, STEAM_SEQUENCE
from matches.upstream.simulator import SEQ_OFFSET
from matches.upstream.slots import RateLimitSlot
from syncjobs.models import JobStatus, JobType

# Phase 2 runs on threads with their own connections: the data must be committed.
pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]
# Slots and arrivals are both read from this machine's clock; this covers float rounding.
CLOCK_TOLERANCE = 0.001


def test_full_sync_finds_every_match_past_steams_500_cap(simulator, account, set_matches, sync):
    """1,300 matches: Steam lists the newest 500, OpenDota all of them; all complete."""
    set_matches(1300)
    simulator.state.configure(details_broken=True)  # today's GetMatchDetails

    job = sync(account)

    assert job.status == JobStatus.COMPLETED
    assert job.ids_found == 1300
    assert Match.objects.for_account(account).count() == 1300
    assert Match.objects.for_account(account).complete().count() == 1300
    calls = simulator.state.calls()
    assert calls["history"] == 5  # 5 pages of 100, then Valve stops at 500
    assert calls["opendota_player_matches"] == 2  # 1000 + 300
    assert calls["details"] <= 10  # the broken endpoint costs a handful of calls
    assert job.sources["steam_details"] == 0
    assert job.sources["steam_sequence"] + job.sources["opendota"] == 1300
    # The 800 that only OpenDota lists have no seq num: the sequence endpoint never gets them.
    assert simulator.state.calls("sequence") <= 500
    assert job.sources["opendota"] >= 800


def test_broken_get_match_details_costs_only_the_breaker_threshold(
    simulator, account, settings, set_matches, sync
):
    settings.SYNC_BREAKER_THRESHOLD = 5
    set_matches(200)
    simulator.state.configure(details_broken=True)

    job = sync(account)

    assert job.details_ok == 200
    assert simulator.state.calls("details") == 5
    assert "GetMatchDetails is failing" in job.message


def test_a_tripped_breaker_is_probed_once_by_the_next_job(
    simulator, account, settings, set_matches, sync
):
    settings.SYNC_BREAKER_THRESHOLD = 3
    set_matches(50)
    simulator.state.configure(details_broken=True)
    sync(account)
    set_matches(60)
    simulator.state.reset()

    sync(account, JobType.INCREMENTAL)

    # The next job probes it again, but one failure opens it: it was dead an hour ago.
    assert simulator.state.calls("details") == 1


def test_a_source_that_answers_again_is_used_fully_by_the_next_job(
    simulator, account, settings, set_matches, sync
):
    settings.SYNC_BREAKER_THRESHOLD = 3
    settings.SYNC_DETAIL_SOURCES = ["steam_details", "opendota"]
    set_matches(50)
    simulator.state.configure(details_broken=True)
    sync(account)
    set_matches(90)
    simulator.state.configure(details_broken=False, latency_ms=2)
    simulator.state.reset()

    job = sync(account, JobType.INCREMENTAL)

    assert job.details_ok == 40
    assert job.sources["steam_details"] >= 10  # Valve fixed it: the probe answered


def test_sequence_endpoint_skips_a_match_missing_from_the_sequence(
    simulator, account, set_matches, sync
):
    set_matches(30)
    simulator.state.configure(details_broken=True)
    sync(account)
    odd_one = Match.objects.for_account(account).order_by("-pk").first().pk
    Match.objects.filter(pk=odd_one).update(has_details=None)
    simulator.state.configure(match_faults={str(odd_one): {"sequence": "missing_from_sequence"}})

    job = sync(account, JobType.BACKFILL)

    match = Match.objects.get(pk=odd_one)
    assert match.has_details is True
    assert match.details_source == "opendota"
    assert job.sources["opendota"] == 1


def test_immortal_draft_matches_the_sequence_lacks_go_to_opendota(
    simulator, account, settings, set_matches, sync
):
    settings.SYNC_DETAIL_SOURCES = ["steam_sequence", "opendota"]
    settings.OPENDOTA_MIN_INTERVAL = 0.05  # the sequence endpoint gets to most matches first
    set_matches(60, details_broken=True, immortal_draft_fraction=0.5)
    world = simulator.state.world
    gaps = {
        match_id
        for match_id in (world.match_id(account.account_id, k) for k in range(60))
        if world.missing_from_sequence(match_id)
    }
    assert gaps

    job = sync(account)

    assert (job.status, job.details_ok, job.details_failed) == (JobStatus.COMPLETED, 60, 0)
    served_by = dict(
        Match.objects.filter(pk__in=gaps).values_list("pk", "details_source").distinct()
    )
    assert set(served_by.values()) == {"opendota"}
    asked_the_sequence = {
        int(entry["params"]["start_at_match_seq_num"]) + SEQ_OFFSET
        for entry in simulator.state.log
        if entry["endpoint"] == "sequence"
    }
    assert gaps & asked_the_sequence  # it answered another match: that one was not taken


def test_without_a_steam_key_a_full_sync_works_on_opendota_alone(
    simulator, account, settings, set_matches, sync
):
    settings.STEAM_API_KEY = ""
    set_matches(700)

    job = sync(account)

    assert job.status == JobStatus.COMPLETED, job.error_message
    assert job.ids_found == 700
    assert Match.objects.for_account(account).complete().count() == 700
    calls = simulator.state.calls()
    assert calls["history"] == calls["details"] == calls["sequence"] == 0
    assert job.sources == {"opendota": 700}


def test_incremental_without_a_key_makes_one_opendota_call(
    simulator, account, settings, set_matches, sync
):
    settings.STEAM_API_KEY = ""
    set_matches(150)
    sync(account)
    simulator.state.reset()

    sync(account, JobType.INCREMENTAL)

    assert simulator.state.calls() == {**dict.fromkeys(simulator.state.calls(), 0)} | {
        "opendota_player_matches": 1
    }


def test_only_the_configured_detail_sources_are_asked(
    simulator, account, settings, set_matches, sync
):
    settings.SYNC_DETAIL_SOURCES = ["opendota"]
    set_matches(40)

    job = sync(account)

    assert job.sources == {"opendota": 40}
    assert simulator.state.calls("details") == simulator.state.calls("sequence") == 0


def test_a_match_is_deferred_only_when_every_source_is_down(simulator, account, set_matches, sync):
    set_matches(20)
    sync(account)
    down_everywhere, mixed = Match.objects.order_by("-pk").values_list("pk", flat=True)[:2]
    Match.objects.filter(pk__in=[down_everywhere, mixed]).update(has_details=None)
    simulator.state.configure(
        match_faults={
            str(down_everywhere): {"*": "503"},
            str(mixed): {"details": "500", "sequence": "500", "opendota_match": "not_found"},
        }
    )

    job = sync(account, JobType.BACKFILL)

    assert (job.details_deferred, job.details_failed) == (1, 1)
    deferred = Match.objects.get(pk=down_everywhere)
    assert (deferred.has_details, deferred.retry_count) == (None, 0)
    assert "503" in deferred.fetch_error
    failed = Match.objects.get(pk=mixed)
    assert (failed.has_details, failed.retry_count) == (False, 1)


# The source each simulator endpoint is paced as.
PACED_AS = {
    "history": STEAM,
    "details": STEAM,
    "vanity": STEAM,
    "summaries": STEAM,
    "sequence": STEAM_SEQUENCE,
    "opendota_player_matches": OPENDOTA,
    "opendota_match": OPENDOTA,
}


def test_each_source_keeps_its_own_minimum_interval(
    simulator, account, settings, set_matches, sync, monkeypatch
):
    intervals = {STEAM: 0.03, STEAM_SEQUENCE: 0.08, OPENDOTA: 0.05}
    settings.STEAM_API_MIN_INTERVAL = intervals[STEAM]
    settings.STEAM_SEQUENCE_MIN_INTERVAL = intervals[STEAM_SEQUENCE]
    settings.OPENDOTA_MIN_INTERVAL = intervals[OPENDOTA]
    # The start of each slot the limiter hands out (the limiter itself is left as it is).
    slots: dict[str, list[float]] = defaultdict(list)
    wait_turn = ratelimit.wait_turn

    def recorded_wait_turn(bucket: str, interval: float, sleep) -> float:
        start = wait_turn(bucket, interval, sleep)
        slots[bucket].append(start)
        return start

    monkeypatch.setattr(ratelimit, "wait_turn", recorded_wait_turn)
    set_matches(12)
    simulator.state.configure(details_broken=True)
    sync(account)
    # Half of the matches lose their seq num so OpenDota answers them.
    Match.objects.filter(pk__in=list(Match.objects.values_list("pk", flat=True)[:6])).update(
        has_details=None, match_seq_num=None
    )
    sync(account, JobType.BACKFILL)

    arrivals: dict[str, list[float]] = defaultdict(list)
    for entry in simulator.state.log:
        arrivals[PACED_AS[entry["endpoint"]]].append(entry["t"])
    for source, interval in intervals.items():
        reserved, arrived = sorted(slots[source]), sorted(arrivals[source])
        assert len(arrived) >= 3, source
        # Every call took a slot of its own source (a lane whose match another lane took
        # first leaves its slot unused), and the slots lie an interval apart...
        assert len(reserved) >= len(arrived), source
        gaps = [later - earlier for earlier, later in pairwise(reserved)]
        assert min(gaps) >= interval - CLOCK_TOLERANCE, (source, gaps)
        # ...and none reached the upstream before its slot began: the k-th call to arrive came
        # no earlier than the k-th slot. (How much later depends on the machine's load.)
        assert all(
            call >= slot - CLOCK_TOLERANCE for slot, call in zip(reserved, arrived, strict=False)
        ), source


def test_opendota_minute_limit_waits_and_counts_nothing(
    simulator, account, settings, set_matches, sync
):
    settings.STEAM_API_KEY = ""
    set_matches(20)
    simulator.state.configure(rate_limit={"opendota_match": {"burst": 2, "retry_after": 0.2}})

    job = sync(account)

    assert (job.details_ok, job.details_failed, job.details_deferred) == (20, 0, 0)
    assert simulator.state.calls("opendota_match") == 22


def test_opendota_daily_limit_switches_it_off_for_the_day(simulator, account, set_matches, sync):
    set_matches(30)
    simulator.state.configure(opendota_daily_limit=True, details_broken=True)

    job = sync(account)

    assert job.status == JobStatus.COMPLETED
    assert "daily API limit" in job.message
    assert job.details_ok == 30  # the sequence endpoint did the work
    slot = RateLimitSlot.objects.get(bucket="opendota")
    assert slot.disabled_until is not None
    assert simulator.state.calls("opendota_player_matches") == 1
    assert simulator.state.calls("opendota_match") == 0

    simulator.state.reset()
    second = sync(account, JobType.INCREMENTAL)

    assert simulator.state.calls("opendota_player_matches") == 0
    assert "daily API limit" in second.message


def test_opendota_daily_limit_without_another_source_fails_clearly(
    simulator, account, settings, sync
):
    settings.STEAM_API_KEY = ""
    simulator.state.configure(opendota_daily_limit=True)

    job = sync(account)

    assert job.status == JobStatus.FAILED
    assert "daily" in job.error_message
