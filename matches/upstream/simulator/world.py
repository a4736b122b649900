"""The synthetic match data: who plays which match, and every field of it.

The data is synthetic, deterministic for a seed (and the day the world is built for), and
consistent between every endpoint, without storing anything per match:

* Who has a history: the POPULATION_SIZE accounts from POPULATION_BASE (the demo account
  86745912 and its neighbours) play `default_matches` each, and any account configured in
  `accounts` plays its own count. Every other account (the other players of a match, called
  fillers, and the anonymous id) plays no match of its own.
* Account `a`'s k-th match (k = 0 oldest .. N-1 newest) has the id
  `BASE_MATCH_ID + k * LANE_SPAN + lane`. A population account's lane is `a - POPULATION_BASE`
  for a solo match; every PARTY_EVERY-th k is a party match instead, in the lane of its party
  (`PARTY_LANE_BASE + (a - POPULATION_BASE) // 5`), played together by the five accounts
  `a // 5 * 5 .. + 4`. A configured account outside the population plays solo in lane
  `CONFIGURED_LANE_BASE + a % CONFIGURED_LANES`. Ids therefore grow with k and stay in
  today's range (8.6 billion and up, as in late 2025), and an id decodes back to (k, lane)
  in O(1).
* A solo match is known when k < N of its owner; a party match when k < N of ANY member, and
  its players are exactly the members with k < N (the other seats are anonymous or filler
  accounts). So every account's Steam list, OpenDota list and the matches' player lists agree.
* Time runs backwards from `now`: the newest position of the busiest account (k = N - 1 of
  the largest N) was played yesterday evening, and older positions follow a player's rhythm,
  a few games an evening with gaps of days, weeks and now and then months, for the newest
  REALISTIC_POSITIONS; older positions are packed DENSE_SPACING apart. Every account's k-th
  match is played around the same time.
* Everything about a match (mode, heroes, draft, result, items, skill builds...) is a pure
  function of (seed, match_id, the config of its players' accounts, its start time).
* `match_seq_num = match_id - SEQ_OFFSET`.
"""

import hashlib
import itertools
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from matches.upstream import dota_constants
from matches.upstream.simulator.parsed import PARSER_VERSION, parsed_parts
from matches.upstream.steam_ids import ANONYMOUS_ACCOUNT_ID

BASE_MATCH_ID = 8_600_000_000
LANE_SPAN = 25_000
POPULATION_BASE = 86_740_000
POPULATION_SIZE = 20_000
PARTY_SIZE = 5
PARTY_EVERY = 4
PARTY_LANE_BASE = POPULATION_SIZE
CONFIGURED_LANE_BASE = PARTY_LANE_BASE + POPULATION_SIZE // PARTY_SIZE
CONFIGURED_LANES = LANE_SPAN - CONFIGURED_LANE_BASE
# The difference between match id and sequence number of December 2025's matches.
SEQ_OFFSET = 1_376_000_000
FILLER_ACCOUNT_MIN = 10_000_000
FILLER_ACCOUNT_MAX = 1_900_000_000
STEAM_HISTORY_CAP = 500
STEAM_PAGE_DEFAULT = 25
STEAM_PAGE_MAX = 100
SEQUENCE_PAGE_MAX = 100
SUMMARIES_MAX = 100
DAY = 86_400
REALISTIC_POSITIONS = 1_200
DENSE_SPACING = 1_200
TURBO = 23
# Turbo is decided by k alone, so OpenDota's `significant` filter can skip to an offset in O(1).
TURBO_PERIOD = 20
TURBO_RESIDUES = (3, 9, 16)
SIGNIFICANT_RESIDUES = tuple(r for r in range(TURBO_PERIOD) if r not in TURBO_RESIDUES)
# Facets came with patch 7.36 (May 2024), the neutral enchantment slot with 7.39 (May 2025).
FACETS_SINCE = int(datetime(2024, 5, 22, tzinfo=UTC).timestamp())
ENCHANTMENTS_SINCE = int(datetime(2025, 5, 22, tzinfo=UTC).timestamp())

