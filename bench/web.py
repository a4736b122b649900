"""7. Web: the progress partial and the match list under 20 concurrent clients.

gunicorn serves the site from the bench database while a sync of another of the user's
accounts runs in its own process; the list's account has 10,000 matches with ten players
each, made with bulk_create. The load comes from a pool of Python threads with one
requests.Session each and the session cookie of a signed-in user (wrk was not used: it is
not on every machine that runs `make bench`). Query counts come from Django's test client.
"""

import os
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.common import (
    Options,
    Section,
    Simulator,
    analyze,
    median,
    percentile,
    reset_data,
    sync_env,
    verdict,
)
from matches.models import AccountMatch, Match, MatchPlayer, SteamAccount
from syncjobs import engine
from syncjobs.models import JobStatus, JobType, SyncJob
from tests.processes import Child, child_env, free_port, start_manage, stop, wait_for

LIST_ACCOUNT = 77_000_007
SMALL_ACCOUNT = 77_000_008
SYNC_ACCOUNT = 77_000_009
LIST_MATCHES = 10_000
CLIENTS = 20
# (clients, seconds between one client's requests or None for back to back, label): one
# client alone gives the service time; 20 polling once a second is the dashboard's htmx
# polling by 20 open pages; 20 back to back is saturation.
LOADS = (
    (1, None, "1 client"),
    (CLIENTS, 1.0, f"{CLIENTS} clients polling 1/s"),
    (CLIENTS, None, f"{CLIENTS} clients back to back"),
)
# gunicorn's own guidance for sync workers: (2 x CPUs) + 1.
WORKERS = 2 * len(os.sched_getaffinity(0)) + 1
TARGET_P99_MS = {"progress partial": 50, "match list": 150}
MAX_REQUESTS_PER_CLIENT = 5_000
WARM_UP_SECONDS = 2.0
FIRST_MATCH_ID = 7_000_000_000


