"""9. Stats views: each stats page on a 10,000-match account under the dashboard-polling load,
and the SQL queries of each at two account sizes.

gunicorn serves the site from the bench database; the account has 10,000 matches with ten
players each (made with bulk_create), with varied heroes, modes, lobbies, sides, numbers and
a pool of regular teammates and opponents, so every view has real work. The load is bench 7's:
one client alone (the service time), then 20 clients each asking once a second, all with the
session cookie of a signed-in user. The numbers of a view are kept (Django's cache, shared by
the gunicorn workers) until the account's data changes, so under that load most answers are kept
ones: the time to compute a view afresh is measured on its own (Django's test client, the cache
emptied before each request), as are the queries of a computed and of a kept answer, for an
account of 100 matches and for the 10,000-match one.
"""

import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from bench.common import (
    Options,
    Section,
    Simulator,
    analyze,
    median,
    percentile,
    reset_data,
    verdict,
)
from bench.web import CLIENTS, WARM_UP_SECONDS, WORKERS, _answers, load, query_counts
from matches.models import AccountMatch, Match, MatchPlayer, SteamAccount
from tests.processes import Child, child_env, free_port, stop, wait_for

BIG_ACCOUNT = 78_000_001
SMALL_ACCOUNT = 78_000_002
BIG_MATCHES = 10_000
SMALL_MATCHES = 100
FIRST_MATCH_ID = 7_500_000_000
TEAMMATE_POOL = 40
OPPONENT_POOL = 4_000
TARGET_P99_MS = 150
# (URL name, query): every stats page, the overview per week and the heroes sorted by GPM so
# the options are measured too.
VIEWS = (
    ("stats", {"by": "week"}),
    ("stats_heroes", {"sort": "-gpm"}),
    ("stats_breakdowns", {}),
    ("stats_records", {}),
    ("stats_activity", {}),
    ("stats_with_against", {}),
)
LOADS = ((1, None, "1 client"), (CLIENTS, 1.0, f"{CLIENTS} clients polling 1/s"))


def make_matches(account: SteamAccount, count: int) -> None:
    """`count` complete matches of `account`, ten players each, in a few bulk inserts."""
    start = datetime(2023, 1, 1, tzinfo=UTC)
    ids = [FIRST_MATCH_ID + account.account_id % 1_000 * 1_000_000 + i for i in range(count)]
    Match.objects.bulk_create(
        [
            Match(
                match_id=match_id,
                has_details=True,
                details_source="opendota",
                start_time=start + timedelta(minutes=97 * i),
                duration=900 + (i * 37) % 3_600,
                game_mode=(22, 23, 1)[i % 3],
                lobby_type=(7, 0)[i % 2],
                radiant_win=(i * 7) % 5 < 3,
                radiant_score=30,
                dire_score=25,
            )
            for i, match_id in enumerate(ids)
        ],
        batch_size=2_000,
    )
    AccountMatch.objects.bulk_create(
        [
            AccountMatch(
                account=account,
                match_id=match_id,
                player_slot=0 if i % 2 else 128,
                hero_id=1 + i % 120,
            )
            for i, match_id in enumerate(ids)
        ],
        batch_size=2_000,
    )
    slots = [*range(5), *range(128, 133)]
    players = []
    for i, match_id in enumerate(ids):
        own_slot = 0 if i % 2 else 128
        for n, slot in enumerate(slots):
            own = slot == own_slot
            same_side = (slot < 128) == (own_slot < 128)
            if own:
                account_id = account.account_id
            elif same_side and n % 5 in (1, 2):
                account_id = 90_000_000 + (i + n) % TEAMMATE_POOL
            elif not same_side and n % 5 == 1:
                account_id = 91_000_000 + (i * 3 + n) % OPPONENT_POOL
            else:
                account_id = None
            players.append(
                MatchPlayer(
                    match_id=match_id,
                    player_slot=slot,
                    is_radiant=slot < 128,
                    account_id=account_id,
                    hero_id=1 + (i + n * 13) % 120,
                    kills=(i * 3 + n) % 25,
                    deaths=(i + n * 2) % 14,
                    assists=(i * 5 + n) % 31,
                    last_hits=(i * 11 + n) % 600,
                    gold_per_min=250 + (i * 13 + n) % 700,
                    xp_per_min=300 + (i * 17 + n) % 800,
                    hero_damage=(i * 997 + n) % 60_000,
                    hero_healing=(i * 331 + n) % 9_000,
                    party_size=1 + i % 5 if own else None,
                )
            )
    MatchPlayer.objects.bulk_create(players, batch_size=5_000)


