"""The simulator held against the real upstream: its answers' shapes against real captured
answers (matches/tests/data, copied from ../shared/realdata with their sources), its OpenDota
headers against the rate limiter of odota/core `svc/web.ts`, and the 2025-2026 quirks the
engine relies on (short Steam pages, histories made private, gaps in the match sequence)."""

import json
from pathlib import Path

import pytest
import requests

from matches.models import ANONYMOUS_ACCOUNT_ID
from matches.upstream.simulator.world import SEQ_OFFSET

DATA = Path(__file__).parent / "data"
HISTORY = "IDOTA2Match_570/GetMatchHistory/v1/"
SEQUENCE = "IDOTA2Match_570/GetMatchHistoryBySequenceNum/v1/"
DETAILS = "IDOTA2Match_570/GetMatchDetails/v1/"
ACCOUNT = 86745912
BIG_ACCOUNT = 123456789
# Noon of a UTC day, so a test's minutes never cross midnight.
NOON = 1_769_342_400.0
# Keys a real answer only has for some matches: team and draft fields belong to league and
# drafted matches, and the sequence's real match is a league match with picks and bans.
SITUATIONAL = {
    "dire_captain",
    "dire_logo",
    "dire_name",
    "dire_team_complete",
    "dire_team_id",
    "radiant_captain",
    "radiant_logo",
    "radiant_name",
    "radiant_team_complete",
    "radiant_team_id",
    "picks_bans",
}
# What OpenDota's /players/{id}/matches carries per match without `project` parameters
# (shared/NOTES.md, from a January 2026 answer in realdata/opendota_player_matches).
OPENDOTA_LIST_KEYS = {
    "match_id",
    "player_slot",
    "radiant_win",
    "duration",
    "game_mode",
    "lobby_type",
    "hero_id",
    "start_time",
    "version",
    "kills",
    "deaths",
    "assists",
    "average_rank",
    "leaver_status",
    "party_size",
    "hero_variant",
}


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def real(name: str):
    return json.loads((DATA / name).read_text())


def steam(http, sim, path: str, **params) -> requests.Response:
    return http.get(f"{sim.base_url}/{path}", params={"key": sim.state.config["api_key"], **params})


def opendota(http, sim, path: str, **params) -> requests.Response:
    return http.get(f"{sim.opendota_url}/{path}", params=params)


def json_type(value) -> str:
    return (
        "number"
        if isinstance(value, int | float) and not isinstance(value, bool)
        else (type(value).__name__)
    )


def assert_same_shape(real_answer: dict, simulated: dict, *, situational=frozenset()) -> None:
    """Every key of the real answer is in the simulator's, with the same JSON type."""
    assert set(real_answer) - set(simulated) - set(situational) == set()
    for key in set(real_answer) & set(simulated):
        if real_answer[key] is not None and simulated[key] is not None:
            assert json_type(simulated[key]) == json_type(real_answer[key]), key


# --- shapes --------------------------------------------------------------------------------


def test_steam_history_has_the_real_pages_shape(simulator, http):
    captured = real("GetMatchHistory.json")["result"]
    page = steam(http, simulator, HISTORY, account_id=ACCOUNT, matches_requested=10).json()
    simulated = page["result"]

    assert_same_shape(captured, simulated)
    assert_same_shape(captured["matches"][0], simulated["matches"][0])
    assert_same_shape(captured["matches"][0]["players"][0], simulated["matches"][0]["players"][0])


def test_steam_history_counts_as_valve_does(simulator, http):
    # A real 10-match page of an account with more than 500 matches (realdata/steam_history,
    # jd_2015 and ms_2022): num_results 10, total_results 500, results_remaining 490.
    simulator.state.configure(accounts={BIG_ACCOUNT: {"matches": 1300}})
    page = steam(http, simulator, HISTORY, account_id=BIG_ACCOUNT, matches_requested=10).json()
    counts = {k: v for k, v in page["result"].items() if k != "matches"}
    assert counts == {
        "status": 1,
        "num_results": 10,
        "total_results": 500,
        "results_remaining": 490,
    }
    default = steam(http, simulator, HISTORY, account_id=BIG_ACCOUNT).json()["result"]
    assert default["num_results"] == 25  # matches_requested defaults to 25


