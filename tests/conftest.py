"""Fixtures of the tests that cross apps: Debian's chromium for the browser tests, a task cluster
to watch syncs in, and the notification tests' HTTP receiver.

The users, accounts, simulator and the fixtures that run jobs are the root conftest.py's.
"""

from collections.abc import Callable

import pytest

# The HTTP receiver a webhook channel is delivered to, from the notification tests.
from matches.notifications.tests.conftest import receiver  # noqa: F401
from tests.processes import Child

CHROMIUM = "/usr/bin/chromium"


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


@pytest.fixture
def sync_worker(start_cluster: Callable[..., Child]) -> None:
    """A task cluster on the test database and the simulator, for the browser tests.

    Steam is paced at one call a second so phase 1 lasts a few seconds and can be watched;
    details come from the (fast-paced) sequence endpoint and OpenDota, so phase 2 takes seconds.
    """
    start_cluster(
        DEMO_MODE="false",
        STEAM_API_MIN_INTERVAL="1.0",
        STEAM_SEQUENCE_MIN_INTERVAL="0.02",
        OPENDOTA_MIN_INTERVAL="0.02",
        SYNC_DETAIL_SOURCES="steam_sequence,opendota",
    )
