"""Process faults with real processes: kill -9 of the task cluster or its worker, the worker's
database connections cut, the web server restarted while a client polls the progress page.

After each, the dead job reads as ended ("Interrupted") on the next read of its status, the next
sync starts at once, fetches nothing that was stored before the fault and completes, and the
stored data equals the simulator's.

The machine's PostgreSQL server is shared, so it is never restarted: cutting every connection
of the test database with pg_terminate_backend() is what a restart does to the clients.
"""

import io
import json
import os
import re
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from django.conf import global_settings, settings
from django.core.management import call_command
from django.db import connection

from matches.models import AccountMatch, Match, MatchPlayer, SteamAccount
from matches.tests.match_builders import ACCOUNT_ID, PASSWORD
from matches.upstream.normalize import match_details
from matches.upstream.simulator import SimulatorHandle
from syncjobs import engine, liveness
from syncjobs.concurrency import BATCH_SIZE
from syncjobs.models import ACTIVE_STATUSES, JobPhase, JobStatus, JobType, SyncJob
from tests.children import child_env, lock_holder
from tests.processes import Child, free_port, stop, wait_for

pytestmark = [pytest.mark.sqlite, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def upstream_caller(cluster: Child) -> int:
    """The pid of the process making upstream calls: the cluster's worker running the job."""
    found = re.findall(r" DEBUG matches\.upstream (\d+) ", cluster.output())
    assert found, "no upstream call logged yet"
    return int(found[-1])


def job_is(job: SyncJob, **conditions) -> bool:
    return SyncJob.objects.filter(pk=job.pk, **conditions).exists()


def wait_until_ended(job: SyncJob, timeout: float = 120) -> SyncJob:
    wait_for(lambda: not job_is(job, status__in=ACTIVE_STATUSES), timeout, f"job {job.pk} to end")
    job.refresh_from_db()
    return job


def read_ended_then_finish(
    account: SteamAccount,
    dead: SyncJob,
    fetches_per_match: Callable[[], Counter],
    ended_with: tuple[str, ...] = (liveness.INTERRUPTED,),
) -> SyncJob:
    """The dead job reads as ended on the next read of its status, before any new sync; the
    next sync then fetches nothing stored before the kill, and at most what was in flight."""
    assert job_is(dead, status=JobStatus.RUNNING)  # nobody could write its end
    out = io.StringIO()
    call_command("sync_status", str(ACCOUNT_ID), "--json", stdout=out)

    read = json.loads(out.getvalue().splitlines()[-1])["latest_job"]
    assert (read["id"], read["status"]) == (dead.pk, "failed")
    assert read["error_message"] in ended_with
    assert SyncJob.objects.count() == 1  # no new sync was needed to end it
    return sync_again_fetching_nothing_stored(account, fetches_per_match)


def sync_again_fetching_nothing_stored(
    account: SteamAccount, fetches_per_match: Callable[[], Counter]
) -> SyncJob:
    """The next sync fetches nothing stored before, and at most what was in flight."""
    stored = set(Match.objects.for_account(account).complete().values_list("pk", flat=True))
    before = fetches_per_match()

    fresh = wait_until_ended(engine.start_sync(account, JobType.FULL))

    assert fresh.status == JobStatus.COMPLETED, fresh.error_message
    after = fetches_per_match()
    assert not {m for m in stored if after[m] > before[m]}  # nothing stored is fetched again
    listed = Match.objects.for_account(account).count()
    # Only answers that were in flight are fetched twice: at most two batches the writer had
    # not stored, and the calls the sources' lanes (one each in the child) were making.
    in_flight = len(settings.SYNC_DETAIL_SOURCES)
    assert sum(after.values()) <= listed + 2 * BATCH_SIZE + in_flight
    return fresh


def assert_data_equals_the_simulators(simulator: SimulatorHandle, account: SteamAccount) -> None:
    """What a clean run stores: every listed match, complete, with the upstream's details."""
    world = simulator.state.world
    listed = {
        entry["match_id"]
        for entry in world.opendota_player_matches(
            ACCOUNT_ID, significant=False, limit=None, offset=0
        )
    }
    linked = set(AccountMatch.objects.filter(account=account).values_list("match_id", flat=True))
    assert linked == listed
    assert Match.objects.for_account(account).complete().count() == len(listed)
    assert MatchPlayer.objects.filter(match_id__in=listed).count() == 10 * len(listed)
    for match in Match.objects.filter(pk__in=listed).prefetch_related("players"):
        expected = match_details(world.steam_details(match.pk))
        for field in ("duration", "radiant_win", "game_mode", "radiant_score", "dire_score"):
            assert getattr(match, field) == expected.fields[field], (match.pk, field)
        stored = [
            (p.player_slot, p.hero_id, p.kills, p.deaths, p.assists, p.account_id)
            for p in sorted(match.players.all(), key=lambda p: p.player_slot)
        ]
        assert stored == [
            (p["player_slot"], p["hero_id"], p["kills"], p["deaths"], p["assists"], p["account_id"])
            for p in expected.players
        ], match.pk


# --- kill -9 ------------------------------------------------------------------------------------

PHASES = {
    # Steam's history paced so phase 1 lasts a few seconds; 600 matches pass the 500 cap. The
    # details come from unpaced sources, so the same cluster then finishes the next job quickly.
    "phase 1": (
        {"count": 600},
        {"STEAM_API_MIN_INTERVAL": 0.4, "SYNC_DETAIL_SOURCES": "steam_sequence,opendota"},
        {"phase": JobPhase.COLLECTING_IDS, "ids_found__gte": 100},
    ),
    "phase 2": (
        {"count": 300, "latency_ms": 10},
        {},
        {"phase": JobPhase.FETCHING_DETAILS, "details_done__gte": 50},
    ),
}


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("victim", ["the whole cluster", "its worker"])
def test_kill_9(
    simulator,
    account,
    set_matches,
    start_cluster,
    wait_until_seen_dead,
    fetches_per_match,
    phase,
    victim,
):
    matches, env, under_way = PHASES[phase]
    set_matches(**matches)
    cluster = start_cluster(LOG_LEVEL="DEBUG", **env)
    dead = engine.start_sync(account, JobType.FULL)
    wait_for(lambda: job_is(dead, **under_way), 60, f"{phase} to store a batch")

    if victim == "the whole cluster":
        stop(cluster, signal.SIGKILL)
        start_cluster()
    else:
        worker = upstream_caller(cluster)
        assert worker != cluster.pid  # a child of the cluster, not the cluster itself
        os.kill(worker, signal.SIGKILL)
    # The kill is asynchronous: the database must first see that the worker is gone.
    wait_until_seen_dead(dead)
    assert Match.objects.for_account(account).exists()  # what was answered stays stored

    read_ended_then_finish(account, dead, fetches_per_match)
    if victim == "its worker":
        assert cluster.poll() is None  # the cluster replaced its worker and ran the job
    assert_data_equals_the_simulators(simulator, account)


# --- the database goes away ------------------------------------------------------------------


@pytest.mark.postgresql_only(
    reason="cuts the worker's connections with pg_terminate_backend; a SQLite file has none"
)
def test_database_connections_cut_mid_sync(
    simulator, account, set_matches, start_cluster, fetches_per_match
):
    set_matches(300, latency_ms=10)
    cluster = start_cluster()
    dead = engine.start_sync(account, JobType.FULL)
    wait_for(
        lambda: job_is(dead, phase=JobPhase.FETCHING_DETAILS, details_done__gte=50),
        60,
        "phase 2 to store a batch",
    )
    assert lock_holder(ACCOUNT_ID) is not None

    # What a server restart does to the clients: every connection but ours is cut.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchone()[0] >= 1
    wait_for(lambda: lock_holder(ACCOUNT_ID) is None, 10, "the lock to go with the connection")

    if job_is(dead, status=JobStatus.RUNNING):
        # Ended by the read, or by its worker reconnecting between our two reads.
        ended_with = (liveness.INTERRUPTED, liveness.DATABASE_LOST)
        read_ended_then_finish(account, dead, fetches_per_match, ended_with)
    else:  # its worker reconnected in time to write its end itself
        assert job_is(dead, status=JobStatus.FAILED, error_message=liveness.DATABASE_LOST)
        sync_again_fetching_nothing_stored(account, fetches_per_match)
    assert cluster.poll() is None  # the cluster reconnected by itself
    assert_data_equals_the_simulators(simulator, account)


# --- the web server restarts while a client polls -----------------------------------------------


def start_web(simulator, port: int, log: Path) -> Child:
    env = child_env(
        simulator,
        ALLOWED_HOSTS="127.0.0.1",
        # Plain HTTP: the cookies must not be HTTPS-only (see the README's production settings).
        SESSION_COOKIE_SECURE=0,
        CSRF_COOKIE_SECURE=0,
        LOG_DIR=log.parent,
    )
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    return Child(
        gunicorn, "dotasync.wsgi", "--workers", "1", "--bind", f"127.0.0.1:{port}", env=env, log=log
    )


def sign_in(session: requests.Session, base: str, username: str) -> None:
    session.get(f"{base}/login/", timeout=5)
    answer = session.post(
        f"{base}/login/",
        data={
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": f"{base}/login/"},
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302, answer.text[:500]


def test_web_server_restart_while_polling_progress(
    simulator, user, account, set_matches, start_cluster, tmp_path, settings
):
    # gunicorn checks the password with the production hashers, which the tests replace.
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    user.set_password(PASSWORD)
    user.save()
    set_matches(300, latency_ms=10)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web = start_web(simulator, port, tmp_path / "web.log")
    session = requests.Session()
    try:
        wait_for(lambda: _answers(session, f"{base}/login/"), 30, "the web server")
        sign_in(session, base, user.username)
        start_cluster()
        job = engine.start_sync(account, JobType.FULL, user)

        polls: list[int | None] = []
        done = threading.Event()

        def poll() -> None:
            # What the page's htmx does: fetch the progress panel again and again.
            while not done.is_set():
                try:
                    answer = session.get(
                        f"{base}/jobs/{job.pk}/",
                        headers={"HX-Request": "true"},
                        allow_redirects=False,
                        timeout=5,
                    )
                    polls.append(answer.status_code)
                    if answer.status_code == 286:  # htmx: stop polling, the job ended
                        return
                except requests.ConnectionError:
                    polls.append(None)
                time.sleep(0.1)

        poller = threading.Thread(target=poll)
        poller.start()
        wait_for(lambda: job_is(job, details_done__gte=50), 60, "phase 2")
        stop(web)
        web = start_web(simulator, port, tmp_path / "web.log")
        poller.join(timeout=120)
        done.set()

        job = wait_until_ended(job)
        assert job.status == JobStatus.COMPLETED, job.error_message
        assert None in polls, "the restart should have been seen by the client"
        answered = [status for status in polls if status is not None]
        # Before and after the restart: the panel, the same session, never an error page.
        assert set(answered) <= {200, 286}, polls
        assert answered[-1] == 286
        assert polls.index(None) > 0  # it polled before the restart...
        assert [s for s in polls[polls.index(None) :] if s is not None]  # ...and after it
    finally:
        stop(web)
    assert_data_equals_the_simulators(simulator, account)


def _answers(session: requests.Session, url: str) -> bool:
    try:
        return session.get(url, timeout=2).status_code == 200
    except (requests.ConnectionError, requests.Timeout):  # not up yet, or still starting
        return False
