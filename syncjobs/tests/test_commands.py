"""The sync management commands, through call_command and as real processes (exit codes)."""

import json
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from matches.models import STEAM_ID64_OFFSET, Match, SteamAccount
from matches.tests.match_builders import ACCOUNT_ID
from syncjobs import engine
from syncjobs.models import JobStatus, JobType, SyncJob
from tests.children import child_env
from tests.processes import ROOT

# Phase 2 runs on threads with their own connections: the data must be committed.
pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]

JOB_FIELDS = {
    "id",
    "job_type",
    "status",
    "phase",
    "ids_found",
    "details_total",
    "details_done",
    "details_ok",
    "details_failed",
    "details_deferred",
    "error_message",
    "created_at",
    "started_at",
    "finished_at",
    "sources",
}


def command(*args):
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def last_json_line(output):
    return json.loads(output.strip().splitlines()[-1])


@pytest.fixture
def few_matches(simulator, set_matches):
    set_matches(30)
    return simulator


def test_sync_matches_json_reports_the_finished_job(few_matches, db):
    report = last_json_line(command("sync_matches", str(ACCOUNT_ID), "--full", "--json"))

    assert set(report) >= JOB_FIELDS
    assert report["status"] == "completed"
    assert report["job_type"] == "full_sync"
    assert (report["ids_found"], report["details_ok"]) == (30, 30)
    assert SteamAccount.objects.filter(account_id=ACCOUNT_ID).exists()  # created on first use


def test_sync_matches_without_full_is_incremental(few_matches, db):
    command("sync_matches", str(ACCOUNT_ID), "--full")
    few_matches.state.reset()

    report = last_json_line(command("sync_matches", str(ACCOUNT_ID), "--json"))

    assert report["job_type"] == "incremental_sync"
    assert sum(few_matches.state.calls().values()) == 1


def test_accounts_are_named_by_id_steamid64_or_username(few_matches, account, user):
    for name in (str(ACCOUNT_ID), str(ACCOUNT_ID + STEAM_ID64_OFFSET), user.username):
        report = last_json_line(command("sync_matches", name, "--json"))
        assert report["status"] == "completed"
    assert SteamAccount.objects.count() == 1


@pytest.mark.parametrize("bad", ["not-an-account", "0", "99999999999999999999"])
def test_bad_accounts_are_argument_errors(db, bad):
    with pytest.raises(CommandError) as error:
        command("sync_matches", bad)
    assert error.value.returncode == 2


def test_line_per_progress_step_when_not_on_a_terminal(few_matches, db):
    output = command("sync_matches", str(ACCOUNT_ID), "--full")

    assert "Collecting match IDs:" in output
    assert "Fetching details: 30/30" in output
    assert "completed: 30 match IDs (30 new), 30 with details" in output


def test_enqueue_hands_the_job_to_the_cluster(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report = last_json_line(command("sync_matches", str(ACCOUNT_ID), "--enqueue", "--json"))

    job = SyncJob.objects.get(pk=report["id"])
    assert job.status == JobStatus.PENDING
    assert job.task_id


def test_backfill_matches_retries_failed_matches(few_matches, db):
    command("sync_matches", str(ACCOUNT_ID), "--full")
    failed = Match.objects.order_by("-pk").first()
    Match.objects.filter(pk=failed.pk).update(has_details=False, retry_count=1)

    waiting = last_json_line(command("backfill_matches", str(ACCOUNT_ID), "--json"))
    forced = last_json_line(command("backfill_matches", str(ACCOUNT_ID), "--force", "--json"))

    assert (waiting["job_type"], waiting["details_total"]) == ("backfill", 0)
    assert (forced["details_total"], forced["details_ok"]) == (1, 1)


def test_backfill_reset_failed_gives_used_up_matches_their_attempts_back(few_matches, db):
    command("sync_matches", str(ACCOUNT_ID), "--full")
    exhausted = list(Match.objects.order_by("-pk").values_list("pk", flat=True)[:2])
    Match.objects.filter(pk__in=exhausted).update(has_details=False, retry_count=3)

    plain = last_json_line(command("backfill_matches", str(ACCOUNT_ID), "--force", "--json"))
    reset = last_json_line(command("backfill_matches", str(ACCOUNT_ID), "--reset-failed", "--json"))

    assert plain["details_total"] == 0  # the attempt limit holds even when forced
    assert (reset["details_total"], reset["details_ok"]) == (2, 2)
    assert Match.objects.filter(pk__in=exhausted, has_details=True).count() == 2


def test_sync_status_json(few_matches, db):
    command("sync_matches", str(ACCOUNT_ID), "--full")
    Match.objects.filter(pk=Match.objects.order_by("pk").first().pk).update(has_details=None)

    report = last_json_line(command("sync_status", str(ACCOUNT_ID), "--json"))

    assert report["account_id"] == ACCOUNT_ID
    assert (report["matches"], report["complete"], report["pending"], report["failed"]) == (
        30,
        29,
        1,
        0,
    )
    assert set(report["latest_job"]) >= JOB_FIELDS
    assert report["jobs"][0] == report["latest_job"]


def test_cancel_sync(account):
    job = engine.create_job(account, JobType.FULL)

    assert "cancelled" in command("cancel_sync", str(job.pk))
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED

    with pytest.raises(CommandError) as finished:
        command("cancel_sync", str(job.pk))
    assert finished.value.returncode == 1
    with pytest.raises(CommandError) as missing:
        command("cancel_sync", "999999")
    assert missing.value.returncode == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("args", "private", "exit_code"),
    [
        (["--full"], False, 0),
        (["--full"], True, 1),
        (["--no-such-flag"], False, 2),
    ],
)
def test_exit_codes_of_a_real_process(simulator, set_matches, args, private, exit_code):
    set_matches(10, private=private)

    done = subprocess.run(
        [sys.executable, "manage.py", "sync_matches", str(ACCOUNT_ID), *args, "--json"],
        cwd=ROOT,
        env=child_env(simulator),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == exit_code, done.stderr
    if exit_code != 2:
        assert json.loads(done.stdout.strip().splitlines()[-1])["status"] in {"completed", "failed"}