def test_hidden_high_level_matches_shorten_pages_but_are_counted(simulator, http):
    # Since March 2025 Valve leaves high-MMR matches out but counts them (shared/NOTES.md).
    simulator.state.configure(accounts={BIG_ACCOUNT: {"matches": 1300}}, hidden_fraction=0.3)
    page = steam(http, simulator, HISTORY, account_id=BIG_ACCOUNT, matches_requested=100).json()
    result = page["result"]
    assert result["num_results"] == len(result["matches"]) < 100
    assert (result["total_results"], result["results_remaining"]) == (500, 400)


def test_the_sequence_and_details_have_the_real_december_2025_shape(simulator, http):
    captured = real("GetMatchHistoryBySequenceNum.json")["result"]
    newest = steam(http, simulator, HISTORY, account_id=ACCOUNT, matches_requested=1).json()
    seq_num = newest["result"]["matches"][0]["match_seq_num"]
    simulated = steam(http, simulator, SEQUENCE, start_at_match_seq_num=seq_num).json()["result"]

    assert_same_shape(captured, simulated)
    match = simulated["matches"][0]
    assert_same_shape(captured["matches"][0], match, situational=SITUATIONAL)
    for player in match["players"]:
        assert_same_shape(captured["matches"][0]["players"][0], player)


def test_opendota_match_has_the_real_answers_shape(simulator, http):
    captured = real("opendota_match_3130397663_trimmed.json")
    newest = opendota(http, simulator, f"players/{ACCOUNT}/matches", limit=1).json()[0]
    simulated = opendota(http, simulator, f"matches/{newest['match_id']}").json()

    read = {"match_id", "match_seq_num", "radiant_win", "start_time", "duration", "game_mode"}
    read |= {"lobby_type", "leagueid", "cluster", "radiant_score", "dire_score", "players"}
    assert_same_shape({k: captured[k] for k in read}, simulated)
    for player in simulated["players"]:
        # `name` is a pro player's name: null for everyone else, as in our matches.
        assert_same_shape(captured["players"][0], player, situational={"name"})


def test_opendota_match_list_has_the_real_fields(simulator, http):
    captured = real("opendota_player_matches_34505203.json")[0]
    simulated = opendota(http, simulator, f"players/{ACCOUNT}/matches", significant=0).json()

    assert set(simulated[0]) == OPENDOTA_LIST_KEYS  # no match_seq_num, unlike Steam
    assert_same_shape({k: v for k, v in captured.items() if k in OPENDOTA_LIST_KEYS}, simulated[0])


# --- a history made private ------------------------------------------------------------------


def test_a_history_made_private_hides_the_list_but_not_the_matches(simulator, http):
    newest = opendota(http, simulator, f"players/{ACCOUNT}/matches", limit=1).json()[0]
    simulator.state.configure(accounts={ACCOUNT: {"private": True}})

    listed = steam(http, simulator, HISTORY, account_id=ACCOUNT).json()
    assert listed == real_private_answer()
    assert opendota(http, simulator, f"players/{ACCOUNT}/matches").json() == []
    # Details stay public by match id; the player shows as anonymous.
    details = steam(http, simulator, DETAILS, match_id=newest["match_id"]).json()["result"]
    seat = next(p for p in details["players"] if p["player_slot"] == newest["player_slot"])
    assert seat["account_id"] == ANONYMOUS_ACCOUNT_ID
    assert opendota(http, simulator, f"matches/{newest['match_id']}").status_code == 200


def real_private_answer() -> dict:
    # realdata/steam_history/qt_2016_private_status15.json (the same text in a 2026 test
    # of yuniersoad/py-dota2-notify): HTTP 200 with status 15.
    detail = "Cannot get match history for a user that hasn't allowed it"
    return {"result": {"status": 15, "statusDetail": detail}}


# --- the sequence's gaps -------------------------------------------------------------------------


