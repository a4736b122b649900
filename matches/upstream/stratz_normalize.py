"""STRATZ's GraphQL answers in the shapes the rest of DotaSync reads (normalize.py's).

STRATZ names things its own way (camelCase, enums by name, `didRadiantWin`,
`durationSeconds`), so each answer is first translated into the Steam/OpenDota field names
and then read by the same strict-and-tolerant rules as every other source
(normalize.match_details). What only STRATZ knows is added per player: `imp`, `position`
(1 to 5) and `lane_outcome` (won/drawn/lost, from the player's side and the outcome of the lane
they played). The enum names are those of the published schema (shared/realdata/
stratz_queries/d2a_stratz-graphql-schema_introspected_2026-03.graphqls).
"""

from typing import Any

from matches.upstream.errors import BadResponse
from matches.upstream.normalize import (
    HistoryEntry,
    MatchDetails,
    _int_within,
    account_or_none,
    match_details,
    optional_int,
    timestamp,
)

# GameModeEnumType and LeaverStatusEnum list their values in the order of Valve's numeric ids
# (NONE 0, ALL_PICK 1 … TURBO 23; NONE 0, DISCONNECTED 1 … ), so a name's index is the id.
GAME_MODES = [
    "NONE",
    "ALL_PICK",
    "CAPTAINS_MODE",
    "RANDOM_DRAFT",
    "SINGLE_DRAFT",
    "ALL_RANDOM",
    "INTRO",
    "THE_DIRETIDE",
    "REVERSE_CAPTAINS_MODE",
    "THE_GREEVILING",
    "TUTORIAL",
    "MID_ONLY",
    "LEAST_PLAYED",
    "NEW_PLAYER_POOL",
    "COMPENDIUM_MATCHMAKING",
    "CUSTOM",
    "CAPTAINS_DRAFT",
    "BALANCED_DRAFT",
    "ABILITY_DRAFT",
    "EVENT",
    "ALL_RANDOM_DEATH_MATCH",
    "SOLO_MID",
    "ALL_PICK_RANKED",
    "TURBO",
    "MUTATION",
]
LEAVER_STATUSES = [
    "NONE",
    "DISCONNECTED",
    "DISCONNECTED_TOO_LONG",
    "ABANDONED",
    "AFK",
    "NEVER_CONNECTED",
    "NEVER_CONNECTED_TOO_LONG",
    "FAILED_TO_READY_UP",
    "DECLINED_READY_UP",
]
# LobbyTypeEnum follows Valve's ids 0 to 9 (UNRANKED 0 … RANKED 7, SOLO_MID 8, BATTLE_CUP 9); its
# EVENT and DIRE_TIDE have no id we can vouch for, so they are left unknown.
LOBBY_TYPES = [
    "UNRANKED",
    "PRACTICE",
    "TOURNAMENT",
    "TUTORIAL",
    "COOP_VS_BOTS",
    "TEAM_MATCH",
    "SOLO_QUEUE",
    "RANKED",
    "SOLO_MID",
    "BATTLE_CUP",
]
POSITIONS = {f"POSITION_{n}": n for n in range(1, 6)}
# A player's lane as seen from their side: the safe lane is Radiant's bottom and Dire's top.
_LANE_OF_SIDE = {
    ("SAFE_LANE", True): "bottomLaneOutcome",
    ("SAFE_LANE", False): "topLaneOutcome",
    ("OFF_LANE", True): "topLaneOutcome",
    ("OFF_LANE", False): "bottomLaneOutcome",
    ("MID_LANE", True): "midLaneOutcome",
    ("MID_LANE", False): "midLaneOutcome",
}
WON, DRAWN, LOST = "won", "drawn", "lost"
_SMALL_MIN, _SMALL_MAX = -32768, 32767


def _index(names: list[str], value: Any) -> int | None:
    return names.index(value) if isinstance(value, str) and value in names else None


