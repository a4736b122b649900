"""The synthetic match data: who plays which match, and every field of it.

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
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from matches.models import ANONYMOUS_ACCOUNT_ID

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
