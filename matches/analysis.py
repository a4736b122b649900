"""The stats views of an account, over its matches with details and a known result, narrowed
by the shared filters (matches.filters).

Each function aggregates in the database, in a fixed number of queries whatever the number
of matches. The web pages and the API ask AccountStats (at the end), which keeps each answer
until the account's data changes, so they show the same numbers.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Literal, TypeVar

from django.core.cache import cache
from django.db.models import (
    Avg,
    Case,
    Count,
    DateField,
    F,
    IntegerField,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import (
    ExtractHour,
    ExtractIsoWeekDay,
    TruncDay,
    TruncMonth,
    TruncWeek,
)

from matches.filters import DEFAULT_HERO_ORDERING, HERO_ORDERINGS, MatchFilters
from matches.models import AccountMatch, Match, MatchPlayer, SteamAccount
from matches.players import PlayerLabel, label_of, labels_for
from matches.upstream.dota_constants import game_mode_name, hero_name, lobby_type_name

Unit = Literal["day", "week", "month"]
T = TypeVar("T")
_TRUNCATIONS = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
# Lower bounds of the duration buckets, in minutes.
DURATION_BUCKETS = (0, 20, 30, 40, 50)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WITH_AGAINST_SHOWN = 20


class GamesAndWins:
    """A row of games and the wins among them (its dataclass declares the two fields)."""

    games: int
    wins: int

    @property
    def win_rate(self) -> float:
        return self.wins / self.games if self.games else 0.0


def results(account: SteamAccount, filters: MatchFilters) -> QuerySet[Match]:
    """The account's matches with details and a known result, narrowed by `filters`, each
    annotated with the account's own numbers in it (see Match.objects.from_side_of for the rest)."""
    return (
        filters.apply(Match.objects.from_side_of(account))
        .filter(has_details=True, won__isnull=False)
        .annotate(
            last_hits=F("own_player__last_hits"),
            gold_per_min=F("own_player__gold_per_min"),
            xp_per_min=F("own_player__xp_per_min"),
            hero_damage=F("own_player__hero_damage"),
            hero_healing=F("own_player__hero_healing"),
            party_size=F("own_player__party_size"),
        )
        # No ordering: it would join every GROUP BY of the views.
        .order_by()
    )


def _games_and_wins() -> dict:
    return {"games": Count("match_id"), "wins": Count("match_id", filter=Q(won=True))}


# --- summary and over time ----------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    games: int
    wins: int

    @property
    def losses(self) -> int:
        return self.games - self.wins

    @property
    def win_rate(self) -> float | None:
        return self.wins / self.games if self.games else None


def summary(account: SteamAccount, filters: MatchFilters) -> Summary:
    totals = results(account, filters).aggregate(**_games_and_wins())
    return Summary(totals["games"], totals["wins"])


@dataclass(frozen=True)
class Period(GamesAndWins):
    """Games and wins in the day, week (from Monday) or month starting on `start`."""

    start: date
    unit: Unit
    games: int
    wins: int

    @property
    def label(self) -> str:
        """Short, for an axis."""
        return self.start.strftime("%b %y" if self.unit == "month" else "%d %b")

    @property
    def name(self) -> str:
        """In full, for a table or a tooltip."""
        if self.unit == "month":
            return self.start.strftime("%B %Y")
        if self.unit == "week":
            return f"Week of {self.start.isoformat()}"
        return self.start.isoformat()


def over_time(account: SteamAccount, filters: MatchFilters, unit: Unit = "month") -> list[Period]:
    """Games and wins per day, week or month (of the filters' time zone), oldest first;
    periods without games are absent."""
    truncate = _TRUNCATIONS[unit]
    rows = (
        results(account, filters)
        .filter(start_time__isnull=False)
        .annotate(period=truncate("start_time", output_field=DateField(), tzinfo=filters.zone))
        .values("period")
        .annotate(**_games_and_wins())
        .order_by("period")
    )
    return [Period(row["period"], unit, row["games"], row["wins"]) for row in rows]


