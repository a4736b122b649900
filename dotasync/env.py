"""Typed readers for settings that come from the environment.

Every reader raises ImproperlyConfigured naming the variable when its value
cannot be used, so a typo in a deployment stops the process at start-up
instead of surfacing as odd behaviour hours later.
"""

import os
import zoneinfo
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false/1/0), got {raw!r}")


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None
    if value != value or value < minimum:  # NaN compares unequal to itself
        raise ImproperlyConfigured(f"{name} must be a number >= {minimum}, got {raw!r}")
    return value


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be >= {minimum}, got {raw!r}")
    return value


def env_list(name: str, default: list[str], *, allowed: set[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    items = [item.strip() for item in raw.split(",") if item.strip()]
    if allowed is not None:
        unknown = [item for item in items if item not in allowed]
        if unknown:
            raise ImproperlyConfigured(
                f"{name} has unknown entries {unknown}; allowed: {sorted(allowed)}"
            )
    return items


def env_choice(name: str, default: str, choices: set[str]) -> str:
    value = env_str(name, default).upper()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def env_time_zone(name: str, default: str) -> str:
    """An IANA time zone name ("Europe/Berlin"), checked against the zone database."""
    value = env_str(name, default)
    if value not in zoneinfo.available_timezones():
        raise ImproperlyConfigured(
            f"{name} must be an IANA time zone name such as UTC or Europe/Berlin, got {value!r}"
        )
    return value


def database_from_env(name: str, default_sqlite_path: Path) -> dict[str, Any]:
    """DATABASE_URL as a Django DATABASES entry; a SQLite file by default.

    SQLite gets a busy timeout, IMMEDIATE transactions and WAL so the web
    process and the task cluster can write to one file without
    "database is locked" errors.
    """
    url = env_str(name) or f"sqlite:///{default_sqlite_path}"
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except (ValueError, KeyError) as exc:
        raise ImproperlyConfigured(f"{name} is not a usable database URL: {exc}") from None
    engine = config.get("ENGINE", "")
    if engine == "django.db.backends.sqlite3":
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        if config["NAME"] and config["NAME"] != ":memory:":
            # Django would test in memory, where the processes a test starts cannot see the
            # data: test in a file beside the database, named like PostgreSQL's test database.
            path = Path(config["NAME"]).resolve()
            config["TEST"] = {"NAME": str(path.with_name(f"test_{path.name}"))}
    elif engine != "django.db.backends.postgresql":
        raise ImproperlyConfigured(
            f"{name} must be a sqlite:/// or postgresql:// URL, got engine {engine!r}"
        )
    return config
