"""The sections of a parsed match's page, built from its ParsedMatch.data (OpenDota's key names,
matches.upstream.parsed's shape) and the match's scoreboard, for the templates to lay out.

Each section is one function of the parsed data; the view asks for only the section it shows,
and a section once built is kept in Django's cache under its parse and players' names
(section_context), so a page asked for again reads no JSON.
The laning, farm and item numbers come from matches.parsed_facts, the one reading the stats
share, so the page and the stats never disagree. A part the parse lacks (an older parser, a
parser blob without the API's additions) is None, and the page says so instead of an empty
box. Names come from dotaconstants (matches.upstream.dota_constants); the chat wheel's phrases
have no table there, so a chat wheel line shows its number, never a made-up phrase.
"""

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from matches.models import ParsedMatch
from matches.parsed_facts import (
    LANE_MINUTE,
    LANE_NAMES,
    LANE_ROLE_NAMES,
    LaneOutcome,
    at_minute,
    first_core_item,
    is_radiant,
    lane_matchups,
    lane_outcomes,
)
from matches.scoreboard import TeamSheet
from matches.templatetags.charts import ChartLine
from matches.upstream.dota_constants import (
    hero_ids_by_key,
    hero_name,
    item_facts_by_key,
    item_name,
    readable_identifier,
)

# (slug, title) of every section, in the order the page's tabs list them; the first is the
# match page itself (its URL has no section).
SECTIONS = (
    ("overview", "Overview"),
    ("graphs", "Graphs"),
    ("laning", "Laning"),
    ("items", "Items"),
    ("combat", "Combat"),
    ("objectives", "Objectives and log"),
    ("chat", "Chat"),
)
SECTION_TITLES = dict(SECTIONS)
DEFAULT_SECTION = "overview"
HERO_PREFIX = "npc_dota_hero_"
# Dota's teams in OpenDota's objectives (`team`): 2 is Radiant, 3 Dire.
RADIANT_TEAM = 2
DIRE_TEAM = 3
# A parsed log's `slot` counts players 0-9; a player_slot of Dire starts at 128.
DIRE_FIRST_SLOT = 128
PLAYERS_PER_SIDE = 5
CACHE_KEY_PREFIX = "parsed-page:"
# The key changes with the parse and the names, so a kept section is never stale; a day
# bounds what the cache holds of matches nobody looks at any more.
CACHE_SECONDS = 24 * 60 * 60


@dataclass(frozen=True)
class Seat:
    """One player as the parsed sections name them: the hero, and the player's name."""

    slot: int  # player_slot
    is_radiant: bool
    hero_id: int | None
    name: str
    is_own: bool

    @property
    def hero(self) -> str:
        return hero_name(self.hero_id)

    @property
    def side(self) -> str:
        return "radiant" if self.is_radiant else "dire"


def clock(seconds: int | None) -> str:
    """Game time as mm:ss, negative before the horn ("-01:29"); "" when unknown."""
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        return ""
    sign = "-" if seconds < 0 else ""
    minutes, rest = divmod(abs(seconds), 60)
    return f"{sign}{minutes:02d}:{rest:02d}"


def seats(teams: list[TeamSheet], own_account_ids: set[int]) -> list[Seat]:
    """The match's players in slot order, named as the scoreboard names them."""
    return sorted(
        (
            Seat(
                slot=row.player.player_slot,
                is_radiant=row.player.is_radiant,
                hero_id=row.player.hero_id,
                name=row.display_name,
                is_own=row.player.account_id in own_account_ids,
            )
            for team in teams
            for row in team.players
        ),
        key=lambda seat: seat.slot,
    )


def seated(data: dict, players: list[Seat]) -> list[Seat]:
    """`players` with a seat for every parsed player the scoreboard lacks (the parse names
    its hero, nobody names the player), in slot order."""
    known = {seat.slot for seat in players}
    extra = [
        Seat(p["player_slot"], is_radiant(p), p.get("hero_id"), "Unknown player", False)
        for p in data.get("players", [])
        if p["player_slot"] not in known
    ]
    return sorted([*players, *extra], key=lambda seat: seat.slot)


