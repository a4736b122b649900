"""6. Memory: a sync worker's peak RSS for a small and a large full sync.

The sync runs as `manage.py sync_matches ID --full` in a child process; its peak RSS is the
VmHWM the child reads of itself as it exits (bench.peak). The simulator answers at once.
"""

from bench.common import Options, Section, Simulator, job_seconds, reset_data, sync, verdict

ACCOUNT_ID = 76_000_006
TARGET_MB = 200
# Flat: the large sync may not need more than this much over the small one.
FLAT_MARGIN_MB = 20


def run(sim: Simulator, options: Options) -> Section:
    large = 50_000 if options.big else 20_000
    sizes = (1_000, 5_000) if options.quick else (5_000, large)
    section = Section()
    peaks: list[float] = []
    for matches in sizes:
        reset_data()
        sim.configure(latency_ms=0, accounts={str(ACCOUNT_ID): {"matches": matches}})
        sim.reset()
        child, job = sync(sim, "sync_matches", ACCOUNT_ID, "--full")
        peaks.append(child.peak_rss_mb)
        section.add(
            "6. Memory",
            f"peak RSS, full sync of {matches:,}",
            f"{child.peak_rss_mb:.0f} MB",
            f"< {TARGET_MB} MB",
            verdict(child.peak_rss_mb < TARGET_MB),
        )
        section.notes.append(
            f"Memory, {matches:,} matches: the sync process ran {child.wall_seconds:.0f} s "
            f"(job {job_seconds(job):.0f} s, {matches / job_seconds(job):.0f} matches/s), "
            f"job {job.pk} {job.status} with {job.details_ok} details."
        )
    growth = peaks[1] - peaks[0]
    section.add(
        "6. Memory",
        f"growth {sizes[0]:,} → {sizes[1]:,}",
        f"{growth:+.1f} MB",
        f"flat (≤ {FLAT_MARGIN_MB} MB)",
        verdict(growth <= FLAT_MARGIN_MB),
    )
    return section
