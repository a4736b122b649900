"""2. Call efficiency: upstream calls made against the fewest any sync could make.

The minimum of a job is its list pages plus one detail call per match it must fetch. A list
is paged to its end once per configured ID source in a full sync: Steam says when it is done
(`results_remaining`), OpenDota does not, so a list of exactly k x 1,000 needs one more, empty,
page. An incremental sync needs one Steam page (100 matches) when fewer than 100 are new.
Counts come from the simulator's /_sim/stats.
"""

import math

from bench.common import Options, Section, Simulator, reset_data, sync, verdict
from matches.models import Match
from matches.upstream.client import STEAM_PAGE_SIZE
from matches.upstream.simulator import STEAM_HISTORY_CAP
from syncjobs.sources import OPENDOTA_FULL_PAGE

ACCOUNT_ID = 72_000_002
NEW_MATCHES = 50
BACKFILLED = 100


def full_list_pages(matches: int) -> int:
    steam = math.ceil(min(matches, STEAM_HISTORY_CAP) / STEAM_PAGE_SIZE)
    opendota = matches // OPENDOTA_FULL_PAGE + 1
    return steam + opendota


def run(sim: Simulator, options: Options) -> Section:
    matches = 600 if options.quick else 2_000
    section = Section()
    reset_data()
    sim.configure(latency_ms=0, accounts={str(ACCOUNT_ID): {"matches": matches}})

    def measure(label: str, minimum: int, command: str, *args: str) -> None:
        sim.reset()
        _, job = sync(sim, command, ACCOUNT_ID, *args)
        calls = sim.stats()["calls"]
        made = sum(calls.values())
        ratio = made / minimum
        section.add(
            "2. Call efficiency",
            f"{label}: calls / minimum",
            f"{made} / {minimum} = {ratio:.2f}",
            "1.00",
            verdict(made <= minimum),
        )
        by_endpoint = ", ".join(f"{name} {count}" for name, count in calls.items() if count)
        section.notes.append(
            f"Calls, {label}: {by_endpoint}; job {job.pk} {job.status}, {job.ids_found} ids, "
            f"{job.details_ok} details."
        )

    measure(
        f"full sync of {matches:,}", full_list_pages(matches) + matches, "sync_matches", "--full"
    )
    measure("incremental, 0 new", 1, "sync_matches")
    sim.configure(accounts={str(ACCOUNT_ID): {"matches": matches + NEW_MATCHES}})
    measure(f"incremental, {NEW_MATCHES} new", 1 + NEW_MATCHES, "sync_matches")

    failed = list(
        Match.objects.filter(account_links__account__account_id=ACCOUNT_ID)
        .order_by("match_id")
        .values_list("match_id", flat=True)[:BACKFILLED]
    )
    Match.objects.filter(match_id__in=failed).update(
        has_details=False, retry_count=1, fetch_error="bench: marked failed"
    )
    measure(f"backfill --force of {BACKFILLED} failed", BACKFILLED, "backfill_matches", "--force")
    return section
