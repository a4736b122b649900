"""Phase-2 work claims between concurrent workers: shared matches, helpers and job ends.

A match is stored once however many linked accounts played it, and each job tries a match at
most once: another account's job attempting the same match meanwhile must not make it new
work for the first one. A helper task never claims work once its job has ended, even when
the end comes in the middle of its claim.
"""

import threading
from collections import Counter

import pytest
from django.db import connection, transaction
from django.utils import timezone

from matches.models import Match, SteamAccount
from matches.tests.match_builders import ACCOUNT_ID
from matches.upstream.simulator import SEQ_OFFSET
from syncjobs import claims, engine, tasks
from syncjobs.models import JobPhase, JobStatus, JobType, SyncJob
from tests.processes import wait_for

pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]

# In the simulator, the five accounts 86745910 .. 86745914 play party matches together.
PARTNER_ID = ACCOUNT_ID + 1


def run_in_a_thread(job: SyncJob) -> threading.Thread:
    def run() -> None:
        try:
            engine.run_job(job.pk)
        finally:
            connection.close()

    runner = threading.Thread(target=run)
    runner.start()
    return runner


def asked_per_match(simulator, match_ids: set[int]) -> Counter:
    """How often any detail source was asked about each of `match_ids`."""
    asked: Counter = Counter()
    for entry in simulator.state.log:
        params = entry["params"]
        if entry["endpoint"] in ("details", "opendota_match"):
            match_id = int(params["match_id"])
        elif entry["endpoint"] == "sequence":
            match_id = int(params["start_at_match_seq_num"]) + SEQ_OFFSET
        else:
            continue
        if match_id in match_ids:
            asked[match_id] += 1
    return asked


def test_another_accounts_sync_never_makes_a_shared_match_new_work_again(
    simulator, account, settings
):
    partner = SteamAccount.objects.create(account_id=PARTNER_ID, owner=account.owner)
    simulator.state.configure(
        accounts={str(ACCOUNT_ID): {"matches": 400}, str(PARTNER_ID): {"matches": 400}},
        latency_ms=5,
    )
    world = simulator.state.world
    listed = {
        a: {
            e["match_id"]
            for e in world.opendota_player_matches(a, significant=False, limit=None, offset=0)
        }
        for a in (ACCOUNT_ID, PARTNER_ID)
    }
    shared = listed[ACCOUNT_ID] & listed[PARTNER_ID]
    assert len(shared) >= 20
    # No source can answer the shared matches now (500): each sync defers them, and must not
    # ask again because the other sync asked in between.
    simulator.state.configure(match_faults={str(m): {"*": "500"} for m in shared})
    settings.SYNC_MAX_CONSECUTIVE_DEFERRED = 10_000
    settings.SYNC_BREAKER_THRESHOLD = 10_000

    jobs = [engine.create_job(a, JobType.FULL) for a in (account, partner)]
    runners = [run_in_a_thread(job) for job in jobs]
    for runner in runners:
        runner.join(timeout=120)

    for job in jobs:
        job.refresh_from_db()
        assert job.status == JobStatus.COMPLETED, job.error_message
    sources = len(settings.SYNC_DETAIL_SOURCES)
    asked = asked_per_match(simulator, shared)
    # Each of the two jobs asks each source once about a match no source can answer.
    assert max(asked.values()) <= 2 * sources, asked.most_common(3)
    for job in jobs:
        own = listed[job.account.account_id] - shared
        assert job.details_ok == len(own)  # what only its account played, it fetched
        assert not claims.detail_candidates(job).exclude(pk__in=shared).exists()


def waits_for_a_lock(backend: int, query_start: str) -> bool:
    """Whether the database session `backend` waits for a lock in a query that starts with
    `query_start`."""
    with connection.cursor() as cursor:
        # Inside a transaction the statistics views keep their first snapshot: a fresh one.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock' "
            "AND query LIKE %s",
            [backend, query_start + "%"],
        )
        return cursor.fetchone()[0] > 0


class HelperTask(threading.Thread):
    """The helper task of a job's phase 2, as a cluster's worker runs it; `backend` is the
    database session it claims its work with."""

    def __init__(self, job: SyncJob) -> None:
        super().__init__()
        self.job = job
        self.backend: int | None = None
        self.attempted: int | None = None

    def run(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.backend = cursor.fetchone()[0]
            self.attempted = tasks.fetch_details_part(self.job.pk)
        finally:
            connection.close()


@pytest.mark.postgresql_only(reason="holds the race open with a row lock another session waits on")
def test_a_helper_never_claims_work_of_a_job_that_ended_during_its_claim(
    simulator, account, set_matches, settings
):
    set_matches(200)
    settings.SYNC_DETAIL_TASKS = 2
    settings.SYNC_DETAIL_SOURCES = ["opendota"]
    settings.OPENDOTA_MIN_INTERVAL = 0.3  # phase 2 lasts a minute: the helper has work to claim
    job = engine.create_job(account, JobType.FULL)
    coordinator = run_in_a_thread(job)
    wait_for(
        lambda: SyncJob.objects.filter(pk=job.pk, phase=JobPhase.FETCHING_DETAILS).exists(),
        30,
        "phase 2",
    )
    helper = HelperTask(job)
    with transaction.atomic():
        # The coordinator's end, held open in the middle of the helper's claim: the end
        # updates the job's row, and the claim waits for that row.
        ending = SyncJob.objects.select_for_update().get(pk=job.pk)
        helper.start()
        wait_for(
            lambda: (
                helper.backend is not None
                and (
                    # Today: the commit of its claim (Django checks foreign keys then).
                    waits_for_a_lock(helper.backend, "COMMIT")
                    or waits_for_a_lock(helper.backend, 'SELECT "syncjobs_syncjob"."id" AS "pk"')
                )
            ),
            10,
            "the helper's claim to wait for the job's row",
        )
        ending.status = JobStatus.COMPLETED
        ending.save(update_fields=["status"])
    ended = timezone.now().timestamp()
    helper.join(timeout=30)
    coordinator.join(timeout=30)

    assert not helper.is_alive()
    assert not coordinator.is_alive()
    assert helper.attempted == 0  # it claimed nothing: the job had ended
    late = [
        entry
        for entry in simulator.state.log
        if entry["endpoint"] == "opendota_match" and entry["t"] > ended + 1
    ]
    assert not late, f"{len(late)} upstream calls for the job after its end"
    assert not Match.objects.filter(claimed_by=job).exists()
