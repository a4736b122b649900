"""A local stand-in for Valve's Steam Web API and OpenDota's API, for tests and the demo.

It answers the endpoints DotaSync calls with the real APIs' documented quirks
(inclusive `start_at_match_id`, the 500-match cap, status 15 for private
profiles, a 403 HTML page for a wrong key, GetMatchDetails' HTTP 500 `{}` since
patch 7.36, the sequence endpoint answering a later match, OpenDota hiding Turbo
unless `significant=0`...) plus switchable faults. Stdlib only, so it also runs
as `manage.py steam_simulator` for `make run`.

The data is synthetic, deterministic for a seed, and consistent between every
endpoint, for any account id, without storing anything per account:

* Account `a`'s k-th match (k = 0 oldest .. N-1 newest) has the id
  `BASE_MATCH_ID + k * LANE_SPAN + lane`. The lane is `a` for a solo match; every
  PARTY_EVERY-th k is a party match instead, in lane `PARTY_LANE_BASE + a // 5`,
  played together by the five accounts `a // 5 * 5 .. + 4`. Ids therefore grow
  with k, and a match id decodes back to (k, lane) in O(1).
* A solo match is known when k < N of its owner; a party match when k < N of ANY
  member, and its players are exactly the members with k < N (the other seats
  are anonymous or filler accounts). So every account's Steam list, OpenDota list
  and the matches' player lists agree.
* Filler accounts (FILLER_ACCOUNT_BASE and up) and the anonymous id have no
  matches of their own unless configured in `accounts`.
* Everything about a match (heroes, result, items...) is a pure function of
  (seed, match_id, the config of its players' accounts).
* `match_seq_num = match_id - SEQ_OFFSET`, `start_time` grows with k.
"""

import hashlib
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from dotasync.logconfig import redact
from matches.models import ANONYMOUS_ACCOUNT_ID, STEAM_ID64_OFFSET

logger = logging.getLogger(__name__)

BASE_MATCH_ID = 2_000_000_000
LANE_SPAN = 2**33
PARTY_LANE_BASE = 2**32
PARTY_SIZE = 5
PARTY_EVERY = 4
SEQ_OFFSET = 1_000_000_000
FILLER_ACCOUNT_BASE = 3_000_000_000
STEAM_HISTORY_CAP = 500
STEAM_PAGE_DEFAULT = 25
STEAM_PAGE_MAX = 100
SEQUENCE_PAGE_MAX = 100
SUMMARIES_MAX = 100
FIRST_START_TIME = 1_546_300_800  # 2019-01-01: 50,000 matches still end before today
MATCH_SPACING = 3000
TURBO = 23
# Turbo is decided by k alone, so OpenDota's `significant` filter can skip to an offset in O(1).
TURBO_PERIOD = 20
TURBO_RESIDUES = (3, 9, 16)
SIGNIFICANT_RESIDUES = tuple(r for r in range(TURBO_PERIOD) if r not in TURBO_RESIDUES)

ENDPOINTS = (
    "history",
    "details",
    "sequence",
    "vanity",
    "summaries",
    "opendota_player_matches",
    "opendota_match",
)
MATCH_ENDPOINTS = ("details", "sequence", "opendota_match")
FAULTS = (
    "500",
    "503",
    "429",
    "not_found",
    "malformed",
    "wrong_types",
    "hang",
    "slow",
    "missing_from_sequence",
)
STEAM_ENDPOINTS = {"history", "details", "sequence", "vanity", "summaries"}

DEFAULT_CONFIG: dict[str, Any] = {
    "api_key": "sim-key",
    "latency_ms": 0.0,
    "seed": 0,
    "default_matches": 150,
    "accounts": {},
    "vanity": {},
    "hidden_fraction": 0.0,
    "details_broken": False,
    "sequence_broken": False,
    "opendota_broken": False,
    "match_faults": {},
    "error_rate": {},
    "rate_limit": {},
    "opendota_daily_limit": False,
    "hang_seconds": 30.0,
    "slow_seconds": 2.0,
    "fault_retry_after": 1.0,
}
# Config keys the synthetic data depends on; changing one rebuilds the World.
WORLD_KEYS = ("seed", "default_matches", "accounts", "hidden_fraction")

HERO_IDS = (
    *range(1, 24),
    *range(25, 115),
    119, 120, 121, 123, 126, 128, 129, 131, 135, 136, 137, 138, 145,
)  # fmt: skip
ITEM_IDS = (
    1, 9, 11, 23, 30, 36, 40, 41, 48, 50, 60, 63, 73, 75, 77, 90, 100, 102, 108, 112, 116, 137,
    141, 147, 158, 178, 180, 188, 190, 206, 214, 218, 236, 252, 254, 263, 596, 692,
)  # fmt: skip
NEUTRAL_ITEM_IDS = (71, 828, 840, 1599, 1604, 1584, 1577)
GAME_MODES = (22, 22, 22, 22, 22, 22, 22, 2, 3, 4, 5, 16, 18)
PERSONA_WORDS = (
    ("Silent", "Lucky", "Feral", "Arcane", "Crimson", "Lazy", "Iron", "Frosty", "Rogue", "Tiny"),
    ("Carry", "Support", "Roamer", "Jungler", "Midas", "Courier", "Ward", "Rune", "Creep", "Tower"),
)

