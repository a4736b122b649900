"""Daily quotas and the time phase 2 has left.

OpenDota without a key allows a few thousand calls a day (its answers say how many
are left: matches.ratelimit.heed_remaining keeps the number). Phase 2 spends that
quota on matches without details first (syncjobs.claims orders the work so) and
never on a re-fetch another source could do. When it runs out, the matches only
OpenDota can serve (no match_seq_num) wait for the reset, the job says how many,
and a sync of the account is scheduled right after the reset.

The estimate: the sources serve the work left at once, each at its own pace
(1 / its *_MIN_INTERVAL, or the pace seen so far when unpaced), the sequence
endpoint only matches with a match_seq_num, OpenDota no more than its quota left.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django_q.models import Schedule

from matches import dbclock, ratelimit
from matches.models import Match, SteamAccount
from matches.upstream import OPENDOTA, interval_of
from syncjobs import claims
from syncjobs.models import SyncJob
from syncjobs.sources import DETAIL_SOURCES, DetailSource

CONTINUE_SCHEDULE = "dotasync: continue account {} after OpenDota's daily reset"


def metered(source: DetailSource) -> bool:
    """Whether every call to `source` spends a daily quota that matters (OpenDota's free
    tier; a key raises its limits far beyond what one deployment uses)."""
    return source.bucket == OPENDOTA and not settings.OPENDOTA_API_KEY


@dataclass(frozen=True)
class Estimate:
    seconds: int | None  # None when nothing is left or no source can serve it now
    waiting: int = 0  # matches that wait for a daily limit's reset
    resets_at: datetime | None = None


def _paces(sources: list[DetailSource], observed: float | None) -> dict[str, float]:
    """Matches per second each source can serve."""
    paces = {}
    for source in sources:
        interval = interval_of(source.bucket)
        paces[source.name] = 1 / interval if interval > 0 else (observed or 20.0)
    return paces


def estimate(
    with_seq: int, without_seq: int, sources: list[DetailSource], observed: float | None = None
) -> Estimate:
    """How long `sources` take for the work left, and what must wait for a quota's reset.

    `without_seq` matches can go to every source but the sequence endpoint; OpenDota's
    free tier (metered) serves no more than its quota left today.
    """
    a, b = without_seq, with_seq
    if not a + b:
        return Estimate(seconds=0)
    pace = _paces(sources, observed)
    o = sum(pace[s.name] for s in sources if metered(s))
    d = sum(pace[s.name] for s in sources if not metered(s) and not s.needs_seq_num)
    s = sum(pace[src.name] for src in sources if src.needs_seq_num)
    quota = ratelimit.remaining_today(OPENDOTA) if o else None
    waiting = 0
    if quota is not None and d == 0 and a > quota:
        waiting, a = a - quota, quota
    if o + d == 0:
        waiting, a = waiting + a, 0
    if o + d + s == 0:
        return Estimate(None, waiting + b, _reset(waiting + b))
    seconds = max(a / (o + d) if a else 0.0, (a + b) / (o + d + s))
    if quota is not None and o * seconds > quota:
        # OpenDota stops at its quota; the other sources do the rest.
        rest = a + b - quota
        if s + d == 0:
            waiting += rest
            seconds = quota / o
        else:
            seconds = max(a / (o + d) if a else 0.0, quota / o, rest / (s + d))
    return Estimate(round(seconds), waiting, _reset(waiting))


def _reset(waiting: int) -> datetime | None:
    return ratelimit.next_utc_midnight() if waiting else None


def _work_left(matches: QuerySet[Match]) -> tuple[int, int]:
    """How many of `matches` have a match_seq_num, and how many have none."""
    counts = matches.aggregate(
        with_seq=Count("pk", filter=Q(match_seq_num__isnull=False)),
        without_seq=Count("pk", filter=Q(match_seq_num__isnull=True)),
    )
    return counts["with_seq"], counts["without_seq"]


def estimate_job(job: SyncJob, sources: list[DetailSource], dead: dict[str, str]) -> Estimate:
    """The estimate of a running phase 2, from its work left and its sources still in use."""
    with_seq, without_seq = _work_left(claims.detail_candidates(job))
    observed = None
    if job.details_started_at and job.details_done:
        elapsed = (dbclock.now() - job.details_started_at).total_seconds()
        observed = job.details_done / elapsed if elapsed > 0 else None
    usable = [s for s in sources if s.name not in dead]
    return estimate(with_seq, without_seq, usable, observed)


def estimate_sync(account: SteamAccount, job_type: str) -> Estimate:
    """What a sync of `job_type` would take in phase 2 if it started now, for the known
    matches (a listing may add more): what the dashboard says before a Full Sync."""
    with_seq, without_seq = _work_left(
        claims.wanted_details(account, job_type, refresh_since=dbclock.now())
    )
    sources = [
        DETAIL_SOURCES[name]
        for name in settings.SYNC_DETAIL_SOURCES
        if ratelimit.disabled_reason(DETAIL_SOURCES[name].bucket) is None
        and (settings.STEAM_API_KEY or not DETAIL_SOURCES[name].needs_key)
    ]
    return estimate(with_seq, without_seq, sources)


@dataclass(frozen=True)
class Waiting:
    count: int
    resets_at: datetime

    @property
    def sentence(self) -> str:
        return (
            f"{self.count:,} matches wait for OpenDota's daily limit, reset "
            f"{self.resets_at:%H:%M} UTC; a sync of this account starts then on its own."
        )


def waiting_for_reset(job: SyncJob) -> Waiting | None:
    """The account's matches that only OpenDota can serve while its daily limit is used up."""
    if ratelimit.disabled_reason(OPENDOTA) is None or "daily" not in (
        ratelimit.disabled_reason(OPENDOTA) or ""
    ):
        return None
    needing = Match.objects.for_account(job.account).filter(
        Q(has_details__isnull=True)
        | Q(has_details=False, retry_count__lt=settings.SYNC_MAX_ATTEMPTS)
    )
    count = needing.filter(match_seq_num__isnull=True).count()
    if not count:
        return None
    return Waiting(count, ratelimit.next_utc_midnight())


def continue_after_reset(account: SteamAccount, resets_at: datetime) -> None:
    """Schedule one incremental sync of `account` just after the daily limit resets."""
    Schedule.objects.update_or_create(
        name=CONTINUE_SCHEDULE.format(account.account_id),
        defaults={
            "func": "syncjobs.tasks.continue_sync",
            "args": repr((account.account_id,)),
            "schedule_type": Schedule.ONCE,
            "next_run": resets_at + timedelta(minutes=1),
            "repeats": 1,
        },
    )
