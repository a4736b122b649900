"""What the sync dashboard shows for one of a user's accounts, independent of HTTP."""

from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.http import Http404
from django.shortcuts import get_object_or_404

from matches.models import Match, SteamAccount
from syncjobs import liveness
from syncjobs.models import JobStatus, SyncJob

RECENT_JOBS = 10
FAILED_MATCHES_SHOWN = 5


@dataclass(frozen=True)
class SyncPanel:
    accounts: list[SteamAccount]
    account: SteamAccount
    job: SyncJob | None
    summary: dict[str, int]
    recent_jobs: list[SyncJob]
    failed_matches: list[Match]

    @property
    def polling(self) -> bool:
        """The browser keeps asking for fresh progress only while the job can still change."""
        return self.job is not None and self.job.is_active

    @property
    def can_retry(self) -> bool:
        """Only when something can still be fetched: stubs, or failed matches with attempts left."""
        return not self.polling and bool(self.summary["pending"] or self.summary["retryable"])


def user_accounts(user: AbstractBaseUser) -> list[SteamAccount]:
    return list(SteamAccount.objects.filter(owner=user))


def choose_account(accounts: list[SteamAccount], requested: str | None) -> SteamAccount | None:
    """The account named by ?account= (a 32-bit id), else one with a sync under way, else the
    first. Naming an account the user does not own is a 404, as if it did not exist."""
    if requested:
        for account in accounts:
            if str(account.account_id) == requested.strip():
                return account
        raise Http404("No such account")
    busy = set(
        SyncJob.objects.active().filter(account__in=accounts).values_list("account_id", flat=True)
    )
    for account in accounts:
        if account.pk in busy:
            return account
    return accounts[0] if accounts else None


def job_for_user(user: AbstractBaseUser, job_id: int) -> SyncJob:
    """The job, if one of the user's accounts owns it; a 404 otherwise."""
    return get_object_or_404(SyncJob.objects.for_user(user).select_related("account"), pk=job_id)


def build_panel(
    accounts: list[SteamAccount], account: SteamAccount, job: SyncJob | None = None
) -> SyncPanel:
    """The panel of `account`, showing `job` or else the account's newest job.

    A job that says running but whose worker is gone is ended before it is shown.
    """
    liveness.refresh(
        SyncJob.objects.filter(account=account, status=JobStatus.RUNNING).select_related("account")
    )
    if job is not None:
        job.refresh_from_db()
    recent_jobs = list(SyncJob.objects.filter(account=account)[:RECENT_JOBS])
    if job is None and recent_jobs:
        job = recent_jobs[0]
    matches = Match.objects.for_account(account)
    failed_matches = list(matches.failed().order_by("-last_fetch_attempt")[:FAILED_MATCHES_SHOWN])
    return SyncPanel(
        accounts=accounts,
        account=account,
        job=job,
        summary=matches.details_summary(),
        recent_jobs=recent_jobs,
        failed_matches=failed_matches,
    )
