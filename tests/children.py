"""Real DotaSync processes (commands, the task cluster, gunicorn) on the test database.

The tests' side of tests.processes, which starts, waits for and stops the children: here
their environment points at the database and the simulator of the running test.
"""

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from matches.upstream.simulator import SimulatorHandle
from tests import processes


def test_database_url() -> str:
    """DATABASE_URL of the test database, for processes the test starts."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        if connection.is_in_memory_db():
            pytest.skip("child processes cannot share an in-memory SQLite test database")
        return f"sqlite:///{Path(db['NAME']).resolve()}"
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
        [
            sys.executable,
            str(processes.ROOT / "manage.py"),
            "collectstatic",
            "--noinput",
            "-v",
            "0",
        ],
        cwd=processes.ROOT,
        env={**os.environ, "STATIC_ROOT": root, "DEBUG": "0", "SECRET_KEY": settings.SECRET_KEY},
        check=True,
    )
    return root


def child_env(simulator: SimulatorHandle | None = None, **overrides: object) -> dict[str, str]:
    """The environment of a child that shares this test's database and simulator."""
    env = processes.child_env(
        DATABASE_URL=test_database_url(),
        SECRET_KEY=settings.SECRET_KEY,  # django-q signs queued tasks with it
        STATIC_ROOT=collected_static_root(),
        PARSE_DAILY_BUDGET=settings.PARSE_DAILY_BUDGET,  # as the test process has it
    )
    # Only the test process needs it (Playwright's event loop runs in the test's thread).
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    if simulator is not None:
        env.update(
            processes.upstream_env(
                simulator.base_url, simulator.opendota_url, simulator.state.config["api_key"]
            )
        )
    env.update({key: str(value) for key, value in overrides.items()})
    return env


# The advisory lock key of an account's running sync (syncjobs.locks): namespace, account.
LOCK_NAMESPACE = 0x44534E43


def lock_holder(account_id: int) -> int | None:
    """The PostgreSQL backend holding the account's sync lock: the connection of the worker
    running its job.

    Advisory locks belong to a database, but pg_locks lists the whole server's: the test runs
    of other work trees on the same server sync the same account ids in their own databases.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND classid = %s AND objid = %s",
            [LOCK_NAMESPACE, account_id],
        )
        row = cursor.fetchone()
    return row[0] if row else None
