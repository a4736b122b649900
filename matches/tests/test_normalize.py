"""Normalising real upstream JSON, and what odd or hostile JSON turns into."""

import contextlib
import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matches.models import ANONYMOUS_ACCOUNT_ID
from matches.upstream.errors import BadResponse
from matches.upstream.normalize import (
    MATCH_FIELDS,
    PLAYER_FIELDS,
    account_or_none,
    match_details,
    opendota_history_entry,
    steam_history_page,
)

DATA = Path(__file__).parent / "data"
HISTORY_ACCOUNT = 88367253


def steam_result(name: str) -> dict:
    return json.loads((DATA / name).read_text())["result"]


@pytest.fixture
def details_raw() -> dict:
    return steam_result("GetMatchDetails.json")


def utc(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


# --- real fixtures -----------------------------------------------------------------------------


def test_history_page_lists_every_match_with_the_account_slot_and_hero():
    page = steam_history_page(steam_result("GetMatchHistory.json"), HISTORY_ACCOUNT)

    assert (page.results_remaining, page.total_results) == (0, 7)
    assert [e.match_id for e in page.entries] == [
        346632222,
        340377950,
        338225402,
        335732391,
        334159013,
        122442004,
        57751374,
    ]
    first = page.entries[0]
    assert first.match_seq_num == 315871431
    assert first.start_time == utc(1381883398)
    assert (first.player_slot, first.hero_id) == (128, 1)
    assert (page.entries[1].player_slot, page.entries[1].hero_id) == (3, 1)


def test_history_page_for_an_account_not_in_the_players_has_no_slot():
    page = steam_history_page(steam_result("GetMatchHistory.json"), 1)

    assert len(page.entries) == 7
    assert all(e.player_slot is None and e.hero_id is None for e in page.entries)


def test_anonymous_account_ids_become_none():
    assert account_or_none(ANONYMOUS_ACCOUNT_ID) is None
    assert account_or_none(None) is None
    assert account_or_none(0) is None  # a January 2026 Steam answer carries 0 for one player
    assert account_or_none(HISTORY_ACCOUNT) == HISTORY_ACCOUNT


def test_get_match_details(details_raw):
    details = match_details(details_raw)

    assert details.match_id == 1781962623
    assert details.fields == {
        "match_seq_num": 1584699503,
        "duration": 2220,
        "game_mode": 22,
        "lobby_type": 7,
        "radiant_score": None,
        "dire_score": None,
        "leagueid": 5399,
        "cluster": 132,
        "first_blood_time": 338,
        "human_players": 10,
        "start_time": utc(1441835947),
        "radiant_win": True,
        "radiant_team_id": None,
        "dire_team_id": None,
        "radiant_name": "",
        "dire_name": "",
        "league_name": "",
        "picks_bans": None,
        "abandons": 0,
    }
    assert [p["player_slot"] for p in details.players] == [0, 1, 2, 3, 4, 128, 129, 130, 131, 132]
    assert [p["is_radiant"] for p in details.players] == [True] * 5 + [False] * 5
    first, anonymous = details.players[0], details.players[1]
    assert first["account_id"] == 120269134
    assert (first["hero_id"], first["kills"], first["deaths"], first["assists"]) == (100, 8, 6, 11)
    assert (first["item_0"], first["item_5"], first["gold_per_min"]) == (50, 30, 443)
    assert first["hero_variant"] is None
    assert len(first["ability_upgrades"]) == 19
    assert set(first["ability_upgrades"][0]) == {"ability", "time", "level"}
    assert anonymous["account_id"] is None


def test_pro_match_details():
    details = match_details(steam_result("GetMatchDetails_pro_match.json"))

    assert details.match_id == 3254426673
    assert details.fields["radiant_win"] is False
    assert (details.fields["radiant_score"], details.fields["dire_score"]) == (15, 23)
    assert details.players[0]["account_id"] == 87382579
    assert details.players[0]["level"] == 12
    assert details.players[0]["backpack_0"] == 0


def test_sequence_match_in_the_2025_shape_keeps_hero_variant():
    details = match_details(steam_result("GetMatchHistoryBySequenceNum.json")["matches"][0])

    assert details.match_id == 8591933650
    assert details.fields["match_seq_num"] == 7215564751
    assert details.fields["leagueid"] == 16110
    players = {p["player_slot"]: p for p in details.players}
    assert players[0]["hero_variant"] == 1
    assert players[1]["hero_variant"] == 3
    assert players[130]["hero_variant"] == 2
    assert (players[0]["item_neutral"], players[0]["net_worth"]) == (71, 19278)


def test_the_late_2025_shape_keeps_todays_fields():
    """GetMatchHistoryBySequenceNum, December 2025: a Captains Mode league match."""
    details = match_details(steam_result("GetMatchHistoryBySequenceNum.json")["matches"][0])

    players = {p["player_slot"]: p for p in details.players}
    first = players[0]
    assert (first["item_neutral"], first["item_neutral2"]) == (71, 1584)
    assert (first["gold"], first["gold_spent"]) == (1723, 18465)
    assert (first["aghanims_scepter"], first["aghanims_shard"], first["moonshard"]) == (
        False,
        False,
        False,
    )
    assert players[4]["aghanims_shard"] is True
    assert first["ability_upgrades"][:2] == [
        {"ability": 5615, "time": 299, "level": 1},
        {"ability": 5613, "time": 458, "level": 2},
    ]
    assert all(p["persona_name"] == "" for p in details.players)  # Steam names nobody
    fields = details.fields
    assert (fields["radiant_name"], fields["dire_name"]) == ("Vitality Warriors", "Moonwalkers")
    assert (fields["radiant_team_id"], fields["dire_team_id"]) == (9048057, 8970060)
    assert (fields["leagueid"], fields["league_name"]) == (16110, "")
    assert fields["abandons"] == 0
    draft = fields["picks_bans"]
    assert len(draft) == 24
    assert [d["order"] for d in draft] == list(range(24))
    assert draft[0] == {"order": 0, "is_pick": False, "hero_id": 21, "team": 1}
    assert draft[7] == {"order": 7, "is_pick": True, "hero_id": 43, "team": 1}
    picked = {d["hero_id"] for d in draft if d["is_pick"]}
    assert picked == {p["hero_id"] for p in details.players}


def test_a_2017_pro_match_has_its_draft_in_order_and_its_teams():
    raw = steam_result("GetMatchDetails_pro_match.json")
    shuffled = copy.deepcopy(raw)
    shuffled["picks_bans"].reverse()

    details = match_details(shuffled)

    draft = details.fields["picks_bans"]
    assert [d["order"] for d in draft] == list(range(20))
    assert [d["hero_id"] for d in draft] == [p["hero_id"] for p in raw["picks_bans"]]
    assert (details.fields["radiant_name"], details.fields["dire_name"]) == ("Planet Odd", "Newbee")
    assert details.players[0]["item_neutral2"] is None  # not in the 2017 shape


def test_abandons_count_players_who_abandoned():
    """A real 2016 All Random match abandoned after 6 seconds: Radiant left (1 and 3)."""
    raw = json.loads((DATA / "lp_2016_abandoned_6s_2455787494.json").read_text())["result"]

    details = match_details(raw)

    statuses = [p["leaver_status"] for p in details.players]
    assert details.fields["abandons"] == sum(status >= 2 for status in statuses) > 0
    assert 1 in statuses  # a disconnect from a game safe to leave is not an abandon


def test_abandons_are_unknown_without_any_leaver_status(details_raw):
    for player in details_raw["players"]:
        del player["leaver_status"]

    assert match_details(details_raw).fields["abandons"] is None


def test_opendota_match_carries_persona_names_and_null_for_anonymous():
    """OpenDota's /api/matches/3130397663 (April 2017, Random Draft), trimmed."""
    raw = json.loads((DATA / "opendota_match_3130397663_trimmed.json").read_text())

    details = match_details(raw)

    names = {p["account_id"]: p["persona_name"] for p in details.players}
    assert names[139254191] == "流浪的二毛"
    assert names[49697106] == "Big Fancy Ben"
    assert names[None] == ""
    assert details.fields["picks_bans"] is None
    assert details.players[0]["ability_upgrades"][0]["level"] == 1


def test_opendota_teams_and_league_come_from_their_objects():
    """OpenDota nests the league and the teams (as in its answer for a 2024 league match)."""
    raw = {
        "match_id": 7976688089,
        "radiant_win": True,
        "start_time": 1728252878,
        "duration": 1798,
        "leagueid": 16635,
        "league": {"leagueid": 16635, "tier": "professional", "name": "Dota 2 Space League"},
        "radiant_team": {"team_id": 8987220, "name": "HolyTeam", "tag": "HT"},
        "dire_team": {"team_id": 8850100, "name": "TOXIC TEAM", "tag": "Tt"},
        "picks_bans": [
            {"is_pick": True, "hero_id": 55, "team": 1, "order": 1},
            {"is_pick": False, "hero_id": 74, "team": 0, "order": 0},
            {"is_pick": "yes", "hero_id": 3, "team": 0, "order": 2},
            {"is_pick": True, "hero_id": 4, "team": 7, "order": 3},
        ],
        "players": [{"player_slot": 0, "account_id": 192237622, "personaname": "HT.Nagama"}],
    }

    fields = match_details(raw).fields

    assert fields["league_name"] == "Dota 2 Space League"
    assert (fields["radiant_team_id"], fields["radiant_name"]) == (8987220, "HolyTeam")
    assert (fields["dire_team_id"], fields["dire_name"]) == (8850100, "TOXIC TEAM")
    assert fields["picks_bans"] == [
        {"order": 0, "is_pick": False, "hero_id": 74, "team": 0},
        {"order": 1, "is_pick": True, "hero_id": 55, "team": 1},
    ]


def test_an_account_id_of_0_is_anonymous_and_nameless(details_raw):
    details_raw["players"][0]["account_id"] = 0
    details_raw["players"][0]["personaname"] = "ghost"

    player = match_details(details_raw).players[0]

    assert (player["account_id"], player["persona_name"]) == (None, "")


def test_opendota_flat_ability_list_gets_levels():
    raw = {
        "match_id": 10,
        "radiant_win": False,
        "start_time": 1700000000,
        "duration": 1800,
        "players": [
            {"player_slot": 128, "account_id": None, "ability_upgrades_arr": [5001, 5002, 5001]}
        ],
    }

    player = match_details(raw).players[0]

    assert player["account_id"] is None
    assert player["is_radiant"] is False
    assert player["ability_upgrades"] == [
        {"ability": 5001, "time": None, "level": 1},
        {"ability": 5002, "time": None, "level": 2},
        {"ability": 5001, "time": None, "level": 3},
    ]


def test_opendota_history_entry():
    entry = opendota_history_entry(
        {"match_id": 8591933650, "player_slot": 2, "hero_id": 14, "start_time": 1764977774}
    )

    assert (entry.match_id, entry.player_slot, entry.hero_id) == (8591933650, 2, 14)
    assert entry.start_time == utc(1764977774)
    assert entry.match_seq_num is None


# --- missing and odd fields --------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(set(MATCH_FIELDS) - {"duration"}))
def test_missing_optional_match_field_is_none(details_raw, key):
    details_raw.pop(key, None)

    assert match_details(details_raw).fields[key] is None


@pytest.mark.parametrize("key", sorted(PLAYER_FIELDS))
def test_missing_optional_player_field_is_none(details_raw, key):
    for player in details_raw["players"]:
        player.pop(key, None)

    assert all(p[key] is None for p in match_details(details_raw).players)


def test_player_without_abilities_has_none(details_raw):
    del details_raw["players"][0]["ability_upgrades"]

    assert match_details(details_raw).players[0]["ability_upgrades"] is None


@pytest.mark.parametrize("key", ["match_id", "radiant_win", "start_time", "duration", "players"])
def test_missing_required_match_field_is_a_bad_response(details_raw, key):
    del details_raw[key]

    with pytest.raises(BadResponse):
        match_details(details_raw)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("match_id", 0),
        ("match_id", -5),
        ("match_id", "1781962623"),
        ("radiant_win", 1),
        ("start_time", "yesterday"),
        ("duration", -1),
        ("players", []),
        ("players", {"0": {}}),
    ],
)
def test_unusable_required_match_field_is_a_bad_response(details_raw, key, value):
    details_raw[key] = value

    with pytest.raises(BadResponse):
        match_details(details_raw)