# --- heroes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeroStats(GamesAndWins):
    hero_id: int
    games: int
    wins: int
    avg_kills: float | None
    avg_deaths: float | None
    avg_assists: float | None
    kda_ratio: float | None
    avg_gpm: float | None
    avg_xpm: float | None
    last_played: datetime | None

    @property
    def name(self) -> str:
        return hero_name(self.hero_id)


HERO_SORTS = {
    "hero": lambda hero: hero.name.lower(),
    "games": lambda hero: hero.games,
    "wins": lambda hero: hero.wins,
    "win_rate": lambda hero: hero.win_rate,
    "kills": lambda hero: hero.avg_kills,
    "deaths": lambda hero: hero.avg_deaths,
    "assists": lambda hero: hero.avg_assists,
    "kda": lambda hero: hero.kda_ratio,
    "gpm": lambda hero: hero.avg_gpm,
    "xpm": lambda hero: hero.avg_xpm,
    "last_played": lambda hero: hero.last_played,
}


def kda_ratio(kills: int | None, deaths: int | None, assists: int | None) -> float | None:
    """(kills + assists) / deaths over the games, deaths counted as at least 1."""
    if kills is None or deaths is None or assists is None:
        return None
    return (kills + assists) / max(deaths, 1)


def heroes(
    account: SteamAccount, filters: MatchFilters, ordering: str = DEFAULT_HERO_ORDERING
) -> list[HeroStats]:
    """Every hero the account played, ordered by `ordering` (a HERO_ORDERINGS key; "-" first
    is descending, unknown values last), then most games first, then by hero id."""
    if ordering not in HERO_ORDERINGS:
        raise ValueError(f"ordering must be one of {HERO_ORDERINGS}, not {ordering!r}")
    rows = (
        results(account, filters)
        .filter(hero_id__isnull=False)
        .values("hero_id")
        .annotate(
            **_games_and_wins(),
            avg_kills=Avg("kills"),
            avg_deaths=Avg("deaths"),
            avg_assists=Avg("assists"),
            total_kills=Sum("kills"),
            total_deaths=Sum("deaths"),
            total_assists=Sum("assists"),
            avg_gpm=Avg("gold_per_min"),
            avg_xpm=Avg("xp_per_min"),
            last_played=Max("start_time"),
        )
    )
    found = [
        HeroStats(
            hero_id=row["hero_id"],
            games=row["games"],
            wins=row["wins"],
            avg_kills=row["avg_kills"],
            avg_deaths=row["avg_deaths"],
            avg_assists=row["avg_assists"],
            kda_ratio=kda_ratio(row["total_kills"], row["total_deaths"], row["total_assists"]),
            avg_gpm=row["avg_gpm"],
            avg_xpm=row["avg_xpm"],
            last_played=row["last_played"],
        )
        for row in rows
    ]
    found.sort(key=lambda hero: (-hero.games, hero.hero_id))
    key = HERO_SORTS[ordering.removeprefix("-")]
    known = [hero for hero in found if key(hero) is not None]
    unknown = [hero for hero in found if key(hero) is None]
    # A stable sort: equal values keep the most-games-first order.
    known.sort(key=key, reverse=ordering.startswith("-"))
    return known + unknown


# --- breakdowns ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket(GamesAndWins):
    """Games and wins of the matches sharing one value (a game mode, a side...)."""

    key: int | str
    name: str
    games: int
    wins: int


@dataclass(frozen=True)
class Breakdowns:
    game_modes: list[Bucket]
    lobby_types: list[Bucket]
    sides: list[Bucket]
    party_sizes: list[Bucket]
    durations: list[Bucket]


def duration_label(minutes: int) -> str:
    later = [bound for bound in DURATION_BUCKETS if bound > minutes]
    return f"{minutes} to {later[0]} min" if later else f"{minutes} min and more"


def _duration_bucket() -> Case:
    return Case(
        *(
            When(duration__gte=minutes * 60, then=Value(minutes))
            for minutes in reversed(DURATION_BUCKETS)
        ),
        output_field=IntegerField(),
    )


