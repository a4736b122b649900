import json
from datetime import date
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.template import Context, Template

from matches.templatetags import dota
from matches.upstream import dota_constants


def test_known_ids_have_their_names():
    assert dota_constants.hero_name(1) == "Anti-Mage"
    assert dota_constants.item_name(1) == "Blink Dagger"
    assert dota_constants.game_mode_name(23) == "Turbo"
    assert dota_constants.lobby_type_name(7) == "Ranked"
    assert dota_constants.game_mode_name(22) == "All Pick"


def test_modern_ids_of_late_2025_have_names():
    """The ids of the December 2025 sequence answer (tests/data): new heroes, neutral
    items and the enchantments of the second neutral slot, abilities and talents."""
    assert dota_constants.hero_name(155) == "Largo"
    assert dota_constants.item_name(1604) == "Searing Signet"
    assert dota_constants.item_name(1584) == "Alert"
    assert dota_constants.ability_name(5613) == "Firestorm"
    assert dota_constants.ability_name(6000) == "Talent: +20% Magic Resistance"
    assert dota_constants.ability_name(730) == "Attribute Bonus"


def test_facets_are_named_by_hero_variant_counted_from_one():
    assert dota_constants.hero_facet_name(108, 1) == "Demon's Reach"
    assert dota_constants.hero_facet_name(108, 2) == "Abyssal Horde"
    assert dota_constants.hero_facet_name(108, 9) == ""
    assert dota_constants.hero_facet_name(108, None) == ""
    assert dota_constants.hero_facet_name(999, 1) == ""


def test_recipes_known_only_by_identifier_get_a_readable_name():
    assert dota_constants.item_name(49) == "Phase Boots Recipe"


def test_unknown_ids_fall_back_to_a_readable_label():
    assert dota_constants.hero_name(999) == "Hero 999"
    assert dota_constants.hero_name(None) == "Unknown hero"
    assert dota_constants.item_name(99999) == "Item 99999"
    assert dota_constants.game_mode_name(99) == "Game mode 99"
    assert dota_constants.game_mode_name(None) == "Unknown mode"
    assert dota_constants.lobby_type_name(99) == "Lobby type 99"
    assert dota_constants.lobby_type_name(None) == "Unknown lobby"
    assert dota_constants.ability_name(999999) == "Ability 999999"
    assert dota_constants.ability_name(None) == ""


@pytest.mark.parametrize("empty_slot", [0, None])
def test_empty_item_slot_has_no_name(empty_slot):
    assert dota_constants.item_name(empty_slot) == ""


def test_heroes_by_name_is_alphabetical_and_complete():
    heroes = dota_constants.heroes_by_name()
    names = [name for _, name in heroes]
    assert names == sorted(names)
    assert (1, "Anti-Mage") in heroes
    assert len(heroes) > 100


@pytest.mark.parametrize(
    ("identifier", "prefix", "expected"),
    [
        ("game_mode_all_pick", "game_mode_", "All Pick"),
        ("lobby_type_ranked_solo_mm", "lobby_type_", "Ranked Solo"),
        ("recipe_hand_of_midas", "", "Hand Of Midas Recipe"),
        ("game_mode_1v1_mid", "game_mode_", "1v1 Mid"),
    ],
)
def test_readable_identifier(identifier, prefix, expected):
    assert dota_constants.readable_identifier(identifier, prefix) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, "0:00"), (65, "1:05"), (2409, "40:09"), (4325, "72:05"), (None, "—")],
)
def test_duration_filter(seconds, expected):
    assert dota.duration(seconds) == expected


def test_kda_filter():
    assert dota.kda(SimpleNamespace(kills=12, deaths=0, assists=7)) == "12/0/7"
    assert dota.kda(SimpleNamespace(kills=None, deaths=None, assists=None)) == "—"


def test_filters_in_a_template_escape_nothing_they_should_not():
    rendered = Template(
        "{% load dota %}{{ h|hero_name }}|{{ i|item_name }}|{{ g|game_mode }}|{{ lt|lobby_type }}"
        "|{{ d|duration }}|{{ p|kda }}|{{ r|percent }}"
    ).render(
        Context(
            {
                "h": 2,
                "i": 1,
                "g": 22,
                "lt": 0,
                "d": 1800,
                "p": SimpleNamespace(kills=1, deaths=2, assists=3),
                "r": 0.525,
            }
        )
    )
    assert rendered == "Axe|Blink Dagger|All Pick|Normal|30:00|1/2/3|52%"


