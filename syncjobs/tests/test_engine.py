"""The two-phase engine against the simulator over real HTTP: phases, call counts, faults."""

from datetime import timedelta

import pytest
from django.utils import timezone

from matches.models import AccountMatch, Match, MatchPlayer, SteamAccount
from matches.teammates import teammates
from matches.tests.match_builders import ACCOUNT_ID
from syncjobs import engine, liveness
from syncjobs.models import JobPhase, JobStatus, JobType

# Phase 2 runs on threads with their own connections: the data must be committed.
pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]


def newest_ids(account, count):
    return list(
        Match.objects.for_account(account).order_by("-match_id").values_list("pk", flat=True)
    )[:count]


def detail_calls(simulator) -> int:
    """Calls to every detail source: they serve matches at the same time."""
    calls = simulator.state.calls()
    return calls["details"] + calls["sequence"] + calls["opendota_match"]


def detail_calls_for(simulator, match_id):
    """Upstream requests that named this match id, per endpoint."""
    counts = {}
    for entry in simulator.state.log:
        if str(entry["params"].get("match_id")) == str(match_id):
            counts[entry["endpoint"]] = counts.get(entry["endpoint"], 0) + 1
    return counts


# --- phase 1 and the happy path ----------------------------------------------------------


def test_full_sync_stores_every_match_with_ten_players(simulator, account, set_matches, sync):
    set_matches(120)

    job = sync(account)

    assert job.status == JobStatus.COMPLETED, job.error_message
    assert job.phase == JobPhase.FETCHING_DETAILS
    assert job.ids_found == 120
    assert Match.objects.for_account(account).complete().count() == 120
    assert MatchPlayer.objects.filter(match__account_links__account=account).count() == 1200
    assert (job.details_total, job.details_done, job.details_ok) == (120, 120, 120)
    assert set(job.sources) == {"steam_details", "steam_sequence", "opendota"}
    assert sum(job.sources.values()) == 120
    link = AccountMatch.objects.filter(account=account).first()
    assert link.player_slot is not None
    assert link.hero_id is not None
    assert Match.objects.filter(match_seq_num__isnull=True).count() == 0


def test_full_sync_makes_the_minimum_number_of_calls(simulator, account, set_matches, sync):
    set_matches(120)

    sync(account)

    # 2 Steam history pages (100 + 20), 1 OpenDota list page, 1 detail call per match
    # from whichever detail source was free to serve it.
    calls = simulator.state.calls()
    assert (calls["history"], calls["opendota_player_matches"]) == (2, 1)
    assert detail_calls(simulator) == 120
    assert sum(calls.values()) == 123


def test_incremental_with_nothing_new_costs_exactly_one_call(simulator, account, set_matches, sync):
    set_matches(120)
    sync(account)
    simulator.state.reset()

    job = sync(account, JobType.INCREMENTAL)

    assert job.status == JobStatus.COMPLETED
    assert sum(simulator.state.calls().values()) == 1
    assert simulator.state.calls("history") == 1
    assert job.details_total == 0


def test_incremental_fetches_only_new_matches(simulator, account, set_matches, sync):
    set_matches(120)
    sync(account)
    set_matches(127)
    simulator.state.reset()

    job = sync(account, JobType.INCREMENTAL)

    assert job.status == JobStatus.COMPLETED
    assert simulator.state.calls("history") == 1
    assert simulator.state.calls("opendota_player_matches") == 0
    assert detail_calls(simulator) == 7
    assert job.details_ok == 7
    assert Match.objects.for_account(account).complete().count() == 127


def test_first_incremental_sync_walks_the_whole_history(simulator, account, set_matches, sync):
    set_matches(230)

    job = sync(account, JobType.INCREMENTAL)

    assert job.ids_found == 230
    assert simulator.state.calls("history") == 3
    assert Match.objects.for_account(account).complete().count() == 230


def test_short_pages_with_results_remaining_keep_paging(simulator, account, set_matches, sync):
    """Valve hides high-MMR matches: pages come back short while results_remaining > 0."""
    set_matches(300)
    simulator.state.configure(hidden_fraction=0.3)

    job = sync(account)

    assert job.status == JobStatus.COMPLETED
    world = simulator.state.world
    hidden = sum(world.is_hidden(world.match_id(ACCOUNT_ID, k)) for k in range(300))
    assert hidden > 60  # so every page of 100 came back short...
    pages = [e["params"] for e in simulator.state.log if e["endpoint"] == "history"]
    assert len(pages) >= 3
    # ...and the walk still went on to the oldest page.
    assert int(pages[-1]["start_at_match_id"]) < world.match_id(ACCOUNT_ID, 100)
    # OpenDota still lists the hidden ones, so the union has every match.
    assert job.ids_found == 300