ITEM_IDS = (
    1, 9, 11, 23, 30, 36, 40, 41, 48, 50, 60, 63, 73, 75, 77, 90, 100, 102, 108, 112, 116, 137,
    141, 147, 158, 178, 180, 188, 190, 206, 214, 218, 236, 252, 254, 263, 596, 692,
)  # fmt: skip
# The neutral items and enchantments of the real late-2025 and 2026 answers.
NEUTRAL_ITEM_IDS = (71, 565, 828, 840, 1158, 1168, 1599, 1603, 1604, 1605, 1638, 1643, 1717)
ENCHANTMENT_IDS = (1576, 1577, 1583, 1584, 1585, 1586, 1593, 1594, 1595)
# (game mode, lobby type, weight) of a non-Turbo match: mostly All Pick, ranked first.
MODES = (
    (22, 7, 56),
    (22, 0, 24),
    (4, 0, 4),
    (5, 0, 3),
    (3, 0, 3),
    (2, 7, 3),
    (18, 0, 3),
    (2, 1, 2),  # a league match: Captains Mode in a tournament lobby
)
DRAFTED_MODES = {2, 16}
RANKED = 7
# Captains Mode since 7.33, as in the December 2025 answer: (is_pick, by the team that bans first).
CAPTAINS_MODE_ORDER = (
    (False, True), (False, False), (False, False), (False, True), (False, False),
    (False, False), (False, True), (True, True), (True, False), (False, True), (False, True),
    (False, False), (True, False), (True, True), (True, True), (True, False), (True, False),
    (True, True), (False, True), (False, False), (False, False), (False, True), (True, True),
    (True, False),
)  # fmt: skip
LEAGUES = (
    (17203, "Amateur Dota League Season 8"),
    (17544, "European Pro League Season 31"),
    (16931, "Dota 2 Space League Season 4"),
)
TEAM_NAMES = (
    "Night Owls", "Team Ancient", "Rosh Pit", "Five Stacks", "Tango Traders", "Midas Touch",
    "Aegis Hunters", "Lane Partners", "Smoke Gank", "Fountain Divers",
)  # fmt: skip
NAME_WORDS = (
    "Silent", "Lucky", "Feral", "Arcane", "Crimson", "Lazy", "Iron", "Frosty", "Rogue", "Tiny",
    "Shadow", "Mango", "Salty", "Toxic", "Sleepy", "Angry", "Happy", "Dark", "Holy", "Wild",
)  # fmt: skip
NAME_NOUNS = (
    "Carry", "Support", "Roamer", "Jungler", "Midas", "Courier", "Ward", "Rune", "Creep", "Tower",
    "Pudge", "Invoker", "Sniper", "Techies", "Mango", "Tango", "Aegis", "Roshan", "Blink", "Bkb",
)  # fmt: skip
NAME_STYLES = (
    "{word} {noun}",
    "{word}{noun}{number}",
    "xX_{noun}_Xx",
    "{noun_lower}{number}",
    "[{tag}] {noun}",
    "{word} {noun} {number}",
    "{cjk}",
    "{cyrillic}",
    "{noun}.{word_lower}",
    "{word_lower}",
)
CJK_NAMES = ("流浪的二毛", "天王盖地虎", "长腿软妹我最爱", "演员", "十三", "久保健英", "京香")
CYRILLIC_NAMES = ("Ласточка", "Бабушка", "Чемпион", "Тихий Омут", "Медведь")
CLAN_TAGS = ("RU", "EU", "SEA", "PE", "NA", "UA", "BR")
# The demo account (manage.py bootstrap_demo) keeps the name it is linked with.
DEMO_ACCOUNT_ID = 86745912
FIXED_PERSONAS = {DEMO_ACCOUNT_ID: "Demo Player"}

# The ID sources whose views of a history `World.knows` answers.
STEAM_HISTORY_VIEW = "steam_history"
OPENDOTA_VIEW = "opendota"
STRATZ_VIEW = "stratz"
# Where an account's match sits among the sources (per-account fractions in its config):
# "only_opendota"/"only_stratz": one source's crawler got it and the others did not (OpenDota
# backfills missing histories from STRATZ, odota/web#3268, so the two differ); "high_level":
# Steam's pages leave it out but total_results counts it (since March 2025, shared/NOTES.md);
# "private_positions" [from, to): positions played while "Expose Public Match Data" was off,
# which no source lists (shared/NOTES.md: a private history is refused or empty).
SPLIT_KEYS = ("only_opendota", "only_stratz", "high_level")
PRIVATE, HIGH_LEVEL = "private", "high_level"
VIEWS_OF = {
    None: {STEAM_HISTORY_VIEW, OPENDOTA_VIEW, STRATZ_VIEW},
    "only_opendota": {OPENDOTA_VIEW},
    "only_stratz": {STRATZ_VIEW},
    HIGH_LEVEL: {OPENDOTA_VIEW, STRATZ_VIEW},
    PRIVATE: set(),
}
# The demo world's split (manage.py steam_simulator): the demo account's history differs
# between the sources the way real ones do, for the completeness report to show.
DEMO_ACCOUNT_SPLIT = {
    "matches": 900,
    "only_opendota": 0.04,
    "only_stratz": 0.03,
    "high_level": 0.05,
    "private_positions": [300, 340],
}


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