def stratz_history_entry(raw: Any) -> HistoryEntry:
    """One of `player.matches`: the match, and the account's own player row in it."""
    if not isinstance(raw, dict):
        raise BadResponse("a STRATZ match entry is not an object")
    match_id = optional_int(raw, "id")
    if not match_id:
        raise BadResponse("a STRATZ match entry has no valid id")
    players = raw.get("players")
    me = players[0] if isinstance(players, list) and players else {}
    me = me if isinstance(me, dict) else {}
    translated = {"start_time": raw.get("startDateTime")}
    return HistoryEntry(
        match_id=match_id,
        match_seq_num=optional_int(raw, "sequenceNum"),
        start_time=timestamp(translated, "start_time"),
        player_slot=optional_int(me, "playerSlot", 255),
        hero_id=optional_int(me, "heroId", _SMALL_MAX),
    )


def lane_outcome(match: dict, player: dict) -> str | None:
    """won, drawn or lost: how the lane this player played went for their side."""
    side = player.get("isRadiant")
    key = _LANE_OF_SIDE.get((player.get("lane"), side))
    outcome = match.get(key) if key else None
    if outcome == "TIE":
        return DRAWN
    if outcome in ("RADIANT_VICTORY", "RADIANT_STOMP"):
        return WON if side else LOST
    if outcome in ("DIRE_VICTORY", "DIRE_STOMP"):
        return LOST if side else WON
    return None


def stratz_match_details(raw: Any) -> MatchDetails:
    """`data.match` as MatchDetails, with each player's imp, position and lane_outcome."""
    if not isinstance(raw, dict):
        raise BadResponse("STRATZ's match is not an object")
    players = raw.get("players")
    if not isinstance(players, list):
        raise BadResponse("STRATZ's match has no players")
    translated_players = []
    extras: dict[int, dict[str, Any]] = {}
    for player in players:
        if not isinstance(player, dict):
            raise BadResponse("a player of STRATZ's match is not an object")
        slot = player.get("playerSlot")
        translated_players.append(
            {
                "player_slot": slot,
                # STRATZ shows an anonymous player without an account (null or 0).
                "account_id": account_or_none(player.get("steamAccountId")),
                "hero_id": player.get("heroId"),
                "hero_variant": player.get("variant"),
                "kills": player.get("kills"),
                "deaths": player.get("deaths"),
                "assists": player.get("assists"),
                "last_hits": player.get("numLastHits"),
                "denies": player.get("numDenies"),
                "gold_per_min": player.get("goldPerMinute"),
                "xp_per_min": player.get("experiencePerMinute"),
                "level": player.get("level"),
                "net_worth": player.get("networth"),
                "hero_damage": player.get("heroDamage"),
                "tower_damage": player.get("towerDamage"),
                "hero_healing": player.get("heroHealing"),
                "gold": player.get("gold"),
                "gold_spent": player.get("goldSpent"),
                **{f"item_{n}": player.get(f"item{n}Id") for n in range(6)},
                **{f"backpack_{n}": player.get(f"backpack{n}Id") for n in range(3)},
                "item_neutral": player.get("neutral0Id"),
                "leaver_status": _index(LEAVER_STATUSES, player.get("leaverStatus")),
            }
        )
        if isinstance(slot, int) and not isinstance(slot, bool):
            extras[slot] = {
                "imp": _int_within(player.get("imp"), _SMALL_MIN, _SMALL_MAX),
                "position": POSITIONS.get(player.get("position")),
                "lane_outcome": lane_outcome(raw, player),
            }
    details = match_details(
        {
            "match_id": raw.get("id"),
            "match_seq_num": raw.get("sequenceNum"),
            "radiant_win": raw.get("didRadiantWin"),
            "start_time": raw.get("startDateTime"),
            "duration": raw.get("durationSeconds"),
            "game_mode": _index(GAME_MODES, raw.get("gameMode")),
            "lobby_type": _index(LOBBY_TYPES, raw.get("lobbyType")),
            "leagueid": raw.get("leagueId"),
            "cluster": raw.get("clusterId"),
            "first_blood_time": raw.get("firstBloodTime"),
            "players": translated_players,
        }
    )
    for player in details.players:
        player.update(extras.get(player["player_slot"], {}))
    return details
