"""`python -m bench.peak ARGS`: run `manage.py ARGS` in this process and, at its exit, write the
process's peak resident memory (VmHWM, in MB) to the file named by $BENCH_PEAK_FILE.

The peak is read inside the process: the ru_maxrss that wait4 reports for a child also counts,
on Linux, the parent's resident memory at the fork, so it would measure the bench process.
"""

import atexit
import os
import runpy
import sys
from pathlib import Path

MANAGE_PY = Path(__file__).resolve().parent.parent / "manage.py"


def high_water_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def write_peak(path: str) -> None:
    Path(path).write_text(f"{high_water_mb():.1f}\n")


if __name__ == "__main__":
    atexit.register(write_peak, os.environ["BENCH_PEAK_FILE"])
    sys.argv = [str(MANAGE_PY), *sys.argv[1:]]
    runpy.run_path(str(MANAGE_PY), run_name="__main__")