def test_private_profile_fails_at_once_with_instructions(simulator, account, set_matches, sync):
    set_matches(50, private=True)

    job = sync(account)

    assert job.status == JobStatus.FAILED
    assert "Expose Public Match Data" in job.error_message
    # Each listing asked once (they run at once): Steam said private, OpenDota listed nothing.
    calls = simulator.state.calls()
    assert calls["history"] == calls["opendota_player_matches"] == 1
    assert sum(calls.values()) == 2


def test_a_wrong_steam_key_switches_steam_off_and_opendota_does_the_sync(
    simulator, account, settings, sync
):
    settings.STEAM_API_KEY = "not-the-key"

    job = sync(account)

    assert job.status == JobStatus.COMPLETED, job.error_message
    assert "Steam refused the API key (HTTP 403): check STEAM_API_KEY" in job.message
    assert "not-the-key" not in job.message
    assert simulator.state.calls("history") == 1  # one refusal, then Steam is left alone
    assert simulator.state.calls("details") == simulator.state.calls("sequence") == 0
    assert Match.objects.for_account(account).complete().count() == 150
    assert not Match.objects.filter(retry_count__gt=0).exists()


def test_a_wrong_steam_key_fails_the_job_when_no_other_source_is_left(
    simulator, account, settings, sync
):
    settings.STEAM_API_KEY = "not-the-key"
    settings.SYNC_ID_SOURCES = ["steam_history"]

    job = sync(account)

    assert job.status == JobStatus.FAILED
    assert job.error_message == (
        "No source of match IDs is left: Steam refused the API key (HTTP 403) "
        "(check STEAM_API_KEY)."
    )
    assert sum(simulator.state.calls().values()) == 1


def test_a_second_job_for_the_account_is_refused(account):
    first = engine.create_job(account, JobType.FULL)

    with pytest.raises(engine.AlreadyRunning) as refused:
        engine.create_job(account, JobType.INCREMENTAL)

    assert refused.value.job == first
    assert f"#{first.pk}" in str(refused.value)


def test_unknown_job_type_is_rejected(account):
    with pytest.raises(ValueError, match="unknown job type"):
        engine.create_job(account, "everything")


def snapshot(account):
    matches = list(
        Match.objects.for_account(account)
        .order_by("pk")
        .values(
            "pk",
            "has_details",
            "retry_count",
            "fetch_error",
            "duration",
            "radiant_win",
            "start_time",
            "match_seq_num",
        )
    )
    players = list(
        MatchPlayer.objects.filter(match__account_links__account=account)
        .order_by("match_id", "player_slot")
        .values_list("match_id", "player_slot", "account_id", "hero_id", "kills", "item_0")
    )
    return matches, players, [(t.account_id, t.games, t.wins) for t in teammates(account)]


def test_full_sync_twice_is_idempotent(simulator, account, set_matches, sync):
    set_matches(80)
    sync(account)
    first = snapshot(account)

    second_job = sync(account)

    assert second_job.details_ok == 80  # a full sync re-fetches everything...
    assert snapshot(account) == first  # ...and changes nothing
    assert MatchPlayer.objects.count() == 800
    assert AccountMatch.objects.count() == 80


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (JobStatus.FAILED, liveness.DATABASE_LOST),
        (JobStatus.FAILED, "Could not list matches: Steam answered 503"),
        (JobStatus.CANCELLED, ""),
    ],
)
def test_a_full_sync_continues_one_that_did_not_complete(
    simulator, account, set_matches, sync, status, error
):
    set_matches(60)
    sync(account)
    # A second full sync refreshed the newest 20, then ended without completing.
    cut = sync(account, JobType.INCREMENTAL)
    cut.job_type, cut.status, cut.error_message = JobType.FULL, status, error
    cut.save()
    refreshed = newest_ids(account, 20)
    Match.objects.filter(pk__in=refreshed).update(details_fetched_at=timezone.now())
    simulator.state.reset()

    sync(account)

    assert detail_calls(simulator) == 40  # only what the cut one had not refreshed
    assert not any(detail_calls_for(simulator, match_id) for match_id in refreshed)


