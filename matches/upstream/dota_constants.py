"""Names for Dota's numeric ids: heroes and facets, items, abilities, game modes, lobbies;
and the patches' release dates.

The tables are trimmed copies of the `dotaconstants` npm package shipped in matches/upstream/data/
(see its README.md); `build_tables` makes them and `manage.py update_dotaconstants` refreshes them.
"""

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path

# Valve's DOTALeaverStatus_t from 2 on (disconnected too long, abandoned, AFK, never connected):
# the player abandoned the match. 1 is a disconnect from a game that was safe to leave.
ABANDONED_FROM = 2

DATA_DIR = Path(__file__).resolve().parent / "data"
TABLE_FILES = {
    "heroes": "heroes.json",
    "items": "items.json",
    "item_facts": "item_facts.json",
    "abilities": "abilities.json",
    "game_modes": "game_modes.json",
    "lobby_types": "lobby_types.json",
    "patches": "patches.json",
}

# Valve's id of Turbo (game_modes.json: game_mode_turbo), the mode a user may leave out.
TURBO_GAME_MODE = 23

# Names the package only has as identifiers ("lobby_type_ranked_solo_mm") and whose mechanical
# title-casing would read badly.
_READABLE_OVERRIDES = {
    "1v1_mid": "1v1 Mid",
    "all_random_death_match": "All Random Deathmatch",
    "coop_bots": "Co-op Bots",
    "ranked_solo_mm": "Ranked Solo",
    "ranked_team_mm": "Ranked Team",
    "unknown": "Unknown",
    # Mode 22 is the engine's "all_draft", but the Dota client has called it All Pick (ranked
    # and unranked matchmaking) since 2017; mode 1 is the older All Pick.
    "all_draft": "All Pick",
}
# A talent's name carries its number as a placeholder filled from game files the package does not
# ship ("+{s:value}s Doom Duration"); the name reads well without the sign, number and unit.
_PLACEHOLDER = re.compile(r"[+\-x]?\{s:[^}]*\}[%s]?\s*")


@cache
def _table(kind: str) -> dict[int, dict | str]:
    raw = json.loads((DATA_DIR / TABLE_FILES[kind]).read_text(encoding="utf-8"))
    return {int(key): value for key, value in raw.items()}


def hero_name(hero_id: int | None) -> str:
    if not hero_id:
        return "Unknown hero"
    hero = _table("heroes").get(int(hero_id))
    return hero["name"] if hero else f"Hero {hero_id}"


def heroes_by_name() -> list[tuple[int, str]]:
    """(id, name) of every known hero, alphabetical: the choices of a hero filter."""
    return sorted(
        ((hero_id, hero["name"]) for hero_id, hero in _table("heroes").items()),
        key=lambda pair: pair[1],
    )


def hero_facet_name(hero_id: int | None, hero_variant: int | None) -> str:
    """The name of the facet a player chose (`hero_variant` counts from 1); "" when unknown."""
    if not hero_id or not hero_variant:
        return ""
    hero = _table("heroes").get(int(hero_id))
    facets = hero.get("facets", []) if hero else []
    return facets[hero_variant - 1] if 0 < hero_variant <= len(facets) else ""


def hero_ids() -> list[int]:
    """Every hero id of the table, ascending."""
    return sorted(_table("heroes"))


def hero_facet_count(hero_id: int) -> int:
    hero = _table("heroes").get(int(hero_id)) or {}
    return len(hero.get("facets", []))


def hero_ability_ids(hero_id: int) -> tuple[list[int], list[int]]:
    """The ability ids of a hero's skills and of its talents (empty for an unknown hero)."""
    hero = _table("heroes").get(int(hero_id)) or {}
    return list(hero.get("abilities", [])), list(hero.get("talents", []))


def ability_name(ability_id: int | None) -> str:
    """An ability's or talent's display name; "" for a missing id."""
    if ability_id is None or ability_id == "":
        return ""
    return _table("abilities").get(int(ability_id)) or f"Ability {ability_id}"


def item_name(item_id: int | None) -> str:
    """The item's display name; "" for an empty slot (id 0 or missing)."""
    if not item_id:
        return ""
    return _table("items").get(int(item_id)) or f"Item {item_id}"


