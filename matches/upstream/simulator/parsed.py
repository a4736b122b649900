"""What the simulator's replay parser adds to a match answer, in the real answers' shape.

OpenDota's answer for a parsed match (`version` set) carries the game minute by minute
(shared/NOTES.md; real answers in shared/realdata/opendota_parsed_match/, one of them in
matches/tests/data/opendota_parsed_match_4080856812.json). This builds those parts from the
match's own scoreboard, so they agree with it as a real parse agrees with its match:
- the per-minute series are sampled at 0:00, 1:00, … up to the last whole minute (`times`),
  start at 0 and never fall; last hits, denies, gold and XP reach at most the scoreboard's
  totals (gold = gold_per_min * minutes, OpenDota's total_gold), as in the real answers
  where the last sample is taken before the match ends;
- `radiant_gold_adv` / `radiant_xp_adv` are the Radiant's sum of gold_t / xp_t minus the
  Dire's at each minute, exactly, as in every real parsed answer of shared/realdata (checked
  on the 7.19 answer and the 7.35 parser blob);
- every kill in a `kills_log` names a hero of the other side, and `killed` / `killed_by`
  count the same kills; `damage_targets` sums to the scoreboard's hero damage;
- the purchase log buys the starting items before the horn and the final inventory's items
  later, under dotaconstants' keys (matches.upstream.dota_constants);
- lanes are OpenDota's (lane 1 bottom, 2 middle, 3 top; lane_role 1 safe, 2 mid, 3 off lane,
  odota/core svc/util/compute.ts getLaneFromPosData); one support a side roams.
The key sets of every entry are the real answers' (held by matches/tests/test_simulator_parsed.py).
"""

import hashlib
import random
from functools import cache
from typing import Any

from matches.upstream import dota_constants

PARSER_VERSION = 22  # today's parser (odota/core json/1781962623_parsed.json, December 2025)
STARTING_ITEMS = ("tango", "branches", "branches", "flask", "ward_observer", "magic_stick")
RUNES = (0, 1, 2, 3, 4, 5, 6)
# Slot → (lane, lane_role, roaming): the usual five a side.
ROLES = {
    0: (1, 1, False),
    1: (2, 2, False),
    2: (3, 3, False),
    3: (3, 3, True),
    4: (1, 1, False),
    128: (3, 1, False),
    129: (2, 2, False),
    130: (1, 3, False),
    131: (1, 3, True),
    132: (3, 1, False),
}
# odota/core svc/util/compute.ts: melee 40 * 60 + ranged 45 * 20 + siege 74 * 2 + passive
# 600 * 1.5 + starting 600, the gold a lane gives in ten minutes.
LANE_GOLD_AT_TEN = 40 * 60 + 45 * 20 + 74 * 2 + 600 * 1.5 + 600
CHAT_LINES = ("glhf", "gg", "wp", "?", "mid missing", "rosh?", "gg wp")


def _rng(*parts: object) -> random.Random:
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=16).digest()
    return random.Random(int.from_bytes(digest, "big"))


def _series(total: int, duration: int, minutes: int, curve: float) -> list[int]:
    """0 at 0:00, growing to `total` at the end of the match, sampled each whole minute."""
    if duration <= 0:
        return [0] * (minutes + 1)
    return [int(total * ((i * 60) / duration) ** curve) for i in range(minutes + 1)]


@cache
def _hero_keys() -> dict[int, str]:
    return {hero_id: key for key, hero_id in dota_constants.hero_ids_by_key().items()}


@cache
def _item_keys() -> dict[int, str]:
    return {facts.item_id: key for key, facts in dota_constants.item_facts_by_key().items()}


def _hero_key(hero_id: int) -> str:
    return _hero_keys().get(hero_id, f"npc_dota_hero_{hero_id}")


def _item_key(item_id: int | None) -> str | None:
    return _item_keys().get(item_id) if item_id else None


