"""Settings come from the environment; a bad value must stop the process at start-up."""

import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db.utils import ConnectionHandler

from dotasync import env

REPO_ROOT = Path(__file__).resolve().parents[2]
SETTINGS_FILE = REPO_ROOT / "dotasync" / "settings.py"
SETTINGS_SOURCE = SETTINGS_FILE.read_text()


def variables_read_by_settings() -> set[str]:
    return set(re.findall(r"\benv_\w+\(\s*\"([A-Z0-9_]+)\"", SETTINGS_SOURCE)) | set(
        re.findall(r"database_from_env\(\s*\"([A-Z0-9_]+)\"", SETTINGS_SOURCE)
    )


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """Only what a test sets: none of the caller's configuration leaks in."""
    for name in variables_read_by_settings():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    monkeypatch.setenv("LOG_DIR", str(tmp_path / "logs"))
    return monkeypatch


def load_settings() -> dict:
    """Execute dotasync/settings.py afresh, without touching the settings this test runs on."""
    return runpy.run_path(str(SETTINGS_FILE), run_name="settings_under_test")


def test_the_parser_finds_the_variables():
    found = variables_read_by_settings()

    assert {"DATABASE_URL", "SECRET_KEY", "DEBUG", "STEAM_API_KEY", "LOG_LEVEL"} <= found
    assert len(found) > 20


def test_the_readme_table_lists_exactly_the_variables_settings_read():
    readme = (REPO_ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]

    documented = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", table, flags=re.MULTILINE))

    read = variables_read_by_settings()
    assert documented == read, (
        f"README.md's Configuration table is missing {sorted(read - documented)} "
        f"and documents unknown {sorted(documented - read)}"
    )


def test_defaults_load(clean_env):
    loaded = load_settings()

    assert loaded["DEBUG"] is False
    assert loaded["STEAM_API_MIN_INTERVAL"] == 1.0
    assert loaded["SYNC_DETAIL_SOURCES"] == ["steam_details", "steam_sequence", "opendota"]
    assert loaded["Q_CLUSTER"]["orm"] == "default"
    assert "redis" not in loaded["Q_CLUSTER"]
    assert loaded["Q_CLUSTER"]["retry"] > loaded["Q_CLUSTER"]["timeout"]
    assert loaded["TIME_ZONE"] == "UTC"
    assert loaded["CACHES"]["default"]["BACKEND"].endswith("FileBasedCache")
    assert loaded["CACHES"]["default"]["LOCATION"] == REPO_ROOT / "cache"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://dotasync@127.0.0.1/dotasync"),
        ("DATABASE_URL", "redis://127.0.0.1:6379/0"),
        ("DATABASE_URL", "not a url"),
        ("STEAM_API_MIN_INTERVAL", "fast"),
        ("STEAM_API_MIN_INTERVAL", "-1"),
        ("OPENDOTA_MIN_INTERVAL", "nan"),
        ("UPSTREAM_READ_TIMEOUT", "0"),
        ("LOG_LEVEL", "LOUD"),
        ("DEBUG", "maybe"),
        ("SYNC_DETAIL_SOURCES", "steam_details,dotabuff"),
        ("SYNC_ID_SOURCES", "steam_history,dotabuff"),
        ("SYNC_MAX_ATTEMPTS", "0"),
        ("Q_WORKERS", "two"),
        ("Q_SYNC", "sometimes"),
        ("TIME_ZONE", "Mars/Olympus"),
        ("TIME_ZONE", "CEST"),
        ("TIME_ZONE", "../../etc/passwd"),
        ("HEALTH_CLUSTER_TIMEOUT", "0"),
        ("HEALTH_PENDING_MAX_AGE", "soon"),
        ("MAX_ACCOUNTS_PER_USER", "ten"),
        ("MAX_ACTIVE_JOBS_PER_USER", "-1"),
    ],
)
def test_a_bad_value_is_improperly_configured_and_named(clean_env, name, value):
    clean_env.setenv(name, value)

    with pytest.raises(ImproperlyConfigured, match=name):
        load_settings()


def test_secret_key_is_required_when_debug_is_off(clean_env):
    clean_env.delenv("SECRET_KEY")

    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY") as refused:
        load_settings()
    # The message says how to make one.
    assert "secrets.token_urlsafe" in str(refused.value)


def test_debug_runs_without_a_secret_key(clean_env):
    clean_env.delenv("SECRET_KEY")
    clean_env.setenv("DEBUG", "1")

    loaded = load_settings()

    assert loaded["DEBUG"] is True
    assert loaded["SECRET_KEY"]