def test_player_without_a_slot_is_a_bad_response(details_raw):
    del details_raw["players"][3]["player_slot"]

    with pytest.raises(BadResponse, match="player_slot"):
        match_details(details_raw)


@pytest.mark.parametrize("raw", [None, [], "match", 17])
def test_details_that_are_not_an_object_are_a_bad_response(raw):
    with pytest.raises(BadResponse):
        match_details(raw)


@pytest.mark.parametrize("players", [None, 5, 1.5, True, "ab", {"account_id": HISTORY_ACCOUNT}])
def test_history_entry_with_unusable_players_has_no_slot(players):
    page = steam_history_page({"matches": [{"match_id": 9, "players": players}]}, HISTORY_ACCOUNT)

    assert [(e.match_id, e.player_slot, e.hero_id) for e in page.entries] == [(9, None, None)]


def test_history_entry_without_match_id_is_a_bad_response():
    result = steam_result("GetMatchHistory.json")
    del result["matches"][2]["match_id"]

    with pytest.raises(BadResponse):
        steam_history_page(result, HISTORY_ACCOUNT)


@pytest.mark.parametrize(
    "value", ["12", 12.5, -1, True, None, [], {}, 2**31, 2**63, 10**30], ids=repr
)
@pytest.mark.parametrize(("key", "maximum"), [("leagueid", 2**31 - 1), ("cluster", 2**31 - 1)])
def test_wrong_type_negative_or_huge_optional_match_field_is_none(details_raw, key, maximum, value):
    details_raw[key] = value

    assert match_details(details_raw).fields[key] is None


