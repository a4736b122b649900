"""Phase 2 at the upstream's limit: every detail source at once, quotas spent where they count.

Against the simulator over HTTP, with the sources paced at different rates. Timings are
never asserted as limits: what is checked is who answered what, and in which order.
"""

import io
import json
import threading
from html import unescape

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_q.models import Schedule

from matches.models import Match
from matches.tests.match_builders import ACCOUNT_ID
from matches.upstream import ratelimit
from syncjobs import engine, quota
from syncjobs.models import JobPhase, JobStatus, JobType, SyncJob
from syncjobs.sources import DETAIL_SOURCES

pytestmark = pytest.mark.django_db(transaction=True)


def arrivals(simulator, endpoint):
    return sorted(e["t"] for e in simulator.state.log if e["endpoint"] == endpoint)


def waiting_again(simulator, account, sync, matches, with_seq, without_seq):
    """Sync `matches`, then make the newest waiting stubs again: first `with_seq` of them,
    then `without_seq` that lost their seq num (as if only OpenDota had listed them)."""
    simulator.state.configure(accounts={str(ACCOUNT_ID): {"matches": matches}})
    sync(account, JobType.INCREMENTAL)
    newest = list(Match.objects.order_by("-pk").values_list("pk", flat=True))
    first, second = newest[:with_seq], newest[with_seq : with_seq + without_seq]
    Match.objects.filter(pk__in=first + second).update(has_details=None)
    Match.objects.filter(pk__in=second).update(match_seq_num=None)
    return first, second


def test_two_sources_at_different_paces_serve_matches_at_once(
    simulator, account, settings, fetches_per_match, sync
):
    settings.SYNC_DETAIL_SOURCES = ["steam_sequence", "opendota"]
    settings.STEAM_SEQUENCE_MIN_INTERVAL = 0.2  # 5 a second
    settings.OPENDOTA_MIN_INTERVAL = 0.05  # 20 a second
    settings.SYNC_ID_SOURCES = ["steam_history"]  # every stub has a seq num
    simulator.state.configure(accounts={str(ACCOUNT_ID): {"matches": 100}}, latency_ms=20)

    job = sync(account)

    assert job.status == JobStatus.COMPLETED
    assert job.details_ok == 100
    by_sequence, by_opendota = job.sources["steam_sequence"], job.sources["opendota"]
    assert by_sequence + by_opendota == 100
    # Each served at its own pace at the same time: 5 + 20 a second split 1 : 4.
    assert by_sequence >= 8
    assert by_opendota >= 2 * by_sequence
    sequence, opendota = arrivals(simulator, "sequence"), arrivals(simulator, "opendota_match")
    assert sequence[0] < opendota[-1]  # their spans overlap
    assert opendota[0] < sequence[-1]
    # The faster source never sat idle while there was work: it made at least half the
    # calls its pace allowed over its busy span.
    possible = (opendota[-1] - opendota[0]) / 0.05
    assert len(opendota) >= 0.5 * possible
    assert set(fetches_per_match().values()) == {1}


def test_a_match_without_seq_num_never_waits_for_the_sequence_endpoint(
    simulator, account, settings, sync
):
    settings.SYNC_DETAIL_SOURCES = ["steam_sequence", "opendota"]
    settings.STEAM_SEQUENCE_MIN_INTERVAL = 1.0
    settings.OPENDOTA_MIN_INTERVAL = 0.01
    settings.SYNC_ID_SOURCES = ["steam_history"]
    # First in line: ten only the slow sequence endpoint can serve (OpenDota lacks them);
    # behind them, twenty only OpenDota listed (no seq num).
    only_sequence, no_seq = waiting_again(simulator, account, sync, 60, 10, 20)
    simulator.state.configure(
        match_faults={str(m): {"opendota_match": "not_found"} for m in only_sequence}
    )
    simulator.state.reset()

    job = sync(account, JobType.BACKFILL)

    assert job.details_ok == 30
    assert job.sources["steam_sequence"] == 10
    opendota = {
        int(e["params"]["match_id"]): e["t"]
        for e in simulator.state.log
        if e["endpoint"] == "opendota_match"
    }
    sequence = arrivals(simulator, "sequence")
    # The twenty were all answered before the sequence endpoint's third slot (2 s in), not
    # after the ten ahead of them (10 s in).
    assert max(opendota[m] for m in no_seq) < sequence[2]