def _series(data: dict, key: str) -> list[int] | None:
    values = data.get(key)
    if not isinstance(values, list) or not values:
        return None
    return [value if isinstance(value, int | float) else None for value in values]


def overview(data: dict, players: list[Seat]) -> dict:
    gold = _series(data, "radiant_gold_adv")
    return {
        "gold_adv": gold,
        "gold_adv_lines": _advantage_lines(gold, "Gold"),
        "gold_adv_description": advantage_description(gold, "gold"),
    }


def advantage_description(values: list | None, what: str) -> str:
    """What an advantage chart shows, in words: each side's largest lead and the last one."""
    known = [(minute, v) for minute, v in enumerate(values or []) if v is not None]
    if not known:
        return ""
    best = max(known, key=lambda pair: pair[1])
    worst = min(known, key=lambda pair: pair[1])
    parts = []
    if best[1] > 0:
        parts.append(f"Radiant's largest {what} lead: {best[1]:,} at {best[0]:02d}:00")
    if worst[1] < 0:
        parts.append(f"Dire's largest {what} lead: {-worst[1]:,} at {worst[0]:02d}:00")
    minute, last = known[-1]
    leader = "Radiant" if last >= 0 else "Dire"
    parts.append(f"at {minute:02d}:00 {leader} led by {abs(last):,}")
    return "; ".join(parts) + "."


def _advantage_lines(values: list | None, what: str) -> list[ChartLine]:
    if values is None:
        return []
    return [ChartLine(f"Radiant's {what.lower()} advantage", values, "line-advantage")]


@dataclass(frozen=True)
class MinuteRow:
    """One minute of a table view: (the column's name, the value) for each column."""

    minute: int
    cells: tuple[tuple[str, int | None], ...]


def graphs(data: dict, players: list[Seat]) -> dict:
    gold_adv = _series(data, "radiant_gold_adv")
    xp_adv = _series(data, "radiant_xp_adv")
    by_slot = {seat.slot: seat for seat in players}
    golds = [(by_slot[p["player_slot"]], _series(p, "gold_t")) for p in data.get("players", [])]
    have_gold = [(seat, values) for seat, values in golds if values is not None]
    advantage_minutes = max(len(gold_adv or ()), len(xp_adv or ()))
    gold_minutes = max((len(values) for _seat, values in have_gold), default=0)
    return {
        "gold_adv": gold_adv,
        "xp_adv": xp_adv,
        "gold_adv_lines": _advantage_lines(gold_adv, "Gold"),
        "xp_adv_lines": _advantage_lines(xp_adv, "XP"),
        "gold_adv_description": advantage_description(gold_adv, "gold"),
        "xp_adv_description": advantage_description(xp_adv, "XP"),
        "advantage_rows": [
            MinuteRow(
                minute,
                (
                    ("Gold advantage", _item(gold_adv, minute)),
                    ("XP advantage", _item(xp_adv, minute)),
                ),
            )
            for minute in range(advantage_minutes)
        ],
        "gold_players": [seat for seat, _values in have_gold],
        "gold_lines": [
            ChartLine(f"{seat.hero} ({seat.name})", values, f"line-player line-slot-{index}")
            for index, (seat, values) in enumerate(have_gold)
        ],
        "gold_rows": [
            MinuteRow(
                minute, tuple((seat.hero, _item(values, minute)) for seat, values in have_gold)
            )
            for minute in range(gold_minutes)
        ],
    }


def _item(values: list | None, index: int) -> Any:
    return values[index] if values is not None and index < len(values) else None


@dataclass(frozen=True)
class LaneRow:
    seat: Seat
    lane: str
    role: str
    last_hits: int | None
    denies: int | None
    gold: int | None
    outcome: LaneOutcome | None