PRIVATE_HISTORY_DETAIL = "Cannot get match history for a user that hasn't allowed it"
STEAM_403 = (
    "<html><head><title>Forbidden</title></head><body><h1>Forbidden</h1>Access is denied. "
    "Retrying will not help. Please verify your <pre>key=</pre> parameter.</body></html>"
)


def _html(title: str) -> str:
    return f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"


def _unit(*parts: object) -> float:
    """A deterministic uniform number in [0, 1) for `parts`."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _rng(*parts: object) -> random.Random:
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=16).digest()
    return random.Random(int.from_bytes(digest, "big"))


def _is_turbo(k: int) -> bool:
    return k % TURBO_PERIOD in TURBO_RESIDUES


def _significant_before(k: int) -> int:
    """How many of positions 0 .. k-1 are not Turbo."""
    periods, rest = divmod(k, TURBO_PERIOD)
    return periods * len(SIGNIFICANT_RESIDUES) + sum(1 for r in SIGNIFICANT_RESIDUES if r < rest)


def _significant_position(index: int) -> int:
    """The k of the index-th (0-based, oldest first) non-Turbo position."""
    periods, rest = divmod(index, len(SIGNIFICANT_RESIDUES))
    return periods * TURBO_PERIOD + SIGNIFICANT_RESIDUES[rest]


def persona_name(account_id: int) -> str:
    """The display name every endpoint gives `account_id`."""
    first, second = PERSONA_WORDS
    return f"{first[account_id % 10]} {second[account_id // 10 % 10]} {account_id % 997}"


@dataclass(frozen=True)
class Seat:
    """One player of a match; `account_id` is who sits there, even when shown anonymous."""

    slot: int
    account_id: int
    shown_account_id: int
    hero_id: int
    hero_variant: int
    kills: int
    deaths: int
    assists: int
    leaver_status: int

    @property
    def is_radiant(self) -> bool:
        return self.slot < 128


@dataclass(frozen=True)
class Lineup:
    """What the match lists need of a match: cheap, so a page of 100 stays fast."""

    match_id: int
    k: int
    start_time: int
    duration: int
    game_mode: int
    lobby_type: int
    leagueid: int
    radiant_win: bool
    cluster: int
    first_blood_time: int
    party_size: int
    average_rank: int | None
    seats: tuple[Seat, ...]

    @property
    def match_seq_num(self) -> int:
        return self.match_id - SEQ_OFFSET

    def seat_of(self, account_id: int) -> Seat | None:
        return next((s for s in self.seats if s.account_id == account_id), None)

    def score(self, radiant: bool) -> int:
        return sum(s.kills for s in self.seats if s.is_radiant == radiant)


class World:
    """The synthetic match data for one (seed, default_matches, accounts, hidden_fraction)."""

    def __init__(
        self,
        *,
        seed: int,
        default_matches: int,
        accounts: dict[int, dict[str, Any]],
        hidden_fraction: float,
    ) -> None:
        self.seed = seed
        self.default_matches = default_matches
        self.accounts = accounts
        self.hidden_fraction = hidden_fraction
        self.max_matches = max(
            [default_matches, *(a.get("matches", default_matches) for a in accounts.values())]
        )
        self.lineup = lru_cache(maxsize=8192)(self._lineup)

    # --- who plays what ------------------------------------------------------------------

    def matches_of(self, account_id: int) -> int:
        overrides = self.accounts.get(account_id)
        if overrides is not None and "matches" in overrides:
            return overrides["matches"]
        if account_id >= FILLER_ACCOUNT_BASE or account_id < 0:
            return 0
        return self.default_matches

    def is_private(self, account_id: int) -> bool:
        return bool(self.accounts.get(account_id, {}).get("private", False))

    @staticmethod
    def is_party_position(k: int) -> bool:
        return k % PARTY_EVERY == PARTY_EVERY - 1

    @staticmethod
    def party_members(group: int) -> range:
        return range(group * PARTY_SIZE, group * PARTY_SIZE + PARTY_SIZE)

    def match_id(self, account_id: int, k: int) -> int:
        if self.is_party_position(k):
            lane = PARTY_LANE_BASE + account_id // PARTY_SIZE
        else:
            lane = account_id
        return BASE_MATCH_ID + k * LANE_SPAN + lane

    def players_at(self, k: int, lane: int) -> list[int]:
        """The synced accounts that play the match in (k, lane): one, up to five, or none."""
        if lane < PARTY_LANE_BASE:
            if self.is_party_position(k) or lane == ANONYMOUS_ACCOUNT_ID:
                return []
            return [lane] if k < self.matches_of(lane) else []
        if not self.is_party_position(k):
            return []
        members = self.party_members(lane - PARTY_LANE_BASE)
        return [m for m in members if m < ANONYMOUS_ACCOUNT_ID and k < self.matches_of(m)]

    @staticmethod
    def decode(match_id: int) -> tuple[int, int] | None:
        if match_id < BASE_MATCH_ID:
            return None
        k, lane = divmod(match_id - BASE_MATCH_ID, LANE_SPAN)
        if lane >= PARTY_LANE_BASE + ANONYMOUS_ACCOUNT_ID // PARTY_SIZE + 1:
            return None
        return k, lane

    def next_known(self, match_id: int) -> int | None:
        """The smallest known match id >= match_id (the order of Steam's match sequence)."""
        k, lane = divmod(max(match_id - BASE_MATCH_ID, 0), LANE_SPAN)
        while k < self.max_matches:
            found = self._first_lane_at(k, lane)
            if found is not None:
                return BASE_MATCH_ID + k * LANE_SPAN + found
            k, lane = k + 1, 0
        return None

    def _first_lane_at(self, k: int, lane: int) -> int | None:
        """The smallest lane >= `lane` with a match at position k.

        Unconfigured accounts below FILLER_ACCOUNT_BASE all play k < default_matches,
        so a walk from `lane` is only held up by configured accounts; configured
        accounts are the only candidates everywhere else.
        """
        party = self.is_party_position(k)
        base = PARTY_LANE_BASE if party else 0
        first = max(lane - base, 0)
        ordinary_limit = FILLER_ACCOUNT_BASE // PARTY_SIZE if party else FILLER_ACCOUNT_BASE
        if k < self.default_matches:
            candidate = first
            while candidate < ordinary_limit:
                if self.players_at(k, base + candidate):
                    return base + candidate
                candidate += 1
        configured = sorted(
            account // PARTY_SIZE if party else account
            for account in self.accounts
            if k < self.matches_of(account)
        )
        for candidate in configured:
            if candidate >= first and self.players_at(k, base + candidate):
                return base + candidate
        return None

    def is_hidden(self, match_id: int) -> bool:
        """Valve leaves some (high-MMR) matches out of GetMatchHistory since 2025."""
        return self.hidden_fraction > 0 and _unit(self.seed, match_id, "hidden") < (
            self.hidden_fraction
        )

    # --- one match -----------------------------------------------------------------------

    def _lineup(self, match_id: int) -> Lineup | None:
        decoded = self.decode(match_id)
        if decoded is None:
            return None
        k, lane = decoded
        players = self.players_at(k, lane)
        if not players:
            return None
        rng = _rng(self.seed, match_id, "lineup")
        game_mode = TURBO if _is_turbo(k) else rng.choice(GAME_MODES)
        if game_mode == TURBO:
            lobby_type, leagueid, duration = 0, 0, rng.randint(900, 1800)
        elif game_mode == 2 and rng.random() < 0.4:
            lobby_type, leagueid, duration = 1, rng.randint(10_000, 17_000), rng.randint(1500, 4200)
        else:
            lobby_type = 7 if game_mode == 22 and rng.random() < 0.65 else 0
            leagueid, duration = 0, rng.randint(1200, 3900)
        radiant_win = rng.random() < 0.5
        start_time = FIRST_START_TIME + k * MATCH_SPACING + rng.randrange(MATCH_SPACING // 2)
        heroes = rng.sample(HERO_IDS, 10)
        slots = [*range(5), *range(128, 133)]
        if lane >= PARTY_LANE_BASE:
            radiant = rng.random() < 0.5
            own_slots = slots[:5] if radiant else slots[5:]
        else:
            own_slots = [rng.choice(slots)]
        seats = []
        for index, slot in enumerate(slots):
            won = (slot < 128) == radiant_win
            filler = (
                ANONYMOUS_ACCOUNT_ID
                if rng.random() < 0.45
                else FILLER_ACCOUNT_BASE + rng.randrange(1_000_000_000)
            )
            kills = rng.randint(2, 18) if won else rng.randint(0, 10)
            deaths = rng.randint(0, 8) if won else rng.randint(3, 14)
            assists, variant = rng.randint(0, 28), rng.randint(1, 3)
            leaver = 0 if rng.random() < 0.97 else rng.choice((1, 2, 3))
            account = filler
            if slot in own_slots and own_slots.index(slot) < len(players):
                account = players[own_slots.index(slot)]
            shown = ANONYMOUS_ACCOUNT_ID if self.is_private(account) else account
            seats.append(
                Seat(slot, account, shown, heroes[index], variant, kills, deaths, assists, leaver)
            )
        return Lineup(
            match_id=match_id,
            k=k,
            start_time=start_time,
            duration=duration,
            game_mode=game_mode,
            lobby_type=lobby_type,
            leagueid=leagueid,
            radiant_win=radiant_win,
            cluster=rng.randint(111, 274),
            first_blood_time=rng.randint(20, 300),
            party_size=len(players),
            average_rank=rng.choice((None, *range(11, 81))),
            seats=tuple(seats),
        )

    def _performance(self, lineup: Lineup, seat: Seat) -> dict[str, Any]:
        """The rest of a player's end-of-game numbers, Steam's field names."""
        rng = _rng(self.seed, lineup.match_id, seat.slot, "performance")
        turbo = lineup.game_mode == TURBO
        level = rng.randint(18, 30) if turbo else rng.randint(10, 30)
        gold_per_min = rng.randint(250, 850) * (2 if turbo else 1)
        net_worth = gold_per_min * lineup.duration // 60 * rng.randint(70, 95) // 100
        hero_damage = rng.randint(3000, 60_000)
        tower_damage = rng.randint(0, 12_000)
        hero_healing = rng.randint(0, 8000) if rng.random() < 0.3 else 0
        items = [rng.choice(ITEM_IDS) if rng.random() < 0.9 else 0 for _ in range(6)]
        backpack = [rng.choice(ITEM_IDS) if rng.random() < 0.4 else 0 for _ in range(3)]
        abilities = [5000 + seat.hero_id * 8 + j for j in range(4)]
        talents = [5000 + seat.hero_id * 8 + 4 + j for j in range(4)]
        upgrades = []
        for upgrade_level in range(1, level + 1):
            if upgrade_level in (6, 12, 18):
                ability = abilities[3]
            elif upgrade_level in (10, 15, 20, 25):
                ability = talents[(upgrade_level // 5 - 2)]
            else:
                ability = rng.choice(abilities[:3])
            seconds = lineup.duration * upgrade_level // (level + 1)
            upgrades.append({"ability": ability, "time": seconds, "level": upgrade_level})
        return {
            "item_0": items[0],
            "item_1": items[1],
            "item_2": items[2],
            "item_3": items[3],
            "item_4": items[4],
            "item_5": items[5],
            "backpack_0": backpack[0],
            "backpack_1": backpack[1],
            "backpack_2": backpack[2],
            "item_neutral": rng.choice(NEUTRAL_ITEM_IDS),
            "item_neutral2": rng.choice(NEUTRAL_ITEM_IDS),
            "last_hits": rng.randint(20, 450),
            "denies": rng.randint(0, 30),
            "gold_per_min": gold_per_min,
            "xp_per_min": rng.randint(300, 950),
            "level": level,
            "net_worth": net_worth,
            "aghanims_scepter": int(rng.random() < 0.2),
            "aghanims_shard": int(rng.random() < 0.3),
            "moonshard": int(rng.random() < 0.05),
            "hero_damage": hero_damage,
            "tower_damage": tower_damage,
            "hero_healing": hero_healing,
            "gold": rng.randint(0, 5000),
            "gold_spent": net_worth * rng.randint(80, 100) // 100,
            "scaled_hero_damage": hero_damage * 7 // 10,
            "scaled_tower_damage": tower_damage * 7 // 10,
            "scaled_hero_healing": hero_healing * 7 // 10,
            "ability_upgrades": upgrades,
        }

    # --- Steam shapes --------------------------------------------------------------------

    def steam_details(self, match_id: int) -> dict[str, Any] | None:
        """A match in GetMatchDetails / GetMatchHistoryBySequenceNum shape."""
        lineup = self.lineup(match_id)
        if lineup is None:
            return None
        players = []
        for seat in lineup.seats:
            players.append(
                {
                    "account_id": seat.shown_account_id,
                    "player_slot": seat.slot,
                    "team_number": 0 if seat.is_radiant else 1,
                    "team_slot": seat.slot % 128,
                    "hero_id": seat.hero_id,
                    "hero_variant": seat.hero_variant,
                    "kills": seat.kills,
                    "deaths": seat.deaths,
                    "assists": seat.assists,
                    "leaver_status": seat.leaver_status,
                    **self._performance(lineup, seat),
                }
            )
        radiant_won = lineup.radiant_win
        return {
            "players": players,
            "radiant_win": radiant_won,
            "duration": lineup.duration,
            "pre_game_duration": 90,
            "start_time": lineup.start_time,
            "match_id": lineup.match_id,
            "match_seq_num": lineup.match_seq_num,
            "tower_status_radiant": 1972 if radiant_won else 256,
            "tower_status_dire": 256 if radiant_won else 1972,
            "barracks_status_radiant": 63 if radiant_won else 12,
            "barracks_status_dire": 12 if radiant_won else 63,
            "cluster": lineup.cluster,
            "first_blood_time": lineup.first_blood_time,
            "lobby_type": lineup.lobby_type,
            "human_players": 10,
            "leagueid": lineup.leagueid,
            "game_mode": lineup.game_mode,
            "flags": 1,
            "engine": 1,
            "radiant_score": lineup.score(radiant=True),
            "dire_score": lineup.score(radiant=False),
        }

    def steam_history(
        self, account_id: int, start_at_match_id: int | None, requested: int
    ) -> dict[str, Any]:
        """GetMatchHistory's `result`: newest first, inclusive start, newest 500 only."""
        total = self.matches_of(account_id)
        lowest = max(0, total - STEAM_HISTORY_CAP)
        newest = total - 1
        if start_at_match_id is not None:
            newest = min(newest, self._position_at_or_before(account_id, start_at_match_id))
        oldest = max(lowest, newest - requested + 1)
        matches = []
        for k in range(newest, oldest - 1, -1):
            match_id = self.match_id(account_id, k)
            if not self.is_hidden(match_id):
                matches.append(self._history_entry(self.lineup(match_id)))
        return {
            "status": 1,
            "num_results": len(matches),
            "total_results": total - lowest,
            "results_remaining": max(0, oldest - lowest) if newest >= lowest else 0,
            "matches": matches,
        }

    def _position_at_or_before(self, account_id: int, match_id: int) -> int:
        k = (match_id - BASE_MATCH_ID) // LANE_SPAN
        if k < 0:
            return -1
        return k if self.match_id(account_id, k) <= match_id else k - 1

    @staticmethod
    def _history_entry(lineup: Lineup) -> dict[str, Any]:
        return {
            "match_id": lineup.match_id,
            "match_seq_num": lineup.match_seq_num,
            "start_time": lineup.start_time,
            "lobby_type": lineup.lobby_type,
            "radiant_team_id": 0,
            "dire_team_id": 0,
            "players": [
                {
                    "account_id": seat.shown_account_id,
                    "player_slot": seat.slot,
                    "team_number": 0 if seat.is_radiant else 1,
                    "team_slot": seat.slot % 128,
                    "hero_id": seat.hero_id,
                    "hero_variant": seat.hero_variant,
                }
                for seat in lineup.seats
            ],
        }

    def sequence(
        self, start_at_match_seq_num: int, requested: int, skipped: Callable[[int], bool]
    ) -> list[dict[str, Any]]:
        """Known matches from that sequence number on, ascending, leaving out `skipped` ones."""
        matches: list[dict[str, Any]] = []
        match_id = self.next_known(start_at_match_seq_num + SEQ_OFFSET)
        while match_id is not None and len(matches) < requested:
            if not skipped(match_id):
                matches.append(self.steam_details(match_id))
            match_id = self.next_known(match_id + 1)
        return matches

    # --- OpenDota shapes -----------------------------------------------------------------

    def opendota_player_matches(
        self, account_id: int, *, significant: bool, limit: int | None, offset: int
    ) -> list[dict[str, Any]]:
        """Newest first, the whole history; Turbo hidden when `significant`."""
        total = self.matches_of(account_id)
        if self.is_private(account_id) or total == 0:
            return []
        if significant:
            index = _significant_before(total) - 1 - offset
            positions: Iterator[int] = (_significant_position(i) for i in range(index, -1, -1))
        else:
            positions = iter(range(total - 1 - offset, -1, -1))
        entries = []
        for k in positions:
            if limit is not None and len(entries) >= limit:
                break
            entries.append(self._opendota_entry(account_id, k))
        return entries

    def _opendota_entry(self, account_id: int, k: int) -> dict[str, Any]:
        lineup = self.lineup(self.match_id(account_id, k))
        seat = lineup.seat_of(account_id)
        return {
            "match_id": lineup.match_id,
            "player_slot": seat.slot,
            "radiant_win": lineup.radiant_win,
            "duration": lineup.duration,
            "game_mode": lineup.game_mode,
            "lobby_type": lineup.lobby_type,
            "hero_id": seat.hero_id,
            "hero_variant": seat.hero_variant,
            "start_time": lineup.start_time,
            "version": 21 if k % 3 else None,
            "kills": seat.kills,
            "deaths": seat.deaths,
            "assists": seat.assists,
            "average_rank": lineup.average_rank,
            "leaver_status": seat.leaver_status,
            "party_size": lineup.party_size,
        }

    def opendota_match(self, match_id: int) -> dict[str, Any] | None:
        details = self.steam_details(match_id)
        if details is None:
            return None
        players = []
        for player in details["players"]:
            shown = player["account_id"]
            anonymous = shown == ANONYMOUS_ACCOUNT_ID
            players.append(
                {
                    "account_id": None if anonymous else shown,
                    "player_slot": player["player_slot"],
                    "hero_id": player["hero_id"],
                    "hero_variant": player["hero_variant"],
                    **{
                        key: player[key]
                        for key in (
                            "kills",
                            "deaths",
                            "assists",
                            "last_hits",
                            "denies",
                            "gold_per_min",
                            "xp_per_min",
                            "level",
                            "net_worth",
                            "hero_damage",
                            "tower_damage",
                            "hero_healing",
                            "item_0",
                            "item_1",
                            "item_2",
                            "item_3",
                            "item_4",
                            "item_5",
                            "backpack_0",
                            "backpack_1",
                            "backpack_2",
                            "item_neutral",
                            "leaver_status",
                        )
                    },
                    "ability_upgrades_arr": [u["ability"] for u in player["ability_upgrades"]],
                    "personaname": None if anonymous else persona_name(shown),
                    "isRadiant": player["player_slot"] < 128,
                }
            )
        return {
            "match_id": details["match_id"],
            "match_seq_num": details["match_seq_num"],
            "radiant_win": details["radiant_win"],
            "start_time": details["start_time"],
            "duration": details["duration"],
            "game_mode": details["game_mode"],
            "lobby_type": details["lobby_type"],
            "leagueid": details["leagueid"],
            "cluster": details["cluster"],
            "radiant_score": details["radiant_score"],
            "dire_score": details["dire_score"],
            "first_blood_time": details["first_blood_time"],
            "human_players": details["human_players"],
            "players": players,
        }


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def _json(data: Any, status: int = 200, **headers: str) -> Response:
    return Response(status, json.dumps(data).encode(), headers=headers)


def _steam_html(status: int, text: str, **headers: str) -> Response:
    return Response(status, text.encode(), "text/html; charset=utf-8", headers)


class BadParameter(ValueError):
    pass


def _int_param(params: dict[str, str], name: str, default: int | None = None) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadParameter(f"{name} must be an integer") from None


def _normalized(changes: dict[str, Any]) -> dict[str, Any]:
    """Validate and coerce a config change (JSON gives string keys and loose types)."""
    unknown = set(changes) - set(DEFAULT_CONFIG)
    if unknown:
        raise ValueError(f"unknown simulator settings: {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "api_key":
            out[key] = str(value)
        elif key in (
            "latency_ms",
            "hidden_fraction",
            "hang_seconds",
            "slow_seconds",
            "fault_retry_after",
        ):
            out[key] = float(value)
        elif key in ("seed", "default_matches"):
            out[key] = int(value)
        elif key in (
            "details_broken",
            "sequence_broken",
            "opendota_broken",
            "opendota_daily_limit",
        ):
            out[key] = bool(value)
        elif key == "accounts":
            if any(not 0 <= int(account) < ANONYMOUS_ACCOUNT_ID for account in value):
                raise ValueError("accounts must be 32-bit account ids")
            out[key] = {
                int(account): {
                    **({"matches": int(s["matches"])} if "matches" in s else {}),
                    "private": bool(s.get("private", False)),
                }
                for account, s in value.items()
            }
        elif key == "vanity":
            out[key] = {str(name): int(account) for name, account in value.items()}
        elif key == "match_faults":
            out[key] = {int(match_id): _match_faults(f) for match_id, f in value.items()}
        elif key == "error_rate":
            out[key] = {_endpoint(name): float(p) for name, p in value.items()}
        elif key == "rate_limit":
            out[key] = {
                _endpoint(name): {
                    "burst": int(limit.get("burst", 0)),
                    "retry_after": float(limit.get("retry_after", 1)),
                }
                for name, limit in value.items()
            }
    return out


def _endpoint(name: str) -> str:
    if name not in ENDPOINTS:
        raise ValueError(f"unknown endpoint {name!r}; one of {', '.join(ENDPOINTS)}")
    return name


def _match_faults(faults: dict[str, str]) -> dict[str, str]:
    for endpoint, fault in faults.items():
        if endpoint != "*" and endpoint not in MATCH_ENDPOINTS:
            raise ValueError(f"match faults apply to {', '.join(MATCH_ENDPOINTS)} or '*'")
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULTS)}")
    return dict(faults)


class SimulatorState:
    """Config, counters and request log of one simulator; safe to use from any thread."""

    def __init__(self, **config: Any) -> None:
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self.config: dict[str, Any] = {}
        self.world: World
        self.log: list[dict[str, Any]] = []
        self._calls: dict[str, int] = dict.fromkeys(ENDPOINTS, 0)
        self._apply(dict(DEFAULT_CONFIG) | _normalized(config), rebuild=True)

    def _apply(self, config: dict[str, Any], rebuild: bool) -> None:
        if rebuild:
            self.world = World(**{key: config[key] for key in WORLD_KEYS})
        if rebuild or config["seed"] != self.config.get("seed"):
            self._error_rng = random.Random(config["seed"])
        self.config = config

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Merge `changes` into the config (top-level keys are replaced whole)."""
        normalized = _normalized(changes)
        with self._lock:
            config = self.config | normalized
            rebuild = any(config[key] != self.config[key] for key in WORLD_KEYS)
            self._apply(config, rebuild)
            return config

    def reset(self, config: bool = False) -> None:
        """Clear counters and log; with `config`, go back to the default config too."""
        with self._lock:
            self.log = []
            self._calls = dict.fromkeys(ENDPOINTS, 0)
            if config:
                self._apply(dict(DEFAULT_CONFIG), rebuild=True)

    def calls(self, endpoint: str | None = None) -> int | dict[str, int]:
        """Calls to `endpoint` so far, or every endpoint's count as a dict."""
        with self._lock:
            return self._calls[_endpoint(endpoint)] if endpoint else dict(self._calls)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"calls": dict(self._calls), "log": list(self.log)}

    # --- answering ----------------------------------------------------------------------

    def handle(self, method: str, target: str, body: bytes = b"") -> Response:
        """The answer to one HTTP request (the server only moves bytes)."""
        url = urlsplit(target)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        path = url.path.rstrip("/")
        if path.startswith("/_sim/"):
            return self._control(method, path, body)
        route = _route(path)
        if route is None or method != "GET":
            if path.startswith("/api/"):
                return _json({"error": "Not Found"}, 404)
            return _steam_html(404, _html("Not Found"))
        endpoint, path_params = route
        arrived = time.time()
        with self._lock:
            self._calls[endpoint] += 1
            logged = {k: v for k, v in params.items() if k not in ("key", "api_key")}
            self.log.append({"endpoint": endpoint, "t": arrived, "params": logged | path_params})
            config = self.config
            world = self.world
        response = self._answer(endpoint, config, world, params | path_params)
        response.delay += config["latency_ms"] / 1000
        return response

    def _answer(
        self, endpoint: str, config: dict[str, Any], world: World, params: dict[str, str]
    ) -> Response:
        steam = endpoint in STEAM_ENDPOINTS
        if steam and params.get("key") != config["api_key"]:
            return _steam_html(403, STEAM_403)
        refused = self._refusal(endpoint, config)
        if refused is not None:
            return refused
        try:
            match endpoint:
                case "history":
                    return self._history(world, params)
                case "details":
                    return self._details(config, world, params)
                case "sequence":
                    return self._sequence(config, world, params)
                case "vanity":
                    return self._vanity(config, params)
                case "summaries":
                    return self._summaries(params)
                case "opendota_player_matches":
                    return self._opendota_player_matches(world, params)
                case _:
                    return self._opendota_match(config, world, params)
        except BadParameter as exc:
            if steam:
                return _steam_html(400, _html(f"Bad Request: {exc}"))
            return _json({"error": str(exc)}, 400)

    def _refusal(self, endpoint: str, config: dict[str, Any]) -> Response | None:
        """Endpoint-wide faults: rate limits, broken endpoints, random errors."""
        opendota = endpoint.startswith("opendota")
        with self._lock:
            limit = config["rate_limit"].get(endpoint)
            if limit and limit["burst"] > 0:
                limit["burst"] -= 1
                return _too_many(opendota, limit["retry_after"])
            error_rate = config["error_rate"].get(endpoint, 0.0)
            failing = error_rate > 0 and self._error_rng.random() < error_rate
        if opendota and config["opendota_daily_limit"]:
            return _json({"error": "daily api limit exceeded"}, 429)
        broken = {
            "details": config["details_broken"],
            "sequence": config["sequence_broken"],
            "opendota_player_matches": config["opendota_broken"],
            "opendota_match": config["opendota_broken"],
        }.get(endpoint, False)
        if broken or failing:
            return _server_error(opendota, 500)
        return None

    def _fault(self, config: dict[str, Any], match_id: int, endpoint: str) -> str | None:
        faults = config["match_faults"].get(match_id, {})
        return faults.get(endpoint) or faults.get("*")

    def _history(self, world: World, params: dict[str, str]) -> Response:
        account_id = _int_param(params, "account_id")
        if account_id is None:
            raise BadParameter("account_id is required")
        if account_id >= STEAM_ID64_OFFSET:
            account_id -= STEAM_ID64_OFFSET
        if world.is_private(account_id):
            return _json(
                {
                    "result": {
                        "status": 15,
                        "statusDetail": PRIVATE_HISTORY_DETAIL,
                    }
                }
            )
        requested = _int_param(params, "matches_requested", STEAM_PAGE_DEFAULT)
        requested = min(max(requested, 1), STEAM_PAGE_MAX)
        start = _int_param(params, "start_at_match_id")
        return _json({"result": world.steam_history(account_id, start, requested)})

    def _details(self, config: dict[str, Any], world: World, params: dict[str, str]) -> Response:
        match_id = _int_param(params, "match_id")
        if match_id is None:
            raise BadParameter("match_id is required")
        return self._with_fault(
            self._fault(config, match_id, "details"),
            config,
            "details",
            lambda: world.steam_details(match_id),
            lambda match: {"result": match},
        )

    def _sequence(self, config: dict[str, Any], world: World, params: dict[str, str]) -> Response:
        start = _int_param(params, "start_at_match_seq_num")
        if start is None:
            raise BadParameter("start_at_match_seq_num is required")
        requested = _int_param(params, "matches_requested", SEQUENCE_PAGE_MAX)
        requested = min(max(requested, 1), SEQUENCE_PAGE_MAX)

        found: list[dict[str, Any]] = []

        def missing(match_id: int) -> bool:
            return self._fault(config, match_id, "sequence") == "missing_from_sequence"

        def first_match() -> dict[str, Any] | None:
            found.extend(world.sequence(start, requested, missing))
            return found[0] if found else None

        def wrap(first: dict[str, Any] | None) -> dict[str, Any]:
            matches = [first, *found[1:]] if first is not None else []
            return {"result": {"status": 1, "matches": matches}}

        return self._with_fault(
            self._fault(config, start + SEQ_OFFSET, "sequence"),
            config,
            "sequence",
            first_match,
            wrap,
        )

    def _opendota_match(
        self, config: dict[str, Any], world: World, params: dict[str, str]
    ) -> Response:
        match_id = int(params["match_id"])
        return self._with_fault(
            self._fault(config, match_id, "opendota_match"),
            config,
            "opendota_match",
            lambda: world.opendota_match(match_id),
            lambda match: match,
        )

    def _with_fault(
        self,
        fault: str | None,
        config: dict[str, Any],
        endpoint: str,
        build: Callable[[], dict[str, Any] | None],
        wrap: Callable[[dict[str, Any]], Any],
    ) -> Response:
        """One match endpoint's answer, bent by the match's fault if it has one."""
        opendota = endpoint == "opendota_match"
        if fault in ("500", "503"):
            return _server_error(opendota, int(fault))
        if fault == "429":
            return _too_many(opendota, config["fault_retry_after"])
        match = None if fault == "not_found" else build()
        if match is None:
            if endpoint == "details":
                return _json({"result": {"error": "Match ID not found"}})
            if endpoint == "sequence":
                return _json(wrap(None))
            return _json({"error": "Not Found"}, 404)
        if fault == "wrong_types":
            match = _wrong_types(match)
        response = _json(wrap(match))
        if fault == "malformed":
            response.body = response.body[: len(response.body) // 2]
        elif fault == "hang":
            response.delay = config["hang_seconds"]
        elif fault == "slow":
            response.delay = config["slow_seconds"]
        return response

    def _vanity(self, config: dict[str, Any], params: dict[str, str]) -> Response:
        name = params.get("vanityurl", "")
        account_id = config["vanity"].get(name)
        digits = re.fullmatch(r"player(\d+)", name)
        if account_id is None and digits and int(digits[1]) < ANONYMOUS_ACCOUNT_ID:
            account_id = int(digits[1])
        if account_id is None:
            return _json({"response": {"success": 42, "message": "No match"}})
        steamid = str(account_id + STEAM_ID64_OFFSET)
        return _json({"response": {"steamid": steamid, "success": 1}})

    def _summaries(self, params: dict[str, str]) -> Response:
        players = []
        for raw in params.get("steamids", "").split(",")[:SUMMARIES_MAX]:
            if not raw.strip().isdigit():
                continue
            account_id = int(raw) - STEAM_ID64_OFFSET
            if not 0 <= account_id < ANONYMOUS_ACCOUNT_ID:
                continue
            avatar = hashlib.sha1(str(account_id).encode()).hexdigest()
            base = f"https://avatars.steamstatic.com/{avatar}"
            players.append(
                {
                    "steamid": raw.strip(),
                    "communityvisibilitystate": 3,
                    "profilestate": 1,
                    "personaname": persona_name(account_id),
                    "profileurl": f"https://steamcommunity.com/profiles/{raw.strip()}/",
                    "avatar": f"{base}.jpg",
                    "avatarmedium": f"{base}_medium.jpg",
                    "avatarfull": f"{base}_full.jpg",
                    "personastate": 0,
                }
            )
        return _json({"response": {"players": players}})

    def _opendota_player_matches(self, world: World, params: dict[str, str]) -> Response:
        limit = _int_param(params, "limit")
        offset = _int_param(params, "offset", 0)
        entries = world.opendota_player_matches(
            int(params["account_id"]),
            significant=params.get("significant") != "0",
            limit=max(limit, 0) if limit is not None else None,
            offset=max(offset, 0),
        )
        return _json(entries)

    # --- control endpoints ----------------------------------------------------------------

    def _control(self, method: str, path: str, body: bytes) -> Response:
        try:
            payload = json.loads(body or b"{}")
        except json.JSONDecodeError:
            return _json({"error": "the body is not JSON"}, 400)
        if method == "GET" and path == "/_sim/stats":
            return _json(self.stats())
        if path == "/_sim/config" and method in ("GET", "POST"):
            if method == "GET":
                return _json(_jsonable(self.config))
            if not isinstance(payload, dict):
                return _json({"error": "the config must be a JSON object"}, 400)
            try:
                return _json(_jsonable(self.configure(**payload)))
            except (ValueError, TypeError, AttributeError) as exc:
                return _json({"error": str(exc)}, 400)
        if method == "POST" and path == "/_sim/reset":
            self.reset(config=isinstance(payload, dict) and bool(payload.get("config")))
            return _json({"reset": True})
        return _json({"error": "Not Found"}, 404)


def _jsonable(config: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(config))


def _route(path: str) -> tuple[str, dict[str, str]] | None:
    steam = {
        "/idota2match_570/getmatchhistory/v1": "history",
        "/idota2match_570/getmatchdetails/v1": "details",
        "/idota2match_570/getmatchhistorybysequencenum/v1": "sequence",
        "/isteamuser/resolvevanityurl/v1": "vanity",
        "/isteamuser/getplayersummaries/v2": "summaries",
    }.get(path.lower())
    if steam:
        return steam, {}
    if found := re.fullmatch(r"/api/players/(\d+)/matches", path):
        return "opendota_player_matches", {"account_id": found[1]}
    if found := re.fullmatch(r"/api/matches/(\d+)", path):
        return "opendota_match", {"match_id": found[1]}
    return None


def _too_many(opendota: bool, retry_after: float) -> Response:
    header = {"Retry-After": f"{retry_after:g}"}
    if opendota:
        return _json({"error": "minute rate limit exceeded"}, 429, **header)
    return _steam_html(429, _html("Too Many Requests"), **header)


def _server_error(opendota: bool, status: int) -> Response:
    if opendota:
        return _json({"error": "Internal Server Error"}, status)
    if status == 500:
        return _json({}, 500)  # Valve's broken GetMatchDetails answers exactly this
    return _steam_html(status, _html("Service Unavailable"))


def _wrong_types(match: dict[str, Any]) -> dict[str, Any]:
    """Numbers as strings and players as an object, as a misbehaving upstream might send."""
    bent = {
        key: str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        for key, value in match.items()
    }
    if isinstance(match.get("players"), list):
        bent["players"] = {str(i): player for i, player in enumerate(match["players"])}
    return bent


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: SimulatorState) -> None:
        self.state = state
        super().__init__(address, _Handler)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm and the
    # client's delayed ACK every keep-alive request would stall ~40 ms.
    disable_nagle_algorithm = True
    server: SimulatorServer

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        state = self.server.state
        response = state.handle(method, self.path, body)
        if response.delay > 0 and state.stopping.wait(response.delay):
            self.close_connection = True
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("simulator: %s", redact(format % args))


@dataclass(frozen=True)
class SimulatorHandle:
    server: SimulatorServer
    state: SimulatorState

    @property
    def base_url(self) -> str:
        """Steam's base URL (STEAM_API_BASE_URL)."""
        return self.server.base_url

    @property
    def opendota_url(self) -> str:
        """OpenDota's base URL (OPENDOTA_API_BASE_URL)."""
        return self.server.base_url + "/api"


def build_server(state: SimulatorState, host: str = "127.0.0.1", port: int = 0) -> SimulatorServer:
    """A server bound to host:port (0 picks a free port); the caller runs serve_forever()."""
    return SimulatorServer((host, port), state)


@contextmanager
def run_simulator(**config: Any) -> Iterator[SimulatorHandle]:
    """Serve a simulator on 127.0.0.1 and a free port in a daemon thread while in the block."""
    state = SimulatorState(**config)
    server = build_server(state)
    # A short poll interval keeps shutdown (and so every test's teardown) quick.
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="simulator", daemon=True
    )
    thread.start()
    try:
        yield SimulatorHandle(server, state)
    finally:
        state.stopping.set()  # wakes "hang" and "slow" answers so nothing outlives the block
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
