"""The completeness report: what each ID source says of an account and what DotaSync holds.

Per ID source (every one in ID_SOURCES): the count it last reported (ListingFrontier), how
many stored matches its pages listed (AccountMatch.listed_by), its frontier, and the matches
only it knows, by month. Then the stubs still waiting for details and why, the failed matches
by their error, and advice in a player's words that the numbers bear out.

Invariant (tested): the union of the sources' listed sets plus the matches with no listing
record (listed before sources were recorded) is exactly the account's stored matches.

Every number comes from a fixed handful of aggregate queries, whatever the history's size.
"""

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import TruncMonth

from matches.models import AccountMatch, Match, SteamAccount
from syncjobs.models import ListingFrontier
from syncjobs.sources import (
    DETAIL_SOURCES,
    ID_SOURCES,
    LISTED_BY_BITS,
    OPENDOTA_LIST,
    STEAM_HISTORY,
    STRATZ_LIST,
    has_its_key,
    switched_off,
)

REFRESH_EVERY_HOURS = 24


@dataclass(frozen=True)
class MonthCount:
    month: date | None  # None: matches without a start time
    count: int


@dataclass(frozen=True)
class SourceView:
    """What one ID source says of the account, and what its pages listed."""

    name: str
    player_name: str
    reported_total: int | None
    reported_at: datetime | None
    listed: int  # stored matches its pages listed
    only_here: int  # stored matches no other source listed
    only_here_by_month: list[MonthCount]
    complete_through: int | None
    partial: bool
    has_key: bool


@dataclass(frozen=True)
class FailedGroup:
    error: str
    count: int


@dataclass(frozen=True)
class Completeness:
    account_id: int
    stored: int
    unrecorded: int  # stored before listings recorded their source
    sources: list[SourceView]
    stubs: int
    stubs_waiting_why: list[str]
    failed: list[FailedGroup]
    quiet_months: list[date]  # months without any match between months with matches
    advice: list[str] = field(default_factory=list)
    refresh_offered: bool = False
    refresh_asked_at: datetime | None = None

    @property
    def listed_union(self) -> int:
        return self.stored - self.unrecorded

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values (the API's and the command's --json)."""

        def plain(value: Any) -> Any:
            if isinstance(value, date | datetime):
                return value.isoformat()
            if isinstance(value, list):
                return [plain(item) for item in value]
            if isinstance(value, dict):
                return {key: plain(item) for key, item in value.items()}
            return value

        return plain(asdict(self)) | {"listed_union": self.listed_union}


def _month(moment: datetime | None) -> date | None:
    if moment is None:
        return None
    return date(moment.year, moment.month, 1)


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _quiet_months(months: set[date]) -> list[date]:
    if not months:
        return []
    quiet, month, last = [], min(months), max(months)
    while month < last:
        if month not in months:
            quiet.append(month)
        month = _next_month(month)
    return quiet


def report(account: SteamAccount) -> Completeness:
    """The account's completeness report, in a fixed number of queries whatever its size."""
    links = AccountMatch.objects.filter(account=account)
    # 1: stored matches by (which sources listed them, month): every per-source count and
    # every "only this source" month follows from these few groups.
    groups = list(
        links.annotate(month=TruncMonth("match__start_time"))
        .values_list("listed_by", "month")
        .annotate(count=Count("pk"))
        .order_by()
    )
    # 2: the details' states.
    states = Match.objects.for_account(account).aggregate(
        stubs=Count("pk", filter=Q(has_details__isnull=True)),
        stubs_without_seq=Count(
            "pk", filter=Q(has_details__isnull=True, match_seq_num__isnull=True)
        ),
        retryable=Count(
            "pk", filter=Q(has_details=False, retry_count__lt=settings.SYNC_MAX_ATTEMPTS)
        ),
        given_up=Count(
            "pk", filter=Q(has_details=False, retry_count__gte=settings.SYNC_MAX_ATTEMPTS)
        ),
    )
    # 3: the failed matches by their error.
    failed = [
        FailedGroup(error or "(no error recorded)", count)
        for error, count in Match.objects.for_account(account)
        .failed()
        .values_list("fetch_error")
        .annotate(count=Count("pk"))
        .order_by("-count", "fetch_error")
    ]
    # 4: the frontiers.
    frontiers = {f.source: f for f in ListingFrontier.objects.filter(account=account)}

    stored = sum(count for _, _, count in groups)
    unrecorded = sum(count for mask, _, count in groups if mask == 0)
    months = {_month(month) for _, month, _ in groups if month is not None}
    views = []
    for name, source in ID_SOURCES.items():
        bit = LISTED_BY_BITS[name]
        only: dict[date | None, int] = defaultdict(int)
        for mask, month, count in groups:
            if mask == bit:
                only[_month(month)] += count
        frontier = frontiers.get(name)
        views.append(
            SourceView(
                name=name,
                player_name=source.player_name,
                reported_total=frontier.reported_total if frontier else None,
                reported_at=frontier.reported_at if frontier else None,
                listed=sum(count for mask, _, count in groups if mask & bit),
                only_here=sum(only.values()),
                only_here_by_month=[
                    MonthCount(month, only[month])
                    for month in sorted(only, key=lambda m: (m is None, m))
                ],
                complete_through=frontier.complete_through if frontier else None,
                partial=bool(frontier and frontier.has_partial),
                has_key=has_its_key(source),
            )
        )
    opendota = frontiers.get(OPENDOTA_LIST)
    result = Completeness(
        account_id=account.account_id,
        stored=stored,
        unrecorded=unrecorded,
        sources=views,
        stubs=states["stubs"],
        stubs_waiting_why=_waiting_why(states),
        failed=failed,
        quiet_months=_quiet_months(months),
        refresh_asked_at=opendota.refresh_asked_at if opendota else None,
    )
    offered = opendota_behind(result)
    return Completeness(
        **{**result.__dict__, "refresh_offered": offered, "advice": _advice(result, offered)}
    )


