"""Is this DotaSync working? The answer of GET /healthz and `manage.py check_health`.

Healthy means all three of:

- database: it answers a query;
- cluster: a task cluster is alive and taking work. The evidence is the supervisor's last run
  (a schedule every minute, syncjobs.supervisor), the heartbeat of a job the cluster runs
  (while every worker is busy with a long sync and the supervisor waits its turn), or the
  status a running cluster refreshes every few seconds (django-q's, in the broker or, with
  the database as broker, in Django's cache, so seen only on its own machine). The last one
  makes a cluster read alive from its start, not from the supervisor's first run;
- pending jobs: the oldest one has waited less than HEALTH_PENDING_MAX_AGE.

The sources' state (switched off by a used-up daily limit, and until when) is reported but does
not make DotaSync unhealthy: it is expected, ends by itself at the reset, and a sync meanwhile
leaves the matches it cannot fetch as stubs for later.

The answer names no secret: no URL, key, host or error text, only states, times and ages.
"""

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Case, Count, F, Max, Min, When
from django.utils import timezone
from django_q.conf import Conf
from django_q.status import Stat

from matches.upstream import client as upstream
from matches.upstream.slots import RateLimitSlot
from syncjobs.models import JobStatus, SupervisorRun, SyncJob
from syncjobs.sources import ALL_SOURCES, has_its_key

logger = logging.getLogger(__name__)

SOURCES = (upstream.STEAM, upstream.STEAM_SEQUENCE, upstream.OPENDOTA)


def reported_sources() -> tuple[str, ...]:
    """The sources the report covers: STRATZ only when it has a token (else it is no source)."""
    return (*SOURCES, upstream.STRATZ) if settings.STRATZ_API_TOKEN else SOURCES


def check_health(now: datetime | None = None) -> dict[str, Any]:
    """The whole report, JSON-ready; `healthy` says whether every check passed."""
    now = now or timezone.now()
    report: dict[str, Any] = {"healthy": False, "checked_at": now.isoformat()}
    report["database"] = database_state()
    if not report["database"]["ok"]:
        # Everything else lives in the database.
        return report | {"cluster": None, "sources": None, "pending_jobs": None}
    try:
        report["cluster"] = cluster_state(now)
        report["sources"] = source_states(now)
        report["pending_jobs"] = pending_jobs_state(now)
    except DatabaseError:
        logger.exception("health check: the database failed in the middle of the check")
        report["database"] = {"ok": False, "error": "the database failed during the check"}
        return report | {"cluster": None, "sources": None, "pending_jobs": None}
    report["healthy"] = report["cluster"]["ok"] and report["pending_jobs"]["ok"]
    return report


def database_state() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        # The message can name hosts and users: it goes to the log, not into the answer.
        logger.error("health check: the database is unreachable: %s", exc)
        return {"ok": False, "error": "unreachable"}
    return {"ok": True}


def cluster_state(now: datetime) -> dict[str, Any]:
    supervisor_at = SupervisorRun.last()
    job_heartbeat_at = (
        SyncJob.objects.filter(status=JobStatus.RUNNING)
        # A job run in the foreground by a management command has no task: not the cluster's.
        .exclude(task_id="")
        .aggregate(latest=Max("heartbeat_at"))["latest"]
    )
    status_at = cluster_status_at()
    seen = [m for m in (supervisor_at, job_heartbeat_at, status_at) if m is not None]
    last_seen_at = max(seen, default=None)
    silent_for = _seconds(now, last_seen_at)
    timeout = settings.HEALTH_CLUSTER_TIMEOUT
    return {
        "ok": silent_for is not None and silent_for <= timeout,
        "last_seen_at": _iso(last_seen_at),
        "seconds_since_seen": silent_for,
        "max_seconds": timeout,
        "supervisor_last_run_at": _iso(supervisor_at),
        "running_job_heartbeat_at": _iso(job_heartbeat_at),
        "cluster_status_at": _iso(status_at),
    }


def cluster_status_at() -> datetime | None:
    """When a running cluster last refreshed its status; None when none did lately (a
    cluster's status expires seconds after its last refresh)."""
    try:
        stats = Stat.get_all()
    except Exception:
        # The broker is down: the other evidence still counts, and the failure is logged.
        logger.exception("health check: could not read the task clusters' status")
        return None
    running = [stat for stat in stats if stat.status not in (Conf.STOPPING, Conf.STOPPED)]
    return max((stat.timestamp for stat in running), default=None)


def source_states(now: datetime) -> dict[str, dict[str, Any]]:
    """Each upstream source (a rate-limit bucket): whether it may be called, and if not, why
    and until when. Configured: every source of the bucket has its key (syncjobs.sources)."""
    names = reported_sources()
    slots = {slot.bucket: slot for slot in RateLimitSlot.objects.filter(bucket__in=names)}
    states = {}
    for name in names:
        slot = slots.get(name)
        switched_off = (
            slot is not None and slot.disabled_until is not None and slot.disabled_until > now
        )
        states[name] = {
            "configured": all(has_its_key(s) for s in ALL_SOURCES if s.bucket == name),
            "switched_off": switched_off,
            "reason": slot.disabled_reason if switched_off else "",
            "until": _iso(slot.disabled_until) if switched_off else None,
        }
    return states


def pending_jobs_state(now: datetime) -> dict[str, Any]:
    # A job a task handed over to a fresh one has waited since the hand-over, not its creation.
    waiting_since = Case(When(handovers__gt=0, then=F("enqueued_at")), default=F("created_at"))
    pending = SyncJob.objects.filter(status=JobStatus.PENDING).aggregate(
        count=Count("pk"), oldest=Min(waiting_since)
    )
    age = _seconds(now, pending["oldest"])
    limit = settings.HEALTH_PENDING_MAX_AGE
    return {
        "ok": age is None or age <= limit,
        "count": pending["count"],
        "oldest_age_seconds": age,
        "max_age_seconds": limit,
    }


def summary_lines(report: dict[str, Any]) -> list[str]:
    """The report for a person: one line a check, the verdict first."""
    lines = [f"DotaSync is {'healthy' if report['healthy'] else 'UNHEALTHY'}."]
    if not report["database"]["ok"]:
        return [*lines, f"database: {report['database']['error']}"]
    lines.append("database: ok")
    cluster = report["cluster"]
    if cluster["last_seen_at"] is None:
        lines.append("task cluster: never seen (is `manage.py qcluster` running?)")
    else:
        verdict = "alive" if cluster["ok"] else "SILENT"
        lines.append(
            f"task cluster: {verdict}, last seen {cluster['seconds_since_seen']:.0f} s ago "
            f"(at most {cluster['max_seconds']:.0f} s)"
        )
    pending = report["pending_jobs"]
    if pending["oldest_age_seconds"] is None:
        lines.append("pending jobs: none")
    else:
        verdict = "ok" if pending["ok"] else "WAITING TOO LONG"
        lines.append(
            f"pending jobs: {pending['count']}, the oldest waiting "
            f"{pending['oldest_age_seconds']:.0f} s (at most {pending['max_age_seconds']:.0f} s):"
            f" {verdict}"
        )
    for name, state in report["sources"].items():
        if not state["configured"]:
            lines.append(f"source {name}: not configured (no {upstream.KEY_SETTINGS[name]})")
        elif state["switched_off"]:
            lines.append(f"source {name}: switched off until {state['until']}: {state['reason']}")
        else:
            lines.append(f"source {name}: available")
    return lines


def _seconds(now: datetime, since: datetime | None) -> float | None:
    return None if since is None else round(max(0.0, (now - since).total_seconds()), 1)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