@dataclass(frozen=True)
class MatchupRow:
    name: str
    radiant: list[Seat]
    dire: list[Seat]
    radiant_gold: int | None
    dire_gold: int | None
    radiant_outcome: LaneOutcome | None

    @property
    def verdict(self) -> str:
        if self.radiant_outcome is None:
            return "No outcome (a side had nobody there, or no gold series)"
        if self.radiant_outcome == LaneOutcome.DRAWN:
            return "Drawn"
        return "Radiant won" if self.radiant_outcome == LaneOutcome.WON else "Dire won"


def laning(data: dict, players: list[Seat]) -> dict:
    by_slot = {seat.slot: seat for seat in players}
    parsed = data.get("players", [])
    has_lanes = any("lane" in p for p in parsed)
    outcomes = lane_outcomes(data)
    rows = []
    for player in parsed:
        lane, role = player.get("lane"), player.get("lane_role")
        rows.append(
            LaneRow(
                seat=by_slot[player["player_slot"]],
                lane="Roaming" if player.get("is_roaming") else LANE_NAMES.get(lane, ""),
                role=LANE_ROLE_NAMES.get(role, ""),
                last_hits=at_minute(player.get("lh_t"), LANE_MINUTE),
                denies=at_minute(player.get("dn_t"), LANE_MINUTE),
                gold=at_minute(player.get("gold_t"), LANE_MINUTE),
                outcome=outcomes.get(player["player_slot"]),
            )
        )
    matchups = [
        MatchupRow(
            name=matchup.name,
            radiant=[by_slot[p["player_slot"]] for p in matchup.radiant],
            dire=[by_slot[p["player_slot"]] for p in matchup.dire],
            radiant_gold=matchup.radiant_gold,
            dire_gold=matchup.dire_gold,
            radiant_outcome=matchup.outcome_for(True),
        )
        for matchup in lane_matchups(data)
    ]
    return {
        "lane_minute": LANE_MINUTE,
        "lane_rows": rows,
        "has_lane_series": any(row.last_hits is not None for row in rows),
        "matchups": matchups if has_lanes else None,
    }


@dataclass(frozen=True)
class Bought:
    time: str
    name: str


@dataclass(frozen=True)
class PurchaseRow:
    seat: Seat
    purchases: list[Bought] | None
    first_core: Bought | None


def purchase_name(key: str) -> str:
    """An item's display name from its purchase-log key; an item dotaconstants does not price
    is named from the key itself ("ward_dispenser" -> "Ward Dispenser")."""
    facts = item_facts_by_key().get(key)
    return item_name(facts.item_id) if facts else readable_identifier(key)


def items(data: dict, players: list[Seat]) -> dict:
    by_slot = {seat.slot: seat for seat in players}
    rows = []
    for player in data.get("players", []):
        log = player.get("purchase_log")
        purchases = None
        if isinstance(log, list):
            purchases = [
                Bought(clock(entry.get("time")), purchase_name(entry["key"]))
                for entry in log
                if isinstance(entry, dict) and isinstance(entry.get("key"), str)
            ]
        core = first_core_item(player)
        rows.append(
            PurchaseRow(
                seat=by_slot[player["player_slot"]],
                purchases=purchases,
                first_core=Bought(clock(core.time), purchase_name(core.key)) if core else None,
            )
        )
    return {"purchase_rows": rows, "has_purchases": any(r.purchases is not None for r in rows)}


@dataclass(frozen=True)
class Versus:
    """One hero's numbers against each enemy hero (kills, or damage dealt), in their order."""

    seat: Seat
    cells: list[tuple[Seat, int]]  # (the enemy hero, the number)

    @property
    def total(self) -> int:
        return sum(value for _seat, value in self.cells)


@dataclass(frozen=True)
class VersusTable:
    caption: str
    rows: list[Versus]
    columns: list[Seat]


@dataclass(frozen=True)
class CombatRow:
    seat: Seat
    buybacks: list[str] | None  # the times of the buybacks
    runes: int | None
    observers: int | None
    sentries: int | None


