"""What every app's tests share: the simulator, the users and accounts most tests use, test
isolation (password hashing, the cache), hypothesis's profile and the database markers.

Each app's tests/conftest.py adds the fixtures only its own tests use, and tests/conftest.py
those of the tests that cross apps.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connection
from django.test import Client, override_settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient

from matches.identity import api_tokens
from matches.models import SteamAccount
from matches.tests.match_builders import ACCOUNT_ID, OTHERS_ACCOUNT_ID, PASSWORD, make_account
from matches.upstream.simulator import SimulatorHandle, run_simulator

# The fixtures that run sync jobs (the simulator's histories, real task clusters, dying workers):
# the engine's tests, the notification tests and the tests that cross apps (tests/) use them.
pytest_plugins = ["syncjobs.tests.fixtures"]

# Property-based tests draw the same examples on every run, so a run never fails by chance;
# HYPOTHESIS_PROFILE=random searches new ones. No deadline: a loaded machine is slow, not wrong.
_HYPOTHESIS_COMMON = {
    "deadline": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow],
}
hypothesis_settings.register_profile("derandomized", derandomize=True, **_HYPOTHESIS_COMMON)
hypothesis_settings.register_profile("random", **_HYPOTHESIS_COMMON)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "derandomized"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Outside PostgreSQL, skip the tests marked postgresql_only, saying why."""
    if connection.vendor == "postgresql":
        return
    for item in items:
        if marker := item.get_closest_marker("postgresql_only"):
            item.add_marker(pytest.mark.skip(reason=f"PostgreSQL only: {marker.kwargs['reason']}"))


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """A SQLite test database starts without the WAL of an earlier run that was cut short.

    Django deletes the old database file, but SQLite would replay a -wal file left beside it
    into the new one.
    """
    database = django_settings.DATABASES["default"]
    test_name = database.get("TEST", {}).get("NAME")
    if database["ENGINE"].endswith("sqlite3") and test_name:
        for suffix in ("-wal", "-shm"):
            Path(test_name + suffix).unlink(missing_ok=True)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # The default hasher is slow on purpose (a quarter of a second a password); tests check
    # what happens around a password, not the hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def _cache_of_this_test_process(tmp_path_factory) -> Iterator[None]:
    # The cache is a directory shared by the machine's processes (CACHE_DIR). Test processes
    # running at once (xdist workers, the SQLite run) each get their own, shared with the
    # children they start (web servers, clusters), so no test clears another's cache.
    own = tmp_path_factory.mktemp("cache")
    caches = {"default": {**django_settings.CACHES["default"], "LOCATION": own}}
    with pytest.MonkeyPatch.context() as patch, override_settings(CACHES=caches):
        patch.setenv("CACHE_DIR", str(own))
        yield


@pytest.fixture(autouse=True)
def _fresh_cache(_cache_of_this_test_process) -> Iterator[None]:
    # The API's throttles and the kept stats views live in the cache: no test inherits them.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _no_parse_work_unless_asked(settings) -> None:
    """Syncs ask OpenDota for no parse (PARSE_DAILY_BUDGET 0) unless a test sets a budget:
    the sync tests count OpenDota's calls, and the parse step's calls are its own tests'."""
    settings.PARSE_DAILY_BUDGET = 0


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


@pytest.fixture
def stratz(simulator, settings) -> SimulatorHandle:
    """The simulator's STRATZ switched on: its token, its endpoint, no pacing, its default
    tier's limits but the per-second one (tests call faster than 20 a second), and STRATZ at
    the end of both source lists as a token puts it there."""
    simulator.state.configure(stratz_limits={"second": 0, "minute": 0, "hour": 0, "day": 10_000})
    settings.STRATZ_API_TOKEN = simulator.state.config["stratz_token"]
    settings.STRATZ_API_BASE_URL = simulator.stratz_url
    settings.STRATZ_MIN_INTERVAL = 0
    settings.SYNC_ID_SOURCES = [*settings.SYNC_ID_SOURCES, "stratz"]
    settings.SYNC_DETAIL_SOURCES = [*settings.SYNC_DETAIL_SOURCES, "stratz"]
    return simulator


@pytest.fixture
def user(db, django_user_model):
    """alice, who signs in with PASSWORD."""
    return django_user_model.objects.create_user("alice", password=PASSWORD)


@pytest.fixture
def other_user(db, django_user_model):
    """bob, who must never see alice's data."""
    return django_user_model.objects.create_user("bob", password=PASSWORD)


@pytest.fixture
def account(user) -> SteamAccount:
    """alice's Steam account ACCOUNT_ID, the one most tests sync and show."""
    return make_account(ACCOUNT_ID, owner=user, persona_name="Alice")


@pytest.fixture
def others_account(other_user) -> SteamAccount:
    """bob's Steam account OTHERS_ACCOUNT_ID."""
    return make_account(OTHERS_ACCOUNT_ID, owner=other_user)


@pytest.fixture
def signed_in(client, user) -> Client:
    """The web client, signed in as alice."""
    client.force_login(user)
    return client


@pytest.fixture
def api(user) -> APIClient:
    """A REST API client with alice's token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_tokens.create_token(user)}")
    return client
