"""Turn upstream JSON into typed values for the models.

Tolerant of missing or odd optional fields (they become None), strict about the
fields a row cannot exist without (those raise BadResponse). Everything that
comes out can be stored on PostgreSQL and SQLite alike: text loses the
characters a database refuses (NUL) or cannot encode (lone surrogates), and only
integers pass where numbers are expected (JSON's NaN and Infinity do not). Steam's
GetMatchDetails, GetMatchHistoryBySequenceNum and OpenDota's /matches/{id} all
normalise into the same MatchDetails.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from matches.upstream.dota_constants import ABANDONED_FROM
from matches.upstream.errors import BadResponse
from matches.upstream.steam_ids import ANONYMOUS_ACCOUNT_ID

_INT_MAX = 2**31 - 1
_BIGINT_MAX = 2**63 - 1
_SMALL_MAX = 32767


@dataclass(frozen=True)
class HistoryEntry:
    """One match in an account's match list (a future stub)."""

    match_id: int
    match_seq_num: int | None = None
    start_time: datetime | None = None
    player_slot: int | None = None
    hero_id: int | None = None


@dataclass(frozen=True)
class HistoryPage:
    entries: list[HistoryEntry]
    results_remaining: int
    total_results: int


@dataclass
class MatchDetails:
    """A match with its players, ready to be written: `fields` are Match columns."""

    match_id: int
    fields: dict[str, Any]
    players: list[dict[str, Any]] = field(default_factory=list)
    # What OpenDota's replay parser adds (matches.upstream.parsed), when the match is parsed.
    parsed: dict[str, Any] | None = None


MATCH_FIELDS = {
    "match_seq_num": _BIGINT_MAX,
    "duration": _INT_MAX,
    "game_mode": _SMALL_MAX,
    "lobby_type": _SMALL_MAX,
    "radiant_score": _SMALL_MAX,
    "dire_score": _SMALL_MAX,
    "leagueid": _INT_MAX,
    "cluster": _INT_MAX,
    "first_blood_time": _INT_MAX,
    "human_players": _SMALL_MAX,
}

PLAYER_FIELDS = {
    "hero_id": _SMALL_MAX,
    "hero_variant": _SMALL_MAX,
    "kills": _SMALL_MAX,
    "deaths": _SMALL_MAX,
    "assists": _SMALL_MAX,
    "last_hits": _INT_MAX,
    "denies": _INT_MAX,
    "gold_per_min": _INT_MAX,
    "xp_per_min": _INT_MAX,
    "level": _SMALL_MAX,
    "net_worth": _INT_MAX,
    "hero_damage": _INT_MAX,
    "tower_damage": _INT_MAX,
    "hero_healing": _INT_MAX,
    "item_0": _INT_MAX,
    "item_1": _INT_MAX,
    "item_2": _INT_MAX,
    "item_3": _INT_MAX,
    "item_4": _INT_MAX,
    "item_5": _INT_MAX,
    "backpack_0": _INT_MAX,
    "backpack_1": _INT_MAX,
    "backpack_2": _INT_MAX,
    "item_neutral": _INT_MAX,
    "item_neutral2": _INT_MAX,
    "gold": _INT_MAX,
    "gold_spent": _INT_MAX,
    "leaver_status": _SMALL_MAX,
    "party_size": _SMALL_MAX,
}
# 0/1 in Steam's answers, booleans or 0/1 in OpenDota's.
PLAYER_FLAGS = ("aghanims_scepter", "aghanims_shard", "moonshard")
TEXT_MAX = 200
# PostgreSQL refuses NUL in text and JSON, a lone surrogate (JSON's "\ud800") cannot be
# encoded as UTF-8, and no other control character belongs in a name or a message.
UNSTORABLE_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _int_within(value: Any, low: int, high: int) -> int | None:
    """`value` if it is an integer from `low` to `high` (no bool, float, NaN or text)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if low <= value <= high else None


def optional_int(data: dict, key: str, maximum: int = _BIGINT_MAX) -> int | None:
    """A non-negative integer that fits its column, or None for anything else."""
    return _int_within(data.get(key), 0, maximum)


def required_int(data: dict, key: str, what: str, maximum: int = _BIGINT_MAX) -> int:
    value = optional_int(data, key, maximum)
    if value is None:
        raise BadResponse(f"{what} has no valid {key}")
    return value


def required_match_id(data: dict, what: str) -> int:
    match_id = required_int(data, "match_id", what)
    if match_id <= 0:
        raise BadResponse(f"{what} has no valid match_id")
    return match_id


def timestamp(data: dict, key: str) -> datetime | None:
    seconds = optional_int(data, key, 2**34)
    return datetime.fromtimestamp(seconds, tz=UTC) if seconds is not None else None


def account_or_none(value: Any) -> int | None:
    """32-bit account id; None for anonymous players (4294967295 on Steam, null on OpenDota,
    and 0, which a 2026 Steam answer carries for one player)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    if value <= 0 or value >= ANONYMOUS_ACCOUNT_ID:
        return None
    return value