def _hero_key_to_slot(data: dict) -> dict[str, int]:
    keys = {hero_id: key for key, hero_id in hero_ids_by_key().items()}
    return {
        keys[p["hero_id"]]: p["player_slot"]
        for p in data.get("players", [])
        if p.get("hero_id") in keys
    }


def _versus_tables(
    data: dict,
    players: list[Seat],
    count: Callable[[dict], dict[str, int] | None],
    what: str,
) -> list[VersusTable] | None:
    """For each side, a table of its heroes (rows) against the other side's (columns): the
    numbers `count` gives per victim hero key; None when no player has the part."""
    slot_of_key = _hero_key_to_slot(data)
    counted = {p["player_slot"]: count(p) for p in data.get("players", [])}
    if all(numbers is None for numbers in counted.values()):
        return None
    tables = []
    for radiant, side, other in ((True, "Radiant", "Dire"), (False, "Dire", "Radiant")):
        rows_side = [seat for seat in players if seat.is_radiant == radiant]
        columns = [seat for seat in players if seat.is_radiant != radiant]
        rows = []
        for seat in rows_side:
            by_victim: dict[int, int] = {}
            for key, number in (counted.get(seat.slot) or {}).items():
                slot = slot_of_key.get(key)
                if slot is not None:
                    by_victim[slot] = by_victim.get(slot, 0) + number
            rows.append(Versus(seat, [(c, by_victim.get(c.slot, 0)) for c in columns]))
        tables.append(
            VersusTable(f"{what} of {side}'s heroes (rows) on {other}'s (columns)", rows, columns)
        )
    return tables


def kills_by_victim(player: dict) -> dict[str, int] | None:
    """How often the player killed each hero, from their kills log (victims by hero key)."""
    log = player.get("kills_log")
    if not isinstance(log, list):
        return None
    counts: dict[str, int] = {}
    for entry in log:
        key = entry.get("key") if isinstance(entry, dict) else None
        if isinstance(key, str) and key.startswith(HERO_PREFIX):
            counts[key] = counts.get(key, 0) + 1
    return counts


def damage_by_target(player: dict) -> dict[str, int] | None:
    """The damage the player dealt each hero, summed over what dealt it (`damage_targets` is
    inflictor → target → damage; the inflictor "null" is the hero's own attacks)."""
    targets = player.get("damage_targets")
    if not isinstance(targets, dict):
        return None
    totals: dict[str, int] = {}
    for by_target in targets.values():
        for key, damage in (by_target or {}).items():
            if key.startswith(HERO_PREFIX) and isinstance(damage, int | float):
                totals[key] = totals.get(key, 0) + int(damage)
    return totals


def _log_count(player: dict, key: str) -> int | None:
    log = player.get(key)
    return len(log) if isinstance(log, list) else None


def combat(data: dict, players: list[Seat]) -> dict:
    by_slot = {seat.slot: seat for seat in players}
    rows = []
    for player in data.get("players", []):
        log = player.get("buyback_log")
        rows.append(
            CombatRow(
                seat=by_slot[player["player_slot"]],
                buybacks=[clock(e.get("time")) for e in log] if isinstance(log, list) else None,
                runes=_log_count(player, "runes_log"),
                observers=_log_count(player, "obs_log"),
                sentries=_log_count(player, "sen_log"),
            )
        )
    return {
        "kill_tables": _versus_tables(data, players, kills_by_victim, "Kills"),
        "damage_tables": _versus_tables(data, players, damage_by_target, "Damage"),
        "combat_rows": rows,
    }


@dataclass(frozen=True)
class Objective:
    time: str
    what: str
    who: str
    side: str = ""  # "radiant" or "dire": whose deed it was, when known


@dataclass(frozen=True)
class Teamfight:
    start: str
    end: str
    deaths: int | None
    gold: tuple[int | None, int | None]  # Radiant's, Dire's gold change over the fight
    xp: tuple[int | None, int | None]


