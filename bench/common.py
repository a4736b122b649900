"""What every benchmark shares: the bench database, the simulator process, child processes.

The bench process itself runs Django against its own PostgreSQL database (never the test or
development one), and starts the simulator, syncs and web servers as separate processes, so
that none of them shares a GIL with another or with the measuring code. Starting, waiting for
and stopping them is tests.processes, which the tests use too.
"""

import contextlib
import math
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.processes import (
    Child,
    child_env,
    free_port,
    start_manage,
    stop,
    upstream_env,
    wait_for,
)

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/dotasync_bench"
SIM_KEY = "sim-key"
# Every wait for a child process is bounded, so a hung sync cannot hang the bench.
CHILD_TIMEOUT = 1800


@dataclass(frozen=True)
class Options:
    quick: bool  # smaller sizes and shorter runs
    big: bool  # benchmark 6's 50,000-match sync


@dataclass
class Row:
    """One line of the results table."""

    bench: str
    measure: str
    value: str
    target: str = ""
    verdict: str = ""


@dataclass
class Section:
    """What one benchmark reports: table rows and free-text notes."""

    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *args: str) -> None:
        self.rows.append(Row(*args))


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def setup_django() -> None:
    """Point Django at the bench database (created and migrated if needed) and set it up.

    Child processes inherit this process's environment, so they use the same database.
    """
    # Never DATABASE_URL: the benchmarks empty their database's tables between runs.
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dotasync.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["SYNC_SCHEDULE_INTERVAL_MINUTES"] = "0"
    # Its own cache, shared with the servers it starts: nothing kept for the bench database
    # mixes with what the site's own cache holds.
    os.environ["CACHE_DIR"] = tempfile.mkdtemp(prefix="dotasync-bench-cache-")
    _create_database(os.environ["DATABASE_URL"])

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    # Pages are served as in production: static names from collectstatic's manifest.
    call_command("collectstatic", interactive=False, verbosity=0)


def _create_database(url: str) -> None:
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    name = conninfo_to_dict(url)["dbname"]
    with psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def reset_data() -> None:
    """Empty the bench database's accounts, matches, jobs, pacing rows, users and sessions."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE matches_matchplayer, matches_accountmatch, matches_match, "
            "syncjobs_syncjob, matches_ratelimitslot, matches_steamaccount, "
            "django_session, auth_user CASCADE"
        )


def analyze() -> None:
    """What autovacuum would have done by the time anyone looks at bulk-made data: the
    planner's statistics (without them a plan can be tens of times slower: the completeness
    report took 2.9 s instead of 60-88 ms, the match list 103 ms instead of 62 a page)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


class Simulator:
    """`manage.py steam_simulator` in its own process, driven through its /_sim/ endpoints."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.opendota_url = self.base_url + "/api"
        self.session = requests.Session()
        self.process: Child | None = None

    def start(self) -> None:
        self.process = start_manage(
            "steam_simulator", "--host", "127.0.0.1", "--port", str(self.port), env=child_env()
        )
        wait_for(self._up, 30, "the simulator to listen")

    def _up(self) -> bool:
        try:
            return self.session.get(self.base_url + "/_sim/config", timeout=1).ok
        except requests.ConnectionError:
            return False

    def configure(self, **config: Any) -> dict[str, Any]:
        response = self.session.post(self.base_url + "/_sim/config", json=config, timeout=30)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        """Forget the counters and the request log (the config stays)."""
        self.session.post(self.base_url + "/_sim/reset", json={}, timeout=30).raise_for_status()

    def stats(self) -> dict[str, Any]:
        response = self.session.get(self.base_url + "/_sim/stats", timeout=60)
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


@contextlib.contextmanager
def simulator() -> Iterator[Simulator]:
    sim = Simulator()
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


def sync_env(sim: Simulator, **overrides: object) -> dict[str, str]:
    """A sync child's environment: both upstreams are the simulator."""
    return child_env(**{**upstream_env(sim.base_url, sim.opendota_url, SIM_KEY), **overrides})


@dataclass
class ChildRun:
    returncode: int
    wall_seconds: float
    peak_rss_mb: float
    cpu_seconds: float  # user + system time of the child itself
    output: str


def run_manage(*args: str, env: dict[str, str], timeout: float = CHILD_TIMEOUT) -> ChildRun:
    """Run a manage.py command to its end (through bench.peak, which reports its peak RSS)."""
    with tempfile.NamedTemporaryFile(prefix="bench-peak-") as peak_file:
        started = time.perf_counter()
        process = Child(
            sys.executable,
            *("-m", "bench.peak", *args),
            env={**env, "BENCH_PEAK_FILE": peak_file.name},
        )
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                stop(process, signal.SIGKILL)
                raise TimeoutError(f"manage.py {' '.join(args)} ran longer than {timeout} s")
            time.sleep(0.05)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        peak = float(Path(peak_file.name).read_text() or "nan")
    cpu = usage.ru_utime + usage.ru_stime
    return ChildRun(process.returncode, wall, peak, cpu, process.output())


def sync(sim: Simulator, command: str, account_id: int, *args: str, **env: object):
    """Run `sync_matches`/`backfill_matches` in a child process; returns (ChildRun, the job)."""
    from syncjobs.models import SyncJob

    run = run_manage(command, str(account_id), *args, "--json", env=sync_env(sim, **env))
    job = SyncJob.objects.filter(account__account_id=account_id).order_by("-pk").first()
    if run.returncode != 0 or job is None:
        raise RuntimeError(f"{command} {account_id} exited {run.returncode}:\n{run.output[-3000:]}")
    return run, job


def job_seconds(job) -> float:
    return (job.finished_at - job.started_at).total_seconds()


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p99 of 1,000 samples is the 990th smallest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def median(values: list[float]) -> float:
    return statistics.median(values)
