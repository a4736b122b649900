"""4. Rate-limit fidelity: one limit of 20 calls/s shared by two worker processes.

Each worker (bench.rate_worker) loops `ratelimit.wait_turn` + a real HTTP call to the
simulator; the simulator's log of arrival times is then checked for the achieved rate and
the most calls in any sliding one-second window.
"""

import itertools
import subprocess
import sys
import time

from bench.common import ROOT, SIM_KEY, Options, Section, Simulator, base_env, stop, verdict
from matches.models import RateLimitSlot

BUCKET = "bench"
INTERVAL = 0.05
LIMIT = round(1 / INTERVAL)
WORKERS = 2
ENDPOINT = "vanity"  # the cheapest simulator endpoint: no match data to build


def window_counts(times: list[float], window: float = 1.0) -> list[int]:
    """For each arrival t (sorted), the arrivals in the half-open interval (t - window, t]."""
    counts = []
    first = 0
    for last, t in enumerate(times):
        while t - times[first] >= window:
            first += 1
        counts.append(last - first + 1)
    return counts


def run(sim: Simulator, options: Options) -> Section:
    seconds = 10 if options.quick else 30
    section = Section()
    RateLimitSlot.objects.filter(bucket=BUCKET).delete()
    sim.configure(latency_ms=0)
    sim.reset()
    url = f"{sim.base_url}/ISteamUser/ResolveVanityURL/v1/?key={SIM_KEY}&vanityurl=player1"
    start_at = time.time() + 5  # after both workers have set Django up
    end_at = start_at + seconds
    workers = [
        subprocess.Popen(
            [
                *(sys.executable, "-m", "bench.rate_worker", BUCKET, str(INTERVAL)),
                *(repr(start_at), repr(end_at), url),
            ],
            cwd=ROOT,
            env=base_env(),
            start_new_session=True,
        )
        for _ in range(WORKERS)
    ]
    try:
        codes = [worker.wait(timeout=seconds + 60) for worker in workers]
    finally:
        for worker in workers:
            stop(worker)
    if any(codes):
        raise RuntimeError(f"rate workers exited {codes}")

    times = sorted(
        e["t"] for e in sim.stats()["log"] if e["endpoint"] == ENDPOINT and e["t"] >= start_at
    )
    rate = len(times) / seconds
    counts = window_counts(times)
    worst = max(counts)
    over = sum(1 for count in counts if count > LIMIT)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    name = f"4. Rate limit {LIMIT}/s, {WORKERS} processes, {seconds} s"
    section.add(
        name,
        "achieved rate",
        f"{rate:.2f} calls/s ({rate / LIMIT:.1%})",
        f"≥ 95% of {LIMIT}/s",
        verdict(rate >= 0.95 * LIMIT),
    )
    section.add(
        name,
        "most calls in a sliding 1 s window",
        str(worst),
        f"≤ {LIMIT}",
        verdict(worst <= LIMIT),
    )
    section.add(name, "smallest gap between arrivals", f"{min(gaps) * 1000:.1f} ms")
    section.notes.append(
        f"Rate limit: {len(times)} calls arrived in the {seconds} s window; {over} of the "
        f"{len(counts)} one-second windows ending at an arrival held more than {LIMIT}. "
        f"Slots are reserved exactly {INTERVAL * 1000:.0f} ms apart, but a call arrives "
        "after its slot by the time its worker takes to wake and send, which varies, so two "
        "arrivals can be closer than the interval and a window can hold one call more than "
        "the limit."
    )
    return section