def _waiting_why(states: dict[str, int]) -> list[str]:
    """Why matches still wait for details: the detail sources that cannot answer now, the
    retry backoff of failed ones, in a player's words."""
    why = []
    if states["retryable"]:
        why.append(
            f"{states['retryable']:,} failed matches are tried again once their backoff has "
            "passed (SYNC_RETRY_BACKOFF_BASE)."
        )
    if states["given_up"]:
        why.append(
            f"{states['given_up']:,} failed matches used up their {settings.SYNC_MAX_ATTEMPTS} "
            "attempts: “Fetch waiting matches” on the dashboard tries them again."
        )
    stubs, without_seq = states["stubs"], states["stubs_without_seq"]
    if not stubs:
        return why
    for name in settings.SYNC_DETAIL_SOURCES:
        source = DETAIL_SOURCES[name]
        if not has_its_key(source):
            why.append(f"{source.player_name} needs a Steam API key (STEAM_API_KEY).")
        elif off := switched_off(source):
            why.append(f"{source.player_name} is switched off: {off}")
    if without_seq:
        why.append(
            f"{without_seq:,} of them have no match sequence number: only OpenDota "
            "(or GetMatchDetails) can give their details."
        )
    if len(why) == (bool(states["retryable"]) + bool(states["given_up"])):
        why.append(f"{stubs:,} stubs are fetched by the next sync.")
    return why


def _view(result: Completeness, name: str) -> SourceView | None:
    return next((view for view in result.sources if view.name == name), None)


def opendota_behind(result: Completeness) -> bool:
    """Whether OpenDota's count is behind another source's (its refresh may close the gap)."""
    opendota = _view(result, OPENDOTA_LIST)
    if opendota is None or opendota.reported_total is None:
        return False
    others = [
        max(view.listed, view.reported_total or 0)
        for view in result.sources
        if view.name != OPENDOTA_LIST
    ]
    return any(count > opendota.reported_total for count in others) or any(
        view.only_here > 0 for view in result.sources if view.name != OPENDOTA_LIST
    )


def _advice(result: Completeness, opendota_is_behind: bool) -> list[str]:
    advice = []
    for view in result.sources:
        if not view.has_key:
            advice.append(
                "STRATZ is not asked: a free token from STRATZ's site (STRATZ_API_TOKEN) adds "
                "the matches it has."
                if view.name == STRATZ_LIST
                else f"{view.player_name} is not asked: add a Steam API key (STEAM_API_KEY) to "
                "list the matches it has."
            )
        # Steam's total_results counts what its pages leave out (shared/NOTES.md); it counts
        # its newest 500 only, so only a count under the cap compares with what it listed.
        if view.reported_total is not None and view.reported_total > view.listed:
            advice.append(
                f"{view.player_name} counts {view.reported_total - view.listed:,} more "
                f"matches than its pages listed ({view.reported_total:,} counted, "
                f"{view.listed:,} listed): high-level matches are hidden from Steam's pages; "
                "other sources list them."
                if view.name == STEAM_HISTORY
                else f"{view.player_name} counts {view.reported_total - view.listed:,} more "
                "matches than are stored from it: the next sync lists them."
            )
        if view.only_here:
            advice.append(
                f"{view.only_here:,} stored matches are known only to {view.player_name}."
            )
    for month in result.quiet_months:
        advice.append(
            f"No source lists a match in {month:%B %Y}, between months with matches: perhaps "
            "“Expose Public Match Data” was off then (Dota 2: Settings → Options → Social)."
        )
    if opendota_is_behind:
        advice.append(
            "OpenDota knows fewer matches than the other sources: ask it to refresh this "
            "account (it rescans the newest 500 matches), then sync again."
        )
    if result.unrecorded:
        advice.append(
            f"{result.unrecorded:,} matches were stored before DotaSync recorded which source "
            "listed them; a Full Sync records it."
        )
    return advice
