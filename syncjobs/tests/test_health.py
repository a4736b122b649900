"""GET /healthz and `manage.py check_health`: database, task cluster, pending jobs, sources."""

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from matches.tests.match_builders import make_account
from matches.upstream.slots import RateLimitSlot
from syncjobs.models import JobStatus, JobType, SupervisorRun, SyncJob
from syncjobs.tasks import supervise
from tests.processes import stop, wait_for

ROOT = Path(__file__).resolve().parents[2]
STEAM_KEY = "0123456789ABCDEF0123456789ABCDEF"


@pytest.fixture
def anonymous() -> Client:
    return Client()


def healthz(client: Client) -> tuple[int, dict]:
    response = client.get("/healthz")
    assert response["Content-Type"] == "application/json"
    return response.status_code, response.json()


def supervisor_ran(seconds_ago: float) -> None:
    SupervisorRun.objects.update_or_create(
        id=1, defaults={"last_run_at": timezone.now() - timedelta(seconds=seconds_ago)}
    )


def job(status: str, *, account_id: int = 1001, **fields) -> SyncJob:
    return SyncJob.objects.create(
        account=make_account(account_id), job_type=JobType.FULL, status=status, **fields
    )


def test_healthy_answers_200_without_signing_in_and_is_never_cached(db, anonymous):
    supervisor_ran(seconds_ago=30)

    response = anonymous.get("/healthz")

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert body["healthy"] is True
    assert body["database"] == {"ok": True}
    assert body["cluster"]["ok"] is True
    assert 29 <= body["cluster"]["seconds_since_seen"] <= 60
    assert body["pending_jobs"] == {
        "ok": True,
        "count": 0,
        "oldest_age_seconds": None,
        "max_age_seconds": 3600.0,
    }


def test_the_supervisor_records_its_run(db, anonymous):
    assert healthz(anonymous)[0] == 503  # no cluster has ever run it

    supervise()

    last = SupervisorRun.last()
    assert timezone.now() - last < timedelta(seconds=5)
    supervise()  # a second run updates the one row
    assert SupervisorRun.objects.count() == 1
    assert SupervisorRun.last() >= last
    assert healthz(anonymous)[0] == 200


def test_a_silent_cluster_is_unhealthy(db, anonymous, settings):
    settings.HEALTH_CLUSTER_TIMEOUT = 180
    supervisor_ran(seconds_ago=200)

    status, body = healthz(anonymous)

    assert status == 503
    assert body["healthy"] is False
    assert body["cluster"]["ok"] is False
    assert body["cluster"]["max_seconds"] == 180
    assert body["cluster"]["seconds_since_seen"] >= 200


def test_a_busy_clusters_running_job_shows_it_is_alive(db, anonymous):
    # Every worker busy with a long sync: the supervisor waits in the queue, the job beats.
    supervisor_ran(seconds_ago=900)
    job(JobStatus.RUNNING, task_id="abc123", heartbeat_at=timezone.now() - timedelta(seconds=5))

    status, body = healthz(anonymous)

    assert status == 200
    assert body["cluster"]["running_job_heartbeat_at"] is not None
    assert body["cluster"]["seconds_since_seen"] < 60


@pytest.mark.slow
def test_a_cluster_reads_alive_from_its_start_and_silent_once_it_stops(start_cluster, anonymous):
    # No supervisor has run (the fixture removes the schedules) and no job runs: the evidence
    # can only be the status the running cluster refreshes.
    assert healthz(anonymous)[0] == 503

    cluster = start_cluster()
    wait_for(lambda: healthz(anonymous)[0] == 200, 60, "a starting cluster to read alive")
    body = healthz(anonymous)[1]
    assert body["cluster"]["cluster_status_at"] is not None
    assert body["cluster"]["supervisor_last_run_at"] is None

    stop(cluster)
    wait_for(lambda: healthz(anonymous)[0] == 503, 30, "a stopped cluster to read silent")
    assert healthz(anonymous)[1]["cluster"]["cluster_status_at"] is None


def test_a_job_a_command_runs_in_the_foreground_says_nothing_about_the_cluster(db, anonymous):
    supervisor_ran(seconds_ago=900)
    job(JobStatus.RUNNING, task_id="", heartbeat_at=timezone.now())

    assert healthz(anonymous)[0] == 503


def test_a_job_pending_too_long_is_unhealthy(db, anonymous, settings):
    settings.HEALTH_PENDING_MAX_AGE = 600
    supervisor_ran(seconds_ago=10)
    waiting = job(JobStatus.PENDING)
    job(JobStatus.PENDING, account_id=1002)
    job(JobStatus.COMPLETED, account_id=1003)

    assert healthz(anonymous)[0] == 200
    SyncJob.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(seconds=700))
    status, body = healthz(anonymous)

    assert status == 503
    assert body["pending_jobs"]["ok"] is False
    assert body["pending_jobs"]["count"] == 2
    assert 700 <= body["pending_jobs"]["oldest_age_seconds"] < 760
    assert body["cluster"]["ok"] is True