def optional_flag(data: dict, key: str) -> bool | None:
    value = data.get(key)
    if isinstance(value, bool):
        return value
    return bool(value) if value in (0, 1) and isinstance(value, int) else None


def optional_text(value: Any, maximum: int = TEXT_MAX) -> str:
    """A display string (a name), without control characters, stripped and cut to its
    column; "" for anything else."""
    if not isinstance(value, str):
        return ""
    return UNSTORABLE_CHARACTERS.sub("", value).strip()[:maximum]


def _as_dict(data: Any, what: str) -> dict:
    if not isinstance(data, dict):
        raise BadResponse(f"{what} is not an object")
    return data


def _as_list(data: Any, what: str) -> list:
    if not isinstance(data, list):
        raise BadResponse(f"{what} is not a list")
    return data


def steam_history_page(result: dict, account_id: int) -> HistoryPage:
    """GetMatchHistory's `result` for one account, newest first."""
    entries = []
    for raw in _as_list(result.get("matches", []), "matches"):
        raw = _as_dict(raw, "a history entry")
        players = raw.get("players")
        me = next(
            (
                p
                for p in (players if isinstance(players, list) else [])
                if isinstance(p, dict) and p.get("account_id") == account_id
            ),
            {},
        )
        entries.append(
            HistoryEntry(
                match_id=required_match_id(raw, "a history entry"),
                match_seq_num=optional_int(raw, "match_seq_num"),
                start_time=timestamp(raw, "start_time"),
                player_slot=optional_int(me, "player_slot", 255),
                hero_id=optional_int(me, "hero_id", _SMALL_MAX),
            )
        )
    return HistoryPage(
        entries=entries,
        results_remaining=optional_int(result, "results_remaining") or 0,
        total_results=optional_int(result, "total_results") or 0,
    )


def opendota_history_entry(raw: Any) -> HistoryEntry:
    raw = _as_dict(raw, "an OpenDota match entry")
    return HistoryEntry(
        match_id=required_match_id(raw, "an OpenDota match entry"),
        match_seq_num=optional_int(raw, "match_seq_num"),
        start_time=timestamp(raw, "start_time"),
        player_slot=optional_int(raw, "player_slot", 255),
        hero_id=optional_int(raw, "hero_id", _SMALL_MAX),
    )


