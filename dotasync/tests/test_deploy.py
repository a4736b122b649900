"""Production mode's files: make serve, Procfile.serve, gunicorn's settings, systemd units."""

import os
import runpy
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from dotasync.tests.test_settings import variables_read_by_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = {"web": DEPLOY / "dotasync-web.service", "worker": DEPLOY / "dotasync-cluster.service"}
INSTALL_DIR = "/opt/dotasync"
# The keys the units may use, per section (systemd.unit(5), systemd.service(5), systemd.exec(5),
# systemd.kill(5)): a misspelt key is only a warning to systemd, and then silently ignored.
KNOWN_KEYS = {
    "Unit": {"Description", "Documentation", "After", "Before", "Wants", "Requires", "BindsTo"},
    "Service": {
        "Type",
        "NotifyAccess",
        "User",
        "Group",
        "WorkingDirectory",
        "Environment",
        "EnvironmentFile",
        "StateDirectory",
        "LogsDirectory",
        "CacheDirectory",
        "ExecStartPre",
        "ExecStart",
        "ExecReload",
        "KillMode",
        "TimeoutStartSec",
        "TimeoutStopSec",
        "Restart",
        "RestartSec",
        "NoNewPrivileges",
        "PrivateTmp",
        "PrivateDevices",
        "ProtectSystem",
        "ProtectHome",
        "ProtectKernelTunables",
        "ProtectControlGroups",
    },
    "Install": {"WantedBy"},
}


def parse_unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """A unit file's sections as (key, value) lists; keys may repeat, as systemd allows."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            assert current not in sections, f"{path.name}:{number}: [{current}] twice"
            sections[current] = []
            continue
        assert current is not None, f"{path.name}:{number}: a setting before any section"
        key, equals, value = line.partition("=")
        assert equals, f"{path.name}:{number}: not a key=value line: {raw!r}"
        assert not line.endswith("\\"), f"{path.name}:{number}: continued lines are not expected"
        sections[current].append((key.strip(), value.strip()))
    return sections


def values(unit: dict[str, list[tuple[str, str]]], section: str, key: str) -> list[str]:
    return [value for name, value in unit.get(section, []) if name == key]


def procfile_commands() -> dict[str, list[str]]:
    lines = (ROOT / "Procfile.serve").read_text().splitlines()
    return {name: shlex.split(command) for name, _, command in (ln.partition(":") for ln in lines)}


def test_make_serve_refuses_to_start_without_a_secret_key_and_says_how_to_make_one():
    env = {key: value for key, value in os.environ.items() if key != "SECRET_KEY"}

    done = subprocess.run(
        ["make", "--no-print-directory", "serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode != 0
    assert "make serve needs SECRET_KEY" in done.stderr
    # The suggested command really makes a key.
    suggested = done.stderr.split('SECRET_KEY="$(', 1)[1].split(')"', 1)[0]
    made = subprocess.run(shlex.split(suggested), capture_output=True, text=True, check=True)
    assert len(made.stdout.strip()) >= 50
    # Nothing ran: no migration, no server.
    assert "migrate" not in done.stdout


@pytest.mark.parametrize(
    ("env", "workers", "bind"),
    [
        ({}, min(2 * len(os.sched_getaffinity(0)) + 1, 8), ["127.0.0.1:8000"]),
        ({"WEB_CONCURRENCY": "3", "WEB_BIND": "0.0.0.0:9000"}, 3, ["0.0.0.0:9000"]),
    ],
)
def test_gunicorn_workers_come_from_the_cpu_count_unless_set(monkeypatch, env, workers, bind):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("WEB_BIND", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    config = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))

    assert config["workers"] == workers
    assert config["bind"] == bind
    assert config["preload_app"] is True
    assert config["control_socket_disable"] is True


@pytest.mark.parametrize("value", ["many", "0"])
def test_a_bad_worker_count_is_refused_by_name(monkeypatch, value):
    monkeypatch.setenv("WEB_CONCURRENCY", value)

    with pytest.raises(ImproperlyConfigured, match="WEB_CONCURRENCY"):
        runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))


@pytest.mark.parametrize("process", sorted(UNITS))
def test_systemd_units_parse_and_run_what_make_serve_runs(process):
    unit = parse_unit(UNITS[process])

    assert set(unit) == {"Unit", "Service", "Install"}
    for section, settings in unit.items():
        unknown = {key for key, _ in settings} - KNOWN_KEYS[section]
        assert not unknown, f"{UNITS[process].name} [{section}] has unknown keys {unknown}"
    assert values(unit, "Service", "WorkingDirectory") == [INSTALL_DIR]
    assert values(unit, "Service", "User") == ["dotasync"]
    assert values(unit, "Service", "EnvironmentFile") == ["/etc/dotasync/dotasync.env"]
    assert values(unit, "Install", "WantedBy") == ["multi-user.target"]

    # The same command as make serve's Procfile, from the install directory's virtualenv.
    (start,) = values(unit, "Service", "ExecStart")
    program, *arguments = shlex.split(start)
    expected_program, *expected_arguments = procfile_commands()[process]
    assert program == f"{INSTALL_DIR}/.venv/bin/{expected_program}"
    assert arguments == expected_arguments
    for command in [start, *values(unit, "Service", "ExecStartPre")]:
        program, *arguments = shlex.split(command)
        assert (Path(sys.executable).parent / Path(program).name).exists(), program
        files = [arg for arg in arguments if arg.endswith((".py", ".conf.py"))]
        assert all((ROOT / name).is_file() for name in files), files

    # Its defaults are settings DotaSync reads.
    defaults = [value.partition("=")[0] for value in values(unit, "Service", "Environment")]
    assert set(defaults) <= variables_read_by_settings()
    # ProtectSystem=strict leaves writable only the directories systemd makes for the unit.
    assert "CACHE_DIR=/var/cache/dotasync" in values(unit, "Service", "Environment")
    assert values(unit, "Service", "CacheDirectory") == ["dotasync"]


def test_the_web_unit_migrates_and_collects_static_files_before_gunicorn_starts():
    web = parse_unit(UNITS["web"])

    before = [shlex.split(command)[2:4] for command in values(web, "Service", "ExecStartPre")]

    assert ["migrate", "--noinput"] in before
    assert ["collectstatic", "--noinput"] in before
    # gunicorn tells systemd when it is ready, so the cluster starts after the migrations.
    assert values(web, "Service", "Type") == ["notify"]
    cluster = parse_unit(UNITS["worker"])
    assert "dotasync-web.service" in " ".join(values(cluster, "Unit", "After")).split()


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_analyze_verifies_the_units(tmp_path):
    # systemd checks that the programs exist: point the units at this checkout.
    venv = Path(sys.executable).parent.parent
    for unit in UNITS.values():
        text = unit.read_text().replace(f"{INSTALL_DIR}/.venv", str(venv))
        (tmp_path / unit.name).write_text(text.replace(INSTALL_DIR, str(ROOT)))

    done = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / unit.name) for unit in UNITS.values())],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    # Warnings (an unknown key, an unsafe setting) do not change the exit code.
    assert done.stdout + done.stderr == ""