@pytest.fixture
def fake_package(tmp_path):
    build = tmp_path / "package" / "build"
    build.mkdir(parents=True)
    files = {
        "heroes.json": {
            "7": {
                "id": 7,
                "name": "npc_dota_hero_earthshaker",
                "localized_name": "Earthshaker",
                "img": "/heroes/es.png",
                "roles": [],
            }
        },
        "hero_abilities.json": {
            "npc_dota_hero_earthshaker": {
                "abilities": ["earthshaker_fissure", "generic_hidden", "earthshaker_echo_slam"],
                "talents": [{"name": "special_bonus_unique_earthshaker", "level": 1}],
                "facets": [
                    {"id": 1, "title": "Slugger", "deprecated": "true"},
                    {"id": 0, "title": "Tectonic Buildup"},
                ],
            }
        },
        "ability_ids.json": {
            "5023": "earthshaker_fissure",
            "5026": "earthshaker_echo_slam",
            "6093": "special_bonus_unique_earthshaker",
            "5002": "attribute_bonus",
            "3060,1617": "earthshaker_old_totem",
            "7000": "courier_burst",
        },
        "abilities.json": {
            "earthshaker_fissure": {"dname": "Fissure", "behavior": "Point Target"},
            "earthshaker_echo_slam": {"dname": "Echo Slam"},
            "special_bonus_unique_earthshaker": {"dname": "+{s:value}s Fissure Duration"},
            "courier_burst": {"dname": "Speed Burst"},
        },
        "items.json": {
            "blink": {"id": 1, "dname": "Blink Dagger", "cost": 2250},
            "mystery_box": {"id": 5},
        },
        "item_ids.json": {"1": "blink", "5": "mystery_box", "6": "recipe_magic_wand"},
        "game_mode.json": {"23": {"id": 23, "name": "game_mode_turbo"}},
        "lobby_type.json": {"6": {"id": 6, "name": "lobby_type_ranked_solo_mm"}},
        "patch.json": [
            {"name": "7.41", "date": "2026-03-24T00:50:59.580Z", "id": 60},
            {"name": "7.42", "date": "2026-11-18T21:28:07.019Z", "id": 61},
        ],
    }
    for name, content in files.items():
        (build / name).write_text(json.dumps(content))
    (tmp_path / "package" / "package.json").write_text(json.dumps({"version": "1.2.3"}))
    return tmp_path / "package"


def test_build_tables_keeps_only_the_fields_we_need(fake_package):
    tables = dota_constants.build_tables(fake_package)
    assert tables["heroes"] == {
        "7": {
            "name": "Earthshaker",
            "key": "npc_dota_hero_earthshaker",
            "img": "/heroes/es.png",
            "facets": ["Tectonic Buildup", "Slugger"],
            "abilities": [5023, 5026],
            "talents": [6093],
        }
    }
    # Hero abilities and talents only (not the courier's), retired ones included.
    assert tables["abilities"] == {
        "1617": "Earthshaker Old Totem",
        "3060": "Earthshaker Old Totem",
        "5002": "Attribute Bonus",
        "5023": "Fissure",
        "5026": "Echo Slam",
        "6093": "Talent: Fissure Duration",
    }
    assert tables["items"] == {
        "1": "Blink Dagger",
        "5": "Mystery Box",
        "6": "Magic Wand Recipe",
    }
    # Only priced items have facts; the package's quality is "" where it has none.
    assert tables["item_facts"] == {"1": {"key": "blink", "cost": 2250, "qual": ""}}
    assert tables["game_modes"] == {"23": "Turbo"}
    assert tables["lobby_types"] == {"6": "Ranked Solo"}
    # The day of the release in UTC, as the presets' "this patch" starts.
    assert tables["patches"] == {
        "60": {"name": "7.41", "date": "2026-03-24"},
        "61": {"name": "7.42", "date": "2026-11-18"},
    }


@pytest.fixture
def scratch_data_dir(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    monkeypatch.setattr(dota_constants, "DATA_DIR", data_dir)
    dota_constants.forget_tables()
    yield data_dir
    dota_constants.forget_tables()


def test_update_command_rewrites_the_tables_the_lookups_read(
    fake_package, scratch_data_dir, capsys
):
    call_command("update_dotaconstants", str(fake_package))

    assert sorted(path.name for path in scratch_data_dir.iterdir()) == [
        "abilities.json",
        "game_modes.json",
        "heroes.json",
        "item_facts.json",
        "items.json",
        "lobby_types.json",
        "patches.json",
    ]
    assert dota_constants.hero_name(7) == "Earthshaker"
    assert dota_constants.hero_name(1) == "Hero 1"
    assert dota_constants.hero_facet_name(7, 2) == "Slugger"
    assert dota_constants.ability_name(5026) == "Echo Slam"
    assert dota_constants.hero_ids_by_key() == {"npc_dota_hero_earthshaker": 7}
    assert dota_constants.item_facts_by_key()["blink"].item_id == 1
    assert dota_constants.lobby_type_name(6) == "Ranked Solo"
    assert dota_constants.patches() == [("7.41", date(2026, 3, 24)), ("7.42", date(2026, 11, 18))]
    assert "1.2.3" in capsys.readouterr().out


def test_update_command_refuses_a_directory_that_is_not_the_package(tmp_path, scratch_data_dir):
    with pytest.raises(CommandError, match="not a usable dotaconstants package"):
        call_command("update_dotaconstants", str(tmp_path))
    assert list(scratch_data_dir.iterdir()) == []
