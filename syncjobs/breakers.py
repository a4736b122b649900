"""Circuit breakers of a job's detail sources, shared by every worker of the job.

The state lives in the database (syncjobs.models.SourceBreaker), so helper tasks
on other workers or machines see the same breaker: a source that has not yet
answered the job, or whose last call failed, is called one call at a time (the
caller holds a short probe lease), and after SYNC_BREAKER_THRESHOLD server errors
in a row it is skipped for the rest of the job. A dead endpoint therefore costs a
job at most the threshold in calls; a source that answers runs at full speed with
one read of its row per call.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from syncjobs.models import SourceBreaker, SyncJob

PROBE_POLL_SECONDS = 0.1
RECENT = timedelta(hours=1)
# The open reason of a source whose daily limit is used up: it is not failing, and it is
# back at the reset, so it carries nothing over to a later job.
DAILY_LIMIT = "daily limit"


@dataclass(frozen=True)
class Permit:
    """Leave to make one call; `probe` when it is the one call in flight."""

    probe: bool


class JobBreaker:
    def __init__(self, job: SyncJob, source: str) -> None:
        self.threshold = settings.SYNC_BREAKER_THRESHOLD
        self.row, _ = SourceBreaker.objects.get_or_create(
            job=job, source=source, defaults={"failures": self._carried_over(source)}
        )
        # A probe outlives a worker that died holding it by this long.
        self.probe_lease = timedelta(
            seconds=settings.UPSTREAM_CONNECT_TIMEOUT + settings.UPSTREAM_READ_TIMEOUT + 5
        )

    def _carried_over(self, source: str) -> int:
        """A source whose breaker opened in a job of the last RECENT hour starts one server
        error short of opening again: a dead endpoint (GetMatchDetails since 7.36) costs
        each later job one probe, not the whole threshold. A daily limit is no failure."""
        recently = (
            SourceBreaker.objects.filter(
                source=source, job__created_at__gte=timezone.now() - RECENT
            )
            .exclude(open_reason="")
            .exclude(open_reason=DAILY_LIMIT)
        )
        return self.threshold - 1 if recently.exists() else 0

    @property
    def _mine(self):
        return SourceBreaker.objects.filter(pk=self.row.pk)

    def acquire(self, wait: Callable[[float], None]) -> Permit | None:
        """Leave to call the source, waiting while another worker probes it; None once open."""
        while True:
            answered, failures, open_reason = self._mine.values_list(
                "answered", "failures", "open_reason"
            ).get()
            if open_reason:
                return None
            if answered and failures == 0:
                return Permit(probe=False)
            free = Q(probe_until__isnull=True) | Q(probe_until__lt=Now())
            if self._mine.filter(free, open_reason="").update(probe_until=Now() + self.probe_lease):
                return Permit(probe=True)
            wait(PROBE_POLL_SECONDS)

    def answered(self, permit: Permit) -> None:
        """The source gave an answer (even "not found"): it is up."""
        if permit.probe:
            self._mine.update(answered=True, failures=0, probe_until=None)
        else:
            self._mine.exclude(answered=True, failures=0).update(answered=True, failures=0)

    def failed(self, permit: Permit, reason: str) -> bool:
        """A server error; True when this failure opened the breaker."""
        with transaction.atomic():
            row = SourceBreaker.objects.select_for_update().get(pk=self.row.pk)
            row.failures += 1
            if permit.probe:
                row.probe_until = None
            opened = not row.open_reason and row.failures >= self.threshold
            if opened:
                row.open_reason = reason[:200]
            row.save(update_fields=["failures", "probe_until", "open_reason"])
        return opened

    def released(self, permit: Permit) -> None:
        """The call ended without telling whether the source is up (cancelled, 429)."""
        if permit.probe:
            self._mine.update(probe_until=None)

    def open(self, reason: str) -> None:
        self._mine.filter(open_reason="").update(open_reason=reason[:200], probe_until=None)

    def is_open(self) -> bool:
        return self._mine.exclude(open_reason="").exists()


def open_breakers(job: SyncJob) -> dict[str, str]:
    """The job's open breakers: source -> why."""
    return dict(
        SourceBreaker.objects.filter(job=job)
        .exclude(open_reason="")
        .values_list("source", "open_reason")
    )
