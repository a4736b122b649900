"""One worker process of benchmark 4: `wait_turn` then a real call to the simulator, in a loop.

Run by bench.ratelimit, never by hand: python -m bench.rate_worker BUCKET INTERVAL START END URL
(START and END are Unix times, so every worker begins and stops at the same moments).
"""

import os
import sys
import time

import django
import requests


def main(bucket: str, interval: float, start_at: float, end_at: float, url: str) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dotasync.settings")
    django.setup()
    from matches.upstream import ratelimit

    session = requests.Session()
    session.get(url, timeout=10)  # connect before the start, outside the measured window
    time.sleep(max(0.0, start_at - time.time()))
    # The loop is bounded by time and by count: at most the whole run's worth of slots.
    for _ in range(int((end_at - start_at) / interval) + 1):
        if ratelimit.wait_turn(bucket, interval) >= end_at:
            break
        session.get(url, timeout=10).raise_for_status()
    return 0


if __name__ == "__main__":
    bucket, interval, start_at, end_at, url = sys.argv[1:6]
    sys.exit(main(bucket, float(interval), float(start_at), float(end_at), url))