@dataclass(frozen=True)
class ItemFacts:
    item_id: int
    key: str  # the parsed replay's name for it: "black_king_bar"
    cost: int
    qual: str  # the package's quality: "consumable", "component", "epic", … or ""


@cache
def item_facts_by_key() -> dict[str, ItemFacts]:
    """Every priced item under the key a parsed replay's purchase log names it by."""
    return {
        facts["key"]: ItemFacts(item_id, facts["key"], facts["cost"], facts["qual"])
        for item_id, facts in _table("item_facts").items()
    }


@cache
def hero_ids_by_key() -> dict[str, int]:
    """Hero ids under the names a parsed replay gives heroes ("npc_dota_hero_axe")."""
    return {hero["key"]: hero_id for hero_id, hero in _table("heroes").items() if "key" in hero}


def game_mode_name(game_mode: int | None) -> str:
    if game_mode is None:
        return "Unknown mode"
    return _table("game_modes").get(int(game_mode)) or f"Game mode {game_mode}"


def lobby_type_name(lobby_type: int | None) -> str:
    if lobby_type is None:
        return "Unknown lobby"
    return _table("lobby_types").get(int(lobby_type)) or f"Lobby type {lobby_type}"


def game_modes() -> list[tuple[int, str]]:
    """(id, name) of every known game mode, by id: the choices of a game-mode filter."""
    return list(_table("game_modes").items())


def lobby_types() -> list[tuple[int, str]]:
    """(id, name) of every known lobby type, by id: the choices of a lobby-type filter."""
    return list(_table("lobby_types").items())


def patches() -> list[tuple[str, date]]:
    """Every patch's name and the (UTC) day it was released, oldest first."""
    return [
        (patch["name"], date.fromisoformat(patch["date"])) for patch in _table("patches").values()
    ]


def readable_identifier(identifier: str, prefix: str = "") -> str:
    """'game_mode_all_pick' -> 'All Pick'; 'recipe_phase_boots' -> 'Phase Boots Recipe'.

    The recipe form matches the package's own recipe names ("Magic Wand Recipe").
    """
    name = identifier.removeprefix(prefix)
    if name in _READABLE_OVERRIDES:
        return _READABLE_OVERRIDES[name]
    if name.startswith("recipe_"):
        return readable_identifier(name.removeprefix("recipe_")) + " Recipe"
    return " ".join(word[:1].upper() + word[1:] for word in name.split("_") if word)


