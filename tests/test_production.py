"""`make serve` for real: gunicorn with DEBUG off, WhiteNoise's static files, the task cluster, in
Debian's chromium; then /healthz, and the cluster stopped."""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.conf import global_settings, settings
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, Response, expect

from matches.upstream.simulator import SimulatorHandle
from syncjobs.models import JobStatus, SupervisorRun, SyncJob
from tests.children import child_env
from tests.processes import stop, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ACCOUNT_ID = 86745912
MATCHES = 300
PASSWORD = "a-long-browser-password"
PHASE_TIMEOUT_MS = 30_000
CLUSTER_TIMEOUT = 8  # HEALTH_CLUSTER_TIMEOUT of the site under test, in seconds
HASHED = r"\.[0-9a-f]{12}\."
# make serve's stylesheet colours the page (var(--bg) in app.css).
PAGE_BACKGROUND = "rgb(15, 19, 24)"


@dataclass
class Site:
    url: str
    cluster_group: int  # the task cluster's process group (honcho gives each process its own)


@pytest.fixture
def production_site(transactional_db, simulator: SimulatorHandle, tmp_path: Path) -> Iterator[Site]:
    """`make serve` on a free port, against the test database and the simulator.

    Steam is paced at one call a second so phase 1 lasts a few seconds and can be watched.
    The caller's DEBUG=1 must not matter: make serve turns it off.
    """
    port = free_port()
    env = child_env(
        simulator,
        DEBUG="1",
        DEMO_MODE="false",
        STEAM_API_MIN_INTERVAL="1.0",
        STEAM_SEQUENCE_MIN_INTERVAL="0.02",
        OPENDOTA_MIN_INTERVAL="0.02",
        SYNC_DETAIL_SOURCES="steam_sequence,opendota",
        Q_WORKERS="1",
        WEB_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
        # Plain HTTP here: the cookies must not be HTTPS-only (README, Deploy).
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        HEALTH_CLUSTER_TIMEOUT=str(CLUSTER_TIMEOUT),
        STATIC_ROOT=str(tmp_path / "static"),
        LOG_DIR=str(tmp_path),
    )
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    log = tmp_path / "serve.log"
    serve = subprocess.Popen(
        ["make", "--no-print-directory", "serve", f"VENV={sys.prefix}"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    cluster_group = None
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(url + "/healthz") or serve.poll() is not None, 120, "gunicorn")
        assert serve.poll() is None, log.read_text()
        started = wait_for(
            lambda: re.search(r"worker\.1 started \(pid=(\d+)\)", log.read_text()), 30, "cluster"
        )
        cluster_group = int(started.group(1))
        yield Site(url=url, cluster_group=cluster_group)
    finally:
        if cluster_group is not None:
            # A stopped cluster cannot end cleanly; the process runner then stops the rest.
            _signal_group(cluster_group, signal.SIGKILL)
        stop(serve)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        requests.get(url, timeout=2)
    except requests.ConnectionError:
        return False
    return True


def _signal_group(group: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, sig)


def healthz(site: Site) -> tuple[int, dict]:
    response = requests.get(site.url + "/healthz", timeout=5)
    return response.status_code, response.json()


def test_production_mode_serves_hashed_static_files_live_progress_and_health(
    page: Page, production_site: Site, simulator: SimulatorHandle, settings
):
    simulator.state.configure(default_matches=MATCHES)
    # The server is another process, with the real password hashers: not the tests' fast one.
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    get_user_model().objects.create_user("alice", password=PASSWORD)
    static: dict[str, Response] = {}
    page.on("response", lambda r: static.update({r.url: r}) if "/static/" in r.url else None)

    page.goto(production_site.url + "/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    # The stylesheet and htmx come from hashed names, compressed and cached for a year.
    stylesheet = _one(static, rf"/static/css/app{HASHED}css$")
    script = _one(static, rf"/static/django_htmx/htmx-2\.min{HASHED}js$")
    for response in (stylesheet, script):
        assert response.status == 200, response.url
        headers = response.all_headers()
        assert "max-age=315360000" in headers["cache-control"], headers
        assert "immutable" in headers["cache-control"], headers
        assert headers.get("content-encoding") == "gzip", headers
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == PAGE_BACKGROUND
    assert page.evaluate("typeof htmx") == "object"
    # DEBUG is off although the caller set DEBUG=1: no debug page for an unknown URL.
    missing = page.request.get(production_site.url + "/no-such-page/")
    assert missing.status == 404
    assert "URLconf" not in missing.text()

    page.get_by_role("link", name="Accounts").click()
    page.get_by_label("Steam account").fill(str(ACCOUNT_ID))
    page.get_by_role("button", name="Link only").click()
    expect(page.get_by_text(f"Linked Steam account {ACCOUNT_ID}.")).to_be_visible()

    # The dashboard's live progress moves through both phases (htmx polling what changed).
    page.get_by_role("link", name="Dashboard").click()
    page.get_by_label("Full Sync (All Matches)").check()
    page.get_by_role("button", name="Sync Matches").click()
    status = page.locator(".progress-text")
    expect(status).to_contain_text("Collecting match IDs:", timeout=PHASE_TIMEOUT_MS)
    expect(status).to_contain_text(
        re.compile(rf"Fetching details: \d+/{MATCHES}"), timeout=PHASE_TIMEOUT_MS
    )
    expect(page.get_by_role("status")).to_contain_text("Sync complete", timeout=PHASE_TIMEOUT_MS)
    expect(page.get_by_role("progressbar", name="Match details fetched")).to_have_attribute(
        "value", "100"
    )
    # The cluster runs the supervisor's schedule and it records its run.
    wait_for(SupervisorRun.last, 60, "the supervisor's first run on the cluster")

    # A second sync: while it runs, /healthz is 200; then the cluster stops (frozen mid-sync:
    # the process runner keeps the web server up) and within the timeout /healthz says 503.
    page.get_by_label("Full Sync (All Matches)").check()
    page.get_by_role("button", name="Sync Matches").click()
    expect(status).to_contain_text("Fetching details:", timeout=PHASE_TIMEOUT_MS)
    code, body = healthz(production_site)
    assert code == 200, body
    assert body["healthy"] is True
    assert body["database"] == {"ok": True}
    assert body["cluster"]["ok"] is True
    _signal_group(production_site.cluster_group, signal.SIGSTOP)
    wait_for(lambda: healthz(production_site)[0] == 503, CLUSTER_TIMEOUT + 20, "a 503")

    code, body = healthz(production_site)
    assert code == 503
    assert body["healthy"] is False
    assert body["database"] == {"ok": True}
    assert body["cluster"]["ok"] is False
    assert body["cluster"]["seconds_since_seen"] > CLUSTER_TIMEOUT
    # It was the stop: the job is still running, its heartbeat stale.
    assert body["cluster"]["running_job_heartbeat_at"] is not None
    assert SyncJob.objects.order_by("-pk").first().status == JobStatus.RUNNING


def _one(responses: dict[str, Response], pattern: str) -> Response:
    found = [response for url, response in responses.items() if re.search(pattern, url)]
    assert len(found) == 1, (pattern, sorted(responses))
    return found[0]
