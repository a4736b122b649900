"""3. Latency hiding: phase 2 with SYNC_CONCURRENCY=1 against 8 at 50 ms upstream latency.

Pacing is off, so only the round trips can be overlapped. One detail source is used, so that
SYNC_CONCURRENCY=1 is one call at a time (with the default three, every source's lane already
has a call in flight: that is measured too, as "3 sources"). The list pages pay the latency
too and are not parallel, so phase 2 is also timed on its own: from the first detail call's
arrival at the simulator to the job's end.
"""

from datetime import UTC, datetime

from bench.common import Options, Section, Simulator, job_seconds, reset_data, sync, verdict

ACCOUNT_ID = 73_000_003
LATENCY_MS = 50
TARGET_SPEEDUP = 6.0
DETAIL_ENDPOINTS = {"details", "sequence", "opendota_match"}


def run(sim: Simulator, options: Options) -> Section:
    matches = 400 if options.quick else 2_000
    section = Section()
    name = f"3. Latency hiding, {matches:,} at {LATENCY_MS} ms"
    times: dict[int, tuple[float, float]] = {}
    for concurrency in (1, 8):
        reset_data()
        sim.configure(latency_ms=LATENCY_MS, accounts={str(ACCOUNT_ID): {"matches": matches}})
        sim.reset()
        _, job = sync(
            sim,
            "sync_matches",
            ACCOUNT_ID,
            "--full",
            SYNC_CONCURRENCY=concurrency,
            SYNC_DETAIL_SOURCES="steam_details",
        )
        first_detail = min(e["t"] for e in sim.stats()["log"] if e["endpoint"] in DETAIL_ENDPOINTS)
        phase2 = (job.finished_at - datetime.fromtimestamp(first_detail, UTC)).total_seconds()
        times[concurrency] = (job_seconds(job), phase2)
        section.add(
            name,
            f"SYNC_CONCURRENCY={concurrency}: job / phase 2",
            f"{times[concurrency][0]:.1f} s / {phase2:.1f} s",
        )
        section.notes.append(
            f"Latency hiding, SYNC_CONCURRENCY={concurrency}: job {job.pk} {job.status}, "
            f"{job.details_ok} details, phase 1 {times[concurrency][0] - phase2:.1f} s."
        )
    reset_data()
    sim.reset()
    _, job = sync(sim, "sync_matches", ACCOUNT_ID, "--full")
    first_detail = min(e["t"] for e in sim.stats()["log"] if e["endpoint"] in DETAIL_ENDPOINTS)
    phase2 = (job.finished_at - datetime.fromtimestamp(first_detail, UTC)).total_seconds()
    section.add(
        name,
        "3 sources at once, SYNC_CONCURRENCY=1: job / phase 2",
        f"{job_seconds(job):.1f} s / {phase2:.1f} s",
    )
    sim.configure(latency_ms=0)
    total = times[1][0] / times[8][0]
    phase2 = times[1][1] / times[8][1]
    section.add(
        name, "speed-up, whole job", f"{total:.1f}x", f"≥ {TARGET_SPEEDUP:g}x", verdict(total >= 6)
    )
    section.add(
        name, "speed-up, phase 2", f"{phase2:.1f}x", f"≥ {TARGET_SPEEDUP:g}x", verdict(phase2 >= 6)
    )
    return section