def make_matches(account: SteamAccount, count: int) -> None:
    """`count` complete matches of `account` with ten players each, in a few bulk inserts."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    ids = [FIRST_MATCH_ID + account.account_id * 100_000 + i for i in range(count)]
    Match.objects.bulk_create(
        [
            Match(
                match_id=match_id,
                match_seq_num=match_id - 1_000_000_000,
                has_details=True,
                details_source="opendota",
                details_fetched_at=start,
                start_time=start + timedelta(hours=i),
                duration=1800 + i % 1500,
                game_mode=22,
                lobby_type=7,
                radiant_win=i % 2 == 0,
                radiant_score=30,
                dire_score=25,
            )
            for i, match_id in enumerate(ids)
        ],
        batch_size=2_000,
    )
    AccountMatch.objects.bulk_create(
        [
            AccountMatch(account=account, match_id=match_id, player_slot=0, hero_id=1 + i % 120)
            for i, match_id in enumerate(ids)
        ],
        batch_size=2_000,
    )
    slots = [*range(5), *range(128, 133)]
    MatchPlayer.objects.bulk_create(
        [
            MatchPlayer(
                match_id=match_id,
                player_slot=slot,
                is_radiant=slot < 128,
                account_id=account.account_id if slot == 0 else None,
                hero_id=1 + (i + n) % 120,
                kills=n,
                deaths=3,
                assists=7,
                last_hits=100 + n,
                gold_per_min=400 + n,
                xp_per_min=500 + n,
                level=20,
                net_worth=15_000,
                item_0=1,
                item_1=36,
            )
            for i, match_id in enumerate(ids)
            for n, slot in enumerate(slots)
        ],
        batch_size=5_000,
    )


def query_counts(user, url: str, **headers: str) -> int:
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
    if response.status_code not in (200, 286):
        raise RuntimeError(f"GET {url} answered {response.status_code}")
    return len(queries)


def load(
    url: str, cookie: str, headers: dict[str, str], seconds: float, clients: int, pace: float | None
) -> tuple[list[float], int]:
    """`clients` threads request `url` until `seconds` pass: back to back, or one per `pace` s.

    Returns the latencies in ms and the number of answers that were not 200/286 (htmx's
    "stop polling", which the partial answers once the job has ended).
    """
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(index: int) -> None:
        nonlocal errors
        session = requests.Session()
        session.cookies.set(settings.SESSION_COOKIE_NAME, cookie, domain="127.0.0.1")
        session.headers.update(headers)
        mine: list[float] = []
        bad = 0
        if pace:  # spread the polling clients over one period, as real browsers would be
            time.sleep(pace * index / clients)
        for _ in range(MAX_REQUESTS_PER_CLIENT):
            started = time.perf_counter()
            if time.monotonic() >= deadline:
                break
            response = session.get(url, timeout=30)
            mine.append((time.perf_counter() - started) * 1000)
            bad += response.status_code not in (200, 286)
            if pace:
                time.sleep(max(0.0, pace - (time.perf_counter() - started)))
        with lock:
            latencies.extend(mine)
            errors += bad

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    return latencies, errors


def run(sim: Simulator, options: Options) -> Section:
    seconds = 5 if options.quick else 15
    section = Section()
    reset_data()
    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    list_account = SteamAccount.objects.create(account_id=LIST_ACCOUNT, owner=user)
    small_account = SteamAccount.objects.create(account_id=SMALL_ACCOUNT, owner=user)
    SteamAccount.objects.create(account_id=SYNC_ACCOUNT, owner=user)
    started = time.perf_counter()
    make_matches(list_account, LIST_MATCHES)
    make_matches(small_account, 1)
    built = time.perf_counter() - started
    analyze()

    name = "7. Web"
    for account, size in ((small_account, 1), (list_account, LIST_MATCHES)):
        job = SyncJob.objects.create(
            account=account, job_type=JobType.FULL, status=JobStatus.COMPLETED
        )
        partial = query_counts(user, reverse("job_progress", args=[job.pk]), HTTP_HX_REQUEST="true")
        listing = query_counts(user, f"{reverse('match_list')}?account={account.account_id}")
        section.add(
            name, f"SQL queries, {size:,} match(es): partial / list", f"{partial} / {listing}"
        )

    sim.configure(latency_ms=5, accounts={str(SYNC_ACCOUNT): {"matches": 20_000}})
    # One detail source, as before phase 2 used every source at once: three unpaced lanes
    # would take a CPU of the two from gunicorn, which no real (paced) sync does.
    syncing = start_manage(
        "sync_matches",
        str(SYNC_ACCOUNT),
        "--full",
        env=sync_env(sim, SYNC_DETAIL_SOURCES="steam_details"),
    )
    port = free_port()
    server = Child(
        str(Path(sys.executable).with_name("gunicorn")),
        "dotasync.wsgi:application",
        *("--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS)),
        env=child_env(),
    )
    try:
        job = wait_for(
            lambda: SyncJob.objects.filter(
                account__account_id=SYNC_ACCOUNT, status=JobStatus.RUNNING
            ).first(),
            60,
            "the sync to start",
        )
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(base + reverse("login")), 60, "gunicorn to answer")
        client = Client(SERVER_NAME="127.0.0.1")
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        pages = {
            # What the dashboard's poll asks once a second: the parts that changed.
            "progress partial": (
                base + reverse("job_progress", args=[job.pk]) + "?shown=fetching_details.active",
                {"HX-Request": "true"},
            ),
            "match list": (f"{base}{reverse('match_list')}?account={LIST_ACCOUNT}", {}),
        }
        for page, (url, headers) in pages.items():
            # Every worker answers a few requests first, so no cold start is measured.
            load(url, cookie, headers, WARM_UP_SECONDS, WORKERS, None)
            for clients, pace, mode in LOADS:
                latencies, errors = load(url, cookie, headers, seconds, clients, pace)
                p99 = percentile(latencies, 0.99)
                target = TARGET_P99_MS[page]
                judged = clients == CLIENTS  # the targets are for 20 concurrent clients
                section.add(
                    name,
                    f"{page}, {mode}: median / p99",
                    f"{median(latencies):.0f} / {p99:.0f} ms "
                    f"({len(latencies) / seconds:.0f} req/s, {errors} errors)",
                    f"p99 < {target} ms" if judged else "",
                    verdict(p99 < target and not errors) if judged else "",
                )
        job.refresh_from_db()
        still_running = job.status == JobStatus.RUNNING
    finally:
        stop(server)
        job = SyncJob.objects.filter(account__account_id=SYNC_ACCOUNT).order_by("-pk").first()
        if job is not None and job.status == JobStatus.RUNNING:
            engine.request_cancel(job)
        syncing.wait(timeout=60)
        stop(syncing)
        sim.configure(latency_ms=0)
    section.notes.append(
        f"Web: gunicorn with {WORKERS} sync workers; the sync (unpaced, one detail source, "
        "5 ms latency) ran through every load run "
        f"({'yes' if still_running else 'NO: it ended early'}) and was cancelled after; "
        f"the 10,000 matches (100,000 player rows) were built in {built:.0f} s. Back-to-back "
        "clients send the next request as soon as an answer arrives (saturation: latency = "
        "clients / throughput); polling clients send one request a second each. "
        "The load generator shares the 2 CPUs with gunicorn, PostgreSQL and the sync."
    )
    return section


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code < 500
    except requests.RequestException:  # not listening yet, or workers still booting
        return False
