"""1. Local overhead: a full sync against a bare loop making the same HTTP calls.

Both talk to the simulator process at zero latency with pacing off, so what is left of
the engine's time beyond the bare loop's is its own work: the database writes of stubs,
details and progress, cancel checks and normalisation.
"""

import time

import requests

from bench.common import (
    SIM_KEY,
    Options,
    Section,
    Simulator,
    job_seconds,
    reset_data,
    sync,
    verdict,
)
from matches.upstream.client import STEAM_PAGE_SIZE
from syncjobs.sources import OPENDOTA_FULL_PAGE

ACCOUNT_ID = 71_000_001
TARGET_RATIO = 1.2


def bare_loop(sim: Simulator, account_id: int) -> tuple[float, int]:
    """The engine's calls of a full sync, in its order, answers discarded: (seconds, calls).

    Only what is needed to page on is read from the list answers (Steam's lowest id and
    results_remaining, OpenDota's page length); every detail answer is dropped unread.
    """
    session = requests.Session()
    calls = 0
    ids: set[int] = set()
    started = time.perf_counter()
    start_at: int | None = None
    while True:  # Steam GetMatchHistory, newest 500 at most, 100 a page
        params: dict[str, object] = {
            "key": SIM_KEY,
            "account_id": account_id,
            "matches_requested": STEAM_PAGE_SIZE,
        }
        if start_at is not None:
            params["start_at_match_id"] = start_at
        result = session.get(
            f"{sim.base_url}/IDOTA2Match_570/GetMatchHistory/v1/", params=params, timeout=30
        ).json()["result"]
        calls += 1
        page = [entry["match_id"] for entry in result["matches"]]
        ids.update(page)
        if not page or result["results_remaining"] <= 0:
            break
        start_at = min(page) - 1
    offset = 0
    while True:  # OpenDota's whole list, 1,000 a page
        entries = session.get(
            f"{sim.opendota_url}/players/{account_id}/matches",
            params={"significant": 0, "limit": OPENDOTA_FULL_PAGE, "offset": offset},
            timeout=30,
        ).json()
        calls += 1
        ids.update(entry["match_id"] for entry in entries)
        if len(entries) < OPENDOTA_FULL_PAGE:
            break
        offset += OPENDOTA_FULL_PAGE
    for match_id in sorted(ids, reverse=True):  # phase 2 goes newest first
        session.get(
            f"{sim.base_url}/IDOTA2Match_570/GetMatchDetails/v1/",
            params={"key": SIM_KEY, "match_id": match_id},
            timeout=30,
        )  # requests reads the whole body (stream=False), so the connection is reused
        calls += 1
    return time.perf_counter() - started, calls


def run(sim: Simulator, options: Options) -> Section:
    matches = 1_000 if options.quick else 5_000
    section = Section()
    reset_data()
    sim.configure(latency_ms=0, accounts={str(ACCOUNT_ID): {"matches": matches}})

    sim.reset()
    child, job = sync(sim, "sync_matches", ACCOUNT_ID, "--full")
    engine_calls = sum(sim.stats()["calls"].values())
    engine_seconds = job_seconds(job)

    sim.reset()
    bare_seconds, bare_calls = bare_loop(sim, ACCOUNT_ID)
    logged_calls = sum(sim.stats()["calls"].values())

    ratio = engine_seconds / bare_seconds
    name = f"1. Overhead, full sync of {matches:,}"
    section.add(name, "engine (job started → finished)", f"{engine_seconds:.2f} s")
    section.add(name, "bare loop, one requests.Session", f"{bare_seconds:.2f} s")
    section.add(
        name, "ratio engine / bare", f"{ratio:.2f}x", f"≤ {TARGET_RATIO}x", verdict(ratio <= 1.2)
    )
    section.add(name, "engine throughput", f"{matches / engine_seconds:.0f} matches/s")
    section.notes.append(
        f"Overhead: the engine made {engine_calls} upstream calls, the bare loop {bare_calls} "
        f"(the simulator logged {logged_calls}); the sync child ran {child.wall_seconds:.2f} s "
        f"in all (Django start-up and job creation included) and used {child.cpu_seconds:.2f} s "
        f"of CPU; job {job.pk} ended {job.status} "
        f"with {job.details_ok} details."
    )
    return section
