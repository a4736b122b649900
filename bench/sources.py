"""8. Phase 2 at the upstreams' limit: every detail source at once, each at its own pace.

A full sync of N matches with GetMatchDetails down (as it is), the sequence endpoint paced
at 5 calls/s and OpenDota at 20/s (each interval 5 % longer, the margin the README advises),
30 ms of latency. The limit is N / (the sum of the two paces): phase 2 (from the first
detail call's arrival to the job's end) over that limit is the figure, target ≤ 1.1x.
Measured three ways: one foreground sync; one job shared with 2 helper tasks by a task
cluster (SYNC_DETAIL_TASKS=3); and the same on two clusters sharing Redis. Each time the
simulator's arrival log gives the most calls of each source in any sliding second, which
must stay within its limit.

Then the quota run: OpenDota's daily allowance set to what the stubs of a mostly complete
account need; a full sync must complete every stub and spend no call on a re-fetch.
"""

import uuid
from datetime import UTC, datetime

from bench.common import (
    Options,
    Section,
    Simulator,
    reset_data,
    start_manage,
    stop,
    sync,
    sync_env,
    verdict,
    wait_for,
)
from bench.ratelimit import window_counts

ACCOUNT_ID = 86_745_950
LATENCY_MS = 30
MARGIN = 1.05
SEQUENCE_INTERVAL = 0.2 * MARGIN
OPENDOTA_INTERVAL = 0.05 * MARGIN
TARGET = 1.1
REDIS_URL = "redis://127.0.0.1:6379/0"
DETAIL_ENDPOINTS = {"details", "sequence", "opendota_match"}
PACED = {
    "sequence": ({"sequence"}, 5),
    "OpenDota": ({"opendota_match", "opendota_player_matches"}, 20),
}


def run(sim: Simulator, options: Options) -> Section:
    matches = 400 if options.quick else 2_000
    section = Section()
    name = f"8. Sources at once, {matches:,} matches"
    limit = matches / (1 / SEQUENCE_INTERVAL + 1 / OPENDOTA_INTERVAL)
    for mode in ("one worker", "3 tasks, 1 cluster", "3 tasks, 2 clusters on Redis"):
        phase2, job, log = _full_sync(sim, matches, mode)
        ratio = phase2 / limit
        windows = {
            label: max(window_counts(sorted(e["t"] for e in log if e["endpoint"] in endpoints)))
            for label, (endpoints, _) in PACED.items()
        }
        within = all(windows[label] <= pace for label, (_, pace) in PACED.items())
        section.add(
            name,
            f"{mode}: phase 2 / limit ({limit:.0f} s)",
            f"{phase2:.1f} s: **{ratio:.2f}x**",
            f"≤ {TARGET:g}x",
            verdict(ratio <= TARGET),
        )
        section.add(
            name,
            f"{mode}: most calls in a 1 s window, sequence / OpenDota",
            f"{windows['sequence']} / {windows['OpenDota']}",
            "≤ 5 / ≤ 20",
            verdict(within),
        )
        section.notes.append(
            f"Sources at once, {mode}: job {job.pk} {job.status}, {job.details_ok} details "
            f"({job.sources}), {sum(1 for e in log if e['endpoint'] == 'details')} calls to the "
            "broken GetMatchDetails."
        )
    section.rows.extend(_quota_run(sim, options).rows)
    sim.configure(latency_ms=0, details_broken=False, opendota_daily_allowance=0)
    return section


def _pacing() -> dict[str, object]:
    return {
        "STEAM_API_MIN_INTERVAL": 0,
        "STEAM_SEQUENCE_MIN_INTERVAL": SEQUENCE_INTERVAL,
        "OPENDOTA_MIN_INTERVAL": OPENDOTA_INTERVAL,
    }


def _full_sync(sim: Simulator, matches: int, mode: str):
    reset_data()
    sim.configure(
        latency_ms=LATENCY_MS,
        details_broken=True,
        accounts={str(ACCOUNT_ID): {"matches": matches}},
    )
    sim.reset()
    if mode == "one worker":
        _, job = sync(sim, "sync_matches", ACCOUNT_ID, "--full", **_pacing())
    else:
        job = _on_clusters(sim, redis="Redis" in mode, clusters=2 if "2 clusters" in mode else 1)
    log = sim.stats()["log"]
    first_detail = min(e["t"] for e in log if e["endpoint"] in DETAIL_ENDPOINTS)
    phase2 = (job.finished_at - datetime.fromtimestamp(first_detail, UTC)).total_seconds()
    return phase2, job, log


def _on_clusters(sim: Simulator, *, redis: bool, clusters: int):
    from syncjobs.models import JobStatus, SyncJob

    env = sync_env(sim, SYNC_DETAIL_TASKS=3, Q_WORKERS=3 if clusters == 1 else 2, **_pacing())
    if redis:
        env.update(REDIS_URL=REDIS_URL, Q_CLUSTER_NAME=f"bench-{uuid.uuid4().hex[:8]}")
    running = [start_manage("qcluster", env=env) for _ in range(clusters)]
    try:
        enqueue = start_manage("sync_matches", str(ACCOUNT_ID), "--full", "--enqueue", env=env)
        if enqueue.wait(timeout=120) != 0:
            raise RuntimeError("sync_matches --enqueue failed")
        return wait_for(
            lambda: SyncJob.objects.filter(
                account__account_id=ACCOUNT_ID,
                status__in=[JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED],
            ).first(),
            1800,
            "the job to end",
        )
    finally:
        for cluster in running:
            stop(cluster)


def _quota_run(sim: Simulator, options: Options) -> Section:
    from matches.models import Match

    section = Section()
    matches = 400 if options.quick else 2_000
    stubs = matches // 20
    name = f"8. Daily quota, {stubs} stubs among {matches:,}"
    reset_data()
    sim.configure(
        latency_ms=0, details_broken=True, accounts={str(ACCOUNT_ID): {"matches": matches}}
    )
    sync(sim, "sync_matches", ACCOUNT_ID, "--full")
    waiting = list(Match.objects.order_by("?").values_list("pk", flat=True)[:stubs])
    Match.objects.filter(pk__in=waiting).update(has_details=None)
    sim.reset()
    list_pages = matches // 1000 + 1
    sim.configure(opendota_daily_allowance=stubs + list_pages)  # what the stubs need
    _, job = sync(sim, "sync_matches", ACCOUNT_ID, "--full", STEAM_SEQUENCE_MIN_INTERVAL=0.01)
    done = Match.objects.filter(pk__in=waiting, has_details=True).count()
    refetches_on_quota = sum(
        1
        for e in sim.stats()["log"]
        if e["endpoint"] == "opendota_match" and int(e["params"]["match_id"]) not in waiting
    )
    section.add(
        name,
        "stubs completed / OpenDota calls spent on re-fetches",
        f"{done}/{stubs} / {refetches_on_quota}",
        f"{stubs}/{stubs} / 0",
        verdict(done == stubs and refetches_on_quota == 0),
    )
    section.notes.append(
        f"Daily quota: job {job.pk} {job.status}, sources {job.sources}; {job.message[:200]}"
    )
    return section