def building_name(key: str) -> str:
    """A building's unit name as words: npc_dota_goodguys_tower1_bot -> Radiant tier 1 tower
    (bottom); the barracks (melee_rax, range_rax), shrines (healers) and the Ancient (fort)."""
    team = {"goodguys": "Radiant", "badguys": "Dire"}
    parts = key.removeprefix("npc_dota_").split("_")
    if len(parts) < 2 or parts[0] not in team:
        return readable_identifier(key, "npc_dota_")
    side, rest = team[parts[0]], parts[1:]
    lane = {"bot": "bottom", "mid": "middle", "top": "top"}.get(rest[-1])
    where = f" ({lane})" if lane else ""
    kind = rest[0]
    if kind.startswith("tower") and kind[5:].isdigit():
        return f"{side} tier {kind[5:]} tower{where}"
    if kind in ("melee", "range") and len(rest) > 1 and rest[1] == "rax":
        return f"{side} {'melee' if kind == 'melee' else 'ranged'} barracks{where}"
    if kind == "healers":
        return f"{side} shrine"
    if kind == "fort":
        return f"{side} Ancient"
    return f"{side} {readable_identifier('_'.join(rest))}"


def _slot_of_log_slot(slot: Any) -> int | None:
    if not isinstance(slot, int) or isinstance(slot, bool) or not 0 <= slot < 2 * PLAYERS_PER_SIDE:
        return None
    return slot if slot < PLAYERS_PER_SIDE else DIRE_FIRST_SLOT + slot - PLAYERS_PER_SIDE


def _seat_text(seat: Seat | None) -> str:
    return f"{seat.hero} ({seat.name})" if seat else ""


def _unit_text(unit: Any, by_key: dict[str, Seat]) -> tuple[str, str]:
    """Who a unit name is: a hero of the match, creeps, or the name as words."""
    if not isinstance(unit, str):
        return "", ""
    if unit in by_key:
        return _seat_text(by_key[unit]), by_key[unit].side
    if "_creep_" in unit or "_siege" in unit:
        side = "radiant" if "goodguys" in unit else "dire" if "badguys" in unit else ""
        return f"{'Radiant' if side == 'radiant' else 'Dire'} creeps" if side else "Creeps", side
    return readable_identifier(unit, "npc_dota_"), ""


def _team_text(team: Any) -> tuple[str, str]:
    return {RADIANT_TEAM: ("Radiant", "radiant"), DIRE_TEAM: ("Dire", "dire")}.get(team, ("", ""))


def objective_of(entry: dict, by_slot: dict[int, Seat], by_key: dict[str, Seat]) -> Objective:
    """One entry of OpenDota's `objectives` as a line of the log (odota/core's types:
    building_kill, CHAT_MESSAGE_FIRSTBLOOD whose `key` is the victim's slot, the Roshan,
    Aegis and courier messages with a `team` or a player)."""
    kind = entry.get("type", "")
    seat = by_slot.get(entry.get("player_slot"))
    who, side = (_seat_text(seat), seat.side) if seat else ("", "")
    time = clock(entry.get("time"))
    if kind == "building_kill":
        if not seat:
            who, side = _unit_text(entry.get("unit"), by_key)
        return Objective(time, f"{building_name(str(entry.get('key', '')))} destroyed", who, side)
    if kind == "CHAT_MESSAGE_FIRSTBLOOD":
        victim = by_slot.get(_slot_of_log_slot(entry.get("key")))
        what = f"First blood on {_seat_text(victim)}" if victim else "First blood"
        return Objective(time, what, who, side)
    if kind == "CHAT_MESSAGE_ROSHAN_KILL":
        who, side = _team_text(entry.get("team"))
        return Objective(time, "Roshan killed", who, side)
    if kind == "CHAT_MESSAGE_AEGIS":
        return Objective(time, "Aegis picked up", who, side)
    if kind == "CHAT_MESSAGE_AEGIS_STOLEN":
        return Objective(time, "Aegis stolen", who, side)
    if kind == "CHAT_MESSAGE_DENIED_AEGIS":
        return Objective(time, "Aegis denied", who, side)
    if kind == "CHAT_MESSAGE_COURIER_LOST":
        team, team_side = _team_text(entry.get("team"))
        return Objective(time, f"{team} courier lost" if team else "Courier lost", "", team_side)
    what = readable_identifier(str(kind).lower(), "chat_message_")
    if not who:
        who, side = _team_text(entry.get("team"))
    return Objective(time, what, who, side)


