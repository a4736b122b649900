"""Start DotaSync's own processes as children, wait for them and stop them.

What the tests (tests/children.py) and the benchmarks (bench/common.py) share. Each
child runs in a session of its own, so that stopping it can also stop whatever it started, and
writes its output to a file: a pipe that nobody reads fills up and blocks the child. Needs
neither pytest nor a configured Django.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACING_VARIABLES = (
    "STEAM_API_MIN_INTERVAL",
    "STEAM_SEQUENCE_MIN_INTERVAL",
    "OPENDOTA_MIN_INTERVAL",
    "STRATZ_MIN_INTERVAL",
)
# How long a child may take to stop on its own before it and its group are killed.
STOP_GRACE_SECONDS = 15


def child_env(**overrides: object) -> dict[str, str]:
    """This process's environment for a child: no pacing, no hourly schedule, unbuffered
    output; then `overrides`."""
    env = dict(os.environ)
    env.update(dict.fromkeys(PACING_VARIABLES, "0"))
    env.update(PYTHONUNBUFFERED="1", SYNC_SCHEDULE_INTERVAL_MINUTES="0")
    env.update({key: str(value) for key, value in overrides.items()})
    return env


def upstream_env(steam_url: str, opendota_url: str, api_key: str) -> dict[str, str]:
    """The variables that point a child's Steam and OpenDota clients at a simulator; STRATZ
    is off (a token in this process's environment must not reach the real STRATZ) unless the
    caller points it at the simulator too."""
    return {
        "STEAM_API_KEY": api_key,
        "STEAM_API_BASE_URL": steam_url,
        "OPENDOTA_API_BASE_URL": opendota_url,
        "STRATZ_API_TOKEN": "",
    }


class Child(subprocess.Popen):
    """A child in a session of its own; stdout and stderr go to `log`, or to a temporary file."""

    def __init__(self, *argv: str, env: dict[str, str], log: Path | None = None) -> None:
        # Open as long as the child object lives: output() reads it after the child ended.
        self.log_file = log.open("a+b") if log is not None else tempfile.TemporaryFile()  # noqa: SIM115
        super().__init__(
            argv,
            cwd=ROOT,
            env=env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        """What the child has written so far (read without moving the offset it writes at)."""
        fd = self.log_file.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")


def start_manage(*args: str, env: dict[str, str], log: Path | None = None) -> Child:
    """`manage.py ARGS` as a child (see Child)."""
    return Child(sys.executable, str(ROOT / "manage.py"), *args, env=env, log=log)


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Stop a child and everything it started.

    A graceful `sig` goes to the child alone, which stops its own children in order: django-q's
    cluster never ends when every process of its group gets SIGTERM at once. Whatever is left
    of the group once the child has ended, or after STOP_GRACE_SECONDS, is killed. SIGKILL
    goes to the whole group at once.
    """
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            if sig == signal.SIGKILL:
                os.killpg(process.pid, signal.SIGKILL)
            else:
                process.send_signal(sig)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_GRACE_SECONDS)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=STOP_GRACE_SECONDS)


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `condition` until it returns something true, and return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
