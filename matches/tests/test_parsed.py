"""What a parsed OpenDota answer leaves in the store: matches.upstream.parsed's selection
of a real parsed answer, its cleaning, and save_parsed through phase 2's store."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from matches.models import Match, ParsedMatch
from matches.store import FetchOutcome, save_outcomes
from matches.upstream.normalize import match_details
from matches.upstream.parsed import MATCH_KEYS, PLAYER_KEYS, parsed_data

DATA = Path(__file__).parent / "data"
PARSED_MATCH = 4080856812
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture
def answer() -> dict:
    return json.loads((DATA / "opendota_parsed_match_4080856812.json").read_text())


def test_a_parsed_answer_keeps_the_parsers_parts_in_opendotas_words(answer):
    data = parsed_data(answer)

    assert data["version"] == 21
    for key in ("radiant_gold_adv", "radiant_xp_adv", "teamfights", "objectives", "chat"):
        assert data[key] == answer[key]
    assert set(data) <= {"version", "players", *MATCH_KEYS}
    assert [p["player_slot"] for p in data["players"]] == [0, 1, 2, 3, 4, 128, 129, 130, 131, 132]
    by_slot = {p["player_slot"]: p for p in answer["players"]}
    for kept in data["players"]:
        raw = by_slot[kept["player_slot"]]
        assert set(kept) == {key for key in PLAYER_KEYS if key in raw}
        for key in ("gold_t", "lh_t", "purchase_log", "kills_log", "damage_targets", "lane"):
            assert kept[key] == raw[key]
    # What the match and player rows hold already is not kept twice.
    assert "kills" not in data["players"][0]
    assert "radiant_win" not in data


def test_an_unparsed_answer_has_no_parsed_data(answer):
    answer["version"] = None

    assert parsed_data(answer) is None
    assert parsed_data({"match_id": 1, "players": []}) is None


def test_parsed_text_and_numbers_are_cleaned_for_both_databases(answer):
    answer["chat"] = [{"time": 5, "type": "chat", "key": "gg\x00 wp\ud800", "player_slot": 0}]
    answer["players"][0]["benchmarks"] = {"gold_per_min": {"raw": float("nan"), "pct": 0.5}}
    answer["players"][0]["killed"] = {"npc_dota_hero_axe\x00": 2}

    data = parsed_data(answer)

    assert data["chat"][0]["key"] == "gg wp"
    assert data["players"][0]["benchmarks"]["gold_per_min"] == {"raw": None, "pct": 0.5}
    assert data["players"][0]["killed"] == {"npc_dota_hero_axe": 2}


def details_of(answer: dict):
    details = match_details(answer)
    details.parsed = parsed_data(answer)
    return details


@pytest.mark.django_db
def test_a_fetched_parsed_match_keeps_its_parsed_data_and_a_later_fetch_never_drops_it(answer):
    Match.objects.create(match_id=PARSED_MATCH)

    save_outcomes([FetchOutcome.completed(details_of(answer), "opendota")], None, NOW)

    stored = ParsedMatch.objects.get(match_id=PARSED_MATCH)
    assert stored.version == 21
    assert stored.data == json.loads(json.dumps(parsed_data(answer)))
    assert Match.objects.get(pk=PARSED_MATCH).has_details is True

    unparsed = dict(answer, version=None)
    save_outcomes([FetchOutcome.completed(details_of(unparsed), "opendota")], None, NOW)
    save_outcomes([FetchOutcome.completed(details_of(answer), "opendota")], None, NOW)

    assert ParsedMatch.objects.filter(match_id=PARSED_MATCH).count() == 1
    assert ParsedMatch.objects.get(match_id=PARSED_MATCH).version == 21