def test_match_already_complete_for_another_account_costs_no_call(simulator, account, sync):
    """Party members share matches; details fetched for one serve the other."""
    friend = SteamAccount.objects.create(account_id=ACCOUNT_ID + 1)  # same party of five
    simulator.state.configure(default_matches=40)
    sync(account)
    shared = set(Match.objects.for_account(account).values_list("pk", flat=True))
    simulator.state.reset()

    sync(friend, JobType.INCREMENTAL)

    friend_matches = set(Match.objects.for_account(friend).values_list("pk", flat=True))
    assert shared & friend_matches, "the simulator's party matches should be shared"
    assert detail_calls(simulator) == len(friend_matches - shared)
    assert Match.objects.filter(pk__in=shared & friend_matches).count() == len(
        shared & friend_matches
    )


# --- phase 2 faults ---------------------------------------------------------------------


def test_server_errors_defer_matches_without_counting_a_retry(
    simulator, account, set_matches, sync
):
    set_matches(60)
    simulator.state.configure(details_broken=True, sequence_broken=True, opendota_broken=False)
    simulator.state.configure(opendota_broken=True)

    job = sync(account)

    assert job.status == JobStatus.COMPLETED
    assert "Stopped fetching details early" in job.message
    assert Match.objects.stubs().count() == 60
    assert Match.objects.filter(retry_count__gt=0).count() == 0
    assert job.details_deferred > 0
    assert job.details_failed == 0
    deferred = Match.objects.exclude(fetch_error="")
    assert deferred.count() == job.details_deferred
    assert all(m.last_fetch_attempt for m in deferred)
    # Each dead source costs a handful of calls, not one per match.
    calls = simulator.state.calls()
    assert calls["details"] <= 10
    assert calls["sequence"] <= 10
    assert calls["opendota_match"] <= 10


def test_not_found_everywhere_is_one_failed_attempt(simulator, account, set_matches, sync):
    set_matches(30)
    missing = 0
    # Learn an id first, then make every source deny it.
    sync(account, JobType.FULL)
    missing = newest_ids(account, 1)[0]
    Match.objects.filter(pk=missing).update(has_details=None)
    simulator.state.configure(match_faults={str(missing): {"*": "not_found"}})
    simulator.state.reset()

    job = sync(account, JobType.BACKFILL)

    match = Match.objects.get(pk=missing)
    assert match.has_details is False
    assert match.retry_count == 1
    assert "not found" in match.fetch_error.lower()
    assert match.last_fetch_attempt is not None
    assert job.details_failed == 1
    assert simulator.state.calls("details") == 1
    assert simulator.state.calls("sequence") == 1
    assert simulator.state.calls("opendota_match") == 1


def test_malformed_and_wrong_types_fail_the_attempt(simulator, account, set_matches, sync):
    set_matches(30)
    sync(account)
    bad_json, bad_types = newest_ids(account, 2)
    Match.objects.filter(pk__in=[bad_json, bad_types]).update(has_details=None)
    simulator.state.configure(
        match_faults={str(bad_json): {"*": "malformed"}, str(bad_types): {"*": "wrong_types"}}
    )

    job = sync(account, JobType.BACKFILL)

    assert job.details_failed == 2
    for match_id in (bad_json, bad_types):
        match = Match.objects.get(pk=match_id)
        assert match.has_details is False
        assert match.retry_count == 1
        assert match.fetch_error


def test_a_failing_match_is_retried_at_most_three_times_in_its_life(
    simulator, account, set_matches, sync
):
    set_matches(20)
    sync(account)
    doomed = newest_ids(account, 1)[0]
    Match.objects.filter(pk=doomed).update(has_details=None)
    simulator.state.configure(match_faults={str(doomed): {"*": "not_found"}})
    simulator.state.reset()

    for _ in range(5):
        sync(account, JobType.BACKFILL, force=True)
        sync(account, JobType.INCREMENTAL)
        sync(account, JobType.FULL)

    match = Match.objects.get(pk=doomed)
    assert match.retry_count == 3
    assert match.has_details is False
    calls = detail_calls_for(simulator, doomed)
    assert calls["details"] == 3
    assert calls["opendota_match"] == 3


