"""A sync job: one run of the two-phase sync for one account, and its live progress."""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from matches.models import SteamAccount


class JobType(models.TextChoices):
    INCREMENTAL = "incremental_sync", "New matches only"
    FULL = "full_sync", "Full sync (all matches)"
    BACKFILL = "backfill", "Fetch waiting matches"
    PARSE = "parse", "Ask OpenDota to parse matches"


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class JobPhase(models.TextChoices):
    COLLECTING_IDS = "collecting_ids", "Collecting match IDs"
    FETCHING_DETAILS = "fetching_details", "Fetching details"


ACTIVE_STATUSES = (JobStatus.PENDING, JobStatus.RUNNING)
FINISHED_STATUSES = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


class SyncJobQuerySet(models.QuerySet):
    def active(self) -> "SyncJobQuerySet":
        return self.filter(status__in=ACTIVE_STATUSES)

    def for_user(self, user) -> "SyncJobQuerySet":
        return self.filter(account__owner=user)


class SyncJob(models.Model):
    account = models.ForeignKey(SteamAccount, on_delete=models.CASCADE, related_name="sync_jobs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    job_type = models.CharField(max_length=20, choices=JobType.choices)
    status = models.CharField(max_length=12, choices=JobStatus.choices, default=JobStatus.PENDING)
    phase = models.CharField(max_length=20, choices=JobPhase.choices, blank=True)
    force = models.BooleanField(default=False, help_text="backfill: ignore the retry backoff")
    refresh_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="full sync: re-fetch details fetched before this time (a resumed job "
        "keeps the time of the interrupted one)",
    )

    ids_found = models.PositiveIntegerField(default=0, help_text="match IDs listed")
    ids_new = models.PositiveIntegerField(default=0, help_text="listed IDs new to the account")
    details_total = models.PositiveIntegerField(default=0)
    details_done = models.PositiveIntegerField(default=0)
    details_ok = models.PositiveIntegerField(default=0)
    details_failed = models.PositiveIntegerField(default=0)
    details_deferred = models.PositiveIntegerField(default=0)
    sources = models.JSONField(default=dict, blank=True, help_text="matches completed per source")
    eta_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="phase 2: the expected time left, from the sources' paces"
    )
    eta_waiting = models.PositiveIntegerField(
        default=0, help_text="matches that wait for a daily limit's reset"
    )
    eta_resets_at = models.DateTimeField(null=True, blank=True)

    details_started_at = models.DateTimeField(
        null=True, blank=True, help_text="when phase 2 began; what it attempted since is done"
    )
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    enqueued_at = models.DateTimeField(
        null=True, blank=True, help_text="when its task was last handed to the cluster"
    )
    enqueue_count = models.PositiveSmallIntegerField(
        default=0, help_text="how often its task was handed to the cluster"
    )
    handovers = models.PositiveIntegerField(
        default=0, help_text="how often a task neared its timeout and left phase 2 to a new one"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    message = models.CharField(max_length=500, blank=True, help_text="notes for the user")
    error_message = models.CharField(max_length=500, blank=True)

    objects = SyncJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(status__in=ACTIVE_STATUSES),
                name="one_active_job_per_account",
            ),
            models.CheckConstraint(
                condition=Q(details_done__lte=models.F("details_total")),
                name="details_done_within_total",
            ),
        ]
        indexes = [models.Index(fields=["account", "-created_at"], name="job_account_newest")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.job_type} {self.account_id} {self.status}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def cancel_requested(self) -> bool:
        return self.cancel_requested_at is not None

    @property
    def percent(self) -> int | None:
        """Phase-2 progress in percent; None while the total is unknown (phase 1)."""
        if self.phase != JobPhase.FETCHING_DETAILS and self.status != JobStatus.COMPLETED:
            return None
        if not self.details_total:
            return 100 if self.status == JobStatus.COMPLETED else 0
        return min(100, round(100 * self.details_done / self.details_total))

    @property
    def progress_text(self) -> str:
        if self.status == JobStatus.PENDING:
            return "Waiting for a worker"
        if self.status != JobStatus.RUNNING:
            return self.get_status_display()
        if self.phase == JobPhase.FETCHING_DETAILS:
            return f"Fetching details: {self.details_done}/{self.details_total}"
        return f"Collecting match IDs: {self.ids_new} new, {self.ids_found} listed"

    @property
    def eta_text(self) -> str:
        """The time phase 2 has left, in words ("about 7 min; 1,500 matches wait for …")."""
        if self.status != JobStatus.RUNNING or self.phase != JobPhase.FETCHING_DETAILS:
            return ""
        parts = []
        if self.eta_seconds is not None and self.details_done < self.details_total:
            parts.append(about(self.eta_seconds))
        if self.eta_waiting and self.eta_resets_at:
            parts.append(
                f"{self.eta_waiting:,} matches wait for OpenDota's daily limit, reset "
                f"{self.eta_resets_at:%H:%M} UTC"
            )
        return "; ".join(parts)

    @property
    def duration_seconds(self) -> float | None:
        if not self.started_at:
            return None
        end = self.finished_at or timezone.now()
        return (end - self.started_at).total_seconds()

    def as_dict(self) -> dict:
        """The job as the commands' --json and the API report it."""
        return {
            "id": self.pk,
            "account_id": self.account.account_id,
            "job_type": self.job_type,
            "status": self.status,
            "phase": self.phase,
            "ids_found": self.ids_found,
            "ids_new": self.ids_new,
            "details_total": self.details_total,
            "details_done": self.details_done,
            "details_ok": self.details_ok,
            "details_failed": self.details_failed,
            "details_deferred": self.details_deferred,
            "sources": self.sources,
            "cancel_requested": self.cancel_requested,
            "progress_text": self.progress_text,
            "percent": self.percent,
            "eta_seconds": self.eta_seconds,
            "eta_text": self.eta_text,
            "waiting_for_quota": self.eta_waiting,
            "quota_resets_at": _iso(self.eta_resets_at),
            "message": self.message,
            "error_message": self.error_message,
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
        }


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def about(seconds: int) -> str:
    """An estimated duration in words: "about 7 min", or "less than a minute"."""
    words = duration_words(seconds)
    return words if words.startswith("less") else f"about {words}"