def test_a_source_takes_first_the_matches_only_it_can_serve(simulator, account, settings, sync):
    settings.SYNC_DETAIL_SOURCES = ["steam_sequence", "opendota"]
    settings.STEAM_SEQUENCE_MIN_INTERVAL = 0.02
    settings.OPENDOTA_MIN_INTERVAL = 0.2
    settings.SYNC_ID_SOURCES = ["steam_history"]
    # First in line twelve either source can serve; behind them twelve without a seq num,
    # which only OpenDota can.
    either, no_seq = waiting_again(simulator, account, sync, 40, 12, 12)
    simulator.state.reset()

    job = sync(account, JobType.BACKFILL)

    assert job.details_ok == 24
    asked = [
        int(e["params"]["match_id"])
        for e in sorted(simulator.state.log, key=lambda e: e["t"])
        if e["endpoint"] == "opendota_match"
    ]
    # The slow OpenDota spent its calls on the twelve nobody else could serve, leaving those
    # in front of them to the sequence endpoint; it never made the sequence endpoint idle
    # while matches only OpenDota could serve were left.
    assert set(asked[: len(no_seq)]) == set(no_seq)
    assert job.sources["steam_sequence"] == len(either)


def test_a_dead_endpoint_costs_the_breaker_threshold_per_job_across_helper_tasks(
    simulator, account, settings
):
    settings.SYNC_BREAKER_THRESHOLD = 4
    settings.SYNC_CONCURRENCY = 3  # three lanes per source in each of three workers
    simulator.state.configure(
        accounts={str(ACCOUNT_ID): {"matches": 200}}, details_broken=True, latency_ms=5
    )
    job = engine.create_job(account, JobType.FULL)
    helpers_done = []

    def helper():
        try:
            helpers_done.append(engine.run_details_part(job.pk))
        finally:
            connection.close()

    coordinator = threading.Thread(target=engine.run_job, args=(job.pk,))
    coordinator.start()
    while not SyncJob.objects.filter(pk=job.pk, phase=JobPhase.FETCHING_DETAILS).exists():
        threading.Event().wait(0.02)
    helpers = [threading.Thread(target=helper) for _ in range(2)]
    for thread in helpers:
        thread.start()
    coordinator.join()
    for thread in helpers:
        thread.join()

    job.refresh_from_db()
    assert job.details_ok == 200
    assert simulator.state.calls("details") == 4  # not 4 a worker, not 4 a lane
    assert "GetMatchDetails is failing" in job.message


def make_mostly_complete(simulator, account, settings, sync) -> list[int]:
    """60 complete matches, then 10 of them back to stubs; returns the stubs."""
    settings.SYNC_ID_SOURCES = ["steam_history"]
    settings.SYNC_DETAIL_SOURCES = ["steam_sequence"]
    simulator.state.configure(accounts={str(ACCOUNT_ID): {"matches": 60}})
    sync(account)
    stubs = list(Match.objects.order_by("pk").values_list("pk", flat=True)[:10])
    Match.objects.filter(pk__in=stubs).update(has_details=None)
    simulator.state.reset()
    simulator.state.configure(opendota_daily_allowance=10)  # just what the stubs need
    # What the engine believes before OpenDota's first answer of the day tells it: without it,
    # a lane claiming before that answer saw the free tier's 3,000 and could take a re-fetch.
    settings.OPENDOTA_FREE_DAILY_CALLS = 10
    return stubs


def test_a_small_daily_quota_goes_to_the_stubs_before_any_re_fetch(
    simulator, account, settings, sync
):
    stubs = make_mostly_complete(simulator, account, settings, sync)
    settings.SYNC_DETAIL_SOURCES = ["opendota"]  # no other source to re-fetch with

    job = sync(account)  # a full sync: every complete match is due again too

    assert job.status == JobStatus.COMPLETED
    assert Match.objects.filter(pk__in=stubs, has_details=True).count() == 10
    asked = [
        int(e["params"]["match_id"])
        for e in simulator.state.log
        if e["endpoint"] == "opendota_match"
    ]
    assert asked[:10] == sorted(stubs, reverse=True)  # the quota went to them, newest first
    assert "daily API limit is used up" in job.message