def breakdowns(account: SteamAccount, filters: MatchFilters) -> Breakdowns:
    """Games and wins by game mode, lobby type, side, party size and duration; values that
    are unknown (no party size, no duration) are left out. Five queries."""
    matches = results(account, filters)

    def by(expression: str, label) -> list[Bucket]:
        rows = (
            matches.filter(**{f"{expression}__isnull": False})
            .values(expression)
            .annotate(**_games_and_wins())
            .order_by(expression)
        )
        return [
            Bucket(row[expression], label(row[expression]), row["games"], row["wins"])
            for row in rows
        ]

    sides = by("is_radiant", lambda radiant: "Radiant" if radiant else "Dire")
    return Breakdowns(
        game_modes=sorted(by("game_mode", game_mode_name), key=lambda b: -b.games),
        lobby_types=sorted(by("lobby_type", lobby_type_name), key=lambda b: -b.games),
        # Radiant first, keyed like the side filter.
        sides=[
            Bucket("radiant" if side.key else "dire", side.name, side.games, side.wins)
            for side in reversed(sides)
        ],
        party_sizes=by("party_size", lambda size: "Solo" if size == 1 else f"Party of {size}"),
        durations=by_duration(matches),
    )


def by_duration(matches: QuerySet[Match]) -> list[Bucket]:
    rows = (
        matches.filter(duration__isnull=False)
        .annotate(bucket=_duration_bucket())
        .values("bucket")
        .annotate(**_games_and_wins())
        .order_by("bucket")
    )
    return [
        Bucket(row["bucket"], duration_label(row["bucket"]), row["games"], row["wins"])
        for row in rows
    ]


# --- records ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """The account's best (or, for the shortest match, lowest) value of one number, and the
    first match (lowest id) that reached it."""

    key: str
    label: str
    value: int
    match_id: int
    start_time: datetime | None
    hero_id: int | None
    won: bool


# (key, label, annotation, highest wins)
RECORDS = (
    ("kills", "Most kills", "kills", True),
    ("deaths", "Most deaths", "deaths", True),
    ("assists", "Most assists", "assists", True),
    ("gold_per_min", "Highest GPM", "gold_per_min", True),
    ("xp_per_min", "Highest XPM", "xp_per_min", True),
    ("hero_damage", "Most hero damage", "hero_damage", True),
    ("hero_healing", "Most healing", "hero_healing", True),
    ("last_hits", "Most last hits", "last_hits", True),
    ("longest", "Longest match", "duration", True),
    ("shortest", "Shortest match", "duration", False),
)


def records(account: SteamAccount, filters: MatchFilters) -> list[Record]:
    """The records among the filtered matches, in RECORDS' order; a number no match has is
    absent. Three queries: the best values, the first match with each, and those matches."""
    matches = results(account, filters)
    best = matches.aggregate(
        **{key: (Max if highest else Min)(field) for key, _label, field, highest in RECORDS}
    )
    reached = {key: value for key, value in best.items() if value is not None}
    if not reached:
        return []
    fields = {key: field for key, _label, field, _highest in RECORDS}
    firsts = matches.aggregate(
        **{key: Min("match_id", filter=Q(**{fields[key]: value})) for key, value in reached.items()}
    )
    found = {
        row["match_id"]: row
        for row in matches.filter(match_id__in=set(firsts.values())).values(
            "match_id", "start_time", "hero_id", "won"
        )
    }
    return [
        Record(
            key,
            label,
            reached[key],
            firsts[key],
            found[firsts[key]]["start_time"],
            found[firsts[key]]["hero_id"],
            found[firsts[key]]["won"],
        )
        for key, label, _field, _highest in RECORDS
        if key in reached
    ]


# --- activity -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityCell(GamesAndWins):
    weekday: int  # 1 Monday ... 7 Sunday (ISO)
    hour: int
    games: int
    wins: int

    @property
    def weekday_name(self) -> str:
        return WEEKDAYS[self.weekday - 1]


@dataclass(frozen=True)
class Activity:
    """Games by weekday and hour of the filters' time zone: `rows[weekday - 1][hour]`."""

    rows: list[list[ActivityCell]]
    zone_name: str

    @property
    def by_hour(self) -> list[list[ActivityCell]]:
        """The same cells, a row per hour: `by_hour[hour][weekday - 1]`."""
        return [[row[hour] for row in self.rows] for hour in range(24)]

    @property
    def most_games(self) -> int:
        return max((cell.games for row in self.rows for cell in row), default=0)


