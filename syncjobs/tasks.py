"""django-q task entry points: thin adapters over the engine."""

from django.conf import settings

from matches.models import SteamAccount
from syncjobs import engine, names, refresh, schedule, supervisor
from syncjobs.models import JobType


def task_time_limit() -> float:
    """Seconds a task works before it hands its job's phase 2 over: SYNC_HANDOVER_MARGIN
    before the cluster's timeout stops it."""
    return max(0.0, settings.SYNC_TASK_TIMEOUT - settings.SYNC_HANDOVER_MARGIN)


def run_sync_job(job_id: int) -> str:
    """Run one SyncJob (a fresh task takes over a phase 2 that nears the timeout); a
    redelivered task for an ended or live job does nothing."""
    return engine.run_job(job_id, time_limit=task_time_limit()).status


def fetch_details_part(job_id: int) -> int:
    """Help a running job's phase 2 (SYNC_DETAIL_TASKS > 1): claim and fetch stubs until
    nothing is left or the task nears its timeout."""
    return engine.run_details_part(job_id, time_limit=task_time_limit())


def resolve_player_names(job_id: int) -> str:
    """Name the players of a completed job's matches (Steam's GetPlayerSummaries)."""
    return names.resolve_names_for_job(job_id)


def refresh_opendota(account_id: int) -> bool:
    """Ask OpenDota to rescan an account's newest matches (claimed by syncjobs.refresh)."""
    return refresh.run(account_id)


def sync_all_accounts() -> int:
    """The periodic schedule: an incremental sync of the linked accounts not already syncing,
    fairly between users (syncjobs.schedule)."""
    return schedule.start_scheduled_syncs()


def continue_sync(account_id: int) -> int | None:
    """After a daily limit's reset: an incremental sync of the account, unless one runs.
    Returns the new job's id."""
    account = SteamAccount.objects.filter(account_id=account_id).first()
    if account is None:
        return None
    try:
        return engine.start_sync(account, JobType.INCREMENTAL).pk
    except (engine.AlreadyRunning, engine.TooManyJobs):  # the schedule syncs it later
        return None


def parse_account(account_id: int) -> int | None:
    """When a parse request of the account is due a check: a parse job, unless a sync runs
    (its parse step checks it). Returns the new job's id."""
    account = SteamAccount.objects.filter(account_id=account_id).first()
    if account is None:
        return None
    try:
        return engine.start_sync(account, JobType.PARSE).pk
    except (engine.AlreadyRunning, engine.TooManyJobs):
        return None


def supervise() -> dict[str, int]:
    """The supervisor's periodic run (syncjobs.supervisor)."""
    return supervisor.supervise()
