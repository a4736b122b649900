"""One other player side by side with an account: the filtered matches they were in, as the
account's teammate or opponent, the account's numbers with them, against them and without
them, the heroes the two played in those matches, and the last of them.

Counted over the account's own linked matches only (analysis.results), so a user learns
nothing of matches none of their accounts played. Four queries whatever the number of matches,
and a name lookup when the two met.
"""

from dataclasses import dataclass, replace
from datetime import datetime

from django.db.models import (
    Avg,
    BooleanField,
    Case,
    Count,
    F,
    FilteredRelation,
    Q,
    QuerySet,
    Value,
    When,
)

from matches.analysis import AccountStats, GamesAndWins, results
from matches.filters import MatchFilters
from matches.models import Match, SteamAccount
from matches.players import PlayerLabel, label_of, labels_for
from matches.upstream.dota_constants import hero_name

LAST_GAMES_SHOWN = 10
HERO_PAIRS_SHOWN = 20
# The account's own numbers averaged over a group of matches (annotations of results()).
AVERAGED = ("kills", "deaths", "assists", "gold_per_min", "xp_per_min", "last_hits")


@dataclass(frozen=True)
class OwnNumbers(GamesAndWins):
    """The account's games, wins and average numbers over one group of matches."""

    games: int
    wins: int
    kills: float | None
    deaths: float | None
    assists: float | None
    gold_per_min: float | None
    xp_per_min: float | None
    last_hits: float | None

    @property
    def losses(self) -> int:
        return self.games - self.wins


@dataclass(frozen=True)
class HeroPair(GamesAndWins):
    """The account's hero and the other player's in the matches they met so; `wins` are the
    account's."""

    own_hero_id: int | None
    their_hero_id: int | None
    as_teammates: bool
    games: int
    wins: int

    @property
    def own_hero(self) -> str:
        return hero_name(self.own_hero_id)

    @property
    def their_hero(self) -> str:
        return hero_name(self.their_hero_id)


@dataclass(frozen=True)
class GameTogether:
    match_id: int
    start_time: datetime | None
    as_teammates: bool
    won: bool
    own_hero_id: int | None
    their_hero_id: int | None
    kills: int | None
    deaths: int | None
    assists: int | None

    @property
    def own_hero(self) -> str:
        return hero_name(self.own_hero_id)

    @property
    def their_hero(self) -> str:
        return hero_name(self.their_hero_id)


@dataclass(frozen=True)
class SideBySide:
    """`player_id` and the account over the filtered matches; `label` is None when the two
    never met in them (no name is looked up for a stranger)."""

    player_id: int
    with_them: OwnNumbers
    against_them: OwnNumbers
    without_them: OwnNumbers
    hero_pairs: list[HeroPair]
    last_games: list[GameTogether]
    label: PlayerLabel | None = None

    @property
    def games_together(self) -> int:
        return self.with_them.games + self.against_them.games

    @property
    def name(self) -> str:
        return self.label.name if self.label else str(self.player_id)

    @property
    def groups(self) -> list[tuple[str, OwnNumbers]]:
        """The three groups of matches, titled, for a table."""
        return [
            ("With them", self.with_them),
            ("Against them", self.against_them),
            ("Without them", self.without_them),
        ]


def _with_player(account: SteamAccount, filters: MatchFilters, player_id: int) -> QuerySet[Match]:
    """results() with the other player's row of each match (their_row) and `as_teammates`:
    True on the account's side, False on the other, None when they did not play it."""
    return (
        results(account, filters)
        .annotate(
            their_row=FilteredRelation("players", condition=Q(players__account_id=player_id)),
        )
        .annotate(
            as_teammates=Case(
                When(their_row__is_radiant__isnull=True, then=None),
                When(their_row__is_radiant=F("is_radiant"), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(null=True),
            ),
            their_hero_id=F("their_row__hero_id"),
        )
    )


def _own_numbers(totals: dict, group: str) -> OwnNumbers:
    return OwnNumbers(
        games=totals[f"{group}_games"],
        wins=totals[f"{group}_wins"],
        **{field: totals[f"{group}_{field}"] for field in AVERAGED},
    )


def side_by_side(account: SteamAccount, filters: MatchFilters, player_id: int) -> SideBySide:
    """The account and `player_id` over the filtered matches (see the module's docstring)."""
    matches = _with_player(account, filters, player_id)
    groups = {
        "with": Q(as_teammates=True),
        "against": Q(as_teammates=False),
        "without": Q(as_teammates__isnull=True),
    }
    aggregates = {}
    for group, condition in groups.items():
        aggregates[f"{group}_games"] = Count("match_id", filter=condition)
        aggregates[f"{group}_wins"] = Count("match_id", filter=condition & Q(won=True))
        for field in AVERAGED:
            aggregates[f"{group}_{field}"] = Avg(field, filter=condition)
    totals = matches.aggregate(**aggregates)
    met = matches.filter(as_teammates__isnull=False)
    pairs = (
        met.values("hero_id", "their_hero_id", "as_teammates")
        .annotate(games=Count("match_id"), wins=Count("match_id", filter=Q(won=True)))
        .order_by("-games", "-wins", "hero_id", "their_hero_id", "-as_teammates")
    )[:HERO_PAIRS_SHOWN]
    last = met.order_by(F("start_time").desc(nulls_last=True), "-match_id").values(
        "match_id",
        "start_time",
        "as_teammates",
        "won",
        "hero_id",
        "their_hero_id",
        "kills",
        "deaths",
        "assists",
    )[:LAST_GAMES_SHOWN]
    return SideBySide(
        player_id=player_id,
        with_them=_own_numbers(totals, "with"),
        against_them=_own_numbers(totals, "against"),
        without_them=_own_numbers(totals, "without"),
        hero_pairs=[
            HeroPair(
                row["hero_id"], row["their_hero_id"], row["as_teammates"], row["games"], row["wins"]
            )
            for row in pairs
        ],
        last_games=[
            GameTogether(
                match_id=row["match_id"],
                start_time=row["start_time"],
                as_teammates=row["as_teammates"],
                won=row["won"],
                own_hero_id=row["hero_id"],
                their_hero_id=row["their_hero_id"],
                kills=row["kills"],
                deaths=row["deaths"],
                assists=row["assists"],
            )
            for row in last
        ],
    )


def with_name(found: SideBySide) -> SideBySide:
    """`found` with the player's current name, if the two met (two queries at most)."""
    if not found.games_together:
        return found
    return replace(found, label=label_of(found.player_id, labels_for([found.player_id])))


def kept_side_by_side(stats: AccountStats, player_id: int) -> SideBySide:
    """side_by_side for the pages and the API: the numbers kept as AccountStats keeps its
    views, the name looked up every time (Steam renames players without new matches)."""
    numbers = stats.kept(
        "side_by_side",
        lambda: side_by_side(stats.account, stats.filters, player_id),
        player_id,
    )
    return with_name(numbers)
