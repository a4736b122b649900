"""Run the benchmarks and write bench/results.md: `python -m bench.run [--only N ...] [--quick]`.

Benchmarks: 1 overhead, 2 call efficiency, 3 latency hiding, 4 rate-limit fidelity,
5 cancellation latency, 6 memory, 7 web latency, 8 detail sources at once, 9 stats views,
10 export, 11 a full sync longer than a task, 12 the completeness report,
13 a parsed match's page, 14 three ID sources, 15 parsed matches' storage and stats,
16 parse requests under the daily quota.
See bench/README.md.
"""

import argparse
import importlib
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from bench.common import Options, Section, setup_django, simulator
from tests.processes import ROOT

MODULES = {
    1: "bench.overhead",
    2: "bench.calls",
    3: "bench.latency",
    4: "bench.ratelimit",
    5: "bench.cancel",
    6: "bench.memory",
    7: "bench.web",
    8: "bench.sources",
    9: "bench.stats",
    10: "bench.export",
    11: "bench.longrun",
    12: "bench.completeness",
    13: "bench.parsed_page",
    14: "bench.three_sources",
    15: "bench.parsed_storage",
    16: "bench.parse_quota",
}
RESULTS = ROOT / "bench" / "results.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument(
        "--only", type=int, nargs="+", choices=sorted(MODULES), help="benchmarks to run"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes and shorter runs (minutes, not tens)"
    )
    parser.add_argument(
        "--big", action="store_true", help="benchmark 6 also syncs 50,000 matches (takes long)"
    )
    parser.add_argument(
        "--print-only",
        action="store_true",
        help="print the table without writing bench/results.md (one benchmark on its own)",
    )
    options = parser.parse_args(argv)
    setup_django()

    version = code_version()
    chosen = options.only or sorted(MODULES)
    sections: dict[int, Section] = {}
    timings: dict[int, float] = {}
    with simulator() as sim:
        for number in chosen:
            module = importlib.import_module(MODULES[number])
            print(f"--- benchmark {number} ({MODULES[number]}) ...", flush=True)
            started = time.perf_counter()
            sections[number] = module.run(sim, Options(quick=options.quick, big=options.big))
            timings[number] = time.perf_counter() - started
            print(render_rows(sections[number]), flush=True)

    report = render(sections, timings, options, version)
    print(report)
    if not options.print_only:
        RESULTS.write_text(report)
        print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0


def render_rows(section: Section) -> str:
    lines = [
        f"| {r.bench} | {r.measure} | {r.value} | {r.target} | {r.verdict} |" for r in section.rows
    ]
    return "\n".join(lines)


def code_version() -> str:
    """The commit, and the tracked files changed in the work tree (it is shared with work in
    progress, so a run may measure code that is not committed yet)."""
    commit = _git("rev-parse", "--short", "HEAD").strip() or "?"
    changed = sorted(
        line[3:] for line in _git("status", "--porcelain", "--untracked-files=no").splitlines()
    )
    return f"commit {commit}" + (
        f" with uncommitted changes to {', '.join(changed)}" if changed else ""
    )


def render(sections: dict[int, Section], timings: dict[int, float], options, version: str) -> str:
    mode = "--quick" if options.quick else "full"
    started = datetime.now(UTC) - timedelta(seconds=sum(timings.values()))
    lines = [
        "# DotaSync benchmark results",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC, {version}, mode {mode}"
        f"{' --big' if options.big else ''}, Python {platform.python_version()}, "
        f"{_cpus()} CPUs, PostgreSQL. Written by "
        f"`{' '.join(['python -m bench.run', *sys.argv[1:]])}`.",
        "",
        "| Benchmark | Measure | Value | Target | |",
        "|---|---|---|---|---|",
    ]
    for number in sorted(sections):
        lines.append(render_rows(sections[number]))
    lines += ["", "## Notes", ""]
    for number in sorted(sections):
        for note in sections[number].notes:
            lines.append(f"- {note}")
        lines.append(f"- Benchmark {number} took {timings[number]:.0f} s.")
    return "\n".join(lines) + "\n"


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout


def _cpus() -> int:
    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    sys.exit(main())
