"""Fixtures shared by every app's tests."""

from collections.abc import Iterator

import pytest

from matches.simulator import SimulatorHandle, run_simulator


@pytest.fixture(autouse=True)
def _static_files_without_collectstatic(settings) -> None:
    """Pages render with plain static names: tests do not run `collectstatic`.

    Production's storage (hashed names from collectstatic's manifest) refuses to name a file
    it has no manifest entry for; the tests that serve the site the production way run
    collectstatic themselves.
    """
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def simulator(settings) -> Iterator[SimulatorHandle]:
    """A running Steam/OpenDota simulator, with Django's upstream settings pointing at it.

    Rate-limit intervals are 0 so tests never wait; configure faults through
    `simulator.state.configure(...)`.
    """
    with run_simulator() as sim:
        settings.STEAM_API_KEY = sim.state.config["api_key"]
        settings.STEAM_API_BASE_URL = sim.base_url
        settings.OPENDOTA_API_BASE_URL = sim.opendota_url
        settings.STEAM_API_MIN_INTERVAL = 0
        settings.STEAM_SEQUENCE_MIN_INTERVAL = 0
        settings.OPENDOTA_MIN_INTERVAL = 0
        yield sim
