"""11. A full sync longer than a task: re-fetches at the real paces' ratio, over hand-overs.

An account of N complete matches (every one with its match_seq_num, as stored details carry
it), then a full sync on a task cluster, with the real upstream's ratios scaled down 100
times: the sequence endpoint one call per 5 s -> 50 ms, OpenDota one per second -> 10 ms
(each interval 5 % longer, as in benchmark 8), GetMatchDetails down, OpenDota's free daily
allowance 3,000 calls (600 with --quick) of which SYNC_OPENDOTA_RESERVE 300 (60) stay
unspent, two calls in flight a source. The task limit is scaled down harder
(SYNC_TASK_TIMEOUT 60 s, a hand-over every 30 s, 8 s with --quick): the job crosses tasks.

The limit is the routing's: OpenDota re-fetches its spare quota (what is left after the
listing, less the reserve) at its pace while the sequence endpoint does the rest, so
phase 2 needs at least T with min(spare, o T) + s T = N. Phase 2 is measured from the first
detail call's arrival to the job's end. Also: the estimate the Full Sync preview gave
before the run (syncjobs.quota.estimate_sync), the old routing's time (every re-fetch on
the sequence endpoint), the hand-overs, and how often each match was asked for (once).
"""

import itertools
from collections import Counter
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

ACCOUNT_ID = 86_745_960
SCALE = 100
MARGIN = 1.05
SEQUENCE_INTERVAL = 5.0 / SCALE * MARGIN
OPENDOTA_INTERVAL = 1.0 / SCALE * MARGIN
TARGET = 1.1
DETAIL_ENDPOINTS = {"details", "sequence", "opendota_match"}