def in_population(account_id: int) -> bool:
    return POPULATION_BASE <= account_id < POPULATION_BASE + POPULATION_SIZE


def persona_name(account_id: int) -> str:
    """The display name every endpoint gives `account_id` (a pure function of the id)."""
    if account_id in FIXED_PERSONAS:
        return FIXED_PERSONAS[account_id]
    rng = _rng("persona", account_id)
    word, noun = rng.choice(NAME_WORDS), rng.choice(NAME_NOUNS)
    return rng.choice(NAME_STYLES).format(
        word=word,
        noun=noun,
        word_lower=word.lower(),
        noun_lower=noun.lower(),
        number=rng.choice((rng.randint(1, 99), rng.randint(1990, 2012), 228, 1337, 777)),
        tag=rng.choice(CLAN_TAGS),
        cjk=rng.choice(CJK_NAMES),
        cyrillic=rng.choice(CYRILLIC_NAMES),
    )


def session_times(seed: int, now: float, count: int) -> list[int]:
    """Start times of the newest `count` positions, newest first, in play sessions.

    A session is one to six games an evening (UTC), each starting 55 to 75 minutes after the
    last; sessions are days apart, sometimes weeks, now and then months. The newest session
    ended before `now`. Depends only on the seed and the day of `now`.
    """
    rng = _rng(seed, "sessions")
    today = math.floor(now / DAY)
    # The newest session is yesterday's, or the day before when "now" is early in the day.
    day = today - (1 if now - today * DAY >= 8 * 3600 else 2)
    times: list[int] = []
    while len(times) < count:
        start = day * DAY + rng.randint(17 * 3600, 22 * 3600)
        session = [start]
        for _ in range(rng.choice((1, 2, 2, 3, 3, 3, 4, 4, 5, 6)) - 1):
            session.append(session[-1] + rng.randint(55 * 60, 75 * 60))
        times.extend(reversed(session))
        gap = rng.choices(
            (rng.randint(1, 4), rng.randint(5, 14), rng.randint(15, 45), rng.randint(60, 120)),
            weights=(55, 30, 12, 3),
        )[0]
        day -= gap
    return times[:count]


@dataclass(frozen=True)
class Seat:
    """One player of a match; `account_id` is who sits there, even when shown anonymous."""

    slot: int
    account_id: int
    shown_account_id: int
    hero_id: int
    hero_variant: int | None
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
    picks_bans: tuple[dict[str, Any], ...] = ()
    teams: tuple[tuple[int, str], tuple[int, str]] | None = None
    league_name: str = ""

    @property
    def match_seq_num(self) -> int:
        return self.match_id - SEQ_OFFSET

    def seat_of(self, account_id: int) -> Seat | None:
        return next((s for s in self.seats if s.account_id == account_id), None)

    def score(self, radiant: bool) -> int:
        return sum(s.kills for s in self.seats if s.is_radiant == radiant)


