"""One export of benchmark 10, measured from inside its own process.

Run by bench.export, never by hand: python -m bench.export_worker ACCOUNT FORMAT KIND OUTPUT.
Prints one JSON object: the export's seconds (Django's start-up left out) and the process's
VmHWM before and after it. The peak comes from /proc/self/status rather than from wait4's
ru_maxrss, which on Linux also counts the parent's resident memory at the fork: the bench
process holds the 50,000 matches it just built.
"""

import json
import os
import sys
import time

import django

from bench.peak import high_water_mb


def main(account: str, file_format: str, kind: str, output: str) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dotasync.settings")
    django.setup()
    from django.core.management import call_command

    flags = ["--players"] if kind == "players" else []
    before = high_water_mb()
    started = time.perf_counter()
    call_command("export_matches", account, "--format", file_format, *flags, "--output", output)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "before_mb": before, "peak_mb": high_water_mb()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