def parsed_parts(match: dict[str, Any], seed: int) -> dict[str, Any]:
    """The parsed parts of `match` (the simulator's OpenDota answer without them)."""
    match_id = match["match_id"]
    duration = match["duration"]
    minutes = duration // 60
    times = [60 * i for i in range(minutes + 1)]
    players = match["players"]
    keys = {p["player_slot"]: _hero_key(p["hero_id"]) for p in players}
    radiant = [p for p in players if p["player_slot"] < 128]
    dire = [p for p in players if p["player_slot"] >= 128]
    per_player: dict[int, dict[str, Any]] = {}
    killed_by: dict[int, dict[str, int]] = {p["player_slot"]: {} for p in players}
    for player in players:
        slot = player["player_slot"]
        rng = _rng(seed, match_id, slot, "parse")
        enemies = dire if slot < 128 else radiant
        lane, lane_role, roaming = ROLES.get(slot, (2, 2, False))
        gold_total = (player.get("gold_per_min") or 0) * duration // 60
        xp_total = (player.get("xp_per_min") or 0) * duration // 60
        kills_log = []
        killed: dict[str, int] = {}
        for _ in range(player.get("kills") or 0):
            victim = rng.choice(enemies) if enemies else None
            if victim is None:
                break
            key = keys[victim["player_slot"]]
            kills_log.append({"time": rng.randint(90, max(91, duration - 1)), "key": key})
            killed[key] = killed.get(key, 0) + 1
            killed_by[victim["player_slot"]][keys[slot]] = (
                killed_by[victim["player_slot"]].get(keys[slot], 0) + 1
            )
        kills_log.sort(key=lambda entry: entry["time"])
        killed[
            "npc_dota_creep_badguys_melee" if slot < 128 else "npc_dota_creep_goodguys_melee"
        ] = player.get("last_hits") or 0
        hero_damage = player.get("hero_damage") or 0
        shares = [rng.random() + 0.1 for _ in enemies]
        damage = {
            keys[e["player_slot"]]: int(hero_damage * s / sum(shares))
            for e, s in zip(enemies, shares, strict=True)
        }
        if enemies:
            first = keys[enemies[0]["player_slot"]]
            damage[first] += hero_damage - sum(damage.values())
        purchase_log = [{"time": -89, "key": key} for key in STARTING_ITEMS[: 3 + slot % 3]]
        final_items = [_item_key(player.get(f"item_{i}")) for i in range(6)]
        bought = sorted(rng.randint(300, max(301, duration - 60)) for _ in final_items)
        purchase_log += [
            {"time": when, "key": key} for when, key in zip(bought, final_items, strict=True) if key
        ]
        wards = lane_role == 3 or roaming
        obs_log = [
            _ward(rng, "obs_log", slot, rng.randint(0, max(1, duration - 1)))
            for _ in range(rng.randint(4, 12) if wards else 0)
        ]
        sen_log = [
            _ward(rng, "sen_log", slot, rng.randint(0, max(1, duration - 1)))
            for _ in range(rng.randint(2, 8) if wards else 0)
        ]
        gold_t = _series(gold_total, duration, minutes, 1.2)
        # A hero dying often in a long game buys back once, late.
        late = (player.get("deaths") or 0) >= 5 and duration > 1800
        buybacks = (
            [
                {
                    "time": rng.randint(duration - 600, duration - 30),
                    "slot": slot if slot < 128 else slot - 123,
                    "type": "buyback_log",
                    "player_slot": slot,
                }
            ]
            if late
            else []
        )
        creeps = "npc_dota_creep_badguys_melee" if slot < 128 else "npc_dota_creep_goodguys_melee"
        biggest = max(damage, key=damage.get) if damage else None
        per_player[slot] = {
            "times": times,
            "gold_t": gold_t,
            "xp_t": _series(xp_total, duration, minutes, 1.1),
            "lh_t": _series(player.get("last_hits") or 0, duration, minutes, 1.3),
            "dn_t": _series(player.get("denies") or 0, duration, minutes, 0.8),
            "lane": lane,
            "lane_role": lane_role,
            "is_roaming": roaming,
            # odota/core svc/util/compute.ts: 10-minute gold over a lane's creep gold.
            "lane_efficiency_pct": int(100 * gold_t[10] / LANE_GOLD_AT_TEN) if minutes >= 10 else 0,
            "purchase_log": purchase_log,
            "first_purchase_time": _first_purchases(purchase_log),
            "kills_log": kills_log,
            "buyback_log": buybacks,
            "runes_log": [
                {"time": t, "key": rng.choice(RUNES)}
                for t in sorted(rng.sample(range(0, max(1, duration), 120), min(4, minutes // 2)))
            ],
            "obs_log": obs_log,
            "sen_log": sen_log,
            "obs_left_log": [
                dict(entry, type="obs_left_log", time=entry["time"] + 360, entityleft=True)
                for entry in obs_log
            ],
            "sen_left_log": [
                dict(entry, type="sen_left_log", time=entry["time"] + 420, entityleft=True)
                for entry in sen_log
            ],
            "neutral_item_history": [],
            "killed": killed,
            "damage": damage | {creeps: (player.get("last_hits") or 0) * 400},
            "damage_taken": {creeps: rng.randint(500, 5000)},
            "damage_targets": {"null": damage},
            "max_hero_hit": {
                "type": "max_hero_hit",
                "time": rng.randint(60, max(61, duration - 1)),
                "max": True,
                "inflictor": "null",
                "unit": keys[slot],
                "key": biggest or keys[slot],
                "value": rng.randint(100, 900),
                "slot": slot if slot < 128 else slot - 123,
                "player_slot": slot,
            },
            "multi_kills": {"2": 1} if len(kills_log) >= 2 else {},
            "kill_streaks": {"3": 1} if len(kills_log) >= 3 else {},
            "observer_kills": rng.randint(0, 3),
            "sentry_kills": rng.randint(0, 2),
            "buyback_count": len(buybacks),
            "hero_hits": {"null": rng.randint(50, 400)},
            "ability_uses": {},
            "item_uses": {"tpscroll": rng.randint(1, 12)},
            "obs_placed": len(obs_log),
            "sen_placed": len(sen_log),
            "rune_pickups": min(4, minutes // 2),
            "actions_per_min": rng.randint(90, 260),
            "teamfight_participation": round(rng.uniform(0.2, 0.9), 7),
            "stuns": round(rng.uniform(0, 40), 5),
            "camps_stacked": rng.randint(0, 6) if lane_role == 3 else 0,
            "creeps_stacked": 0,
            "towers_killed": rng.randint(0, 3),
            "roshans_killed": 0,
            "firstblood_claimed": 0,
            "life_state_dead": rng.randint(0, 400),
            "benchmarks": {
                "gold_per_min": {"raw": player.get("gold_per_min") or 0, "pct": rng.random()},
                "xp_per_min": {"raw": player.get("xp_per_min") or 0, "pct": rng.random()},
                "last_hits_per_min": {
                    "raw": (player.get("last_hits") or 0) / max(1, duration / 60),
                    "pct": rng.random(),
                },
            },
        }
    for slot, counts in killed_by.items():
        per_player[slot]["killed_by"] = counts
    radiant_slots = [p["player_slot"] for p in radiant]
    dire_slots = [p["player_slot"] for p in dire]

    def advantage(series: str) -> list[int]:
        return [
            sum(per_player[s][series][i] for s in radiant_slots)
            - sum(per_player[s][series][i] for s in dire_slots)
            for i in range(minutes + 1)
        ]

    rng = _rng(seed, match_id, "events")
    first_kill = min(
        ((entry["time"], slot) for slot, p in per_player.items() for entry in p["kills_log"]),
        default=None,
    )
    if first_kill:
        per_player[first_kill[1]]["firstblood_claimed"] = 1
    return {
        "version": PARSER_VERSION,
        "radiant_gold_adv": advantage("gold_t"),
        "radiant_xp_adv": advantage("xp_t"),
        "teamfights": _teamfights(rng, per_player, duration),
        "objectives": _objectives(rng, match, first_kill, keys),
        "chat": _chat(rng, players, duration),
        "draft_timings": [],
        "pauses": [],
        "players": [dict(p, **per_player[p["player_slot"]]) for p in players],
    }


def _ward(rng: random.Random, kind: str, slot: int, time: int) -> dict[str, Any]:
    x, y = rng.randint(70, 190), rng.randint(70, 190)
    return {
        "time": time,
        "type": kind,
        "key": f"[{x}, {y}]",
        "slot": slot if slot < 128 else slot - 123,
        "x": x,
        "y": y,
        "z": 130,
        "entityleft": False,
        "ehandle": rng.randint(100_000, 16_000_000),
        "player_slot": slot,
    }


def _first_purchases(purchase_log: list[dict[str, Any]]) -> dict[str, int]:
    first: dict[str, int] = {}
    for entry in purchase_log:
        first.setdefault(entry["key"], entry["time"])
    return first


def _teamfights(
    rng: random.Random, per_player: dict[int, dict[str, Any]], duration: int
) -> list[dict[str, Any]]:
    fights = []
    for start in sorted(
        rng.sample(range(600, max(601, duration - 60), 60), min(3, duration // 900))
    ):
        end = start + rng.randint(15, 50)
        fights.append(
            {
                "start": start,
                "end": end,
                "last_death": end - rng.randint(1, 10),
                "deaths": rng.randint(2, 6),
                "players": [
                    {
                        "deaths_pos": {},
                        "ability_uses": {},
                        "ability_targets": {},
                        "item_uses": {},
                        "killed": {},
                        "deaths": rng.randint(0, 1),
                        "buybacks": 0,
                        "damage": rng.randint(0, 3000),
                        "healing": 0,
                        "gold_delta": rng.randint(-300, 600),
                        "xp_delta": rng.randint(0, 800),
                        "xp_start": 0,
                        "xp_end": 0,
                    }
                    for _ in per_player
                ],
            }
        )
    return fights


def _objectives(
    rng: random.Random,
    match: dict[str, Any],
    first_kill: tuple[int, int] | None,
    keys: dict[int, str],
) -> list[dict[str, Any]]:
    objectives = []
    if first_kill:
        time, slot = first_kill
        objectives.append(
            {
                "time": time,
                "type": "CHAT_MESSAGE_FIRSTBLOOD",
                "slot": slot if slot < 128 else slot - 123,
                "key": rng.randint(0, 9),
                "player_slot": slot,
            }
        )
    # The winners take the losers' towers: their heroes are the units that kill them.
    losers = "badguys" if match["radiant_win"] else "goodguys"
    killers = sorted(s for s in keys if (s < 128) == bool(match["radiant_win"]))
    for tier, lane in ((1, "bot"), (1, "mid"), (2, "top"), (3, "mid")):
        if not killers:
            break
        slot = rng.choice(killers)
        objectives.append(
            {
                "time": rng.randint(400 * tier, max(401 * tier, match["duration"] - 30)),
                "type": "building_kill",
                "unit": keys[slot],
                "key": f"npc_dota_{losers}_tower{tier}_{lane}",
                "slot": slot if slot < 128 else slot - 123,
                "player_slot": slot,
            }
        )
    if match["duration"] > 1200 and killers:
        time = rng.randint(1000, match["duration"] - 100)
        slot = rng.choice(killers)
        objectives.append(
            {"time": time, "type": "CHAT_MESSAGE_ROSHAN_KILL", "team": 2 if slot < 128 else 3}
        )
        objectives.append(
            {
                "time": time,
                "type": "CHAT_MESSAGE_AEGIS",
                "slot": slot if slot < 128 else slot - 123,
                "player_slot": slot,
            }
        )
    return sorted(objectives, key=lambda entry: entry["time"])


def _chat(rng: random.Random, players: list[dict[str, Any]], duration: int) -> list[dict[str, Any]]:
    lines = []
    for _ in range(rng.randint(2, 8)):
        player = rng.choice(players)
        slot = player["player_slot"]
        wheel = rng.random() < 0.4
        line = {
            "time": rng.randint(-90, max(-89, duration)),
            "type": "chatwheel" if wheel else "chat",
            "key": str(rng.choice((5, 97006, 71, 230))) if wheel else rng.choice(CHAT_LINES),
            "slot": slot if slot < 128 else slot - 123,
            "player_slot": slot,
        }
        if not wheel:
            line["unit"] = player.get("personaname") or "Player"
        lines.append(line)
    return sorted(lines, key=lambda entry: entry["time"])