def test_values_are_parsed(clean_env):
    clean_env.setenv("DEBUG", "yes")
    clean_env.setenv("STEAM_API_MIN_INTERVAL", "0.05")
    clean_env.setenv("LOG_LEVEL", "debug")
    clean_env.setenv("ALLOWED_HOSTS", "dota.example, 10.0.0.2 ,")
    clean_env.setenv("SYNC_DETAIL_SOURCES", "opendota")
    clean_env.setenv("STEAM_API_BASE_URL", "http://127.0.0.1:8765/")
    clean_env.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    clean_env.setenv("TIME_ZONE", " America/Sao_Paulo ")

    loaded = load_settings()

    assert loaded["DEBUG"] is True
    assert loaded["STEAM_API_MIN_INTERVAL"] == 0.05
    assert loaded["LOG_LEVEL"] == "DEBUG"
    assert loaded["ALLOWED_HOSTS"] == ["dota.example", "10.0.0.2"]
    assert loaded["SYNC_DETAIL_SOURCES"] == ["opendota"]
    assert loaded["STEAM_API_BASE_URL"] == "http://127.0.0.1:8765"
    assert loaded["Q_CLUSTER"]["redis"] == "redis://127.0.0.1:6379/0"
    assert "orm" not in loaded["Q_CLUSTER"]
    assert loaded["TIME_ZONE"] == "America/Sao_Paulo"


def test_postgresql_url(clean_env):
    clean_env.setenv("DATABASE_URL", "postgresql://dota:pw@db.example:6543/sync")

    database = load_settings()["DATABASES"]["default"]

    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["NAME"], database["HOST"], database["PORT"]) == ("sync", "db.example", 6543)


def test_sqlite_by_default_with_busy_timeout_immediate_transactions_and_wal(
    clean_env, tmp_path, django_db_blocker
):
    database = load_settings()["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert Path(database["NAME"]) == REPO_ROOT / "dotasync.sqlite3"

    connections = ConnectionHandler({"default": {**database, "NAME": str(tmp_path / "db.sqlite3")}})
    connection = connections["default"]
    with django_db_blocker.unblock():
        try:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA journal_mode")
                assert cursor.fetchone()[0] == "wal"
                cursor.execute("PRAGMA busy_timeout")
                assert cursor.fetchone()[0] == 30_000
            assert connection.transaction_mode == "IMMEDIATE"
        finally:
            connection.close()


def test_a_sqlite_test_database_is_a_file_beside_the_database(clean_env, tmp_path):
    """The processes a test starts must see its data, which an in-memory database hides."""
    clean_env.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'sync.sqlite3'}")
    assert load_settings()["DATABASES"]["default"]["TEST"] == {
        "NAME": str(tmp_path / "test_sync.sqlite3")
    }

    clean_env.setenv("DATABASE_URL", "sqlite://:memory:")
    assert "TEST" not in load_settings()["DATABASES"]["default"]


# --- the readers on their own -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("TRUE", True), (" on ", True), ("0", False), ("off", False), ("", False)],
)
def test_env_bool(monkeypatch, raw, expected):
    monkeypatch.setenv("DOTASYNC_TEST_FLAG", raw)

    assert env.env_bool("DOTASYNC_TEST_FLAG", not expected) is expected


def test_unset_and_blank_numbers_use_the_default(monkeypatch):
    monkeypatch.delenv("DOTASYNC_TEST_NUMBER", raising=False)
    assert env.env_float("DOTASYNC_TEST_NUMBER", 2.5) == 2.5
    monkeypatch.setenv("DOTASYNC_TEST_NUMBER", "  ")
    assert env.env_int("DOTASYNC_TEST_NUMBER", 7) == 7


@pytest.mark.parametrize("raw", ["1.5", "-3", "x"])
def test_env_int_rejects_non_integers_and_values_below_the_minimum(monkeypatch, raw):
    monkeypatch.setenv("DOTASYNC_TEST_NUMBER", raw)

    with pytest.raises(ImproperlyConfigured, match="DOTASYNC_TEST_NUMBER"):
        env.env_int("DOTASYNC_TEST_NUMBER", 1, minimum=0)


def run_python(code: str, child_env: dict[str, str]) -> subprocess.CompletedProcess:
    """`code` in a new Python process in the repository, as manage.py or the cluster starts."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_unparseable_setting_stops_django_setup_with_a_clear_message(tmp_path):
    """The whole start-up path, as `manage.py` or the cluster would run it."""
    child_env = {
        key: value for key, value in os.environ.items() if key not in variables_read_by_settings()
    }
    child_env.update(
        DJANGO_SETTINGS_MODULE="dotasync.settings",
        SECRET_KEY="test-secret",
        LOG_DIR=str(tmp_path),
        STEAM_API_MIN_INTERVAL="one second",
    )

    done = run_python("import django; django.setup()", child_env)

    assert done.returncode != 0
    assert "ImproperlyConfigured: STEAM_API_MIN_INTERVAL must be a number" in done.stderr


def test_the_cache_is_shared_by_the_processes_of_the_machine(tmp_path):
    """A sign-in lockout counted by one web worker holds in the others, and a stats view
    computed by one serves them all: the cache is one directory, not each process's memory."""
    cache.set("signin-failures-alice", 5)
    child_env = dict(os.environ, DJANGO_SETTINGS_MODULE="dotasync.settings", LOG_DIR=str(tmp_path))
    read = (
        "import django; django.setup(); from django.core.cache import cache; "
        "print(cache.get('signin-failures-alice')); cache.set('computed-by', 'the child')"
    )

    done = run_python(read, child_env)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "5"
    assert cache.get("computed-by") == "the child"