def _side_sum(players: list, radiant: bool, key: str) -> int | None:
    values = [
        p.get(key)
        for index, p in enumerate(players)
        if isinstance(p, dict) and (index < PLAYERS_PER_SIDE) == radiant
    ]
    numbers = [v for v in values if isinstance(v, int | float)]
    return int(sum(numbers)) if numbers else None


def objectives(data: dict, players: list[Seat]) -> dict:
    by_slot = {seat.slot: seat for seat in players}
    keys = {hero_id: key for key, hero_id in hero_ids_by_key().items()}
    by_key = {keys[seat.hero_id]: seat for seat in players if seat.hero_id in keys}
    logged = data.get("objectives")
    fights = data.get("teamfights")
    return {
        "objective_rows": (
            [objective_of(entry, by_slot, by_key) for entry in logged if isinstance(entry, dict)]
            if isinstance(logged, list)
            else None
        ),
        # A teamfight's `players` are the ten in slot order, Radiant's five first.
        "teamfights": (
            [
                Teamfight(
                    start=clock(fight.get("start")),
                    end=clock(fight.get("end")),
                    deaths=fight.get("deaths"),
                    gold=tuple(
                        _side_sum(fight.get("players") or [], r, "gold_delta")
                        for r in (True, False)
                    ),
                    xp=tuple(
                        _side_sum(fight.get("players") or [], r, "xp_delta") for r in (True, False)
                    ),
                )
                for fight in fights
                if isinstance(fight, dict)
            ]
            if isinstance(fights, list)
            else None
        ),
    }


@dataclass(frozen=True)
class ChatLine:
    time: str
    seat: Seat | None
    said: str  # the text, or "chat wheel #<key>"
    is_wheel: bool
    unit: str = ""  # the name the replay gives the speaker


def chat(data: dict, players: list[Seat]) -> dict:
    by_slot = {seat.slot: seat for seat in players}
    lines = data.get("chat")
    if not isinstance(lines, list):
        return {"chat_lines": None}
    shown = []
    for line in lines:
        if not isinstance(line, dict):
            continue
        is_wheel = line.get("type") == "chatwheel"
        key = str(line.get("key", ""))
        shown.append(
            ChatLine(
                time=clock(line.get("time")),
                seat=by_slot.get(line.get("player_slot")),
                said=f"chat wheel #{key}" if is_wheel else key,
                is_wheel=is_wheel,
                unit=str(line.get("unit", "")),
            )
        )
    return {"chat_lines": shown}


BUILDERS: dict[str, Callable[[dict, list[Seat]], dict]] = {
    "overview": overview,
    "graphs": graphs,
    "laning": laning,
    "items": items,
    "combat": combat,
    "objectives": objectives,
    "chat": chat,
}


def section_context(
    section: str, parsed: ParsedMatch, teams: list[TeamSheet], own_account_ids: Iterable[int]
) -> dict:
    """What the template of `section` shows of the parsed match.

    Built once per section, parse (its version and when it was stored) and players' names,
    then kept in Django's cache: a page asked for again reads neither the parse's JSON (the
    view defers `data`) nor rebuilds anything. A renamed player, a re-parse, is a new key.
    """
    players = seats(teams, set(own_account_ids))
    identity = (section, parsed.match_id, parsed.version, parsed.stored_at.isoformat(), players)
    key = CACHE_KEY_PREFIX + hashlib.sha256(repr(identity).encode()).hexdigest()
    found = cache.get(key)
    if found is None:
        data = parsed.data
        everyone = seated(data, players)
        found = {"seats": everyone, **BUILDERS[section](data, everyone)}
        cache.set(key, found, CACHE_SECONDS)
    return found
