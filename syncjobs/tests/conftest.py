"""Fixtures of the browser tests: Debian's chromium, and a real task worker on the test database."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django_q.models import Schedule

from matches.simulator import SimulatorHandle

CHROMIUM = "/usr/bin/chromium"
WORKER_STOP_TIMEOUT = 10


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    # Playwright cannot download its own browser here; Debian's chromium runs as root in CI.
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
        ],
    }


def _test_database_url() -> str:
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        pytest.skip("the worker process needs the PostgreSQL test database")
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return (
        f"postgresql://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


@pytest.fixture
def sync_worker(transactional_db, simulator: SimulatorHandle, tmp_path: Path) -> Iterator[None]:
    """`manage.py qcluster` in its own process group, on the test database and the simulator.

    Steam is paced at one call a second so phase 1 lasts a few seconds and can be watched;
    details come from the (fast-paced) sequence endpoint and OpenDota, so phase 2 takes seconds.
    """
    # The post-migrate schedule would start syncs of its own the moment the cluster starts.
    Schedule.objects.all().delete()
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "DEMO_MODE": "false",
        "STEAM_API_KEY": simulator.state.config["api_key"],
        "STEAM_API_BASE_URL": simulator.base_url,
        "OPENDOTA_API_BASE_URL": simulator.opendota_url,
        "STEAM_API_MIN_INTERVAL": "1.0",
        "STEAM_SEQUENCE_MIN_INTERVAL": "0.02",
        "OPENDOTA_MIN_INTERVAL": "0.02",
        "SYNC_DETAIL_SOURCES": "steam_sequence,opendota",
        "Q_WORKERS": "1",
        "LOG_DIR": str(tmp_path),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=(tmp_path / "worker.out").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield
    finally:
        _stop(worker)


def _stop(worker: subprocess.Popen) -> None:
    """SIGTERM the whole group (the cluster forks its workers), SIGKILL what lingers."""
    with suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGTERM)
    deadline = time.monotonic() + WORKER_STOP_TIMEOUT
    while worker.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    with suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=WORKER_STOP_TIMEOUT)
