"""12. The completeness report: its SQL queries for an account of 1,000 and of 50,000 matches
(equal: the report aggregates in SQL), and its time on the 50,000-match one.

The accounts are bulk-created: matches over four years, each listed by Steam's history, by
OpenDota or by both (a tenth only by OpenDota, a twentieth only by Steam, the rest by both),
some stubs and some failed, and a frontier per source with its reported count.
Run alone: `python -m bench.completeness` (prints the rows; bench/results.md is left alone).
"""

import time
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.common import (
    Options,
    Section,
    Simulator,
    analyze,
    median,
    reset_data,
    setup_django,
    verdict,
)

SMALL, BIG = 1_000, 50_000
FIRST_MATCH_ID = 7_000_000_000
TARGET_MS = 300
RUNS = 7
BENCH = "12. Completeness report"  # the rows' first column


def make_account(account_id: int, count: int):
    from matches.models import AccountMatch, Match, SteamAccount
    from syncjobs.models import ListingFrontier
    from syncjobs.sources import LISTED_BY_BITS, OPENDOTA_LIST, STEAM_HISTORY

    account = SteamAccount.objects.create(account_id=account_id)
    start = datetime(2022, 1, 1, tzinfo=UTC)
    first = FIRST_MATCH_ID + account_id % 100 * 1_000_000
    steam, opendota = LISTED_BY_BITS[STEAM_HISTORY], LISTED_BY_BITS[OPENDOTA_LIST]

    def state(i: int) -> dict:
        if i % 50 == 7:
            return {"has_details": False, "fetch_error": ("not found", "malformed")[i % 2]}
        return {"has_details": None if i % 40 == 3 else True}

    Match.objects.bulk_create(
        [
            Match(match_id=first + i, start_time=start + timedelta(minutes=40 * i), **state(i))
            for i in range(count)
        ],
        batch_size=5_000,
    )
    AccountMatch.objects.bulk_create(
        [
            AccountMatch(
                account=account,
                match_id=first + i,
                listed_by=opendota if i % 10 == 1 else steam if i % 20 == 2 else steam | opendota,
            )
            for i in range(count)
        ],
        batch_size=5_000,
    )
    for name, total in ((STEAM_HISTORY, 500), (OPENDOTA_LIST, count)):
        ListingFrontier.objects.create(
            account=account,
            source=name,
            complete_through=first + count - 1,
            reported_total=total,
            reported_at=start,
        )
    return account


def run(sim: Simulator | None, options: Options) -> Section:
    from syncjobs import completeness

    section = Section()
    reset_data()
    big_count = SMALL * 5 if options.quick else BIG
    small = make_account(79_000_001, SMALL)
    big = make_account(79_000_002, big_count)
    analyze()
    queries = {}
    for account in (small, big):
        with CaptureQueriesContext(connection) as captured:
            completeness.report(account)
        queries[account.pk] = len(captured)
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        report = completeness.report(big)
        times.append((time.perf_counter() - started) * 1000)
    assert report.stored == big_count
    section.add(
        BENCH,
        f"queries, {SMALL:,} / {big_count:,} matches",
        f"{queries[small.pk]} / {queries[big.pk]}",
        "equal",
        verdict(queries[small.pk] == queries[big.pk]),
    )
    took = median(times)
    section.add(
        BENCH,
        f"report time, {big_count:,} matches (median of {RUNS})",
        f"{took:.0f} ms",
        f"< {TARGET_MS} ms",
        verdict(took < TARGET_MS),
    )
    section.notes.append(
        f"Completeness report on {big_count:,} matches: {min(times):.0f}-{max(times):.0f} ms "
        f"over {RUNS} runs; {queries[big.pk]} queries."
    )
    return section


if __name__ == "__main__":
    setup_django()
    for row in run(None, Options(quick=False, big=False)).rows:
        print(f"{row.bench} | {row.measure} | {row.value} | {row.target} | {row.verdict}")