def match_details(raw: Any) -> MatchDetails:
    """A match from GetMatchDetails, GetMatchHistoryBySequenceNum or OpenDota."""
    raw = _as_dict(raw, "match details")
    match_id = required_match_id(raw, "match details")
    what = f"match {match_id}"
    radiant_win = raw.get("radiant_win")
    if not isinstance(radiant_win, bool):
        raise BadResponse(f"{what} has no radiant_win")
    start_time = timestamp(raw, "start_time")
    if start_time is None:
        raise BadResponse(f"{what} has no start_time")
    fields: dict[str, Any] = {key: optional_int(raw, key, top) for key, top in MATCH_FIELDS.items()}
    fields.update(start_time=start_time, radiant_win=radiant_win, **_teams_and_league(raw))
    fields["picks_bans"] = _picks_bans(raw.get("picks_bans"))
    if fields["duration"] is None:
        raise BadResponse(f"{what} has no duration")

    players: dict[int, dict[str, Any]] = {}
    for raw_player in _as_list(raw.get("players"), f"{what} players"):
        raw_player = _as_dict(raw_player, f"a player of {what}")
        slot = required_int(raw_player, "player_slot", f"a player of {what}", 255)
        player = {key: optional_int(raw_player, key, top) for key, top in PLAYER_FIELDS.items()}
        player.update({key: optional_flag(raw_player, key) for key in PLAYER_FLAGS})
        account_id = account_or_none(raw_player.get("account_id"))
        player.update(
            player_slot=slot,
            is_radiant=slot < 128,
            account_id=account_id,
            ability_upgrades=_ability_upgrades(raw_player),
            # OpenDota's answers name the players with a public profile; not a MatchPlayer
            # column: the store keeps it in the Player table.
            persona_name=optional_text(raw_player.get("personaname")) if account_id else "",
        )
        players[slot] = player
    if not players:
        raise BadResponse(f"{what} has no players")
    statuses = [p["leaver_status"] for p in players.values() if p["leaver_status"] is not None]
    fields["abandons"] = sum(s >= ABANDONED_FROM for s in statuses) if statuses else None
    return MatchDetails(
        match_id=match_id, fields=fields, players=[players[s] for s in sorted(players)]
    )


def _ability_upgrades(raw_player: dict) -> list[dict[str, int]] | None:
    """Steam's [{ability, time, level}], or OpenDota's flat ability id list, as one shape.

    Only integers are kept: a time or level that is not one (NaN, text) becomes None, an
    upgrade without an ability id is left out. A time before the horn is negative."""
    upgrades = raw_player.get("ability_upgrades")
    if isinstance(upgrades, list):
        return [
            {
                "ability": u["ability"],
                "time": _int_within(u.get("time"), -_INT_MAX, _INT_MAX),
                "level": _int_within(u.get("level"), 0, _SMALL_MAX),
            }
            for u in upgrades
            if isinstance(u, dict) and optional_int(u, "ability", _INT_MAX) is not None
        ]
    flat = raw_player.get("ability_upgrades_arr")
    if isinstance(flat, list):
        return [
            {"ability": ability, "time": None, "level": level}
            for level, ability in enumerate(flat, start=1)
            if _int_within(ability, 0, _INT_MAX) is not None
        ]
    return None


def _teams_and_league(raw: dict) -> dict[str, Any]:
    """Team ids and names (Steam: radiant_name; OpenDota: radiant_team.name too) and the
    league's name (OpenDota only; Steam knows just the leagueid)."""
    found: dict[str, Any] = {}
    for side in ("radiant", "dire"):
        team = raw.get(f"{side}_team")
        team = team if isinstance(team, dict) else {}
        found[f"{side}_team_id"] = optional_int(raw, f"{side}_team_id", _INT_MAX) or optional_int(
            team, "team_id", _INT_MAX
        )
        found[f"{side}_name"] = optional_text(raw.get(f"{side}_name")) or optional_text(
            team.get("name")
        )
    league = raw.get("league")
    found["league_name"] = optional_text(league.get("name")) if isinstance(league, dict) else ""
    return found


def _picks_bans(raw: Any) -> list[dict[str, Any]] | None:
    """The draft in the order it happened: [{order, is_pick, hero_id, team (0 Radiant, 1 Dire)}]."""
    if not isinstance(raw, list):
        return None
    draft = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict) or not isinstance(entry.get("is_pick"), bool):
            continue
        hero_id = optional_int(entry, "hero_id", _SMALL_MAX)
        team = entry.get("team")
        if not hero_id or team not in (0, 1) or isinstance(team, bool):
            continue
        order = optional_int(entry, "order", _SMALL_MAX)
        draft.append(
            {
                "order": index if order is None else order,
                "is_pick": entry["is_pick"],
                "hero_id": hero_id,
                "team": team,
            }
        )
    return sorted(draft, key=lambda pick: pick["order"]) or None
