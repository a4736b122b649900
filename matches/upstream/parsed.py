"""What OpenDota's replay parser adds to a match answer, kept in OpenDota's own words.

A parsed match is one whose `GET /api/matches/{id}` answer has a non-null `version` (the
parser's; shared/NOTES.md). Its answer then carries the game minute by minute: the teams'
gold and XP advantage, every player's gold, XP, last hits and denies per minute, purchases,
kills, runes, wards, damage, teamfights, objectives and the chat (real answers:
shared/realdata/opendota_parsed_match/). `parsed_data` keeps those parts and nothing the
match or player rows already hold, under OpenDota's key names, so a page reads them as
OpenDota documents them; everything it keeps can be stored as JSON on PostgreSQL and SQLite
alike (no NUL or lone surrogate in text, no NaN or infinity among the numbers).

The parser's own blob (odota/core's `json/*_parsed.json`, what OpenDota stores before it
merges the Steam and GC data) lacks the keys the API adds when it answers (lane, lane_role,
is_roaming, benchmarks): those are simply absent, as they are from an older parser's answer.
"""

import math
from typing import Any

from matches.upstream.normalize import UNSTORABLE_CHARACTERS, optional_int

# The match-level parts of a parsed answer (odota/core svc/util/buildMatch.ts merges them
# from the parser's blob; `pauses` is parser v22's).
MATCH_KEYS = (
    "radiant_gold_adv",
    "radiant_xp_adv",
    "teamfights",
    "objectives",
    "chat",
    "draft_timings",
    "pauses",
)

# Per player: the minute-by-minute series, the logs with their times, and the totals the
# parser counts that no scoreboard has. The player's slot, hero and account are kept too, so
# that a player's parsed data names whom it is about without the match's player rows.
PLAYER_KEYS = (
    "player_slot",
    "hero_id",
    "account_id",
    # per minute: times[i] is the game time (seconds) of gold_t[i], xp_t[i], lh_t[i], dn_t[i]
    "times",
    "gold_t",
    "xp_t",
    "lh_t",
    "dn_t",
    "net_worth",
    # lane and role (the API adds them from lane_pos), and the laning summary
    "lane",
    "lane_role",
    "is_roaming",
    "lane_efficiency_pct",
    # logs with times
    "purchase_log",
    "first_purchase_time",
    "kills_log",
    "buyback_log",
    "runes_log",
    "obs_log",
    "sen_log",
    "obs_left_log",
    "sen_left_log",
    "neutral_item_history",
    # combat
    "killed",
    "killed_by",
    "damage",
    "damage_taken",
    "damage_targets",
    "hero_hits",
    "max_hero_hit",
    "multi_kills",
    "kill_streaks",
    "stuns",
    "teamfight_participation",
    # uses
    "ability_uses",
    "item_uses",
    "actions_per_min",
    # vision, map and farm counts
    "obs_placed",
    "sen_placed",
    "observer_kills",
    "sentry_kills",
    "rune_pickups",
    "camps_stacked",
    "creeps_stacked",
    "towers_killed",
    "roshans_killed",
    "firstblood_claimed",
    "buyback_count",
    "life_state_dead",
    # OpenDota's percentiles against other players of the hero
    "benchmarks",
)


def parsed_data(raw: dict) -> dict[str, Any] | None:
    """The parsed parts of OpenDota's answer for one match, or None when it is not parsed.

    The result is `{"version": N, <MATCH_KEYS present>, "players": [<PLAYER_KEYS present>]}`
    with the players in slot order. A key the answer lacks is left out, not made up.
    """
    version = optional_int(raw, "version", 32767)
    if version is None:
        return None
    data: dict[str, Any] = {"version": version}
    data.update({key: storable(raw[key]) for key in MATCH_KEYS if key in raw})
    players = []
    for raw_player in raw.get("players") or []:
        if not isinstance(raw_player, dict) or optional_int(raw_player, "player_slot") is None:
            continue
        players.append({key: storable(raw_player[key]) for key in PLAYER_KEYS if key in raw_player})
    data["players"] = sorted(players, key=lambda player: player["player_slot"])
    return data


def storable(value: Any) -> Any:
    """`value` as JSON both databases store: text without the characters they refuse,
    numbers without NaN and infinity (they become None), everything else as it came."""
    if isinstance(value, str):
        return UNSTORABLE_CHARACTERS.sub("", value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {storable(str(key)): storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value
