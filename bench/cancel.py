"""5. Cancellation latency: from `request_cancel` to the last upstream call of the job.

Each run starts a full sync in its own process (as a worker runs it), waits until phase 2 is
under way, asks for the cancel from this process (as the web UI does) and reads the
simulator's log for the last call's arrival.
"""

import time

from bench.common import (
    Options,
    Section,
    Simulator,
    median,
    reset_data,
    sync_env,
    verdict,
)
from syncjobs import engine
from syncjobs.models import JobStatus, SyncJob
from tests.processes import start_manage, stop, wait_for

ACCOUNT_ID = 75_000_005
# Three detail sources serve phase 2 at once: enough matches and latency that it lasts ~10 s.
MATCHES = 1_500
LATENCY_MS = 20
STARTED_DETAILS = 25
TARGET_SECONDS = 1.0


def run(sim: Simulator, options: Options) -> Section:
    runs = 5 if options.quick else 20
    section = Section()
    reset_data()
    sim.configure(latency_ms=LATENCY_MS, accounts={str(ACCOUNT_ID): {"matches": MATCHES}})
    latencies: list[float] = []
    endings: list[float] = []
    for _ in range(runs):
        reset_data()  # a full sync after a cancelled one would continue it: start afresh
        sim.reset()
        process = start_manage("sync_matches", str(ACCOUNT_ID), "--full", env=sync_env(sim))
        try:
            job = wait_for(
                lambda: SyncJob.objects.filter(
                    account__account_id=ACCOUNT_ID,
                    status=JobStatus.RUNNING,
                    details_done__gte=STARTED_DETAILS,
                ).first(),
                120,
                "phase 2 to be under way",
            )
            requested = time.time()
            engine.request_cancel(job)
            process.wait(timeout=30)
        finally:
            stop(process)
        job.refresh_from_db()
        if job.status != JobStatus.CANCELLED:
            raise RuntimeError(f"job {job.pk} ended {job.status}, not cancelled")
        last_call = max(entry["t"] for entry in sim.stats()["log"])
        # A last call that arrived before the request means nothing was sent after it.
        latencies.append(max(0.0, last_call - requested))
        endings.append(job.finished_at.timestamp() - requested)
    sim.configure(latency_ms=0)
    name = f"5. Cancellation, {runs} runs"
    section.add(name, "request → last upstream call, median", f"{median(latencies) * 1000:.0f} ms")
    section.add(
        name,
        "request → last upstream call, max",
        f"{max(latencies) * 1000:.0f} ms",
        f"≤ {TARGET_SECONDS * 1000:.0f} ms",
        verdict(max(latencies) <= TARGET_SECONDS),
    )
    section.add(
        name,
        "request → job ended, median / max",
        f"{median(endings) * 1000:.0f} / {max(endings) * 1000:.0f} ms",
    )
    section.notes.append(
        f"Cancellation: a full sync of {MATCHES} matches at {LATENCY_MS} ms latency, "
        f"three detail sources at once, cancelled once {STARTED_DETAILS}+ details were stored."
    )
    return section