def test_a_job_between_two_tasks_has_waited_since_its_hand_over(db, anonymous, settings):
    settings.HEALTH_PENDING_MAX_AGE = 600
    supervisor_ran(seconds_ago=10)
    handed_over = job(JobStatus.PENDING)
    SyncJob.objects.filter(pk=handed_over.pk).update(
        created_at=timezone.now() - timedelta(hours=5),
        enqueued_at=timezone.now() - timedelta(seconds=30),
        handovers=1,
    )

    status, body = healthz(anonymous)

    assert status == 200
    assert 30 <= body["pending_jobs"]["oldest_age_seconds"] < 90


def test_sources_report_a_used_up_daily_limit_and_its_reset(db, anonymous, settings):
    settings.STEAM_API_KEY = STEAM_KEY
    supervisor_ran(seconds_ago=10)
    reset = timezone.now() + timedelta(hours=3)
    RateLimitSlot.objects.create(
        bucket="opendota", disabled_until=reset, disabled_reason="daily api limit exceeded"
    )
    # A limit that has already reset is no longer reported.
    RateLimitSlot.objects.create(
        bucket="steam", disabled_until=timezone.now() - timedelta(minutes=1), disabled_reason="x"
    )

    status, body = healthz(anonymous)

    # Expected, and over at the reset: reported, but not unhealthy.
    assert status == 200
    assert body["sources"] == {
        "steam": {"configured": True, "switched_off": False, "reason": "", "until": None},
        "steam_sequence": {"configured": True, "switched_off": False, "reason": "", "until": None},
        "opendota": {
            "configured": True,
            "switched_off": True,
            "reason": "daily api limit exceeded",
            "until": reset.isoformat(),
        },
    }


def test_no_secret_is_in_the_answer(db, anonymous, settings):
    settings.STEAM_API_KEY = STEAM_KEY
    settings.OPENDOTA_API_KEY = "opendota-secret-key-123"
    supervisor_ran(seconds_ago=10)

    text = anonymous.get("/healthz").content.decode()

    for secret in (STEAM_KEY, "opendota-secret-key-123", settings.SECRET_KEY):
        assert secret not in text
    assert settings.DATABASES["default"]["NAME"] not in text


def test_monitors_on_the_machine_are_not_redirected_to_https(db, anonymous, settings):
    settings.SECURE_SSL_REDIRECT = True
    supervisor_ran(seconds_ago=10)

    assert anonymous.get("/healthz").status_code == 200
    assert anonymous.get("/login/").status_code == 301


def test_only_reading_is_allowed(db, anonymous):
    assert anonymous.post("/healthz").status_code in (403, 405)
    assert anonymous.head("/healthz").status_code == 503


def test_check_health_prints_the_report_and_exits_by_the_verdict(db, capsys):
    supervisor_ran(seconds_ago=10)

    call_command("check_health")
    healthy = capsys.readouterr().out
    call_command("check_health", "--json")
    as_json = json.loads(capsys.readouterr().out)
    from_the_view = Client().get("/healthz").json()
    supervisor_ran(seconds_ago=1000)
    with pytest.raises(SystemExit) as exited:
        call_command("check_health")
    unhealthy = capsys.readouterr().out

    assert healthy.splitlines()[:3] == [
        "DotaSync is healthy.",
        "database: ok",
        "task cluster: alive, last seen 10 s ago (at most 180 s)",
    ]
    assert "pending jobs: none" in healthy
    assert as_json["healthy"] is True
    # The same report as GET /healthz.
    assert as_json.keys() == from_the_view.keys()
    assert as_json["sources"] == from_the_view["sources"]
    assert exited.value.code == 1
    assert unhealthy.startswith("DotaSync is UNHEALTHY.\n")
    assert "task cluster: SILENT, last seen 1000 s ago" in unhealthy


def test_an_unreachable_database_is_unhealthy_and_its_address_stays_secret(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "SECRET_KEY": "test",
        "LOG_DIR": str(tmp_path),
        # A port nothing listens on, and a password that must not be printed.
        "DATABASE_URL": "postgresql://dotasync:hunter2-password@127.0.0.1:9/dotasync",
    }

    done = subprocess.run(
        [sys.executable, "manage.py", "check_health", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 1, done.stderr
    *log, answer = done.stdout.strip().splitlines()
    report = json.loads(answer)
    assert report["healthy"] is False
    assert report["database"] == {"ok": False, "error": "unreachable"}
    assert report["cluster"] is None
    for secret in ("hunter2", "127.0.0.1", "dotasync:"):
        assert secret not in answer
    # The operator learns why from the log.
    assert "Connection refused" in "\n".join(log)


def test_an_unhealthy_answer_is_not_logged_as_a_server_error(db, anonymous, caplog):
    # A monitor asks every minute: the 503 is its news, not a line in errors.log each time.
    with caplog.at_level("WARNING", logger="django.request"):
        assert healthz(anonymous)[0] == 503
        assert anonymous.get("/api/accounts/").status_code == 401

    lines = [record.getMessage() for record in caplog.records]
    assert not any("/healthz" in line for line in lines), lines
    assert any("/api/accounts/" in line for line in lines), lines  # other answers still are