def build_tables(package_dir: Path) -> dict[str, dict[str, dict | str]]:
    """The trimmed tables, keyed by TABLE_FILES' kinds, from an unpacked dotaconstants package.

    `package_dir` is the directory holding `build/` (npm pack's `package/`), or `build/` itself.
    """
    build = package_dir / "build" if (package_dir / "build").is_dir() else package_dir

    def load(name: str) -> dict:
        return json.loads((build / name).read_text(encoding="utf-8"))

    abilities_by_key = load("abilities.json")
    # A few abilities have two ids ("3060,1617"): both name it.
    names_by_ability_id = {
        int(ability_id): name
        for ids, name in load("ability_ids.json").items()
        for ability_id in ids.split(",")
        if ability_id.strip().isdigit()
    }
    ids_by_ability: dict[str, int] = {}
    for ability_id, name in names_by_ability_id.items():
        ids_by_ability.setdefault(name, ability_id)
    hero_abilities = load("hero_abilities.json")

    def ids_of(names: list[str]) -> list[int]:
        return [ids_by_ability[name] for name in names if name in ids_by_ability]

    heroes = {}
    for hero in load("heroes.json").values():
        kit = hero_abilities.get(hero["name"], {})
        heroes[str(hero["id"])] = {
            "name": hero["localized_name"],
            # How a parsed replay names the hero (kills_log, damage_targets).
            "key": hero["name"],
            "img": hero.get("img", ""),
            # Ordered by id: a player's hero_variant n is the facet with id n - 1.
            "facets": [
                facet["title"] for facet in sorted(kit.get("facets", []), key=lambda f: f["id"])
            ],
            "abilities": ids_of(
                [name for name in kit.get("abilities", []) if name != "generic_hidden"]
            ),
            "talents": ids_of([talent["name"] for talent in kit.get("talents", [])]),
        }

    items_by_key = load("items.json")
    # items.json is keyed by internal name; item_ids.json maps every id (recipes included)
    # to that name, so it is the authority on which ids exist when the package ships it.
    names_by_id = {
        str(item["id"]): key for key, item in items_by_key.items() if item.get("id") is not None
    }
    if (build / "item_ids.json").is_file():
        names_by_id.update(load("item_ids.json"))
    items = {
        item_id: items_by_key.get(key, {}).get("dname") or readable_identifier(key, "item_")
        for item_id, key in names_by_id.items()
    }

    # A parsed replay's purchase log names items by key: the key, and the price and quality
    # the first-core-item timing reads, of every item the package prices.
    item_facts = {
        str(item["id"]): {"key": key, "cost": item["cost"], "qual": item.get("qual") or ""}
        for key, item in items_by_key.items()
        if item.get("id") is not None and isinstance(item.get("cost"), int)
    }

    # Skill builds name hero abilities and talents, also retired ones of old matches: every
    # ability named after a hero, plus the generic talents and attribute bonuses.
    hero_prefixes = tuple(
        hero["name"].removeprefix("npc_dota_hero_") + "_" for hero in load("heroes.json").values()
    )
    kit_names = {
        name
        for kit in hero_abilities.values()
        for name in (*kit.get("abilities", []), *(t["name"] for t in kit.get("talents", [])))
    }
    abilities = {
        str(ability_id): _ability_display_name(name, abilities_by_key.get(name, {}))
        for ability_id, name in names_by_ability_id.items()
        if name in kit_names
        or name.startswith(hero_prefixes)
        or name.startswith(("special_bonus_", "attribute_bonus"))
    }

    game_modes = {
        key: readable_identifier(mode["name"], "game_mode_")
        for key, mode in load("game_mode.json").items()
    }
    lobby_types = {
        key: readable_identifier(lobby["name"], "lobby_type_")
        for key, lobby in load("lobby_type.json").items()
    }
    patches = {
        str(patch["id"]): {
            "name": patch["name"],
            "date": datetime.fromisoformat(patch["date"].replace("Z", "+00:00")).date().isoformat(),
        }
        for patch in load("patch.json")
    }
    return {
        "heroes": _sorted_by_id(heroes),
        "items": _sorted_by_id(items),
        "item_facts": _sorted_by_id(item_facts),
        "abilities": _sorted_by_id(abilities),
        "game_modes": _sorted_by_id(game_modes),
        "lobby_types": _sorted_by_id(lobby_types),
        "patches": _sorted_by_id(patches),
    }


def _ability_display_name(identifier: str, ability: dict) -> str:
    name = _PLACEHOLDER.sub("", ability.get("dname") or "").strip()
    if identifier == "special_bonus_attributes" or identifier.startswith("attribute_bonus"):
        return "Attribute Bonus"
    if not name:
        name = readable_identifier(identifier.removeprefix("special_bonus_unique_"))
    return f"Talent: {name}" if identifier.startswith("special_bonus_") else name


def _sorted_by_id(table: dict) -> dict:
    return dict(sorted(table.items(), key=lambda pair: int(pair[0])))


def write_tables(tables: dict[str, dict], data_dir: Path | None = None) -> list[Path]:
    """Write the tables as the files the lookups read, and forget the cached copies."""
    data_dir = data_dir or DATA_DIR
    written = []
    for kind, table in tables.items():
        path = data_dir / TABLE_FILES[kind]
        # One entry a line: small files whose updates read well in a diff.
        lines = [
            f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}"
            for key, value in table.items()
        ]
        path.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")
        written.append(path)
    forget_tables()
    return written


def forget_tables() -> None:
    """Drop the cached copies of the tables, so the next lookup reads the files again."""
    for cached in (_table, item_facts_by_key, hero_ids_by_key):
        cached.cache_clear()