def activity(account: SteamAccount, filters: MatchFilters) -> Activity:
    zone = filters.zone
    rows = (
        results(account, filters)
        .filter(start_time__isnull=False)
        .annotate(
            weekday=ExtractIsoWeekDay("start_time", tzinfo=zone),
            hour=ExtractHour("start_time", tzinfo=zone),
        )
        .values("weekday", "hour")
        .annotate(**_games_and_wins())
    )
    counts = {(row["weekday"], row["hour"]): (row["games"], row["wins"]) for row in rows}
    grid = [
        [ActivityCell(weekday, hour, *counts.get((weekday, hour), (0, 0))) for hour in range(24)]
        for weekday in range(1, 8)
    ]
    return Activity(grid, str(zone))


# --- with and against ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PlayerTogether(GamesAndWins):
    """A player met in the filtered matches; `wins` are the account's wins."""

    account_id: int
    games: int
    wins: int
    last_played: datetime | None
    label: PlayerLabel | None = None  # the name, once with_names has looked it up

    @property
    def persona_name(self) -> str:
        return self.label.persona_name if self.label else ""


@dataclass(frozen=True)
class HeroTogether(GamesAndWins):
    """A hero on the account's side (with) or the other (against); `wins` are the account's."""

    hero_id: int
    games: int
    wins: int

    @property
    def name(self) -> str:
        return hero_name(self.hero_id)


@dataclass(frozen=True)
class WithAgainst:
    teammates: list[PlayerTogether]
    opponents: list[PlayerTogether]
    heroes_with: list[HeroTogether]
    heroes_against: list[HeroTogether]


def with_against(
    account: SteamAccount, filters: MatchFilters, limit: int = WITH_AGAINST_SHOWN
) -> WithAgainst:
    """The players (named: see with_names) and heroes met most in the filtered matches, on the
    account's side and on the other, `limit` of each. Four queries, and the names."""
    return with_names(met(account, filters, limit))


def met(
    account: SteamAccount, filters: MatchFilters, limit: int = WITH_AGAINST_SHOWN
) -> WithAgainst:
    """with_against's numbers, without the players' names. Four queries.

    The account's side is its own player row's: a match where it played anonymously (a
    private profile) has no one with or against it.
    """
    in_view = results(account, filters).values("match_id")
    others = MatchPlayer.objects.filter(match_id__in=in_view).exclude(account_id=account.account_id)
    # One filter() per side: the own row and its side must be the same join.
    alongside = others.filter(
        match__players__account_id=account.account_id,
        match__players__is_radiant=F("is_radiant"),
    )
    facing = others.filter(
        match__players__account_id=account.account_id,
        match__players__is_radiant=~F("is_radiant"),
    )
    won_with = Q(match__radiant_win=F("is_radiant"))
    won_against = Q(match__radiant_win=~F("is_radiant"))
    return WithAgainst(
        teammates=_players(alongside, won_with, limit),
        opponents=_players(facing, won_against, limit),
        heroes_with=_heroes(alongside, won_with, limit),
        heroes_against=_heroes(facing, won_against, limit),
    )


def _players(rows: QuerySet[MatchPlayer], won: Q, limit: int) -> list[PlayerTogether]:
    found = (
        rows.filter(account_id__isnull=False)
        .values("account_id")
        .annotate(
            games=Count("match_id"),
            wins=Count("match_id", filter=won),
            last_played=Max("match__start_time"),
        )
        .order_by("-games", "-wins", "account_id")[:limit]
    )
    return [
        PlayerTogether(row["account_id"], row["games"], row["wins"], row["last_played"])
        for row in found
    ]


