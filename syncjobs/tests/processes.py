"""Run real DotaSync processes (commands, the task cluster) against the test database."""

import atexit
import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def test_database_url() -> str:
    """DATABASE_URL of the test database, for processes the test starts."""
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        pytest.skip("child processes need the PostgreSQL test database")
    credentials = quote(db["USER"] or "postgres", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return (
        f"postgresql://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


@functools.cache
def collected_static_root() -> str:
    """A STATIC_ROOT filled by `collectstatic` once per test session.

    A child runs without DEBUG, so the pages it renders name static files through
    collectstatic's manifest, as in production.
    """
    root = tempfile.mkdtemp(prefix="dotasync-static-")
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, "STATIC_ROOT": root, "DEBUG": "0", "SECRET_KEY": settings.SECRET_KEY},
        check=True,
    )
    return root


def child_env(simulator=None, **overrides: object) -> dict[str, str]:
    """The environment of a child process that shares this test's database and simulator."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=test_database_url(),
        SECRET_KEY=settings.SECRET_KEY,  # django-q signs queued tasks with it
        STATIC_ROOT=collected_static_root(),
        SYNC_SCHEDULE_INTERVAL_MINUTES="0",
        STEAM_API_MIN_INTERVAL="0",
        STEAM_SEQUENCE_MIN_INTERVAL="0",
        OPENDOTA_MIN_INTERVAL="0",
        PYTHONUNBUFFERED="1",
    )
    if simulator is not None:
        env.update(
            STEAM_API_KEY=simulator.state.config["api_key"],
            STEAM_API_BASE_URL=simulator.base_url,
            OPENDOTA_API_BASE_URL=simulator.opendota_url,
        )
    env.update({key: str(value) for key, value in overrides.items()})
    return env


def manage(*args: str, env: dict[str, str], **popen: object) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **popen,
    )


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Stop a child and everything it started."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
