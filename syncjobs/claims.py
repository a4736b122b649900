"""Phase-2 work claims: which matches a job fetches, and which worker fetches each now.

A worker takes the next batch of its job's candidates with SELECT … FOR UPDATE
SKIP LOCKED and marks it claimed (`Match.claimed_by`, `claimed_until`), so no
lock is held while the upstream answers and parallel workers never take the same
match. The worker's pulse renews the lease of what it holds every second, so a
claim never runs out under a live worker however slow the upstream; a claim of
a job that is no longer running, or whose lease ran out, is free again. Storing
an outcome releases its claim and stamps the match with the job, which never
tries it again.
"""

from collections.abc import Iterable
from datetime import timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, Case, Exists, OuterRef, Q, QuerySet, When
from django.db.models.functions import Now

from matches.models import Match, SteamAccount
from syncjobs.models import JobStatus, JobType, SyncJob


class Stub(NamedTuple):
    """A claimed match waiting for its details; `refetch` when it has them already."""

    match_id: int
    match_seq_num: int | None
    refetch: bool = False


def lease() -> timedelta:
    return timedelta(seconds=settings.SYNC_CLAIM_LEASE)


def detail_candidates(job: SyncJob) -> QuerySet[Match]:
    """The account's matches this job fetches details for, as a lazy queryset: those of
    `wanted_details` that the job has not attempted yet.

    A match records only its last attempt's job. A match another account's job (they share
    it) attempted is no candidate while that job runs: else that job's attempt would
    overwrite ours and make the match new work for us again. Once that job has ended, the
    match is ours to try (if we have not: then its last attempt would be ours).
    """
    attempted_by_a_running_job = Q(last_attempt_job__status=JobStatus.RUNNING)
    return wanted_details(
        job.account, job.job_type, force=job.force, refresh_since=job.refresh_since
    ).exclude(Q(last_attempt_job=job) | attempted_by_a_running_job)


def wanted_details(
    account: SteamAccount, job_type: str, *, force: bool = False, refresh_since=None
) -> QuerySet[Match]:
    """The matches a sync of `job_type` fetches details for (MatchQuerySet.wanted_details):
    only a forced backfill ignores the backoff, and a full sync also re-fetches what was
    complete before `refresh_since` (its start, or that of the interrupted full sync it
    resumes)."""
    return Match.objects.for_account(account).wanted_details(
        ignore_backoff=job_type == JobType.BACKFILL and force,
        refetch_complete_before=refresh_since if job_type == JobType.FULL else None,
    )


def _is_free() -> Q:
    running_claimer = SyncJob.objects.filter(pk=OuterRef("claimed_by"), status=JobStatus.RUNNING)
    return Q(claimed_by__isnull=True) | Q(claimed_until__lt=Now()) | ~Q(Exists(running_claimer))


def claim_batch(job: SyncJob, size: int, only: Q | None = None) -> list[Stub]:
    """Claim up to `size` of the job's free candidates (those matching `only`) for this
    worker: matches without details first (a full sync's re-fetches come last, so a daily
    quota goes to what has nothing yet), newest first."""
    with transaction.atomic():
        # The job's row first: its end (liveness.finish, an UPDATE of that row that then
        # releases the job's claims) waits for this claim, or this claim sees the end. A
        # check before the transaction let a helper claim work its coordinator had just
        # concluded. (SQLite's transactions take the write lock at once: they are serial.)
        running = SyncJob.objects.select_for_update(no_key=True).filter(
            pk=job.pk, status=JobStatus.RUNNING
        )
        if not running.values_list("pk", flat=True):
            return []
        rows = list(
            detail_candidates(job)
            .filter(_is_free())
            .filter(only or Q())
            .annotate(
                refetch=Case(
                    When(has_details=True, then=True), default=False, output_field=BooleanField()
                )
            )
            .order_by("refetch", "-match_id")
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("match_id", "match_seq_num", "refetch")[:size]
        )
        if rows:
            Match.objects.filter(pk__in=[row[0] for row in rows]).update(
                claimed_by=job, claimed_until=Now() + lease()
            )
    return [Stub(*row) for row in rows]


def renew(job: SyncJob, match_ids: Iterable[int]) -> None:
    """Extend the lease of claims this worker still holds."""
    Match.objects.filter(claimed_by=job, pk__in=list(match_ids)).update(
        claimed_until=Now() + lease()
    )


def held_by_others(job: SyncJob, mine: Iterable[int]) -> bool:
    """Whether another worker of the job holds live claims (so its results are still due)."""
    return (
        Match.objects.filter(claimed_by=job, claimed_until__gt=Now())
        .exclude(pk__in=list(mine))
        .exists()
    )


def held_elsewhere(job: SyncJob) -> int:
    """How many of the job's candidates another job's live claims hold (shared matches)."""
    return detail_candidates(job).filter(~_is_free()).exclude(claimed_by=job).count()


def free_claims(job: SyncJob, match_ids: Iterable[int] | None = None) -> None:
    """Free the job's claims (only those on `match_ids` when given)."""
    held = Match.objects.filter(claimed_by=job)
    if match_ids is not None:
        held = held.filter(pk__in=list(match_ids))
    held.update(claimed_by=None, claimed_until=None)