def run(sim: Simulator, options: Options) -> Section:
    from matches.upstream.simulator import SEQ_OFFSET
    from syncjobs.models import JobStatus, SyncJob

    matches = 1_000 if options.quick else 5_000
    allowance, reserve = (600, 60) if options.quick else (3_000, 300)
    task_seconds = 8 if options.quick else 30
    section = Section()
    name = f"11. Full sync of {matches:,} complete matches, scaled 1:{SCALE}"

    reset_data()
    sim.configure(
        latency_ms=0, details_broken=True, accounts={str(ACCOUNT_ID): {"matches": matches}}
    )
    sync(sim, "sync_matches", ACCOUNT_ID)  # every match complete, with its seq num
    preview = _preview(reserve, allowance)
    sim.reset()
    sim.configure(opendota_daily_allowance=allowance)
    env = sync_env(
        sim,
        STEAM_API_MIN_INTERVAL=0,
        STEAM_SEQUENCE_MIN_INTERVAL=SEQUENCE_INTERVAL,
        OPENDOTA_MIN_INTERVAL=OPENDOTA_INTERVAL,
        OPENDOTA_FREE_DAILY_CALLS=allowance,
        SYNC_OPENDOTA_RESERVE=reserve,
        SYNC_TASK_TIMEOUT=60,
        SYNC_HANDOVER_MARGIN=60 - task_seconds,
        # Two calls in flight a source: at a 50 ms pace, one lane's own round trip on a loaded
        # machine would miss slots that at the real 5 s are never missed.
        SYNC_CONCURRENCY=2,
        Q_WORKERS=1,
    )
    cluster = start_manage("qcluster", env=env)
    try:
        enqueue = start_manage("sync_matches", str(ACCOUNT_ID), "--full", "--enqueue", env=env)
        if enqueue.wait(timeout=120) != 0:
            raise RuntimeError("sync_matches --enqueue failed")
        job = wait_for(
            lambda: SyncJob.objects.filter(
                account__account_id=ACCOUNT_ID,
                job_type="full_sync",
                status__in=[JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED],
            ).first(),
            1800,
            "the full sync to end",
        )
    finally:
        stop(cluster)
    sim.configure(details_broken=False, opendota_daily_allowance=0)

    log = sim.stats()["log"]
    listing_calls = sum(1 for e in log if e["endpoint"] == "opendota_player_matches")
    spare = allowance - listing_calls - reserve
    o, s = 1 / OPENDOTA_INTERVAL, 1 / SEQUENCE_INTERVAL
    together = matches / (o + s)
    limit = together if o * together <= spare else (matches - spare) / s
    first_detail = min(e["t"] for e in log if e["endpoint"] in DETAIL_ENDPOINTS)
    phase2 = (job.finished_at - datetime.fromtimestamp(first_detail, UTC)).total_seconds()
    asked: Counter = Counter()
    for entry in log:
        if entry["endpoint"] == "opendota_match":
            asked[int(entry["params"]["match_id"])] += 1
        elif entry["endpoint"] == "sequence":
            asked[int(entry["params"]["start_at_match_seq_num"]) + SEQ_OFFSET] += 1
    on_opendota = sum(1 for e in log if e["endpoint"] == "opendota_match")
    once = len(asked) == matches and set(asked.values()) == {1}
    ratio = phase2 / limit

    section.add(
        name,
        f"phase 2 / the routing's limit ({limit:.0f} s)",
        f"{phase2:.1f} s: **{ratio:.2f}x**",
        f"≤ {TARGET:g}x",
        verdict(ratio <= TARGET and job.status == JobStatus.COMPLETED),
    )
    section.add(
        name,
        "the Full Sync preview's estimate before it / measured",
        f"{preview} s / {phase2:.0f} s (at real paces: {_hours(preview)} / {_hours(phase2)})",
    )
    section.add(
        name,
        "every re-fetch on the sequence endpoint, as before (N / its pace)",
        f"{matches / s:.0f} s (at real paces: {_hours(matches / s)})",
    )
    section.add(
        name,
        "re-fetches by OpenDota (spare quota) / the sequence endpoint",
        f"{on_opendota} (spare {spare}) / {sum(asked.values()) - on_opendota}",
    )
    section.add(
        name,
        "hand-overs; matches asked for once / N",
        f"{job.handovers}; {sum(1 for n in asked.values() if n == 1)} / {matches}",
        "≥ 1; N / N",
        verdict(job.handovers >= 1 and once),
    )
    sequence = sorted(e["t"] for e in log if e["endpoint"] == "sequence")
    gaps = sorted((b - a for a, b in itertools.pairwise(sequence)), reverse=True)
    idle = sum(gap - SEQUENCE_INTERVAL for gap in gaps if gap > 4 * SEQUENCE_INTERVAL)
    tail = phase2 - (sequence[-1] - first_detail) if sequence else 0.0
    section.notes.append(
        f"Long run, the sequence endpoint (the slower source, the critical path): "
        f"{len(sequence)} calls, idle {idle:.1f} s in gaps longer than 4 intervals (the "
        f"longest {', '.join(f'{g:.2f}' for g in gaps[:6])} s), {tail:.1f} s from its last "
        "call to the job's end."
    )
    section.notes.append(
        f"Long run: job {job.pk} {job.status}, {job.details_ok}/{job.details_total} details, "
        f"sources {job.sources}, {job.handovers} hand-overs of a {task_seconds} s task; "
        f"OpenDota listed with {listing_calls} calls; "
        f"{sum(1 for e in log if e['endpoint'] == 'details')} calls to the broken "
        f"GetMatchDetails; {job.message[:200]}"
    )
    return section


def _preview(reserve: int, allowance: int) -> int | None:
    """What the dashboard's Full Sync preview says, with the run's paces and quota."""
    from django.conf import settings

    from matches.models import SteamAccount
    from syncjobs import quota
    from syncjobs.models import JobType

    saved = {
        name: getattr(settings, name)
        for name in (
            "STEAM_API_KEY",
            "STEAM_SEQUENCE_MIN_INTERVAL",
            "OPENDOTA_MIN_INTERVAL",
            "OPENDOTA_API_KEY",
            "OPENDOTA_FREE_DAILY_CALLS",
            "SYNC_OPENDOTA_RESERVE",
        )
    }
    settings.STEAM_API_KEY = "bench"
    settings.STEAM_SEQUENCE_MIN_INTERVAL = SEQUENCE_INTERVAL
    settings.OPENDOTA_MIN_INTERVAL = OPENDOTA_INTERVAL
    settings.OPENDOTA_API_KEY = ""
    settings.OPENDOTA_FREE_DAILY_CALLS = allowance
    settings.SYNC_OPENDOTA_RESERVE = reserve
    try:
        account = SteamAccount.objects.get(account_id=ACCOUNT_ID)
        return quota.estimate_sync(account, JobType.FULL).seconds
    finally:
        for name, value in saved.items():
            setattr(settings, name, value)


def _hours(scaled_seconds: float | None) -> str:
    if scaled_seconds is None:
        return "?"
    minutes = round(scaled_seconds * SCALE / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"