@pytest.mark.parametrize("value", ["8", 8.0, -8, False, 40000, 10**30], ids=repr)
@pytest.mark.parametrize("key", ["kills", "hero_id", "leaver_status", "hero_variant"])
def test_wrong_type_negative_or_huge_optional_player_field_is_none(details_raw, key, value):
    details_raw["players"][0][key] = value

    assert match_details(details_raw).players[0][key] is None


def test_values_at_the_column_limits_are_kept(details_raw):
    details_raw["leagueid"] = 2**31 - 1
    details_raw["game_mode"] = 32767
    details_raw["match_seq_num"] = 2**63 - 1
    details_raw["players"][0]["kills"] = 32767

    details = match_details(details_raw)

    assert details.fields["leagueid"] == 2**31 - 1
    assert details.fields["game_mode"] == 32767
    assert details.fields["match_seq_num"] == 2**63 - 1
    assert details.players[0]["kills"] == 32767


def test_odd_account_ids_become_none(details_raw):
    for player, value in zip(
        details_raw["players"], ["120269134", -1, 2**32, True, 1.5], strict=False
    ):
        player["account_id"] = value

    assert [p["account_id"] for p in match_details(details_raw).players[:5]] == [None] * 5


# --- properties --------------------------------------------------------------------------------

# Text no database stores as it is: NUL (PostgreSQL), lone surrogates (no UTF-8), controls.
unstorable_text = st.text(alphabet=st.sampled_from("a\x00\x1f\x7f\ud800\udfff é"), max_size=8)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | unstorable_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)

