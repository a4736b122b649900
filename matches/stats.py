"""Read-only statistics over an account's synced matches.

Everything is computed from stored rows at read time (never from counters), so re-syncing a
match cannot count it twice. The web pages and the REST API both call these functions.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    FilteredRelation,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, NullIf

from matches.models import Match, MatchPlayer, Player, SteamAccount
from matches.players import PlayerLabel, label_of, labels_for
from matches.upstream.dota_constants import ability_name, hero_name

RESULTS = ("win", "loss")
DETAILS_STATUSES = ("pending", "complete", "failed")
_DETAILS_STATUS_FILTERS = {
    "pending": Q(has_details__isnull=True),
    "complete": Q(has_details=True),
    "failed": Q(has_details=False),
}
# Steam numbers the Radiant slots 0-4 and the Dire slots 128-132.
_DIRE_SLOT_FLAG = 128


@dataclass(frozen=True)
class Teammate:
    account_id: int
    games: int
    wins: int
    win_rate: float
    last_played: datetime | None
    persona_name: str
    avatar_url: str = ""

    @property
    def label(self) -> PlayerLabel:
        return PlayerLabel(self.account_id, self.persona_name, self.avatar_url)


def teammates(
    account: SteamAccount, limit: int | None = None, min_games: int = 1
) -> list[Teammate]:
    """The players who were on the account's team in its matches with details, most games first,
    those with at least `min_games` games together.

    One aggregate query over the account's own linked matches (linked_matches), as every other
    view counts: a match another user's sync stored, in which the account merely appears, is
    not the account's until its own sync links it. The account's player rows are joined, on
    the match, to the other known players of the same side.
    """
    player = Player.objects.filter(account_id=OuterRef("account_id"))
    linked = SteamAccount.objects.filter(account_id=OuterRef("account_id"))
    own_matches = linked_matches(account, details_status="complete").values("pk")
    rows = (
        MatchPlayer.objects.filter(
            match_id__in=own_matches,
            match__players__account_id=account.account_id,
            match__players__is_radiant=F("is_radiant"),
            account_id__isnull=False,
        )
        .exclude(account_id=account.account_id)
        .values("account_id")
        .annotate(
            games=Count("match_id", distinct=True),
            wins=Count("match_id", distinct=True, filter=Q(match__radiant_win=F("is_radiant"))),
            last_played=Max("match__start_time"),
            # The Player table's name, else a linked account's own (NULLIF: "" is no name).
            persona_name=Coalesce(
                NullIf(Subquery(player.values("persona_name")[:1]), Value("")),
                NullIf(Subquery(linked.values("persona_name")[:1]), Value("")),
                Value(""),
            ),
            avatar_url=Coalesce(
                NullIf(Subquery(player.values("avatar_medium_url")[:1]), Value("")),
                Subquery(linked.values("avatar_url")[:1]),
                Value(""),
            ),
        )
        .filter(games__gte=min_games)
        .order_by("-games", "-wins", "account_id")
    )
    if limit is not None:
        rows = rows[:limit]
    return [
        Teammate(
            account_id=row["account_id"],
            games=row["games"],
            wins=row["wins"],
            win_rate=row["wins"] / row["games"],
            last_played=row["last_played"],
            persona_name=row["persona_name"],
            avatar_url=row["avatar_url"],
        )
        for row in rows
    ]


def account_matches(
    account: SteamAccount,
    *,
    hero_id: int | None = None,
    result: str | None = None,
    details_status: str | None = None,
) -> QuerySet[Match]:
    """The account's matches, newest first, each annotated with the account's own side of it.

    Annotations: hero_id (the player row's, else the one Steam's history gave the stub),
    kills, deaths, assists, leaver_status, player_slot, is_radiant and won (None while
    unknown). They come from joins, not per-row queries, so a page of any size costs the same
    queries.
    `result` is "win" or "loss"; `details_status` is "pending", "complete" or "failed".
    """
    if result is not None and result not in RESULTS:
        raise ValueError(f"result must be one of {RESULTS}, not {result!r}")

    matches = (
        linked_matches(account, details_status=details_status)
        .annotate(
            own_player=FilteredRelation(
                "players", condition=Q(players__account_id=account.account_id)
            ),
        )
        .annotate(
            hero_id=Coalesce("own_player__hero_id", "account_links__hero_id"),
            kills=F("own_player__kills"),
            deaths=F("own_player__deaths"),
            assists=F("own_player__assists"),
            leaver_status=F("own_player__leaver_status"),
            player_slot=Coalesce("own_player__player_slot", "account_links__player_slot"),
        )
        .annotate(
            is_radiant=Case(
                When(own_player__is_radiant__isnull=False, then=F("own_player__is_radiant")),
                When(player_slot__lt=_DIRE_SLOT_FLAG, then=Value(True)),
                When(player_slot__isnull=False, then=Value(False)),
                default=None,
                output_field=BooleanField(null=True),
            )
        )
        .annotate(
            won=Case(
                When(Q(radiant_win__isnull=True) | Q(is_radiant__isnull=True), then=None),
                When(radiant_win=F("is_radiant"), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(null=True),
            )
        )
        .order_by("-match_id")
    )
    if hero_id is not None:
        matches = matches.filter(hero_id=hero_id)
    if result is not None:
        matches = matches.filter(won=result == "win")
    return matches


def linked_matches(account: SteamAccount, *, details_status: str | None = None) -> QuerySet[Match]:
    """The account's matches without the account's side of them: what counting them needs
    when nothing reads the player's row (its join makes a count of 10,000 twice as slow).
    `details_status` as for account_matches."""
    if details_status is not None and details_status not in DETAILS_STATUSES:
        raise ValueError(
            f"details_status must be one of {DETAILS_STATUSES}, not {details_status!r}"
        )
    matches = Match.objects.for_account(account)
    if details_status is not None:
        matches = matches.filter(_DETAILS_STATUS_FILTERS[details_status])
    return matches


@dataclass(frozen=True)
class ScoreboardPlayer:
    player: MatchPlayer
    label: PlayerLabel

    @property
    def display_name(self) -> str:
        return self.label.name

    @property
    def is_anonymous(self) -> bool:
        return self.label.is_anonymous


@dataclass(frozen=True)
class TeamSheet:
    name: str
    team_name: str
    is_radiant: bool
    score: int | None
    won: bool | None
    players: list[ScoreboardPlayer]


def scoreboard(match: Match) -> list[TeamSheet]:
    """Radiant then Dire, each with its players in slot order, named by persona when known.

    Three queries: the players, and their names (the Player table, then linked accounts).
    """
    players = list(match.players.all())
    labels = labels_for(player.account_id for player in players)
    sheets = []
    for is_radiant, name, team_name, score in (
        (True, "Radiant", match.radiant_name, match.radiant_score),
        (False, "Dire", match.dire_name, match.dire_score),
    ):
        sheets.append(
            TeamSheet(
                name=name,
                team_name=team_name,
                is_radiant=is_radiant,
                score=score,
                won=None if match.radiant_win is None else match.radiant_win == is_radiant,
                players=[
                    ScoreboardPlayer(player, label_of(player.account_id, labels))
                    for player in players
                    if player.is_radiant == is_radiant
                ],
            )
        )
    return sheets


class DraftStep(NamedTuple):
    number: int
    is_pick: bool
    is_radiant: bool
    hero: str


def draft(match: Match) -> list[DraftStep]:
    """The picks and bans in the order they were made (Captains Mode, ranked All Pick...)."""
    return [
        DraftStep(number, step["is_pick"], step["team"] == 0, hero_name(step["hero_id"]))
        for number, step in enumerate(match.picks_bans or [], start=1)
    ]


class SkillPoint(NamedTuple):
    level: int | None
    ability: str


def skill_build(player: MatchPlayer) -> list[SkillPoint]:
    """The player's ability upgrades in order: the level each came at and what was learnt."""
    return [
        SkillPoint(upgrade.get("level"), ability_name(upgrade.get("ability")))
        for upgrade in player.ability_upgrades or []
        if isinstance(upgrade, dict)
    ]
