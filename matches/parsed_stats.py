"""The stats from parsed matches: the account's last hits at 10 minutes and gold at 10 and 20
over time, its lanes' outcomes against its results, and when it finished its first core item
on each hero, over the filtered matches OpenDota parsed (ParsedPlayer, matches.parsed_summary).

Four queries whatever the number of matches: the account's few numbers of each parsed match
in order (for the moving averages and the medians, which Python takes from them), then the lane
outcomes, the heroes and their first core items grouped in the database. The rules for each
number are matches.parsed_facts'.
"""

from dataclasses import dataclass
from datetime import date, tzinfo
from statistics import median

from django.db.models import Avg, Count, F, Q, QuerySet

from matches.analysis import AccountStats, GamesAndWins, results
from matches.filters import MatchFilters
from matches.models import Match, SteamAccount
from matches.parsed_facts import LaneOutcome
from matches.trends import TREND_WINDOW
from matches.upstream.dota_constants import hero_name, item_name

# (field of ParsedPoint, label) of the averaged numbers, as their charts and tables name them.
PARSED_TREND_NUMBERS = (
    ("lh_10", "Last hits at 10:00"),
    ("gold_10", "Net worth at 10:00"),
    ("gold_20", "Net worth at 20:00"),
)


def parsed_results(account: SteamAccount, filters: MatchFilters) -> QuerySet[Match]:
    """The filtered matches (analysis.results) that were parsed, each joined to the account's
    own summary row (its slot's), annotated `pp_*` with that row's numbers."""
    return (
        results(account, filters)
        .filter(parsed_players__player_slot=F("player_slot"))
        .annotate(
            pp_lh_10=F("parsed_players__lh_10"),
            pp_gold_10=F("parsed_players__gold_10"),
            pp_gold_20=F("parsed_players__gold_20"),
            pp_lane_outcome=F("parsed_players__lane_outcome"),
            pp_item_id=F("parsed_players__first_core_item_id"),
            pp_item_time=F("parsed_players__first_core_item_time"),
        )
    )


@dataclass(frozen=True)
class ParsedPoint:
    """The averages over the `games` last parsed games up to the end of `day`; a number no
    game of them has is None (a game shorter than 20 minutes has no gold at 20:00)."""

    day: date
    games: int
    lh_10: float | None
    gold_10: float | None
    gold_20: float | None


@dataclass(frozen=True)
class LaneResult(GamesAndWins):
    """The parsed games whose lane the account won, drew or lost, and the matches won of them."""

    outcome: str
    games: int
    wins: int

    @property
    def name(self) -> str:
        return LaneOutcome(self.outcome).label


@dataclass(frozen=True)
class FirstCoreItem:
    """On one hero: how many of its parsed games had a core item, when the first came (game
    seconds), and the item most often first (the lowest id of equally common ones)."""

    hero_id: int
    games: int
    median_time: float
    average_time: float
    item_id: int
    item_games: int

    @property
    def hero(self) -> str:
        return hero_name(self.hero_id)

    @property
    def item(self) -> str:
        return item_name(self.item_id)


@dataclass(frozen=True)
class ParsedStats:
    """`parsed` of the `games` filtered matches were parsed; the rest counts those only."""

    games: int
    parsed: int
    points: list[ParsedPoint]
    lanes: list[LaneResult]
    first_items: list[FirstCoreItem]
    window: int = TREND_WINDOW


def _mean(values: list[int | None]) -> float | None:
    known = [value for value in values if value is not None]
    return sum(known) / len(known) if known else None


def points_of(rows: list[tuple], zone: tzinfo, window: int = TREND_WINDOW) -> list[ParsedPoint]:
    """One point per day of play (in `zone`), oldest first, from (start_time, lh_10, gold_10,
    gold_20) rows in the order played: the moving averages of matches.trends, by its rule."""
    points = []
    days = [start.astimezone(zone).date() for start, *_numbers in rows]
    for index, day in enumerate(days):
        if index + 1 < len(days) and days[index + 1] == day:
            continue
        recent = rows[max(0, index + 1 - window) : index + 1]
        averages = [_mean([row[column] for row in recent]) for column in (1, 2, 3)]
        points.append(ParsedPoint(day, len(recent), *averages))
    return points


def parsed_stats(account: SteamAccount, filters: MatchFilters, games: int) -> ParsedStats:
    """The stats of the parsed matches among the `games` filtered ones. Four queries."""
    parsed = parsed_results(account, filters)
    rows = list(
        parsed.order_by("start_time", "match_id").values_list(
            "start_time", "pp_lh_10", "pp_gold_10", "pp_gold_20", "hero_id", "pp_item_time"
        )
    )
    lanes = {
        row["pp_lane_outcome"]: LaneResult(row["pp_lane_outcome"], row["games"], row["wins"])
        for row in parsed.filter(pp_lane_outcome__isnull=False)
        .values("pp_lane_outcome")
        .annotate(games=Count("match_id"), wins=Count("match_id", filter=Q(won=True)))
        .order_by()
    }
    with_item = parsed.filter(hero_id__isnull=False, pp_item_time__isnull=False)
    heroes = (
        with_item.values("hero_id")
        .annotate(games=Count("match_id"), average=Avg("pp_item_time"))
        .order_by()
    )
    commonest: dict[int, tuple[int, int]] = {}
    for row in (
        with_item.values("hero_id", "pp_item_id")
        .annotate(games=Count("match_id"))
        .order_by("hero_id", "-games", "pp_item_id")
    ):
        commonest.setdefault(row["hero_id"], (row["pp_item_id"], row["games"]))
    times: dict[int, list[int]] = {}
    for *_start, hero_id, item_time in rows:
        if hero_id is not None and item_time is not None:
            times.setdefault(hero_id, []).append(item_time)
    first_items = [
        FirstCoreItem(
            hero_id=row["hero_id"],
            games=row["games"],
            median_time=median(times[row["hero_id"]]),
            average_time=float(row["average"]),
            item_id=commonest[row["hero_id"]][0],
            item_games=commonest[row["hero_id"]][1],
        )
        for row in heroes
    ]
    first_items.sort(key=lambda hero: (-hero.games, hero.hero.lower()))
    return ParsedStats(
        games=games,
        parsed=len(rows),
        # A match without a start time (none has, in practice) is on no day.
        points=points_of([row[:4] for row in rows if row[0] is not None], filters.zone),
        lanes=[lanes[o] for o in LaneOutcome.values if o in lanes],
        first_items=first_items,
    )


def kept_parsed_stats(stats: AccountStats) -> ParsedStats:
    games = stats.summary().games
    return stats.kept("parsed", lambda: parsed_stats(stats.account, stats.filters, games))