DETAILS_TEMPLATE = steam_result("GetMatchDetails.json")
MATCH_KEYS = [*sorted(DETAILS_TEMPLATE), "picks_bans", "radiant_team", "league", "dire_name"]
PLAYER_KEYS = [
    *sorted(DETAILS_TEMPLATE["players"][0]),
    "ability_upgrades_arr",
    "personaname",
    "aghanims_scepter",
    "item_neutral2",
]


@st.composite
def damaged_details(draw) -> dict:
    """The real fixture with some match and player fields replaced by arbitrary JSON."""
    raw = copy.deepcopy(DETAILS_TEMPLATE)
    for key in draw(st.lists(st.sampled_from(MATCH_KEYS), max_size=4)):
        raw[key] = draw(json_values)
    players = raw["players"] if isinstance(raw.get("players"), list) else []
    for player in (p for p in players if isinstance(p, dict)):
        for key in draw(st.lists(st.sampled_from(PLAYER_KEYS), max_size=3)):
            player[key] = draw(json_values)
    return raw


def only_bad_responses(call, *args) -> None:
    with contextlib.suppress(BadResponse):
        call(*args)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_match_details_only_ever_raises_bad_response(raw):
    only_bad_responses(match_details, raw)


@settings(max_examples=300, deadline=None)
@given(damaged_details())
def test_damaged_real_details_only_ever_raise_bad_response(raw):
    only_bad_responses(match_details, raw)


@settings(max_examples=300, deadline=None)
@given(damaged_details())
def test_whatever_damaged_details_give_can_be_stored(raw):
    try:
        details = match_details(raw)
    except BadResponse:
        return
    stored = json.dumps(
        [details.fields, details.players], default=str, allow_nan=False, ensure_ascii=False
    )
    stored.encode("utf-8")  # no lone surrogate
    assert "\\u0000" not in stored


history_entries = st.fixed_dictionaries(
    {"match_id": st.integers(min_value=1, max_value=2**40)},
    optional={
        "players": json_values
        | st.lists(
            st.fixed_dictionaries(
                {"account_id": st.just(HISTORY_ACCOUNT)},
                optional={"player_slot": json_values, "hero_id": json_values},
            )
        ),
        "start_time": json_values,
        "match_seq_num": json_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "matches": json_values | st.lists(history_entries | json_values, max_size=3),
            "results_remaining": json_values,
            "total_results": json_values,
        },
    )
)
def test_history_page_only_ever_raises_bad_response(result):
    only_bad_responses(steam_history_page, result, HISTORY_ACCOUNT)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_opendota_history_entry_only_ever_raises_bad_response(raw):
    only_bad_responses(opendota_history_entry, raw)
