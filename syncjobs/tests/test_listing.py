"""Phase 1 over days: a listing cut short never leaves a hole, and the next one continues it.

Against the simulator over HTTP. Steam lists the newest 500 matches 100 a page; OpenDota lists
the whole history (1,000 a page, or 100 when few are expected to be new).
"""

import signal

import pytest

from matches.models import AccountMatch
from matches.tests.match_builders import ACCOUNT_ID
from syncjobs.models import JobStatus, JobType, ListingFrontier, SyncJob
from tests.children import child_env
from tests.processes import start_manage, wait_for

# Phase 2 runs on threads with their own connections: the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def listed_by_the_simulator(simulator) -> set[int]:
    entries = simulator.state.world.opendota_player_matches(
        ACCOUNT_ID, significant=False, limit=None, offset=0
    )
    return {entry["match_id"] for entry in entries}


def linked(account) -> set[int]:
    return set(AccountMatch.objects.filter(account=account).values_list("match_id", flat=True))


def test_a_first_new_matches_only_sync_lists_past_steams_500_through_opendota(
    simulator, account, set_matches, sync
):
    set_matches(1300)

    job = sync(account, JobType.INCREMENTAL)

    assert job.status == JobStatus.COMPLETED, job.error_message
    assert (job.ids_found, job.ids_new) == (1300, 1300)
    assert linked(account) == listed_by_the_simulator(simulator)
    assert simulator.state.calls("history") == 5  # Steam's 500, then its end
    assert simulator.state.calls("opendota_player_matches") == 2
    frontiers = dict(
        ListingFrontier.objects.filter(account=account).values_list("source", "complete_through")
    )
    assert frontiers == {"steam_history": max(linked(account)), "opendota": max(linked(account))}


def test_an_incremental_sync_cut_by_a_5xx_on_page_2_is_continued_by_the_next(
    simulator, account, settings, set_matches, sync
):
    settings.SYNC_ID_SOURCES = ["steam_history"]
    set_matches(300)
    sync(account, JobType.INCREMENTAL)  # the whole history: the frontier is the newest match
    set_matches(550)  # 250 new: three Steam pages down to the frontier
    simulator.state.reset()
    simulator.state.configure(call_faults={"history": {2: "503"}})

    cut = sync(account, JobType.INCREMENTAL)

    assert cut.status == JobStatus.COMPLETED
    assert (
        "Steam GetMatchHistory: listing stopped at page 2 (Steam answered HTTP 503); "
        "the next sync continues it." in cut.message
    )
    assert cut.ids_new == 100
    missing = listed_by_the_simulator(simulator) - linked(account)
    assert len(missing) == 150  # the hole the old engine would never have listed again
    simulator.state.reset()
    simulator.state.configure(call_faults={})

    healed = sync(account, JobType.INCREMENTAL)

    assert healed.status == JobStatus.COMPLETED
    assert healed.ids_new == 150
    assert linked(account) == listed_by_the_simulator(simulator)
    # The new listing asked page 1 (nothing new above the cut one), then went on from where
    # the cut listing stopped: pages 2 and 3, not page 1's stretch again.
    pages = [
        e["params"].get("start_at_match_id")
        for e in simulator.state.log
        if e["endpoint"] == "history"
    ]
    assert simulator.state.calls("history") == 3
    assert pages[0] is None
    assert len(set(pages)) == 3


def test_when_steams_listing_is_cut_opendota_lists_the_new_matches_in_the_same_job(
    simulator, account, set_matches, sync
):
    set_matches(300)
    sync(account, JobType.INCREMENTAL)
    set_matches(550)
    simulator.state.configure(call_faults={"history": {2 + 3: "503"}})  # page 2 of this job

    job = sync(account, JobType.INCREMENTAL)

    assert "listing stopped at page 2" in job.message
    assert job.ids_new == 250
    assert linked(account) == listed_by_the_simulator(simulator)


def test_a_listing_that_stopped_early_is_never_taken_for_complete(
    simulator, account, set_matches, sync
):
    set_matches(300)
    sync(account, JobType.INCREMENTAL)
    set_matches(700)  # 400 new
    simulator.state.configure(call_faults={"history": {7: "500"}})  # page 2 of this sync
    sync(account, JobType.INCREMENTAL)
    simulator.state.configure(call_faults={})

    for _ in range(2):  # whatever happens next, nothing stays missing
        sync(account, JobType.INCREMENTAL)

    assert linked(account) == listed_by_the_simulator(simulator)


def test_more_new_matches_than_steam_can_list_are_listed_through_opendota(
    simulator, account, set_matches, sync
):
    set_matches(200)
    sync(account, JobType.INCREMENTAL)
    set_matches(900)  # 700 new: Steam reaches only the newest 500
    simulator.state.reset()

    job = sync(account, JobType.INCREMENTAL)

    assert job.ids_new == 700
    assert linked(account) == listed_by_the_simulator(simulator)
    assert simulator.state.calls("history") == 5
    assert simulator.state.calls("opendota_player_matches") == 8  # 100 a page to its frontier


def test_an_incremental_with_nothing_new_is_one_call(simulator, account, set_matches, sync):
    set_matches(120)
    sync(account, JobType.INCREMENTAL)
    simulator.state.reset()

    job = sync(account, JobType.INCREMENTAL)

    assert (job.ids_found, job.ids_new) == (100, 0)
    assert sum(simulator.state.calls().values()) == 1
    assert job.progress_text == "Completed"


def test_an_opendota_listing_cut_short_resumes_at_the_right_offset(
    simulator, account, settings, set_matches, sync
):
    settings.SYNC_ID_SOURCES = ["opendota"]
    set_matches(1200)
    simulator.state.configure(call_faults={"opendota_player_matches": {2: "503"}})

    first = sync(account, JobType.FULL)

    assert first.ids_found == 1000
    assert "OpenDota: listing stopped at page 2" in first.message
    set_matches(1230)  # 30 new on top shift every offset by 30
    simulator.state.reset()
    simulator.state.configure(call_faults={})

    second = sync(account, JobType.INCREMENTAL)

    assert linked(account) == listed_by_the_simulator(simulator)
    offsets = [
        int(e["params"]["offset"])
        for e in simulator.state.log
        if e["endpoint"] == "opendota_player_matches"
    ]
    # page 1 finds the 30 new and the cut listing's top, then it goes on at 30 + 1000
    assert offsets == [0, 1030]
    assert second.ids_new == 230


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_listing_cut_by_ctrl_c_is_continued_by_the_next_sync(
    simulator, account, set_matches, sync
):
    set_matches(300)
    sync(account, JobType.INCREMENTAL)
    set_matches(550)
    env = child_env(simulator, STEAM_API_MIN_INTERVAL=2, SYNC_ID_SOURCES="steam_history")
    process = start_manage("sync_matches", str(ACCOUNT_ID), env=env)
    wait_for(
        lambda: SyncJob.objects.filter(
            account=account, status=JobStatus.RUNNING, ids_found__gte=100
        ).exists(),
        30,
        "the first page",
    )

    process.send_signal(signal.SIGINT)

    assert process.wait(timeout=10) == 130
    cancelled = SyncJob.objects.get(account=account, status=JobStatus.CANCELLED)
    assert cancelled.ids_new < 250
    simulator.state.reset()

    healed = sync(account, JobType.INCREMENTAL)

    assert healed.ids_new == 250 - cancelled.ids_new
    assert linked(account) == listed_by_the_simulator(simulator)