def test_backfill_waits_for_the_backoff_unless_forced(
    simulator, account, settings, set_matches, sync
):
    settings.SYNC_RETRY_BACKOFF_BASE = 60
    set_matches(20)
    sync(account)
    flaky = newest_ids(account, 1)[0]
    Match.objects.filter(pk=flaky).update(has_details=None)
    simulator.state.configure(match_faults={str(flaky): {"*": "not_found"}})
    sync(account, JobType.BACKFILL)
    simulator.state.configure(match_faults={})
    simulator.state.reset()

    early = sync(account, JobType.BACKFILL)
    assert early.details_total == 0
    assert simulator.state.calls("details") == 0

    # retry_count 1 waits 60 s * 2**1 = 2 minutes.
    Match.objects.filter(pk=flaky).update(
        last_fetch_attempt=timezone.now() - timedelta(seconds=119)
    )
    assert sync(account, JobType.BACKFILL).details_total == 0
    Match.objects.filter(pk=flaky).update(
        last_fetch_attempt=timezone.now() - timedelta(seconds=121)
    )
    due = sync(account, JobType.BACKFILL)
    assert due.details_ok == 1
    assert Match.objects.get(pk=flaky).has_details is True
    assert Match.objects.get(pk=flaky).fetch_error == ""


def test_forced_backfill_ignores_the_backoff(simulator, account, set_matches, sync):
    set_matches(20)
    sync(account)
    flaky = newest_ids(account, 1)[0]
    Match.objects.filter(pk=flaky).update(has_details=None)
    simulator.state.configure(match_faults={str(flaky): {"*": "not_found"}})
    sync(account, JobType.BACKFILL)
    simulator.state.configure(match_faults={})

    job = sync(account, JobType.BACKFILL, force=True)

    assert job.details_ok == 1
    assert Match.objects.get(pk=flaky).has_details is True


def test_rate_limited_calls_wait_and_retry_the_same_match(
    simulator, account, set_matches, sync, settings
):
    settings.SYNC_DETAIL_SOURCES = ["steam_details"]
    set_matches(30)
    simulator.state.configure(
        rate_limit={
            "details": {"burst": 3, "retry_after": 0.2},
            "history": {"burst": 1, "retry_after": 0.2},
        }
    )

    job = sync(account)

    assert job.status == JobStatus.COMPLETED
    assert (job.details_ok, job.details_failed, job.details_deferred) == (30, 0, 0)
    assert job.sources["steam_details"] == 30
    assert simulator.state.calls("details") == 33
    assert Match.objects.filter(retry_count__gt=0).count() == 0


def test_a_full_sync_never_downgrades_complete_matches(simulator, account, set_matches, sync):
    set_matches(20)
    sync(account)
    simulator.state.configure(details_broken=True, sequence_broken=True, opendota_broken=True)

    sync(account)

    assert Match.objects.for_account(account).complete().count() == 20
    assert not Match.objects.exclude(fetch_error="").exists()


# --- retries as the seeds meant them ---------------------------------------------------------


@pytest.fixture
def fail_once(simulator, sync):
    """fail_once(account, match_id): the match failed one attempt just now (a refusal)."""

    def fail(account, match_id):
        Match.objects.filter(pk=match_id).update(has_details=None)
        simulator.state.configure(match_faults={str(match_id): {"*": "not_found"}})
        sync(account, JobType.BACKFILL, force=True)
        simulator.state.configure(match_faults={})
        simulator.state.reset()

    return fail


@pytest.mark.parametrize(
    ("job_type", "force"),
    [(JobType.INCREMENTAL, False), (JobType.FULL, False), (JobType.BACKFILL, False)],
)
def test_every_sync_waits_for_a_failed_matchs_backoff(
    simulator, account, job_type, force, set_matches, sync, fail_once
):
    set_matches(20)
    sync(account)
    flaky = newest_ids(account, 1)[0]
    fail_once(account, flaky)

    sync(account, job_type, force=force)

    assert detail_calls_for(simulator, flaky) == {}
    assert Match.objects.get(pk=flaky).retry_count == 1


def test_only_a_forced_backfill_ignores_the_backoff(
    simulator, account, set_matches, sync, fail_once
):
    set_matches(20)
    sync(account)
    flaky = newest_ids(account, 1)[0]
    fail_once(account, flaky)

    sync(account, JobType.BACKFILL, force=True)

    assert Match.objects.get(pk=flaky).has_details is True


def test_the_default_ladder_spreads_the_attempts_over_hours(settings):
    # A match that failed once waits an hour, twice two hours: an outage of minutes never
    # uses up its attempts.
    assert settings.SYNC_RETRY_BACKOFF_BASE * 2**1 == 3600
    assert settings.SYNC_RETRY_BACKOFF_BASE * 2**2 == 7200