def test_immortal_draft_matches_are_missing_from_the_sequence(simulator, http):
    simulator.state.configure(default_matches=0, accounts={ACCOUNT: {"matches": 150}})
    simulator.state.configure(immortal_draft_fraction=0.5)
    world = simulator.state.world
    matches = opendota(http, simulator, f"players/{ACCOUNT}/matches", significant=0).json()
    missing = [m["match_id"] for m in matches if world.missing_from_sequence(m["match_id"])]
    assert missing
    assert all(m["lobby_type"] == 7 for m in matches if m["match_id"] in missing)

    gap = missing[0]
    answer = steam(http, simulator, SEQUENCE, start_at_match_seq_num=gap - SEQ_OFFSET).json()
    assert answer["result"]["matches"][0]["match_id"] != gap  # the next match answers
    assert steam(http, simulator, DETAILS, match_id=gap).json()["result"]["match_id"] == gap
    assert opendota(http, simulator, f"matches/{gap}").json()["match_id"] == gap


# --- OpenDota's counters (odota/core svc/web.ts) ---------------------------------------------


@pytest.fixture
def free_tier(simulator):
    """OpenDota's free tier with its real limits, on a clock the test moves."""
    clock = [NOON]
    simulator.state.clock = lambda: clock[0]
    simulator.state.configure(opendota_daily_allowance=3000, opendota_minute_limit=60)
    return clock


def counters(response: requests.Response) -> tuple[int, int]:
    return (
        int(response.headers["X-Rate-Limit-Remaining-Minute"]),
        int(response.headers["X-Rate-Limit-Remaining-Day"]),
    )


def test_every_keyless_answer_counts_down_both_limits(simulator, http, free_tier):
    listed = opendota(http, simulator, f"players/{ACCOUNT}/matches", limit=1)
    unknown = opendota(http, simulator, "matches/1")

    assert counters(listed) == (59, 2999)
    assert unknown.status_code == 404
    assert counters(unknown) == (58, 2998)  # a 404 is counted too


def test_the_minute_limit_answers_429_with_a_negative_counter_then_resets(
    simulator, http, free_tier
):
    answers = [opendota(http, simulator, f"players/{ACCOUNT}/matches", limit=1) for _ in range(61)]

    assert counters(answers[59]) == (0, 2940)
    limited = answers[60]
    assert (limited.status_code, limited.json()) == (429, {"error": "minute rate limit exceeded"})
    assert counters(limited) == (-1, 2939)  # the 429 is counted in the day too
    assert "Retry-After" not in limited.headers

    free_tier[0] += 60  # the minute counter resets on the minute
    again = opendota(http, simulator, f"players/{ACCOUNT}/matches", limit=1)
    assert (again.status_code, counters(again)) == (200, (59, 2938))


def test_the_daily_limit_answers_429_with_a_negative_counter_until_midnight(
    simulator, http, free_tier
):
    simulator.state.configure(opendota_spent_today=2999)  # another client's calls today

    last_free = opendota(http, simulator, f"players/{ACCOUNT}/matches", limit=1)
    first_refused = opendota(http, simulator, f"players/{ACCOUNT}/matches", limit=1)
    second_refused = opendota(http, simulator, "matches/1")

    assert (last_free.status_code, counters(last_free)) == (200, (59, 0))
    assert first_refused.status_code == second_refused.status_code == 429
    assert first_refused.json() == {"error": "daily api limit exceeded"}
    assert counters(first_refused)[1] == -1
    assert counters(second_refused)[1] == -2

    simulator.state.configure(opendota_spent_today=0)
    free_tier[0] += 12 * 3600  # midnight UTC has passed
    assert counters(opendota(http, simulator, "matches/1")) == (59, 2999)


def test_a_keyed_call_has_no_daily_counter_and_a_wrong_key_is_refused_before_counting(
    simulator, http, free_tier
):
    key = "0b6a7f25-4a5e-4c1e-9d0f-6f0c2d7a9e11"
    simulator.state.configure(opendota_api_key=key)

    keyed = opendota(http, simulator, f"players/{ACCOUNT}/matches", limit=1, api_key=key)
    wrong = opendota(http, simulator, f"players/{ACCOUNT}/matches", api_key="not-a-key")
    keyless = opendota(http, simulator, f"players/{ACCOUNT}/matches", limit=1)

    assert "X-Rate-Limit-Remaining-Day" not in keyed.headers
    assert (wrong.status_code, wrong.json()) == (400, {"error": "Invalid API key format"})
    assert "X-Rate-Limit-Remaining-Day" not in wrong.headers
    assert counters(keyless) == (59, 2999)
