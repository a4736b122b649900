import json
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.template import Context, Template

from matches import dota_constants
from matches.templatetags import dota


def test_known_ids_have_their_names():
    assert dota_constants.hero_name(1) == "Anti-Mage"
    assert dota_constants.item_name(1) == "Blink Dagger"
    assert dota_constants.game_mode_name(23) == "Turbo"
    assert dota_constants.lobby_type_name(7) == "Ranked"


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
    assert rendered == "Axe|Blink Dagger|All Draft|Normal|30:00|1/2/3|52%"


@pytest.fixture
def fake_package(tmp_path):
    build = tmp_path / "package" / "build"
    build.mkdir(parents=True)
    files = {
        "heroes.json": {
            "7": {"id": 7, "localized_name": "Earthshaker", "img": "/heroes/es.png", "roles": []}
        },
        "items.json": {
            "blink": {"id": 1, "dname": "Blink Dagger", "cost": 2250},
            "mystery_box": {"id": 5},
        },
        "item_ids.json": {"1": "blink", "5": "mystery_box", "6": "recipe_magic_wand"},
        "game_mode.json": {"23": {"id": 23, "name": "game_mode_turbo"}},
        "lobby_type.json": {"6": {"id": 6, "name": "lobby_type_ranked_solo_mm"}},
    }
    for name, content in files.items():
        (build / name).write_text(json.dumps(content))
    (tmp_path / "package" / "package.json").write_text(json.dumps({"version": "1.2.3"}))
    return tmp_path / "package"


def test_build_tables_keeps_only_the_fields_we_need(fake_package):
    tables = dota_constants.build_tables(fake_package)
    assert tables["heroes"] == {"7": {"name": "Earthshaker", "img": "/heroes/es.png"}}
    assert tables["items"] == {
        "1": "Blink Dagger",
        "5": "Mystery Box",
        "6": "Magic Wand Recipe",
    }
    assert tables["game_modes"] == {"23": "Turbo"}
    assert tables["lobby_types"] == {"6": "Ranked Solo"}


@pytest.fixture
def scratch_data_dir(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    monkeypatch.setattr(dota_constants, "DATA_DIR", data_dir)
    dota_constants._table.cache_clear()
    yield data_dir
    dota_constants._table.cache_clear()


def test_update_command_rewrites_the_tables_the_lookups_read(
    fake_package, scratch_data_dir, capsys
):
    call_command("update_dotaconstants", str(fake_package))

    assert sorted(path.name for path in scratch_data_dir.iterdir()) == [
        "game_modes.json",
        "heroes.json",
        "items.json",
        "lobby_types.json",
    ]
    assert dota_constants.hero_name(7) == "Earthshaker"
    assert dota_constants.hero_name(1) == "Hero 1"
    assert dota_constants.lobby_type_name(6) == "Ranked Solo"
    assert "1.2.3" in capsys.readouterr().out


def test_update_command_refuses_a_directory_that_is_not_the_package(tmp_path, scratch_data_dir):
    with pytest.raises(CommandError, match="not a usable dotaconstants package"):
        call_command("update_dotaconstants", str(tmp_path))
    assert list(scratch_data_dir.iterdir()) == []
