"""One match as its page shows it: the two teams' scoreboards, the draft, a player's skill build.

Read from the stored rows of the match; the web page and the REST API both call these.
"""

from dataclasses import dataclass
from typing import NamedTuple

from matches.models import Match, MatchPlayer
from matches.players import PlayerLabel, label_of, labels_for
from matches.upstream.dota_constants import ability_name, hero_name


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
