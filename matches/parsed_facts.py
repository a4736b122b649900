"""What a parsed match says about its laning phase, its farm and its items, read off
ParsedMatch.data (matches.upstream.parsed's shape, OpenDota's key names).

One place for the numbers the parsed match page and the stats from parsed matches both show,
so the two never disagree:
- a per-minute value is the series' entry at that minute: OpenDota's parser samples every
  player once a minute from 0:00, and OpenDota itself reads minute 10 as `gold_t[10]`
  (odota/core svc/util/compute.ts, lane efficiency);
- the gold at a minute is `gold_t`, the player's total gold then ("Array containing total gold
  at different times of the match", odota/core MatchResponse.ts): the answers carry no net
  worth per minute, so this is what DotaSync shows as net worth at 10 and 20 minutes;
- lanes are OpenDota's (`lane` 1 bottom, 2 middle, 3 top, 4 and 5 the jungles; `lane_role`
  1 safe lane, 2 mid, 3 off lane, 4 jungle: compute.ts getLaneFromPosData), and a lane's
  outcome is DotaSync's own rule, since OpenDota computes none: the side whose laners had at
  least LANE_WON_BY more gold at 10 minutes won it, otherwise it was drawn;
- a core item is a bought item costing CORE_ITEM_MIN_COST or more that is neither a recipe
  nor a consumable (prices and qualities from dotaconstants, matches.upstream.dota_constants).
"""

from dataclasses import dataclass
from typing import Any

from django.db import models

from matches.upstream.dota_constants import item_facts_by_key

LANE_MINUTE = 10
LATE_MINUTE = 20
# The share of the richer side's lane gold by which it must lead to have won the lane.
LANE_WON_BY = 0.10
CORE_ITEM_MIN_COST = 2000
CONTESTED_LANES = (1, 2, 3)
LANE_NAMES = {1: "Bottom", 2: "Middle", 3: "Top", 4: "Radiant jungle", 5: "Dire jungle"}
LANE_ROLE_NAMES = {1: "Safe lane", 2: "Mid", 3: "Off lane", 4: "Jungle"}


class LaneOutcome(models.TextChoices):
    WON = "won", "Won"
    DRAWN = "drawn", "Drawn"
    LOST = "lost", "Lost"


def at_minute(series: Any, minute: int) -> int | None:
    """The series' value at the minute, or None when it stops before (a shorter game)."""
    if not isinstance(series, list) or minute >= len(series):
        return None
    value = series[minute]
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def is_radiant(player: dict) -> bool:
    return player["player_slot"] < 128


@dataclass(frozen=True)
class LaneMatchup:
    """Who met in one of the three lanes, and the gold each side's laners had at 10:00."""

    lane: int
    radiant: tuple[dict, ...]
    dire: tuple[dict, ...]

    @property
    def name(self) -> str:
        return LANE_NAMES[self.lane]

    @property
    def radiant_gold(self) -> int | None:
        return _gold_of(self.radiant)

    @property
    def dire_gold(self) -> int | None:
        return _gold_of(self.dire)

    def outcome_for(self, radiant: bool) -> LaneOutcome | None:
        """The lane's outcome for a side; None when a side had nobody in it or no gold series."""
        ours, theirs = (
            (self.radiant_gold, self.dire_gold) if radiant else (self.dire_gold, self.radiant_gold)
        )
        if ours is None or theirs is None:
            return None
        lead = ours - theirs
        if abs(lead) < LANE_WON_BY * max(ours, theirs):
            return LaneOutcome.DRAWN
        return LaneOutcome.WON if lead > 0 else LaneOutcome.LOST


def _gold_of(players: tuple[dict, ...]) -> int | None:
    golds = [at_minute(p.get("gold_t"), LANE_MINUTE) for p in players]
    if not golds or None in golds:
        return None
    return sum(golds)


def lane_matchups(data: dict) -> list[LaneMatchup]:
    """The three lanes, bottom to top, with the players OpenDota places in each; a roaming
    player (`is_roaming`) was in no lane long enough to count in one."""
    laners = [p for p in data.get("players", []) if not p.get("is_roaming")]
    return [
        LaneMatchup(
            lane=lane,
            radiant=tuple(p for p in laners if p.get("lane") == lane and is_radiant(p)),
            dire=tuple(p for p in laners if p.get("lane") == lane and not is_radiant(p)),
        )
        for lane in CONTESTED_LANES
    ]


def lane_outcomes(data: dict) -> dict[int, LaneOutcome | None]:
    """Each player's lane outcome by slot; None for a jungler, a roamer, an uncontested lane
    or a match parsed without lanes (parser blobs and old parsers have none)."""
    outcomes: dict[int, LaneOutcome | None] = {p["player_slot"]: None for p in data["players"]}
    for matchup in lane_matchups(data):
        for player in (*matchup.radiant, *matchup.dire):
            outcomes[player["player_slot"]] = matchup.outcome_for(is_radiant(player))
    return outcomes


@dataclass(frozen=True)
class Purchase:
    time: int  # game seconds; negative before the horn
    key: str  # the item's key ("black_king_bar")


def first_core_item(player: dict) -> Purchase | None:
    """The player's first bought core item and when, or None when there is none."""
    facts = item_facts_by_key()
    for entry in player.get("purchase_log") or []:
        key, time = entry.get("key"), entry.get("time")
        item = facts.get(key) if isinstance(key, str) else None
        if item is None or not isinstance(time, int) or isinstance(time, bool):
            continue
        is_core = item.cost >= CORE_ITEM_MIN_COST and item.qual != "consumable"
        if is_core and not key.startswith("recipe_"):
            return Purchase(time=time, key=key)
    return None