class World:
    """The synthetic match data for one (seed, default_matches, accounts, hidden_fraction,
    immortal_draft_fraction, now)."""

    def __init__(
        self,
        *,
        seed: int,
        default_matches: int,
        accounts: dict[int, dict[str, Any]],
        hidden_fraction: float,
        immortal_draft_fraction: float = 0.0,
        now: float | None = None,
        opendota_parsed_share: float = 0.0,
    ) -> None:
        self.seed = seed
        self.opendota_parsed_share = opendota_parsed_share
        self.immortal_draft_fraction = immortal_draft_fraction
        self.default_matches = default_matches
        self.accounts = accounts
        self.hidden_fraction = hidden_fraction
        self.now = time.time() if now is None else now
        self.max_matches = max(
            [default_matches, *(a.get("matches", default_matches) for a in accounts.values())]
        )
        self.configured_lanes = self._configured_lanes()
        self._recent_times = session_times(
            seed, self.now, min(self.max_matches, REALISTIC_POSITIONS)
        )
        self._heroes = dota_constants.hero_ids()
        self.lineup = lru_cache(maxsize=8192)(self._lineup)
        self.steam_window = lru_cache(maxsize=256)(self._steam_window)
        self.listed_by = lru_cache(maxsize=256)(self._listed_by)

    def _configured_lanes(self) -> dict[int, int]:
        """The lanes of configured accounts outside the population; two must not share one."""
        lanes: dict[int, int] = {}
        for account_id in sorted(self.accounts):
            if in_population(account_id) or not self.matches_of(account_id):
                continue
            lane = CONFIGURED_LANE_BASE + account_id % CONFIGURED_LANES
            if lane in lanes:
                raise ValueError(
                    f"accounts {lanes[lane]} and {account_id} would share the simulator's "
                    f"match ids (equal modulo {CONFIGURED_LANES}); configure another account id"
                )
            lanes[lane] = account_id
        return lanes

    # --- who plays what ------------------------------------------------------------------

    def matches_of(self, account_id: int) -> int:
        overrides = self.accounts.get(account_id)
        if overrides is not None and "matches" in overrides:
            return overrides["matches"]
        return self.default_matches if in_population(account_id) else 0

    def is_private(self, account_id: int) -> bool:
        return bool(self.accounts.get(account_id, {}).get("private", False))

    def has_profile(self, account_id: int) -> bool:
        """Whether Steam describes the account: synced ones always, a few others never."""
        if not 0 < account_id < ANONYMOUS_ACCOUNT_ID:
            return False
        if in_population(account_id) or account_id in self.accounts:
            return True
        return _unit("profile", account_id) >= 0.03

    @staticmethod
    def is_party_position(k: int) -> bool:
        return k % PARTY_EVERY == PARTY_EVERY - 1

    @staticmethod
    def party_members(group: int) -> range:
        first = POPULATION_BASE + group * PARTY_SIZE
        return range(first, first + PARTY_SIZE)

    def lane_of(self, account_id: int, k: int) -> int:
        if not in_population(account_id):
            return CONFIGURED_LANE_BASE + account_id % CONFIGURED_LANES
        if self.is_party_position(k):
            return PARTY_LANE_BASE + (account_id - POPULATION_BASE) // PARTY_SIZE
        return account_id - POPULATION_BASE

    def match_id(self, account_id: int, k: int) -> int:
        return BASE_MATCH_ID + k * LANE_SPAN + self.lane_of(account_id, k)

    def players_at(self, k: int, lane: int) -> list[int]:
        """The synced accounts that play the match in (k, lane): one, up to five, or none."""
        if lane < PARTY_LANE_BASE:
            account_id = POPULATION_BASE + lane
            if self.is_party_position(k) or k >= self.matches_of(account_id):
                return []
            return [account_id]
        if lane < CONFIGURED_LANE_BASE:
            if not self.is_party_position(k):
                return []
            members = self.party_members(lane - PARTY_LANE_BASE)
            return [m for m in members if k < self.matches_of(m)]
        account_id = self.configured_lanes.get(lane)
        return [account_id] if account_id is not None and k < self.matches_of(account_id) else []

    @staticmethod
    def decode(match_id: int) -> tuple[int, int] | None:
        if match_id < BASE_MATCH_ID:
            return None
        return divmod(match_id - BASE_MATCH_ID, LANE_SPAN)

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

        Unconfigured population accounts all play k < default_matches, so a walk through the
        population's lanes is only held up by configured accounts; configured accounts are
        the only candidates everywhere else.
        """
        party = self.is_party_position(k)
        start, end = (PARTY_LANE_BASE, CONFIGURED_LANE_BASE) if party else (0, PARTY_LANE_BASE)
        if k < self.default_matches:
            candidate = max(lane, start)
            while candidate < end:
                if self.players_at(k, candidate):
                    return candidate
                candidate += 1
        configured = sorted(
            {self.lane_of(account_id, k) for account_id in self.accounts}
            | set(self.configured_lanes)
        )
        for candidate in configured:
            if candidate >= lane and self.players_at(k, candidate):
                return candidate
        return None

    # --- what each source knows ----------------------------------------------------------

    def has_split(self, account_id: int) -> bool:
        config = self.accounts.get(account_id, {})
        return any(config.get(key) for key in (*SPLIT_KEYS, "private_positions"))

    def split_at(self, account_id: int, k: int) -> str | None:
        """Where the account's k-th match sits among the sources (None: every source has it)."""
        config = self.accounts.get(account_id, {})
        private = config.get("private_positions")
        if private and private[0] <= k < private[1]:
            return PRIVATE
        u = _unit(self.seed, account_id, k, "split")
        for key in SPLIT_KEYS:
            share = config.get(key, 0.0)
            if u < share:
                return key
            u -= share
        return None

    def _steam_counts(self, account_id: int, k: int) -> bool:
        """Whether GetMatchHistory counts the match (its pages may still hide it)."""
        return self.split_at(account_id, k) in (None, HIGH_LEVEL)

    def _steam_window(self, account_id: int) -> list[int]:
        """The positions GetMatchHistory counts, newest first: the newest 500 it counts."""
        window: list[int] = []
        for k in range(self.matches_of(account_id) - 1, -1, -1):
            if len(window) == STEAM_HISTORY_CAP:
                break
            if self._steam_counts(account_id, k):
                window.append(k)
        return window

    def knows(self, source: str, account_id: int, match_id: int) -> bool:
        """Whether `source`'s listing of the account lists the match: "steam_history" (its
        pages: the newest 500 it counts, high-level ones left out), "opendota", "stratz"."""
        decoded = self.decode(match_id)
        if decoded is None or self.is_private(account_id):
            return False
        k = decoded[0]
        if k >= self.matches_of(account_id) or self.match_id(account_id, k) != match_id:
            return False
        if source not in VIEWS_OF[self.split_at(account_id, k)]:
            return False
        if source == STEAM_HISTORY_VIEW:
            if self.is_hidden(match_id):
                return False
            newest = self.steam_window(account_id)  # cached: knows is asked match by match
            return bool(newest) and k >= newest[-1]
        return True

    def _listed_by(self, source: str, account_id: int) -> tuple[int, ...]:
        """The account's matches `source` lists (`knows`), newest first; cached, as every page
        of a listing asks and the answer holds for the world's life."""
        newest_first = range(self.matches_of(account_id) - 1, -1, -1)
        ids = (self.match_id(account_id, k) for k in newest_first)
        return tuple(match_id for match_id in ids if self.knows(source, account_id, match_id))

    def is_hidden(self, match_id: int) -> bool:
        """Valve leaves some (high-MMR) matches out of GetMatchHistory since 2025."""
        return self.hidden_fraction > 0 and _unit(self.seed, match_id, "hidden") < (
            self.hidden_fraction
        )

    def missing_from_sequence(self, match_id: int) -> bool:
        """Immortal Draft (ranked) matches are not in GetMatchHistoryBySequenceNum: asked at
        their sequence number, it answers the next match (shared/NOTES.md)."""
        if self.immortal_draft_fraction <= 0:
            return False
        if _unit(self.seed, match_id, "immortal draft") >= self.immortal_draft_fraction:
            return False
        lineup = self.lineup(match_id)
        return lineup is not None and lineup.lobby_type == RANKED

    def start_time_at(self, k: int) -> int:
        """When position k was played: counted back from the newest position of the busiest
        account, which was played before `now`."""
        back = self.max_matches - 1 - k
        if back < len(self._recent_times):
            return self._recent_times[back]
        oldest = self._recent_times[-1] if self._recent_times else int(self.now) - DAY
        return oldest - (back - len(self._recent_times) + 1) * DENSE_SPACING

    # --- one match -----------------------------------------------------------------------

    def _filler(self, rng: random.Random) -> int:
        """Another player: anonymous (about half of today's players), or an account with no
        history of its own (never one of the population or a configured account)."""
        if rng.random() < 0.45:
            return ANONYMOUS_ACCOUNT_ID
        account_id = rng.randrange(FILLER_ACCOUNT_MIN, FILLER_ACCOUNT_MAX)
        if in_population(account_id) or account_id in self.accounts:
            return ANONYMOUS_ACCOUNT_ID
        return account_id

    def _lineup(self, match_id: int) -> Lineup | None:
        decoded = self.decode(match_id)
        if decoded is None:
            return None
        k, lane = decoded
        players = self.players_at(k, lane)
        if not players:
            return None
        rng = _rng(self.seed, match_id, "lineup")
        if _is_turbo(k):
            game_mode, lobby_type = TURBO, 0
        else:
            modes, weights = zip(*(((m, lo), w) for m, lo, w in MODES), strict=True)
            game_mode, lobby_type = rng.choices(modes, weights=weights)[0]
        league = rng.choice(LEAGUES) if lobby_type == 1 else None
        if game_mode == TURBO:
            duration = rng.randint(900, 1700)
        else:
            duration = int(rng.triangular(1300, 3300, 2300))
        radiant_win = rng.random() < 0.5
        start_time = self.start_time_at(k) + rng.randrange(0, 240)
        heroes = rng.sample(self._heroes, 10)
        slots = [*range(5), *range(128, 133)]
        if lane >= PARTY_LANE_BASE and lane < CONFIGURED_LANE_BASE:
            radiant = rng.random() < 0.5
            own_slots = slots[:5] if radiant else slots[5:]
        else:
            own_slots = [rng.choice(slots)]
        leaver_slot = rng.choice(slots) if rng.random() < 0.04 else None
        seats = []
        for index, slot in enumerate(slots):
            won = (slot < 128) == radiant_win
            filler = self._filler(rng)
            kills = rng.randint(2, 18) if won else rng.randint(0, 10)
            deaths = rng.randint(0, 8) if won else rng.randint(3, 14)
            assists = rng.randint(0, 28)
            facets = dota_constants.hero_facet_count(heroes[index])
            variant = rng.randint(1, max(facets, 1)) if start_time >= FACETS_SINCE else None
            leaver = 0
            if slot == leaver_slot:
                leaver = rng.choice((1, 2, 2, 3, 3, 4))
            elif rng.random() < 0.01:
                leaver = 1
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
            leagueid=league[0] if league else 0,
            radiant_win=radiant_win,
            cluster=rng.randint(111, 274),
            first_blood_time=rng.randint(20, 300),
            party_size=len(players),
            average_rank=rng.choice((None, *range(11, 81))),
            seats=tuple(seats),
            picks_bans=self._draft(rng, game_mode, lobby_type, seats),
            teams=(
                (
                    (rng.randint(8_000_000, 9_900_000), rng.choice(TEAM_NAMES[:5])),
                    (rng.randint(8_000_000, 9_900_000), rng.choice(TEAM_NAMES[5:])),
                )
                if league
                else None
            ),
            league_name=league[1] if league else "",
        )

    def _draft(
        self, rng: random.Random, game_mode: int, lobby_type: int, seats: list[Seat]
    ) -> tuple[dict[str, Any], ...]:
        """Picks and bans in order: Captains Mode's phases; ranked All Pick's ten picks, then
        the bans the players nominated (as Steam lists them)."""
        own = {
            0: [s.hero_id for s in seats if s.is_radiant],
            1: [s.hero_id for s in seats if not s.is_radiant],
        }
        played = {s.hero_id for s in seats}
        pool = [h for h in self._heroes if h not in played]
        if game_mode in DRAFTED_MODES:
            first = rng.choice((0, 1))
            picks = {team: iter(rng.sample(heroes, 5)) for team, heroes in own.items()}
            bans = iter(rng.sample(pool, 14))
            steps = []
            for is_pick, by_first in CAPTAINS_MODE_ORDER:
                team = first if by_first else 1 - first
                hero = next(picks[team]) if is_pick else next(bans)
                steps.append({"is_pick": is_pick, "hero_id": hero, "team": team})
        elif game_mode == 22 and lobby_type == RANKED:
            order = [(0, h) for h in own[0]] + [(1, h) for h in own[1]]
            rng.shuffle(order)
            steps = [{"is_pick": True, "hero_id": h, "team": team} for team, h in order]
            steps += [
                {"is_pick": False, "hero_id": hero, "team": rng.choice((0, 1))}
                for hero in rng.sample(pool, rng.randint(4, 9))
            ]
        else:
            return ()
        return tuple({**step, "order": order} for order, step in enumerate(steps))

    def _skill_build(self, rng: random.Random, hero_id: int, level: int, seconds: int) -> list:
        """Ability upgrades in Steam's shape: three basic abilities maxed one after another,
        the ultimate at 6, 12 and 18, a talent of each pair at 10, 15, 20 and 25."""
        abilities, talents = dota_constants.hero_ability_ids(hero_id)
        basics, ultimate = abilities[:3] or [5002], abilities[-1] if abilities else 5002
        order = rng.sample(basics, len(basics))
        points = dict.fromkeys(basics, 0)
        chosen = [rng.randint(0, 1) for _ in range(4)]
        # From level 26 on, the talents not taken are learnt too.
        left = [
            t for i, t in enumerate(talents[:8]) if len(talents) >= 8 and i % 2 != chosen[i // 2]
        ]
        upgrades = []
        for upgrade_level in range(1, level + 1):
            if upgrade_level in (17, 19, 21, 22, 23, 24):
                continue  # levels without a skill point
            if upgrade_level in (6, 12, 18):
                ability = ultimate
            elif upgrade_level in (10, 15, 20, 25) and len(talents) >= 8:
                pair = upgrade_level // 5 - 2
                ability = talents[pair * 2 + chosen[pair]]
            elif any(points[a] < 4 for a in order):
                ability = next(a for a in order if points[a] < 4)
                points[ability] += 1
            elif left:
                ability = left.pop(0)
            else:
                continue
            upgrades.append(
                {
                    "ability": ability,
                    "time": seconds * upgrade_level // (level + 1),
                    "level": upgrade_level,
                }
            )
        return upgrades

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
        gold = rng.randint(0, 5000)
        performance = {
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
            "item_neutral2": rng.choice(ENCHANTMENT_IDS),
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
            "gold": gold,
            "gold_spent": max(0, net_worth - gold) * rng.randint(90, 100) // 100,
            "scaled_hero_damage": hero_damage * 7 // 10,
            "scaled_tower_damage": tower_damage * 7 // 10,
            "scaled_hero_healing": hero_healing * 7 // 10,
            "ability_upgrades": self._skill_build(rng, seat.hero_id, level, lineup.duration),
        }
        if lineup.start_time < ENCHANTMENTS_SINCE:
            del performance["item_neutral2"]
        return performance

    # --- Steam shapes --------------------------------------------------------------------

    def steam_details(self, match_id: int) -> dict[str, Any] | None:
        """A match in GetMatchDetails / GetMatchHistoryBySequenceNum shape."""
        lineup = self.lineup(match_id)
        if lineup is None:
            return None
        players = []
        for seat in lineup.seats:
            player = {
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
            if seat.hero_variant is None:
                del player["hero_variant"]
            players.append(player)
        radiant_won = lineup.radiant_win
        details = {
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
        if lineup.teams:
            for side, (team_id, name) in zip(("radiant", "dire"), lineup.teams, strict=True):
                details[f"{side}_team_id"] = team_id
                details[f"{side}_name"] = name
                details[f"{side}_team_complete"] = 1
        if lineup.picks_bans:
            details["picks_bans"] = [dict(step) for step in lineup.picks_bans]
        return details

    def steam_history(
        self, account_id: int, start_at_match_id: int | None, requested: int
    ) -> dict[str, Any]:
        """GetMatchHistory's `result`: newest first, inclusive start, newest 500 only."""
        if self.has_split(account_id):
            return self._split_steam_history(account_id, start_at_match_id, requested)
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

    def _split_steam_history(
        self, account_id: int, start_at_match_id: int | None, requested: int
    ) -> dict[str, Any]:
        """GetMatchHistory for an account whose sources differ: the same paging over the
        positions Steam counts; high-level ones counted but left off the page."""
        window = self.steam_window(account_id)
        first = 0
        if start_at_match_id is not None:
            first = next(
                (
                    i
                    for i, k in enumerate(window)
                    if self.match_id(account_id, k) <= start_at_match_id
                ),
                len(window),
            )
        page = window[first : first + requested]
        matches = [
            self._history_entry(self.lineup(self.match_id(account_id, k)))
            for k in page
            if self.split_at(account_id, k) != HIGH_LEVEL
            and not self.is_hidden(self.match_id(account_id, k))
        ]
        return {
            "status": 1,
            "num_results": len(matches),
            "total_results": len(window),
            "results_remaining": len(window) - first - len(page),
            "matches": matches,
        }

    def _position_at_or_before(self, account_id: int, match_id: int) -> int:
        k = (match_id - BASE_MATCH_ID) // LANE_SPAN
        if k < 0:
            return -1
        return k if self.match_id(account_id, k) <= match_id else k - 1

    @staticmethod
    def _history_entry(lineup: Lineup) -> dict[str, Any]:
        teams = lineup.teams or ((0, ""), (0, ""))
        return {
            "match_id": lineup.match_id,
            "match_seq_num": lineup.match_seq_num,
            "start_time": lineup.start_time,
            "lobby_type": lineup.lobby_type,
            "radiant_team_id": teams[0][0],
            "dire_team_id": teams[1][0],
            "players": [
                {
                    "account_id": seat.shown_account_id,
                    "player_slot": seat.slot,
                    "team_number": 0 if seat.is_radiant else 1,
                    "team_slot": seat.slot % 128,
                    "hero_id": seat.hero_id,
                    "hero_variant": seat.hero_variant or 0,
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
            if not skipped(match_id) and not self.missing_from_sequence(match_id):
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
        if self.has_split(account_id):
            known = (
                k
                for k in range(total - 1, -1, -1)
                if OPENDOTA_VIEW in VIEWS_OF[self.split_at(account_id, k)]
                and not (significant and _is_turbo(k))
            )
            positions = itertools.islice(known, offset, None)
        elif significant:
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
            "version": PARSER_VERSION if self.parsed_by_opendota(lineup.match_id) else None,
            "kills": seat.kills,
            "deaths": seat.deaths,
            "assists": seat.assists,
            "average_rank": lineup.average_rank,
            "leaver_status": seat.leaver_status,
            "party_size": lineup.party_size,
        }

    def parsed_by_opendota(self, match_id: int) -> bool:
        """OpenDota parsed the match by itself, before anyone asked: it parses league matches
        and its subscribers' matches automatically (odota/core svc/util/insert.ts gives them
        the AUTO_* priorities), a small share of the public ones."""
        lineup = self.lineup(match_id)
        if lineup is None:
            return False
        return bool(lineup.leagueid) or _unit(self.seed, match_id, "auto-parsed") < (
            self.opendota_parsed_share
        )

    def opendota_match(self, match_id: int, parsed: bool = False) -> dict[str, Any] | None:
        """OpenDota's answer; `parsed`: with what the replay parser adds (`version` set)."""
        details = self.steam_details(match_id)
        if details is None:
            return None
        players = []
        for player in details["players"]:
            shown = player["account_id"]
            anonymous = shown == ANONYMOUS_ACCOUNT_ID
            copied = {
                key: player[key]
                for key in (
                    "hero_variant",
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
                    "item_neutral2",
                    "aghanims_scepter",
                    "aghanims_shard",
                    "moonshard",
                    "gold",
                    "gold_spent",
                    "leaver_status",
                )
                if key in player
            }
            named = not anonymous and self.has_profile(shown)
            players.append(
                {
                    "account_id": None if anonymous else shown,
                    "player_slot": player["player_slot"],
                    "hero_id": player["hero_id"],
                    **copied,
                    "ability_upgrades_arr": [u["ability"] for u in player["ability_upgrades"]],
                    "personaname": persona_name(shown) if named else None,
                    "isRadiant": player["player_slot"] < 128,
                }
            )
        match = {
            key: details[key]
            for key in (
                "match_id",
                "match_seq_num",
                "radiant_win",
                "start_time",
                "duration",
                "game_mode",
                "lobby_type",
                "leagueid",
                "cluster",
                "radiant_score",
                "dire_score",
                "first_blood_time",
                "human_players",
            )
        }
        match["picks_bans"] = details.get("picks_bans")
        lineup = self.lineup(match_id)
        if lineup.teams:
            for side, (team_id, name) in zip(("radiant", "dire"), lineup.teams, strict=True):
                match[f"{side}_team_id"] = team_id
                match[f"{side}_team"] = {"team_id": team_id, "name": name, "tag": name[:4]}
            match["league"] = {
                "leagueid": lineup.leagueid,
                "name": lineup.league_name,
                "tier": "amateur",
            }
        match["players"] = players
        match["version"] = None
        if parsed or self.parsed_by_opendota(match_id):
            match.update(parsed_parts(match, self.seed))
        return match