def run(sim: Simulator, options: Options) -> Section:
    seconds = 5 if options.quick else 15
    runs = 5 if options.quick else 15
    section = Section()
    reset_data()
    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    big = SteamAccount.objects.create(account_id=BIG_ACCOUNT, owner=user)
    small = SteamAccount.objects.create(account_id=SMALL_ACCOUNT, owner=user)
    started = time.perf_counter()
    make_matches(big, BIG_MATCHES)
    make_matches(small, SMALL_MATCHES)
    built = time.perf_counter() - started

    analyze()

    name = "9. Stats"
    urls = {view: (reverse(view), query) for view, query in VIEWS}
    for view, (path, query) in urls.items():
        computed, kept = [], []
        for account in (small, big):
            url = f"{path}?{_query(query, account.account_id)}"
            query_counts(user, url)  # the first visit also records the account chosen
            cache.clear()
            computed.append(query_counts(user, url))
            kept.append(query_counts(user, url))
        section.add(
            name,
            f"SQL queries of {view}, {SMALL_MATCHES:,} / {BIG_MATCHES:,} matches: computed (kept)",
            f"{computed[0]} ({kept[0]}) / {computed[1]} ({kept[1]})",
            "the same",
            verdict(computed[0] == computed[1] and kept[0] == kept[1]),
        )
        section.add(
            name,
            f"{view}, {BIG_MATCHES:,} matches, computed (nothing kept): median / max",
            _computing_time(user, f"{path}?{_query(query, BIG_ACCOUNT)}", runs),
        )

    port = free_port()
    server = Child(
        str(Path(sys.executable).with_name("gunicorn")),
        "dotasync.wsgi:application",
        *("--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS)),
        env=child_env(),
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(base + reverse("login")), 60, "gunicorn to answer")
        client = Client(SERVER_NAME="127.0.0.1")
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        for view, (path, query) in urls.items():
            url = f"{base}{path}?{_query(query, BIG_ACCOUNT)}"
            load(url, cookie, {}, WARM_UP_SECONDS, WORKERS, None)
            for clients, pace, mode in LOADS:
                latencies, errors = load(url, cookie, {}, seconds, clients, pace)
                p99 = percentile(latencies, 0.99)
                judged = clients == CLIENTS
                section.add(
                    name,
                    f"{view}, {mode}: median / p99",
                    f"{median(latencies):.0f} / {p99:.0f} ms "
                    f"({len(latencies)} requests, {errors} errors)",
                    f"p99 < {TARGET_P99_MS} ms" if judged else "",
                    verdict(p99 < TARGET_P99_MS and not errors) if judged else "",
                )
    finally:
        stop(server)
    section.notes.append(
        f"Stats: gunicorn with {WORKERS} sync workers; the {BIG_MATCHES:,} matches "
        f"({BIG_MATCHES * 10:,} player rows) and the {SMALL_MATCHES} of the small account were "
        f"built in {built:.0f} s. Each view is asked for the whole history (no date range), "
        "the slowest case; filters only narrow the rows each query reads. The load generator "
        "shares the CPUs with gunicorn and PostgreSQL."
    )
    return section


def _computing_time(user, url: str, runs: int) -> str:
    """How long the test client takes for `url` when every number is computed again."""
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(user)
    times = []
    for _ in range(runs):
        cache.clear()
        started = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    return f"{median(times):.0f} / {max(times):.0f} ms ({runs} requests, one at a time)"


def _query(query: dict[str, str], account_id: int) -> str:
    return "&".join(f"{key}={value}" for key, value in {**query, "account": account_id}.items())