def duration_words(seconds: int) -> str:
    """A duration as a person says it: "7 min", "3 h 5 min", "16.5 days"."""
    if seconds < 90:
        return "1 min" if seconds > 30 else "less than a minute"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{round(hours / 24, 1):g} days"


class ListingFrontier(models.Model):
    """How far down an account's history one ID source is known to be listed completely.

    Every match the source lists with an id at or below `complete_through` is
    stored: the mark moves only when a listing reaches the source's end or meets
    the previous mark, so a listing cut short never passes for a complete one.
    An incremental sync walks down until it meets the mark. A listing that was cut
    short leaves `partial_*`: the stretch it stored and where it would have asked
    next, so the next listing skips that stretch and continues below it.
    """

    account = models.ForeignKey(
        SteamAccount, on_delete=models.CASCADE, related_name="listing_frontiers"
    )
    source = models.CharField(max_length=32)
    complete_through = models.BigIntegerField(
        null=True, blank=True, help_text="every listed match at or below this id is stored"
    )
    partial_top = models.BigIntegerField(null=True, blank=True)
    partial_bottom = models.BigIntegerField(null=True, blank=True)
    partial_cursor = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="the cursor of the page the cut listing did not get: a match id (Steam) or "
        "an offset from partial_top (OpenDota)",
    )
    # What the source last said the account has (Page.reported_total), and when.
    reported_total = models.PositiveIntegerField(null=True, blank=True)
    reported_at = models.DateTimeField(null=True, blank=True)
    # When the source was last asked to rescan the account (OpenDota's refresh): claimed by
    # a conditional UPDATE, so two clicks spend one call (syncjobs.refresh).
    refresh_asked_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "source"], name="one_frontier_per_source")
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.source} <= {self.complete_through}"

    @property
    def has_partial(self) -> bool:
        return self.partial_top is not None and self.partial_cursor is not None


class SupervisorRun(models.Model):
    """When the supervisor last ran on a task cluster: one row, the health check's evidence
    that some cluster is alive and taking work (syncjobs.health)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    last_run_at = models.DateTimeField()

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="one_supervisor_run_row")]

    def __str__(self) -> str:
        return f"supervisor last ran at {self.last_run_at:%Y-%m-%d %H:%M:%S %Z}"

    @classmethod
    def record(cls) -> None:
        """Note a run now; an upsert, so clusters finishing runs together never collide."""
        cls.objects.bulk_create(
            [cls(id=1, last_run_at=timezone.now())],
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=["last_run_at"],
        )

    @classmethod
    def last(cls) -> datetime | None:
        return cls.objects.filter(id=1).values_list("last_run_at", flat=True).first()


class SourceBreaker(models.Model):
    """One job's circuit breaker of one detail source, shared by every worker of the job.

    Until the source has answered the job once, and again after every server error,
    calls to it go one at a time (a worker holds `probe_until`); after `failures`
    reaches SYNC_BREAKER_THRESHOLD it is open (skipped) for the rest of the job. So a
    dead endpoint costs the job at most the threshold in calls, however many helper
    tasks share the job.
    """

    job = models.ForeignKey(SyncJob, on_delete=models.CASCADE, related_name="breakers")
    source = models.CharField(max_length=32)
    answered = models.BooleanField(default=False, help_text="the source answered this job")
    failures = models.PositiveIntegerField(default=0, help_text="server errors in a row")
    open_reason = models.CharField(max_length=200, blank=True)
    probe_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "source"], name="one_breaker_per_job_source")
        ]

    def __str__(self) -> str:
        return f"job {self.job_id} {self.source}: {self.open_reason or 'closed'}"


class ParseSpend(models.Model):
    """OpenDota calls parse work spent on one UTC day (requests at 10, checks at 1): the
    count PARSE_DAILY_BUDGET is held against, raised by one conditional UPDATE a call so
    that workers at once never spend past it (syncjobs.parsing.take_budget)."""

    day = models.DateField(primary_key=True)
    calls = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day}: {self.calls} parse calls"