def with_names(together: WithAgainst) -> WithAgainst:
    """`together` with the players' current names and avatars (two queries at most)."""
    labels = labels_for(p.account_id for p in [*together.teammates, *together.opponents])

    def named(players: list[PlayerTogether]) -> list[PlayerTogether]:
        return [replace(p, label=label_of(p.account_id, labels)) for p in players]

    return replace(
        together, teammates=named(together.teammates), opponents=named(together.opponents)
    )


def _heroes(rows: QuerySet[MatchPlayer], won: Q, limit: int) -> list[HeroTogether]:
    found = (
        rows.filter(hero_id__isnull=False)
        .values("hero_id")
        .annotate(games=Count("match_id"), wins=Count("match_id", filter=won))
        .order_by("-games", "-wins", "hero_id")[:limit]
    )
    return [HeroTogether(row["hero_id"], row["games"], row["wins"]) for row in found]


# --- one account's views, kept until its data changes -------------------------------------------

# A kept answer goes stale only through edits no sync makes (an admin's); an hour bounds that.
CACHE_SECONDS = 60 * 60
# Kept answers are pickles of this package's dataclasses, found again by module path: one
# kept before a kept class moved or changed its fields cannot be read back. Bump the version
# with any such change (2: issue 21 reorganised the read side's modules), and the old
# entries are never asked for again.
CACHE_KEY_PREFIX = "stats:v2:"


def data_version(account: SteamAccount) -> tuple:
    """What changes whenever the account's numbers can: how many matches it has, when the
    newest was linked, and when details were last stored for any of them. One query."""
    version = AccountMatch.objects.filter(account=account).aggregate(
        links=Count("pk"),
        newest_link=Max("discovered_at"),
        newest_details=Max("match__details_fetched_at"),
    )
    return tuple(version.values())


class AccountStats:
    """The stats views of `account` under `filters`, as the pages and the API ask for them.

    Each is computed by the functions above once, then kept in Django's cache under the
    account's data_version, so the many clients polling a page while nothing changes cost one
    small query each, and a sync that stores anything new is seen at the next request. The
    players' names are looked up every time: Steam renames players without new matches.
    """

    def __init__(self, account: SteamAccount, filters: MatchFilters) -> None:
        self.account = account
        self.filters = filters
        self._version: tuple | None = None

    def kept(self, view: str, compute: Callable[[], T], *options: object) -> T:
        """`compute()`, or what it gave before for this view, these options and filters while
        the account's data is the same (the other stats modules keep theirs here too)."""
        if self._version is None:
            self._version = data_version(self.account)
        identity = (view, options, self.account.pk, self._version, repr(self.filters))
        key = CACHE_KEY_PREFIX + hashlib.sha256(repr(identity).encode()).hexdigest()
        found = cache.get(key)
        if found is None:
            found = compute()
            cache.set(key, found, CACHE_SECONDS)
        return found

    def summary(self) -> Summary:
        return self.kept("summary", lambda: summary(self.account, self.filters))

    def over_time(self, unit: Unit) -> list[Period]:
        return self.kept("over_time", lambda: over_time(self.account, self.filters, unit), unit)

    def heroes(self, ordering: str = DEFAULT_HERO_ORDERING) -> list[HeroStats]:
        return self.kept("heroes", lambda: heroes(self.account, self.filters, ordering), ordering)

    def breakdowns(self) -> Breakdowns:
        return self.kept("breakdowns", lambda: breakdowns(self.account, self.filters))

    def records(self) -> list[Record]:
        return self.kept("records", lambda: records(self.account, self.filters))

    def activity(self) -> Activity:
        return self.kept("activity", lambda: activity(self.account, self.filters))

    def with_against(self) -> WithAgainst:
        return with_names(self.kept("met", lambda: met(self.account, self.filters)))