def test_re_fetches_go_to_an_unmetered_source_not_the_daily_quota(
    simulator, account, settings, sync
):
    stubs = make_mostly_complete(simulator, account, settings, sync)
    settings.SYNC_DETAIL_SOURCES = ["steam_sequence", "opendota"]
    settings.STEAM_SEQUENCE_MIN_INTERVAL = 0.02

    job = sync(account)

    assert job.status == JobStatus.COMPLETED
    assert Match.objects.for_account(account).complete().count() == 60
    asked = {
        int(e["params"]["match_id"])
        for e in simulator.state.log
        if e["endpoint"] == "opendota_match"
    }
    assert asked <= set(stubs)  # OpenDota's quota was never spent on a re-fetch
    assert job.sources["steam_sequence"] >= 50


def test_when_the_quota_runs_out_the_job_says_what_waits_and_a_sync_follows_the_reset(
    simulator, account, settings, sync
):
    settings.SYNC_ID_SOURCES = ["opendota"]  # no seq nums: only OpenDota can serve them
    settings.SYNC_DETAIL_SOURCES = ["steam_sequence", "opendota"]
    simulator.state.configure(
        accounts={str(ACCOUNT_ID): {"matches": 40}}, opendota_daily_allowance=16
    )

    job = sync(account)

    assert job.status == JobStatus.COMPLETED
    reset = ratelimit.next_utc_midnight()
    assert Match.objects.for_account(account).complete().count() == 15  # 1 call listed them
    assert f"25 matches wait for OpenDota's daily limit, reset {reset:%H:%M} UTC" in job.message
    follow_up = Schedule.objects.get(name=quota.CONTINUE_SCHEDULE.format(ACCOUNT_ID))
    assert follow_up.func == "syncjobs.tasks.continue_sync"
    assert follow_up.next_run > reset
    assert not Match.objects.filter(retry_count__gt=0).exists()


# --- the estimate ------------------------------------------------------------------------


def sources(*names):
    return [DETAIL_SOURCES[name] for name in names]


def test_the_estimate_adds_up_the_paces(settings, db):
    settings.STEAM_SEQUENCE_MIN_INTERVAL = 5.0
    settings.OPENDOTA_MIN_INTERVAL = 1.0

    guess = quota.estimate(quota.Work(stubs_with_seq=500), sources("steam_sequence", "opendota"))

    # 500 matches at 1/5 + 1 a second: about 7 minutes, not 42 (the sequence endpoint alone).
    assert guess.seconds == round(500 / 1.2)
    assert guess.waiting == 0


def test_the_estimate_keeps_matches_without_seq_num_off_the_sequence_endpoint(settings, db):
    settings.STEAM_SEQUENCE_MIN_INTERVAL = 5.0
    settings.OPENDOTA_MIN_INTERVAL = 1.0

    guess = quota.estimate(quota.Work(stubs_without_seq=600), sources("steam_sequence", "opendota"))

    assert guess.seconds == 600  # OpenDota alone, at one a second


def test_the_estimate_says_what_waits_for_the_daily_limit(settings, db):
    settings.STEAM_SEQUENCE_MIN_INTERVAL = 5.0
    settings.OPENDOTA_MIN_INTERVAL = 1.0
    settings.OPENDOTA_API_KEY = ""
    ratelimit.heed_remaining("opendota", minute=None, day=1000)

    guess = quota.estimate(
        quota.Work(stubs_with_seq=100, stubs_without_seq=2500),
        sources("steam_sequence", "opendota"),
    )

    assert guess.waiting == 1500
    assert guess.resets_at == ratelimit.next_utc_midnight()
    # OpenDota spends its 1,000 on the matches only it can serve; the sequence endpoint
    # does the 100 with a seq num meanwhile.
    assert guess.seconds == 1000


def test_the_estimate_shows_on_the_dashboard_and_in_json(signed_in, live_worker, account):
    job = engine.create_job(account, JobType.FULL)
    SyncJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING,
        started_at=timezone.now(),
        phase=JobPhase.FETCHING_DETAILS,
        details_total=2000,
        details_done=500,
        eta_seconds=420,
        eta_waiting=1500,
        eta_resets_at=ratelimit.next_utc_midnight(),
    )
    live_worker(job)

    page = unescape(signed_in.get(f"/jobs/{job.pk}/", HTTP_HX_REQUEST="true").content.decode())
    out = io.StringIO()
    call_command("sync_status", str(ACCOUNT_ID), "--json", stdout=out)

    expected = "about 7 min; 1,500 matches wait for OpenDota's daily limit, reset 00:00 UTC"
    assert expected in page
    report = json.loads(out.getvalue().splitlines()[-1])["latest_job"]
    assert (report["eta_seconds"], report["eta_text"]) == (420, expected)
    assert report["waiting_for_quota"] == 1500
