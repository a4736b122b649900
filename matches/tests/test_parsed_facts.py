"""The laning, farm and item facts of a parsed match, against a real parsed answer
(matches/tests/data/opendota_parsed_match_4080856812.json) read in the test by hand."""

import json
from pathlib import Path

import pytest

from matches import parsed_facts
from matches.parsed_facts import LaneOutcome
from matches.upstream.dota_constants import item_facts_by_key
from matches.upstream.parsed import parsed_data

DATA = Path(__file__).parent / "data"


@pytest.fixture
def answer() -> dict:
    return json.loads((DATA / "opendota_parsed_match_4080856812.json").read_text())


def test_values_at_a_minute_are_the_series_entries_of_that_minute(answer):
    data = parsed_data(answer)
    for raw, kept in zip(answer["players"], data["players"], strict=True):
        assert parsed_facts.at_minute(kept["lh_t"], 10) == raw["lh_t"][10]
        assert parsed_facts.at_minute(kept["gold_t"], 20) == raw["gold_t"][20]
    assert parsed_facts.at_minute([0, 5], 10) is None
    assert parsed_facts.at_minute(None, 10) is None
    assert parsed_facts.at_minute([0, 1.5], 1) is None


def test_lanes_put_each_non_roaming_laner_against_the_other_side_of_the_same_lane(answer):
    data = parsed_data(answer)
    for matchup in parsed_facts.lane_matchups(data):
        expected = {
            (p["player_slot"] < 128, p["player_slot"])
            for p in answer["players"]
            if p["lane"] == matchup.lane and not p["is_roaming"]
        }
        got = {(True, p["player_slot"]) for p in matchup.radiant} | {
            (False, p["player_slot"]) for p in matchup.dire
        }
        assert got == expected
        radiant = sum(p["gold_t"][10] for p in answer["players"] if (True, p["player_slot"]) in got)
        assert matchup.radiant_gold == (radiant if matchup.radiant else None)


def test_a_lane_is_won_by_a_tenth_more_gold_at_ten_minutes_and_lost_by_the_other_side(answer):
    data = parsed_data(answer)
    outcomes = parsed_facts.lane_outcomes(data)
    by_slot = {p["player_slot"]: p for p in answer["players"]}
    for slot, outcome in outcomes.items():
        player = by_slot[slot]
        if player["is_roaming"] or player["lane"] not in (1, 2, 3):
            assert outcome is None
            continue
        mates = [
            p for p in answer["players"] if p["lane"] == player["lane"] and not p["is_roaming"]
        ]
        ours = sum(p["gold_t"][10] for p in mates if (p["player_slot"] < 128) == (slot < 128))
        theirs = sum(p["gold_t"][10] for p in mates if (p["player_slot"] < 128) != (slot < 128))
        if not theirs:
            assert outcome is None
        elif abs(ours - theirs) < 0.1 * max(ours, theirs):
            assert outcome is LaneOutcome.DRAWN
        else:
            assert outcome is (LaneOutcome.WON if ours > theirs else LaneOutcome.LOST)
    # The two sides of a contested lane read opposite outcomes.
    assert outcomes[0] is LaneOutcome.WON
    assert outcomes[131] is LaneOutcome.LOST


def test_the_first_core_item_is_the_first_bought_item_of_2000_gold_or_more(answer):
    facts = item_facts_by_key()
    for raw in answer["players"]:
        first = parsed_facts.first_core_item(raw)
        expected = next(
            (
                (e["time"], e["key"])
                for e in raw["purchase_log"]
                if e["key"] in facts
                and facts[e["key"]].cost >= 2000
                and facts[e["key"]].qual != "consumable"
                and not e["key"].startswith("recipe_")
            ),
            None,
        )
        assert ((first.time, first.key) if first else None) == expected


def test_consumables_recipes_and_unknown_items_are_never_a_core_item():
    player = {
        "purchase_log": [
            {"time": 5, "key": "recipe_black_king_bar"},
            {"time": 6, "key": "a_future_item"},
            {"time": 7, "key": "tango"},
            {"time": 8.5, "key": "black_king_bar"},
            {"time": 900, "key": "black_king_bar"},
        ]
    }
    assert parsed_facts.first_core_item(player) == parsed_facts.Purchase(900, "black_king_bar")
    assert parsed_facts.first_core_item({}) is None
