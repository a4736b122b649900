"""14. A first sync's listing with three ID sources: Steam's history, OpenDota and STRATZ.

A full sync of an account with N matches, each ID source at its real pace scaled down 10
times (Steam 1 s → 0.1 s, OpenDota 1 s → 0.1 s, STRATZ 1.8 s → 0.18 s), 30 ms of simulator
latency. Steam lists the newest 500 in pages of 100, OpenDota everything in pages of 1,000
(plus the empty page after a multiple of 1,000), STRATZ everything in pages of 100. Phase 1
(the job's start to its first detail call, `details_started_at`) is set against two limits:
the slowest listing's pages x its pace (what listings running at once could reach) and the
sum of every listing's pages x pace (what listings one after another take); target ≤ 1.2x
of the first. And against the same first sync listing from STRATZ alone (the same per-page
costs of storing and answering): the two other listings beside it should add ≤ 10 %. The details
come from the sequence endpoint unpaced, so phase 2 stays short; it is not measured here.

Run alone: `.venv/bin/python -m bench.three_sources [--quick]` (it prints its rows and does
not touch bench/results.md), or as benchmark 14 of `bench.run`.
"""

import argparse
import math

from bench.common import (
    Options,
    Section,
    Simulator,
    reset_data,
    setup_django,
    simulator,
    sync,
    verdict,
)

ACCOUNT_ID = 86_745_960
LATENCY_MS = 30
SCALE = 10
STEAM_INTERVAL = 1.0 / SCALE
OPENDOTA_INTERVAL = 1.0 / SCALE
STRATZ_INTERVAL = 1.8 / SCALE
# Phase 1 over the slowest listing's time: the listings run at once (syncjobs.listing).
TARGET = 1.2
# The other two listings beside the slowest add (almost) nothing to its time.
TARGET_BESIDE = 1.1
STEAM_CAP, STEAM_PAGE, OPENDOTA_PAGE, STRATZ_PAGE = 500, 100, 1000, 100


def _pages(matches: int) -> dict[str, int]:
    """List calls each source needs for a full listing (a full page asks for one more)."""
    return {
        "steam_history": math.ceil(min(matches, STEAM_CAP) / STEAM_PAGE),
        "opendota": matches // OPENDOTA_PAGE + 1,
        "stratz": matches // STRATZ_PAGE + 1,
    }


def run(sim: Simulator, options: Options) -> Section:
    matches = 1_000 if options.quick else 3_000
    section = Section()
    name = f"14. Three ID sources, first sync of {matches:,} matches"
    pace = {
        "steam_history": STEAM_INTERVAL,
        "opendota": OPENDOTA_INTERVAL,
        "stratz": STRATZ_INTERVAL,
    }
    pages = _pages(matches)
    # A walk's calls follow one another: each starts a pace after the last one's slot, once
    # its answer came (the latency); the first waits for no slot.
    latency = LATENCY_MS / 1000
    per_source = {s: (pages[s] - 1) * max(pace[s], latency) + latency for s in pages}
    parallel_limit = max(per_source.values())
    sequential_limit = sum(per_source.values())

    sim.configure(
        latency_ms=LATENCY_MS,
        accounts={str(ACCOUNT_ID): {"matches": matches}},
        stratz_limits={"second": 20, "minute": 250, "hour": 2000, "day": 10_000},
    )
    alone, _ = _first_listing(sim, "stratz")
    listing, job = _first_listing(sim, "steam_history,opendota,stratz")
    calls = sim.stats()["calls"]
    asked = {
        "steam_history": calls["history"],
        "opendota": calls["opendota_player_matches"],
        "stratz": calls["stratz"],
    }
    section.add(
        name,
        "phase 1 / slowest listing's pages x pace",
        f"{listing:.2f} s / {parallel_limit:.2f} s: **{listing / parallel_limit:.2f}x**",
        f"≤ {TARGET:g}x",
        verdict(listing / parallel_limit <= TARGET),
    )
    section.add(
        name,
        "phase 1 / every listing's pages x pace, one after another",
        f"{listing:.2f} s / {sequential_limit:.2f} s: **{listing / sequential_limit:.2f}x**",
        "< 1x",
        verdict(listing < sequential_limit),
    )
    section.add(
        name,
        "phase 1 with all three / with STRATZ alone",
        f"{listing:.2f} s / {alone:.2f} s: **{listing / alone:.2f}x**",
        f"≤ {TARGET_BESIDE:g}x",
        verdict(listing / alone <= TARGET_BESIDE),
    )
    section.add(
        name,
        "list calls (Steam / OpenDota / STRATZ), asked / needed",
        " / ".join(f"{asked[s]}/{pages[s]}" for s in pages),
        "equal",
        verdict(asked == pages),
    )
    section.notes.append(
        f"Three ID sources: job {job.pk} {job.status}, {job.ids_found:,} ids, paces "
        f"{STEAM_INTERVAL:g}/{OPENDOTA_INTERVAL:g}/{STRATZ_INTERVAL:g} s, per-source time "
        + ", ".join(f"{s} {t:.2f} s" for s, t in per_source.items())
    )
    sim.configure(latency_ms=0)
    return section


def _first_listing(sim: Simulator, id_sources: str):
    """A first full sync listing from `id_sources`: (phase 1 in seconds, the job)."""
    reset_data()
    sim.reset()
    _, job = sync(
        sim,
        "sync_matches",
        ACCOUNT_ID,
        "--full",
        STEAM_API_MIN_INTERVAL=STEAM_INTERVAL,
        OPENDOTA_MIN_INTERVAL=OPENDOTA_INTERVAL,
        STRATZ_MIN_INTERVAL=STRATZ_INTERVAL,
        STEAM_SEQUENCE_MIN_INTERVAL=0,
        STRATZ_API_TOKEN="sim-token",
        STRATZ_API_BASE_URL=sim.base_url + "/graphql",
        SYNC_ID_SOURCES=id_sources,
        SYNC_DETAIL_SOURCES="steam_sequence",
    )
    return (job.details_started_at - job.started_at).total_seconds(), job


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.three_sources", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 matches instead of 3,000")
    options = parser.parse_args(argv)
    setup_django()
    with simulator() as sim:
        section = run(sim, Options(quick=options.quick, big=False))
    for row in section.rows:
        print(" | ".join(str(cell) for cell in vars(row).values()))
    for note in section.notes:
        print(note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
