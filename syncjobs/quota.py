"""Daily quotas, where phase 2 spends them, and the time phase 2 has left.

OpenDota without a key allows a few thousand calls a day (its answers say how many
are left: matches.upstream.ratelimit.heed_remaining keeps the number; until the day's first
answer, OPENDOTA_FREE_DAILY_CALLS are assumed). Phase 2 spends that quota on matches
without details first (syncjobs.claims orders the work so); a full sync's re-fetch
of a complete match goes to OpenDota only out of what is *spare*: the day's calls
left beyond the job's own stubs and SYNC_OPENDOTA_RESERVE (other accounts' new
matches), less what parse requests may still spend today (PARSE_DAILY_BUDGET,
syncjobs.parsing): stubs first, then parse requests, then re-fetches. When the
quota runs out, the matches only OpenDota can serve (no
match_seq_num) wait for the reset, the job says how many, and a sync of the
account is scheduled right after the reset.

The estimate routes the work left as phase 2 does: each source serves what it may
take (the sequence endpoint only matches with a match_seq_num, OpenDota its quota,
re-fetches only out of the spare part) at its own pace (1 / its *_MIN_INTERVAL, or
the pace seen so far when unpaced), all at once; the time is the shortest in which
the sources together serve everything they can serve today (a max-flow, searched
by bisection). STRATZ's calls count against its own day (STRATZ_DAILY_LIMIT, or what its
answers said is left): it serves at most that many today. GetMatchDetails, which fails
every match since patch 7.36, counts only once a job's breaker has seen it answer.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q, QuerySet

from dotasync import dbclock
from matches.models import Match, ParseRequest, SteamAccount
from matches.upstream import ratelimit
from matches.upstream.client import OPENDOTA, STRATZ, interval_of
from syncjobs import claims, dispatch
from syncjobs.models import ParseSpend, SourceBreaker, SyncJob
from syncjobs.sources import DETAIL_SOURCES, STEAM_DETAILS, DetailSource, is_metered, usable_now

CONTINUE_SCHEDULE = "dotasync: continue account {} after OpenDota's daily reset"
# Sources known to fail every match (GetMatchDetails: HTTP 500 since patch 7.36, Valve's
# Dota2-Gameplay #17910, #24383, #33427): the estimate counts on them only after a breaker
# of theirs saw an answer.
PRESUMED_DEAD = frozenset({STEAM_DETAILS})
BISECTIONS = 40
# OpenDota's price of a parse request (odota/core svc/web.ts `rateCost = 10`) and of a check.
REQUEST_COST = 10
CHECK_COST = 1


def left_today() -> int:
    """OpenDota's keyless calls left today: what its last answer of the day said, else the
    free allowance (no call was made today)."""
    told = ratelimit.remaining_today(OPENDOTA)
    return max(0, settings.OPENDOTA_FREE_DAILY_CALLS if told is None else told)


def spare_for_refetches(stubs_left: int, quota_left: int | None = None) -> int:
    """OpenDota calls a full sync may spend today on re-fetches of complete matches, of
    `quota_left` (by default what is left today): what is spare beyond the stubs and
    SYNC_OPENDOTA_RESERVE, less what parse work may still spend today."""
    quota_left = left_today() if quota_left is None else quota_left
    spare = quota_left - stubs_left - settings.SYNC_OPENDOTA_RESERVE
    return max(0, spare - parse_calls_wanted())


def spare_for_parsing(quota_left: int | None = None) -> int:
    """OpenDota calls parse work may spend now: what is left today beyond every account's
    matches waiting for details and SYNC_OPENDOTA_RESERVE (stubs come first, whoever's)."""
    quota_left = left_today() if quota_left is None else quota_left
    stubs = Match.objects.pending_details(settings.SYNC_MAX_ATTEMPTS).count()
    return max(0, quota_left - stubs - settings.SYNC_OPENDOTA_RESERVE)


def parse_spent_today() -> int:
    """OpenDota calls parse work spent this UTC day (syncjobs.parsing counts each)."""
    spend = ParseSpend.objects.filter(day=dbclock.now().date()).values_list("calls", flat=True)
    return spend.first() or 0


def parse_calls_wanted() -> int:
    """What parse work may still spend today, kept from re-fetches: what is left of
    PARSE_DAILY_BUDGET while any account asks for parses (its switch on, or a request open);
    the whole rest of the day's budget, since new matches keep coming all day."""
    budget_left = max(0, settings.PARSE_DAILY_BUDGET - parse_spent_today())
    if not budget_left:
        return 0
    asking = (
        SteamAccount.objects.filter(parse_new_matches=True).exists()
        or ParseRequest.objects.open().exists()
    )
    return budget_left if asking else 0


@dataclass(frozen=True)
class Work:
    """Phase 2's work left: matches without details (stubs) and re-fetches of complete
    ones, each with or without a match_seq_num."""

    stubs_with_seq: int = 0
    stubs_without_seq: int = 0
    refetch_with_seq: int = 0
    refetch_without_seq: int = 0

    @property
    def total(self) -> int:
        return (
            self.stubs_with_seq
            + self.stubs_without_seq
            + self.refetch_with_seq
            + self.refetch_without_seq
        )

    @property
    def stubs(self) -> int:
        return self.stubs_with_seq + self.stubs_without_seq


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


def stratz_left_today() -> int:
    """STRATZ calls left today: what its last answer of the day said, else STRATZ_DAILY_LIMIT."""
    told = ratelimit.remaining_today(STRATZ)
    return max(0, settings.STRATZ_DAILY_LIMIT if told is None else told)


def _day_caps(sources: list[DetailSource]) -> dict[str, float]:
    """The most each source may serve today on its own day's allowance (STRATZ's)."""
    return {s.name: float(stratz_left_today()) for s in sources if s.bucket == STRATZ}


def _max_flow(capacity: dict[tuple[str, str], float], source: str, sink: str) -> float:
    """Edmonds-Karp on a graph of a dozen nodes."""
    residual = dict(capacity)
    for a, b in capacity:
        residual.setdefault((b, a), 0.0)
    neighbours: dict[str, list[str]] = {}
    for a, b in residual:
        neighbours.setdefault(a, []).append(b)
    total = 0.0
    while True:
        parent = {source: source}
        frontier = [source]
        while frontier and sink not in parent:
            node = frontier.pop(0)
            for nxt in neighbours.get(node, []):
                if nxt not in parent and residual[(node, nxt)] > 1e-9:
                    parent[nxt] = node
                    frontier.append(nxt)
        if sink not in parent:
            return total
        path, node = [], sink
        while node != source:
            path.append((parent[node], node))
            node = parent[node]
        push = min(residual[edge] for edge in path)
        for a, b in path:
            residual[(a, b)] -= push
            residual[(b, a)] += push
        total += push


def _served(
    work: Work,
    sources: list[DetailSource],
    pace: dict[str, float],
    quota_left: int,
    seconds: float,
    refetch_spare: int,
    caps: dict[str, float] | None = None,
) -> float:
    """How many matches `sources` can serve in `seconds` (infinite: all they can today),
    routed as phase 2 routes them (syncjobs.details.DetailPhase.accepts)."""
    infinite = float("inf")
    capacity: dict[tuple[str, str], float] = {
        ("R_in", "R_out"): float(refetch_spare),
        ("quota", "end"): float(quota_left),
    }
    classes = {
        ("stub", True): work.stubs_with_seq,
        ("stub", False): work.stubs_without_seq,
        ("refetch", True): work.refetch_with_seq,
        ("refetch", False): work.refetch_without_seq,
    }
    for (kind, with_seq), count in classes.items():
        node = f"{kind}-{with_seq}"
        capacity[("start", node)] = float(count)
        able = [s for s in sources if with_seq or not s.needs_seq_num]
        unmetered_able = any(not is_metered(s) for s in able)
        for source in able:
            if kind == "refetch" and is_metered(source) and unmetered_able:
                capacity[(node, "R_in")] = infinite  # only out of the spare quota
            else:
                capacity[(node, source.name)] = infinite
    for source in sources:
        capacity[("R_out", source.name)] = infinite if is_metered(source) else 0.0
        limit = pace[source.name] * seconds if seconds != infinite else infinite
        limit = min(limit, (caps or {}).get(source.name, infinite))
        capacity[(source.name, "quota" if is_metered(source) else "end")] = limit
    return _max_flow(capacity, "start", "end")


def estimate(work: Work, sources: list[DetailSource], observed: float | None = None) -> Estimate:
    """How long `sources` take for `work` today, and what must wait for a quota's reset."""
    if not work.total:
        return Estimate(seconds=0)
    pace = _paces(sources, observed)
    quota_left = left_today()
    caps = _day_caps(sources)
    refetch_spare = spare_for_refetches(work.stubs, quota_left)  # its queries once, not 40 times
    servable = round(_served(work, sources, pace, quota_left, float("inf"), refetch_spare, caps))
    waiting = work.total - servable
    if not servable:
        return Estimate(None, waiting, _reset(waiting))
    low, high = 0.0, work.total / min(pace.values())
    for _ in range(BISECTIONS):
        middle = (low + high) / 2
        served = _served(work, sources, pace, quota_left, middle, refetch_spare, caps)
        if served >= servable - 1e-6:
            high = middle
        else:
            low = middle
    return Estimate(round(high), waiting, _reset(waiting))


def _reset(waiting: int) -> datetime | None:
    return ratelimit.next_utc_midnight() if waiting else None


def _work_left(matches: QuerySet[Match]) -> Work:
    """`matches` as phase 2 routes them."""
    stub = ~Q(has_details=True)
    with_seq = Q(match_seq_num__isnull=False)
    counts = matches.aggregate(
        stubs_with_seq=Count("pk", filter=stub & with_seq),
        stubs_without_seq=Count("pk", filter=stub & ~with_seq),
        refetch_with_seq=Count("pk", filter=~stub & with_seq),
        refetch_without_seq=Count("pk", filter=~stub & ~with_seq),
    )
    return Work(**counts)


def serving(sources: list[DetailSource]) -> list[DetailSource]:
    """The sources expected to answer: a source presumed dead only once the newest breaker
    of it (any job's) saw it answer."""
    expected = []
    for source in sources:
        if source.name in PRESUMED_DEAD:
            newest = (
                SourceBreaker.objects.filter(source=source.name)
                .order_by("-job__created_at", "-pk")
                .values_list("answered", "open_reason")
                .first()
            )
            if newest is None or not newest[0] or newest[1]:
                continue
        expected.append(source)
    return expected


def estimate_job(job: SyncJob, sources: list[DetailSource], dead: dict[str, str]) -> Estimate:
    """The estimate of a running phase 2, from its work left and its sources still in use."""
    work = _work_left(claims.detail_candidates(job))
    observed = None
    if job.details_started_at and job.details_done:
        elapsed = (dbclock.now() - job.details_started_at).total_seconds()
        observed = job.details_done / elapsed if elapsed > 0 else None
    usable = serving([s for s in sources if s.name not in dead])
    return estimate(work, usable, observed)


def estimate_sync(account: SteamAccount, job_type: str) -> Estimate:
    """What a sync of `job_type` would take in phase 2 if it started now, for the known
    matches (a listing may add more): what the dashboard says before a Full Sync."""
    work = _work_left(claims.wanted_details(account, job_type, refresh_since=dbclock.now()))
    sources = [
        DETAIL_SOURCES[name]
        for name in settings.SYNC_DETAIL_SOURCES
        if usable_now(DETAIL_SOURCES[name])
    ]
    return estimate(work, serving(sources))


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
    needing = Match.objects.for_account(job.account).pending_details(settings.SYNC_MAX_ATTEMPTS)
    count = needing.filter(match_seq_num__isnull=True).count()
    if not count:
        return None
    return Waiting(count, ratelimit.next_utc_midnight())


def continue_after_reset(account: SteamAccount, resets_at: datetime) -> None:
    """Schedule one incremental sync of `account` just after the daily limit resets."""
    dispatch.run_once_at(
        CONTINUE_SCHEDULE.format(account.account_id),
        "syncjobs.tasks.continue_sync",
        (account.account_id,),
        resets_at + timedelta(minutes=1),
        keep_after_run=True,
    )