def test_a_server_error_on_a_failed_match_keeps_its_attempts_and_backoff_clock(
    simulator, account, set_matches, sync, fail_once
):
    set_matches(20)
    sync(account)
    flaky = newest_ids(account, 1)[0]
    fail_once(account, flaky)
    failed_at = timezone.now() - timedelta(hours=3)
    Match.objects.filter(pk=flaky).update(last_fetch_attempt=failed_at, fetch_error="not found")
    simulator.state.configure(match_faults={str(flaky): {"*": "503"}})

    sync(account, JobType.INCREMENTAL)  # due: tried, and every source answers 503

    match = Match.objects.get(pk=flaky)
    assert detail_calls_for(simulator, flaky)  # it was tried
    assert (match.has_details, match.retry_count) == (False, 1)
    assert match.last_fetch_attempt == failed_at
    assert match.fetch_error == "not found"


# --- a configuration error is not a fault of the match ---------------------------------------

VALID_OPENDOTA_KEY = "5e1f2a77-0c1b-4bd6-9a3e-7f1d2c3b4a59"


def test_a_wrong_opendota_key_counts_no_attempt_and_fixing_it_completes_every_match(
    simulator, account, settings, set_matches, sync
):
    set_matches(30)
    simulator.state.configure(opendota_api_key=VALID_OPENDOTA_KEY, details_broken=True)
    settings.SYNC_DETAIL_SOURCES = ["steam_details", "opendota"]
    settings.OPENDOTA_API_KEY = "my-key-with-a-typo"

    wrong = sync(account)

    assert wrong.status == JobStatus.COMPLETED
    assert (
        "OpenDota refused the API key (HTTP 400: Invalid API key format): check "
        "OPENDOTA_API_KEY" in wrong.message
    )
    assert "my-key-with-a-typo" not in wrong.message
    assert wrong.details_ok == 0
    # Refused once (its match list), then left alone for the rest of the job.
    assert simulator.state.calls("opendota_player_matches") == 1
    assert simulator.state.calls("opendota_match") == 0
    assert not Match.objects.filter(retry_count__gt=0).exists()
    assert not Match.objects.filter(has_details=False).exists()
    settings.OPENDOTA_API_KEY = VALID_OPENDOTA_KEY

    fixed = sync(account, JobType.INCREMENTAL)

    assert fixed.status == JobStatus.COMPLETED
    assert Match.objects.for_account(account).complete().count() == 30


def test_a_wrong_opendota_key_fails_the_job_when_no_detail_source_is_left(
    simulator, account, settings, set_matches, sync
):
    set_matches(10)
    simulator.state.configure(opendota_api_key=VALID_OPENDOTA_KEY)
    settings.SYNC_DETAIL_SOURCES = ["opendota"]
    settings.OPENDOTA_API_KEY = "0e1f2a77-0c1b-4bd6-9a3e-7f1d2c3b4a59"  # well-formed, unknown

    job = sync(account)

    assert job.status == JobStatus.FAILED
    assert job.error_message == (
        "No source of match details is left: OpenDota refused the API key (HTTP 400: API key "
        "invalid. Please check your key.) (check OPENDOTA_API_KEY)."
    )
    assert Match.objects.for_account(account).stubs().count() == 10
    assert not Match.objects.filter(retry_count__gt=0).exists()


def test_backfill_reset_failed_gives_exhausted_matches_their_attempts_back(
    simulator, account, set_matches, sync
):
    set_matches(10)
    sync(account)
    exhausted = newest_ids(account, 3)
    Match.objects.filter(pk__in=exhausted).update(
        has_details=False, retry_count=3, fetch_error="not found on OpenDota"
    )

    plain = sync(account, JobType.BACKFILL, force=True)
    assert plain.details_total == 0  # the attempt limit holds, even forced

    job = sync(account, JobType.BACKFILL, reset_failed=True)

    assert job.details_ok == 3
    assert Match.objects.for_account(account).complete().count() == 10


# --- progress that means what it says ---------------------------------------------------------


def test_a_completed_job_reads_100_percent(simulator, account, set_matches, sync):
    set_matches(40)

    job = sync(account)

    assert (job.details_done, job.details_total, job.percent) == (40, 40, 100)
    assert job.message == ""


def test_a_job_that_stopped_early_says_what_is_left_and_why(
    simulator, account, settings, set_matches, sync
):
    set_matches(40)
    simulator.state.configure(details_broken=True, sequence_broken=True, opendota_broken=True)
    settings.SYNC_ID_SOURCES = ["steam_history"]

    job = sync(account)

    assert job.status == JobStatus.COMPLETED
    assert job.percent < 100
    assert job.details_done < job.details_total == 40
    assert "Stopped fetching details early" in job.message
    assert "remaining matches wait for a later sync" in job.message
