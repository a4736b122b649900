"""Names for Dota's numeric ids (heroes, items, game modes, lobby types).

The tables are trimmed copies of the `dotaconstants` npm package shipped in matches/data/
(see its README.md); `build_tables` makes them and `manage.py update_dotaconstants` refreshes them.
"""

import json
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
TABLE_FILES = {
    "heroes": "heroes.json",
    "items": "items.json",
    "game_modes": "game_modes.json",
    "lobby_types": "lobby_types.json",
}

# Names the package only has as identifiers ("lobby_type_ranked_solo_mm") and whose mechanical
# title-casing would read badly.
_READABLE_OVERRIDES = {
    "1v1_mid": "1v1 Mid",
    "all_random_death_match": "All Random Deathmatch",
    "coop_bots": "Co-op Bots",
    "ranked_solo_mm": "Ranked Solo",
    "ranked_team_mm": "Ranked Team",
    "unknown": "Unknown",
}


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


def item_name(item_id: int | None) -> str:
    """The item's display name; "" for an empty slot (id 0 or missing)."""
    if not item_id:
        return ""
    return _table("items").get(int(item_id)) or f"Item {item_id}"


def game_mode_name(game_mode: int | None) -> str:
    if game_mode is None:
        return "Unknown mode"
    return _table("game_modes").get(int(game_mode)) or f"Game mode {game_mode}"


def lobby_type_name(lobby_type: int | None) -> str:
    if lobby_type is None:
        return "Unknown lobby"
    return _table("lobby_types").get(int(lobby_type)) or f"Lobby type {lobby_type}"


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

    heroes = {
        str(hero["id"]): {"name": hero["localized_name"], "img": hero.get("img", "")}
        for hero in load("heroes.json").values()
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

    game_modes = {
        key: readable_identifier(mode["name"], "game_mode_")
        for key, mode in load("game_mode.json").items()
    }
    lobby_types = {
        key: readable_identifier(lobby["name"], "lobby_type_")
        for key, lobby in load("lobby_type.json").items()
    }
    return {
        "heroes": _sorted_by_id(heroes),
        "items": _sorted_by_id(items),
        "game_modes": _sorted_by_id(game_modes),
        "lobby_types": _sorted_by_id(lobby_types),
    }


def _sorted_by_id(table: dict) -> dict:
    return dict(sorted(table.items(), key=lambda pair: int(pair[0])))


def write_tables(tables: dict[str, dict], data_dir: Path | None = None) -> list[Path]:
    """Write the tables as the files the lookups read, and forget the cached copies."""
    data_dir = data_dir or DATA_DIR
    written = []
    for kind, table in tables.items():
        path = data_dir / TABLE_FILES[kind]
        path.write_text(json.dumps(table, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    _table.cache_clear()
    return written
