"""The Steam/OpenDota simulator over real HTTP, with `requests` and with our UpstreamClient."""

import json
import signal
import time
from collections import Counter
from datetime import UTC, datetime
from http.client import HTTPConnection
from pathlib import Path

import pytest
import requests

from matches.models import ANONYMOUS_ACCOUNT_ID, STEAM_ID64_OFFSET
from matches.upstream import dota_constants
from matches.upstream.client import UpstreamClient
from matches.upstream.errors import (
    BadResponse,
    InvalidApiKey,
    NotFound,
    PrivateProfile,
    RateLimited,
    ServerError,
)
from matches.upstream.normalize import match_details
from matches.upstream.simulator import SEQ_OFFSET, TURBO, World, persona_name, run_simulator
from matches.upstream.simulator.world import DAY, POPULATION_BASE
from tests import processes
from tests.processes import free_port, start_manage, stop, wait_for

DATA = Path(__file__).parent / "data"
HISTORY = "IDOTA2Match_570/GetMatchHistory/v1/"
DETAILS = "IDOTA2Match_570/GetMatchDetails/v1/"
SEQUENCE = "IDOTA2Match_570/GetMatchHistoryBySequenceNum/v1/"
ACCOUNT = 86745912
BIG_ACCOUNT = 123456789
NOW = datetime(2026, 1, 25, 12, tzinfo=UTC).timestamp()


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


@pytest.fixture
def upstream(simulator, sleeps):
    """Our UpstreamClient, talking to the simulator."""
    client = UpstreamClient.from_settings(sleep=sleeps.append)
    yield client
    client.close()


def steam(http, sim, path: str, **params) -> requests.Response:
    return http.get(f"{sim.base_url}/{path}", params={"key": sim.state.config["api_key"], **params})


def history(http, sim, account_id: int, **params) -> dict:
    response = steam(http, sim, HISTORY, account_id=account_id, **params)
    assert response.status_code == 200
    return response.json()["result"]


def details(http, sim, match_id: int) -> requests.Response:
    return steam(http, sim, DETAILS, match_id=match_id)


def sequence(http, sim, seq_num: int, requested: int = 1) -> requests.Response:
    return steam(http, sim, SEQUENCE, start_at_match_seq_num=seq_num, matches_requested=requested)


def opendota_list(http, sim, account_id: int, **params) -> list[dict]:
    response = http.get(f"{sim.opendota_url}/players/{account_id}/matches", params=params)
    assert response.status_code == 200
    return response.json()


def opendota_match(http, sim, match_id: int) -> requests.Response:
    return http.get(f"{sim.opendota_url}/matches/{match_id}")


def walk_history(http, sim, account_id: int) -> list[dict]:
    """Every page, paging with the last returned id - 1 until results_remaining is 0."""
    pages = [history(http, sim, account_id, matches_requested=100)]
    while pages[-1]["results_remaining"] > 0:
        start = pages[-1]["matches"][-1]["match_id"] - 1
        pages.append(history(http, sim, account_id, matches_requested=100, start_at_match_id=start))
    return pages


def ids(entries: list[dict]) -> list[int]:
    return [entry["match_id"] for entry in entries]


def newest_match(http, sim, account_id: int = ACCOUNT) -> int:
    return history(http, sim, account_id, matches_requested=1)["matches"][0]["match_id"]


# --- Steam GetMatchHistory -------------------------------------------------------------------


def test_history_is_newest_first_and_start_at_match_id_is_inclusive(simulator, http):
    first = history(http, simulator, ACCOUNT)["matches"]
    assert ids(first) == sorted(ids(first), reverse=True)
    assert len(set(ids(first))) == len(first)
    fourth = first[3]["match_id"]
    assert ids(history(http, simulator, ACCOUNT, start_at_match_id=fourth)["matches"])[0] == fourth
    after = history(http, simulator, ACCOUNT, start_at_match_id=fourth - 1)["matches"]
    assert ids(after)[:3] == ids(first)[4:7]


def test_matches_requested_defaults_to_25_and_never_exceeds_100(simulator, http):
    assert history(http, simulator, ACCOUNT)["num_results"] == 25
    assert len(history(http, simulator, ACCOUNT, matches_requested=250)["matches"]) == 100
    assert len(history(http, simulator, ACCOUNT, matches_requested=7)["matches"]) == 7


def test_paging_walks_the_newest_500_without_gaps_or_duplicates(simulator, http):
    simulator.state.configure(accounts={BIG_ACCOUNT: {"matches": 730}})
    pages = walk_history(http, simulator, BIG_ACCOUNT)
    walked = [match_id for page in pages for match_id in ids(page["matches"])]
    assert all(len(page["matches"]) <= 100 for page in pages)
    assert {page["total_results"] for page in pages} == {500}
    assert len(walked) == len(set(walked)) == 500
    assert walked == sorted(walked, reverse=True)
    seen = 0
    for page in pages:
        seen += page["num_results"]
        assert page["results_remaining"] == 500 - seen
    beyond = history(http, simulator, BIG_ACCOUNT, start_at_match_id=walked[-1] - 1)
    assert (beyond["matches"], beyond["results_remaining"]) == ([], 0)
    # OpenDota lists the same matches, and goes on past Steam's cap.
    everything = ids(opendota_list(http, simulator, BIG_ACCOUNT, significant=0))
    assert everything[:500] == walked
    assert len(everything) == len(set(everything)) == 730
    assert max(everything[500:]) < walked[-1]


def test_a_small_account_totals_its_own_count(simulator, http):
    simulator.state.configure(accounts={ACCOUNT: {"matches": 130}})
    pages = walk_history(http, simulator, ACCOUNT)
    assert [page["total_results"] for page in pages] == [130, 130]
    assert sum(page["num_results"] for page in pages) == 130
    assert history(http, simulator, ACCOUNT + 1)["total_results"] == 150  # default_matches


def test_hidden_matches_make_short_pages_but_still_count(simulator, http):
    simulator.state.configure(accounts={ACCOUNT: {"matches": 300}}, hidden_fraction=0.3)
    pages = walk_history(http, simulator, ACCOUNT)
    assert any(page["num_results"] < 100 and page["results_remaining"] > 0 for page in pages)
    walked = [match_id for page in pages for match_id in ids(page["matches"])]
    listed = ids(opendota_list(http, simulator, ACCOUNT, significant=0))
    hidden = set(listed) - set(walked)
    assert set(walked) < set(listed)
    assert 30 < len(hidden) < 150
    assert details(http, simulator, min(hidden)).json()["result"]["match_id"] == min(hidden)


def test_each_source_lists_what_knows_says_and_steam_counts_its_hidden_ones(simulator, http):
    split = {"only_opendota": 0.1, "only_stratz": 0.05, "high_level": 0.1}
    simulator.state.configure(
        accounts={ACCOUNT: {"matches": 400, **split, "private_positions": [100, 120]}}
    )
    world = simulator.state.world
    every = [world.match_id(ACCOUNT, k) for k in range(400)]

    pages = walk_history(http, simulator, ACCOUNT)
    walked = {match_id for page in pages for match_id in ids(page["matches"])}
    listed = set(ids(opendota_list(http, simulator, ACCOUNT, significant=0)))

    assert walked == {m for m in every if world.knows("steam_history", ACCOUNT, m)}
    assert listed == {m for m in every if world.knows("opendota", ACCOUNT, m)}
    stratz = {m for m in every if world.knows("stratz", ACCOUNT, m)}
    assert stratz - listed
    assert listed - stratz
    assert listed - walked
    private = set(every[100:120])
    assert not private & (walked | listed | stratz)
    # Steam counts the high-level matches its pages leave out, not the other sources' own.
    counted = [k for k in range(400) if world.split_at(ACCOUNT, k) in (None, "high_level")]
    assert {page["total_results"] for page in pages} == {len(counted)}
    assert len(walked) < len(counted)


def test_the_refresh_is_a_post_answered_with_an_empty_object_and_counted(simulator, http):
    simulator.state.configure(opendota_daily_allowance=3000)
    url = f"{simulator.opendota_url}/players/{ACCOUNT}/refresh"

    answer = http.post(url)

    assert (answer.status_code, answer.json()) == (200, {})
    assert answer.headers["X-Rate-Limit-Remaining-Day"] == "2999"
    assert http.get(url).status_code == 404  # odota/core routes it as a POST only
    assert simulator.state.calls("opendota_refresh") == 1


def test_a_private_account_answers_status_15(simulator, http, upstream):
    simulator.state.configure(accounts={ACCOUNT: {"private": True}})
    response = steam(http, simulator, HISTORY, account_id=ACCOUNT)
    assert response.status_code == 200
    assert response.json() == {
        "result": {
            "status": 15,
            "statusDetail": "Cannot get match history for a user that hasn't allowed it",
        }
    }
    with pytest.raises(PrivateProfile):
        upstream.steam_match_history(ACCOUNT)
    assert opendota_list(http, simulator, ACCOUNT) == []


def test_a_wrong_key_gets_valves_403_html(simulator, http, settings):
    response = http.get(f"{simulator.base_url}/{HISTORY}", params={"key": "nope", "account_id": 1})
    assert response.status_code == 403
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<title>Forbidden</title>" in response.text
    settings.STEAM_API_KEY = "not-the-sim-key"
    with pytest.raises(InvalidApiKey):
        UpstreamClient.from_settings().steam_match_details(newest_match(http, simulator))


def test_history_accepts_a_steam_id64(simulator, http):
    as_id64 = history(http, simulator, ACCOUNT + STEAM_ID64_OFFSET)
    assert ids(as_id64["matches"]) == ids(history(http, simulator, ACCOUNT)["matches"])


# --- GetMatchDetails and the sequence ------------------------------------------------------


def test_details_of_an_unknown_match_is_valves_error_shape(simulator, http, upstream):
    unknown = 12345  # older than any simulated match
    assert details(http, simulator, unknown).json() == {"result": {"error": "Match ID not found"}}
    with pytest.raises(NotFound):
        upstream.steam_match_details(unknown)
    response = opendota_match(http, simulator, unknown)
    assert (response.status_code, response.json()) == (404, {"error": "Not Found"})
    with pytest.raises(NotFound):
        upstream.opendota_match(unknown)


def test_details_broken_answers_500_with_an_empty_object(simulator, http, upstream):
    match_id = newest_match(http, simulator)
    simulator.state.configure(details_broken=True)
    response = details(http, simulator, match_id)
    assert (response.status_code, response.json()) == (500, {})
    with pytest.raises(ServerError) as caught:
        upstream.steam_match_details(match_id)
    assert caught.value.status == 500
    assert upstream.opendota_match(match_id).match_id == match_id
    assert upstream.steam_match_by_seq_num(match_id - SEQ_OFFSET, match_id).match_id == match_id


def test_sequence_answers_the_match_with_that_seq_num(simulator, http, upstream):
    match_id = newest_match(http, simulator)
    seq_num = details(http, simulator, match_id).json()["result"]["match_seq_num"]
    assert upstream.steam_match_by_seq_num(seq_num, match_id) == upstream.steam_match_details(
        match_id
    )
    following = sequence(http, simulator, seq_num, requested=5).json()["result"]["matches"]
    seq_nums = [match["match_seq_num"] for match in following]
    assert following[0]["match_id"] == match_id
    assert seq_nums == sorted(set(seq_nums))


def test_sequence_answers_a_later_match_when_one_is_missing(simulator, http, upstream):
    # One account alone in the world, so its matches have gaps between them in the sequence.
    simulator.state.configure(default_matches=0, accounts={ACCOUNT: {"matches": 150}})
    newer, older = history(http, simulator, ACCOUNT, matches_requested=2)["matches"]
    assert newer["match_seq_num"] > older["match_seq_num"] + 1
    after_older = sequence(http, simulator, older["match_seq_num"] + 1).json()["result"]
    assert after_older["matches"][0]["match_id"] == newer["match_id"]
    after_newest = sequence(http, simulator, newer["match_seq_num"] + 1).json()["result"]
    assert after_newest == {"status": 1, "matches": []}

    simulator.state.configure(
        match_faults={older["match_id"]: {"sequence": "missing_from_sequence"}}
    )
    answer = sequence(http, simulator, older["match_seq_num"]).json()["result"]
    assert answer["matches"][0]["match_id"] == newer["match_id"]
    with pytest.raises(NotFound):
        upstream.steam_match_by_seq_num(older["match_seq_num"], older["match_id"])
    assert upstream.steam_match_details(older["match_id"]).match_id == older["match_id"]


# --- OpenDota --------------------------------------------------------------------------------


def test_opendota_hides_turbo_unless_significant_is_0(simulator, http):
    everything = opendota_list(http, simulator, ACCOUNT, significant=0)
    significant = opendota_list(http, simulator, ACCOUNT)
    assert any(entry["game_mode"] == TURBO for entry in everything)
    assert significant == [entry for entry in everything if entry["game_mode"] != TURBO]
    assert opendota_list(http, simulator, ACCOUNT, significant=1) == significant


@pytest.mark.parametrize("significant", ["0", "1"])
def test_opendota_limit_and_offset_slice_the_whole_list(simulator, http, significant):
    everything = opendota_list(http, simulator, ACCOUNT, significant=significant)
    for offset, limit in [(0, 10), (37, 25), (len(everything) - 3, 10)]:
        page = opendota_list(
            http, simulator, ACCOUNT, significant=significant, offset=offset, limit=limit
        )
        assert page == everything[offset : offset + limit]


def test_every_endpoint_tells_the_same_story_about_a_match(simulator, http, upstream):
    entry = history(http, simulator, ACCOUNT, matches_requested=1)["matches"][0]
    me = next(p for p in entry["players"] if p["account_id"] == ACCOUNT)
    steam_details = details(http, simulator, entry["match_id"]).json()["result"]
    opendota = opendota_match(http, simulator, entry["match_id"]).json()
    listed = opendota_list(http, simulator, ACCOUNT, significant=0, limit=1)[0]
    assert listed["match_id"] == steam_details["match_id"] == opendota["match_id"]
    assert listed["start_time"] == entry["start_time"] == steam_details["start_time"]
    assert listed["radiant_win"] == steam_details["radiant_win"] == opendota["radiant_win"]
    for player_list in (steam_details["players"], opendota["players"]):
        mine = next(p for p in player_list if p["account_id"] == ACCOUNT)
        assert (mine["player_slot"], mine["hero_id"]) == (me["player_slot"], me["hero_id"])
        assert (mine["player_slot"], mine["hero_id"]) == (listed["player_slot"], listed["hero_id"])
        assert mine["kills"] == listed["kills"]
    anonymous = [p for p in steam_details["players"] if p["account_id"] == ANONYMOUS_ACCOUNT_ID]
    assert sum(p["account_id"] is None for p in opendota["players"]) == len(anonymous)
    radiant_kills = sum(p["kills"] for p in steam_details["players"] if p["player_slot"] < 128)
    assert steam_details["radiant_score"] == radiant_kills
    summaries = upstream.player_summaries([ACCOUNT])
    mine = next(p for p in opendota["players"] if p["account_id"] == ACCOUNT)
    assert summaries[ACCOUNT].persona_name == mine["personaname"]


def test_details_normalise_the_same_from_every_shape(simulator, http):
    match_id = newest_match(http, simulator)
    steam_raw = details(http, simulator, match_id).json()["result"]
    from_steam = match_details(steam_raw)
    from_sequence = match_details(
        sequence(http, simulator, steam_raw["match_seq_num"]).json()["result"]["matches"][0]
    )
    from_opendota = match_details(opendota_match(http, simulator, match_id).json())
    assert from_sequence == from_steam
    # Only OpenDota names leagues; Steam knows just the leagueid.
    assert {**from_opendota.fields, "league_name": ""} == from_steam.fields
    assert len(from_steam.players) == 10

    def without_names_and_upgrade_times(players: list[dict]) -> list[dict]:
        return [
            {
                **p,
                "ability_upgrades": [u["ability"] for u in p["ability_upgrades"]],
                "persona_name": "",
            }
            for p in players
        ]

    assert without_names_and_upgrade_times(from_opendota.players) == (
        without_names_and_upgrade_times(from_steam.players)
    )
    # Steam's details name nobody; OpenDota names the players with a public profile.
    assert {p["persona_name"] for p in from_steam.players} == {""}
    mine = next(p for p in from_opendota.players if p["account_id"] == ACCOUNT)
    assert mine["persona_name"] == persona_name(ACCOUNT)


# --- shared matches, determinism, shapes ----------------------------------------------------


def test_party_members_share_matches(simulator, http):
    friend = ACCOUNT // 5 * 5 + (ACCOUNT + 1) % 5
    simulator.state.configure(accounts={friend: {"matches": 60}})
    mine = set(ids(opendota_list(http, simulator, ACCOUNT, significant=0)))
    theirs = set(ids(opendota_list(http, simulator, friend, significant=0)))
    shared = mine & theirs
    assert 0 < len(shared) < len(theirs)
    stranger = set(ids(opendota_list(http, simulator, ACCOUNT + 5, significant=0)))
    assert not mine & stranger
    players = details(http, simulator, min(shared)).json()["result"]["players"]
    together = [p for p in players if p["account_id"] in (ACCOUNT, friend)]
    assert len(together) == 2
    assert together[0]["team_number"] == together[1]["team_number"]
    # A party member who keeps their data private is anonymous in the match.
    simulator.state.configure(accounts={friend: {"matches": 60, "private": True}})
    players = details(http, simulator, min(shared)).json()["result"]["players"]
    assert friend not in [p["account_id"] for p in players]
    assert ACCOUNT in [p["account_id"] for p in players]


def test_two_simulators_with_one_seed_answer_the_same(http):
    def snapshot(**config) -> tuple:
        with run_simulator(**config) as sim:
            page = history(http, sim, ACCOUNT, matches_requested=100)
            match_id = page["matches"][40]["match_id"]
            return page, details(http, sim, match_id).json(), opendota_list(http, sim, ACCOUNT)

    first = snapshot(seed=7, now=NOW)
    assert snapshot(seed=7, now=NOW) == first
    other = snapshot(seed=8, now=NOW)
    assert ids(other[0]["matches"]) == ids(first[0]["matches"])
    assert other[1] != first[1]
    # Another day: the same matches (ids are for ever), played up to that day.
    later = snapshot(seed=7, now=NOW + 30 * DAY)
    assert ids(later[0]["matches"]) == ids(first[0]["matches"])
    assert later[0]["matches"][0]["start_time"] > first[0]["matches"][0]["start_time"]


# --- today's reality ------------------------------------------------------------------------


def world(**config) -> World:
    settings = {"seed": 0, "default_matches": 150, "accounts": {}, "hidden_fraction": 0.0}
    return World(**(settings | {"now": NOW} | config))


def test_match_ids_and_sequence_numbers_are_in_todays_range():
    sim = world()
    newest, oldest = sim.match_id(ACCOUNT, 149), sim.match_id(ACCOUNT, 0)

    assert 8_600_000_000 <= oldest < newest < 8_610_000_000  # late 2025: about 8.6 billion
    details = sim.steam_details(newest)
    assert 7_200_000_000 < details["match_seq_num"] < newest  # as in December 2025's answers
    assert sim.match_id(ACCOUNT + 1, 149) != newest  # every account its own matches


def test_history_ends_near_now_and_spans_months_in_play_sessions():
    sim = world()
    starts = [sim.lineup(sim.match_id(ACCOUNT, k)).start_time for k in range(150)]

    assert starts == sorted(starts)
    assert NOW - 3 * DAY < starts[-1] < NOW  # the newest: yesterday evening
    assert starts[-1] - starts[0] > 120 * DAY  # several months of history
    days = Counter(start // DAY for start in starts)
    assert max(days.values()) <= 7  # a few games an evening...
    gaps = sorted(b - a for a, b in zip(sorted(days), sorted(days)[1:], strict=False))
    assert gaps[0] >= 1
    assert gaps[-1] >= 14  # ...and breaks of weeks
    months = {datetime.fromtimestamp(start, UTC).strftime("%Y-%m") for start in starts}
    assert len(months) >= 4


def test_a_busy_account_plays_back_for_years_and_the_busiest_sets_the_present():
    sim = world(accounts={BIG_ACCOUNT: {"matches": 1000}})
    starts = [sim.lineup(sim.match_id(BIG_ACCOUNT, k)).start_time for k in (0, 999)]

    assert NOW - 3 * DAY < starts[1] < NOW
    assert starts[1] - starts[0] > 3 * 365 * DAY


def test_the_mix_of_modes_and_lobbies_is_mostly_all_pick_turbo_and_ranked():
    sim = world(default_matches=1000)
    lineups = [sim.lineup(sim.match_id(ACCOUNT, k)) for k in range(1000)]
    modes = Counter(lineup.game_mode for lineup in lineups)
    ranked = sum(lineup.lobby_type == 7 for lineup in lineups)

    assert modes[22] > 600  # All Pick
    assert 120 < modes[TURBO] < 180
    assert ranked > 400
    assert {2, 3, 4, 5, 18} <= set(modes)  # and now and then something else
    assert 0 < sum(lineup.leagueid > 0 for lineup in lineups) < 60


def test_drafted_matches_have_their_picks_and_bans_and_league_matches_their_teams():
    sim = world(default_matches=600)
    for k in range(600):
        match = sim.steam_details(sim.match_id(ACCOUNT, k))
        draft = match.get("picks_bans")
        if match["game_mode"] == 2 or match["lobby_type"] == 7:
            assert [step["order"] for step in draft] == list(range(len(draft)))
            for team in (0, 1):
                side = [p["hero_id"] for p in match["players"] if (p["player_slot"] >= 128) == team]
                picked = [s["hero_id"] for s in draft if s["is_pick"] and s["team"] == team]
                assert sorted(picked) == sorted(side)
            banned = {s["hero_id"] for s in draft if not s["is_pick"]}
            assert not banned & {p["hero_id"] for p in match["players"]}
        else:
            assert draft is None
        if match["leagueid"]:
            assert match["lobby_type"] == 1
            assert match["radiant_name"] != match["dire_name"]
            league = sim.opendota_match(match["match_id"])["league"]
            assert league["leagueid"] == match["leagueid"]
            assert league["name"]


def test_todays_fields_come_with_their_patches():
    sim = world()
    newest = sim.steam_details(sim.match_id(ACCOUNT, 149))["players"][0]
    old = world(accounts={BIG_ACCOUNT: {"matches": 1200}})
    first = old.steam_details(old.match_id(BIG_ACCOUNT, 0))["players"][0]

    assert {"hero_variant", "item_neutral2", "aghanims_shard", "gold_spent"} <= set(newest)
    assert 1 <= newest["hero_variant"] <= 4
    assert "hero_variant" not in first  # before patch 7.36
    assert "item_neutral2" not in first  # before patch 7.39
    upgrades = newest["ability_upgrades"]
    assert [u["level"] for u in upgrades] == sorted(u["level"] for u in upgrades)
    named = [dota_constants.ability_name(u["ability"]) for u in upgrades]
    assert not [name for name in named if name.startswith("Ability ")]


def test_players_have_persona_names_and_a_few_fillers_no_profile(simulator, http, upstream):
    sim = simulator.state.world
    others = {
        p["account_id"]
        for k in range(150)
        for p in sim.steam_details(sim.match_id(ACCOUNT, k))["players"]
        if p["account_id"] not in (ACCOUNT, ANONYMOUS_ACCOUNT_ID)
    }
    without_profile = {a for a in others if not sim.has_profile(a)}
    asked = sorted(others)[:100]

    summaries = upstream.player_summaries(asked)

    assert 0 < len(without_profile) < len(others) // 10
    assert set(summaries) == {a for a in asked if sim.has_profile(a)}
    assert all(s.persona_name == persona_name(a) for a, s in summaries.items())
    assert len({persona_name(a) for a in others}) > len(others) // 2  # names vary
    nameless = next(iter(without_profile))
    match_id = next(
        sim.match_id(ACCOUNT, k)
        for k in range(150)
        if nameless
        in {p["account_id"] for p in sim.steam_details(sim.match_id(ACCOUNT, k))["players"]}
    )
    player = next(
        p
        for p in opendota_match(http, simulator, match_id).json()["players"]
        if p["account_id"] == nameless
    )
    assert player["personaname"] is None


def test_only_the_population_and_configured_accounts_have_histories(simulator, http):
    assert history(http, simulator, POPULATION_BASE)["total_results"] == 150
    assert history(http, simulator, POPULATION_BASE - 1)["total_results"] == 0
    assert history(http, simulator, 12345678)["total_results"] == 0
    simulator.state.configure(accounts={12345678: {"matches": 7}})
    assert history(http, simulator, 12345678)["total_results"] == 7


def test_two_configured_accounts_that_would_share_match_ids_are_refused(simulator, http):
    response = http.post(
        f"{simulator.base_url}/_sim/config",
        json={"accounts": {"12000001": {"matches": 5}, "12001001": {"matches": 5}}},
    )

    assert response.status_code == 400
    assert "share" in response.json()["error"]


def test_answers_have_the_real_apis_fields(simulator, http):
    real_history = json.loads((DATA / "GetMatchHistory.json").read_text())["result"]
    real_match = json.loads((DATA / "GetMatchHistoryBySequenceNum.json").read_text())["result"][
        "matches"
    ][0]
    real_summary = json.loads((DATA / "GetPlayerSummaries.json").read_text())["response"][
        "players"
    ][0]
    page = history(http, simulator, ACCOUNT)
    assert set(real_history) - {"matches"} <= set(page)
    assert set(real_history["matches"][0]) <= set(page["matches"][0])
    assert set(real_history["matches"][0]["players"][0]) <= set(page["matches"][0]["players"][0])
    match = details(http, simulator, page["matches"][0]["match_id"]).json()["result"]
    team_keys = {
        k for k in real_match if k.startswith(("radiant_", "dire_")) and k != "radiant_win"
    }
    assert set(real_match) - team_keys - {"picks_bans", "radiant_score", "dire_score"} <= set(match)
    assert set(real_match["players"][0]) <= set(match["players"][0])
    summaries = steam(
        http, simulator, "ISteamUser/GetPlayerSummaries/v2/", steamids=ACCOUNT + STEAM_ID64_OFFSET
    ).json()["response"]["players"]
    wanted = {"steamid", "personaname", "profileurl", "avatar", "avatarmedium", "avatarfull"}
    assert wanted <= set(real_summary)
    assert wanted <= set(summaries[0])


def test_vanity_names_resolve(simulator, upstream):
    simulator.state.configure(vanity={"dendi": 70388657})
    assert upstream.resolve_vanity_url("dendi") == 70388657
    assert upstream.resolve_vanity_url("player4242") == 4242
    with pytest.raises(NotFound):
        upstream.resolve_vanity_url("nobody-has-this-name")


def test_a_huge_account_pages_cheaply(simulator, http):
    simulator.state.configure(accounts={BIG_ACCOUNT: {"matches": 50_000}})
    started = time.monotonic()
    first = history(http, simulator, BIG_ACCOUNT, matches_requested=100)
    deep = opendota_list(http, simulator, BIG_ACCOUNT, offset=40_000, limit=50)
    deeper = opendota_list(http, simulator, BIG_ACCOUNT, offset=40_050, limit=50)
    assert time.monotonic() - started < 2
    assert first["total_results"] == 500
    assert len(deep) == len(deeper) == 50
    assert deep[-1]["match_id"] > deeper[0]["match_id"]
    seq_num = details(http, simulator, deeper[0]["match_id"]).json()["result"]["match_seq_num"]
    assert (
        sequence(http, simulator, seq_num).json()["result"]["matches"][0]["match_id"]
        == (deeper[0]["match_id"])
    )


# --- faults --------------------------------------------------------------------------------


def call_for(endpoint: str, upstream: UpstreamClient, match_id: int, seq_num: int):
    return {
        "details": lambda: upstream.steam_match_details(match_id),
        "sequence": lambda: upstream.steam_match_by_seq_num(seq_num, match_id),
        "opendota_match": lambda: upstream.opendota_match(match_id),
    }[endpoint]


@pytest.mark.parametrize("endpoint", ["details", "sequence", "opendota_match"])
@pytest.mark.parametrize(
    ("fault", "error", "status"),
    [
        ("500", ServerError, 500),
        ("503", ServerError, 503),
        ("429", RateLimited, 429),
        ("not_found", NotFound, None),
        ("malformed", BadResponse, 200),
        ("wrong_types", BadResponse, None),
    ],
)
def test_match_faults(simulator, http, upstream, endpoint, fault, error, status):
    match_id, other = ids(history(http, simulator, ACCOUNT, matches_requested=2)["matches"])
    seq_num = match_id - SEQ_OFFSET
    simulator.state.configure(match_faults={str(match_id): {endpoint: fault}})
    with pytest.raises(error) as caught:
        call_for(endpoint, upstream, match_id, seq_num)()
    if status is not None:
        assert caught.value.status == status
    if fault == "429":
        assert caught.value.retry_after == 1.0
    assert call_for(endpoint, upstream, other, other - SEQ_OFFSET)().match_id == other


def test_a_star_fault_hits_every_match_endpoint(simulator, http, upstream):
    match_id = newest_match(http, simulator)
    simulator.state.configure(match_faults={match_id: {"*": "503"}})
    for endpoint in ("details", "sequence", "opendota_match"):
        with pytest.raises(ServerError):
            call_for(endpoint, upstream, match_id, match_id - SEQ_OFFSET)()
    assert simulator.state.calls("details") == simulator.state.calls("opendota_match") == 1


def test_hang_outlasts_the_client_timeout(simulator, http, settings):
    hang_seconds = 2
    match_id = newest_match(http, simulator)
    simulator.state.configure(
        match_faults={match_id: {"details": "hang"}}, hang_seconds=hang_seconds
    )
    settings.UPSTREAM_READ_TIMEOUT = 0.3
    started = time.monotonic()
    with pytest.raises(ServerError, match="timed out"):
        UpstreamClient.from_settings().steam_match_details(match_id)
    # One call, given up long before the hang ends: the bound holds on a loaded machine too.
    assert simulator.state.calls("details") == 1
    assert time.monotonic() - started < hang_seconds
    started = time.monotonic()
    assert details(http, simulator, match_id).json()["result"]["match_id"] == match_id
    assert time.monotonic() - started >= hang_seconds


def test_slow_answers_late_but_right(simulator, http):
    match_id = newest_match(http, simulator)
    simulator.state.configure(match_faults={match_id: {"details": "slow"}}, slow_seconds=0.4)
    started = time.monotonic()
    assert details(http, simulator, match_id).json()["result"]["match_id"] == match_id
    assert time.monotonic() - started >= 0.4


def test_latency_is_added_to_every_answer(simulator, http):
    simulator.state.configure(latency_ms=250)
    started = time.monotonic()
    history(http, simulator, ACCOUNT)
    opendota_list(http, simulator, ACCOUNT, limit=1)
    assert time.monotonic() - started >= 0.5


@pytest.mark.parametrize(
    ("flag", "endpoint"),
    [("sequence_broken", "sequence"), ("opendota_broken", "opendota_match")],
)
def test_broken_endpoints_answer_500(simulator, http, upstream, flag, endpoint):
    match_id = newest_match(http, simulator)
    simulator.state.configure(**{flag: True})
    with pytest.raises(ServerError) as caught:
        call_for(endpoint, upstream, match_id, match_id - SEQ_OFFSET)()
    assert caught.value.status == 500
    assert upstream.steam_match_details(match_id).match_id == match_id


def test_opendota_broken_also_breaks_the_match_list(simulator, upstream):
    simulator.state.configure(opendota_broken=True)
    with pytest.raises(ServerError):
        upstream.opendota_player_matches(ACCOUNT, limit=10)


def test_error_rate_is_random_but_seeded(http):
    def outcomes(rate: float) -> list[int]:
        with run_simulator(error_rate={"details": rate}) as sim:
            match_id = newest_match(http, sim)
            return [details(http, sim, match_id).status_code for _ in range(40)]

    half = outcomes(0.5)
    assert set(half) == {200, 500}
    assert outcomes(0.5) == half
    assert set(outcomes(1.0)) == {500}


def test_a_rate_limit_burst_answers_429_then_recovers(simulator, http, upstream):
    simulator.state.configure(rate_limit={"history": {"burst": 2, "retry_after": 7}})
    first = steam(http, simulator, HISTORY, account_id=ACCOUNT)
    assert (first.status_code, first.headers["Retry-After"]) == (429, "7")
    with pytest.raises(RateLimited) as caught:
        upstream.steam_match_history(ACCOUNT)
    assert caught.value.retry_after == 7
    assert upstream.steam_match_history(ACCOUNT).total_results == 150
    simulator.state.configure(rate_limit={"opendota_match": {"burst": 1, "retry_after": 3}})
    limited = opendota_match(http, simulator, newest_match(http, simulator))
    assert limited.status_code == 429
    assert limited.json() == {"error": "minute rate limit exceeded"}


def test_the_opendota_daily_limit(simulator, http, upstream, db):
    simulator.state.configure(opendota_daily_limit=True)
    response = http.get(f"{simulator.opendota_url}/players/{ACCOUNT}/matches")
    assert (response.status_code, response.json()) == (429, {"error": "daily api limit exceeded"})
    assert int(response.headers["X-Rate-Limit-Remaining-Day"]) < 0  # svc/web.ts: limit - count
    with pytest.raises(RateLimited) as caught:
        upstream.opendota_match(newest_match(http, simulator))
    assert caught.value.daily


# --- control endpoints, Python API, server -------------------------------------------------


def test_control_endpoints(simulator, http):
    before = time.time()
    details(http, simulator, newest_match(http, simulator))
    opendota_list(http, simulator, ACCOUNT, limit=3, api_key="secret")
    stats = http.get(f"{simulator.base_url}/_sim/stats").json()
    assert stats["calls"]["history"] == stats["calls"]["details"] == 1
    assert stats["calls"]["opendota_player_matches"] == 1
    assert [e["endpoint"] for e in stats["log"]] == [
        "history",
        "details",
        "opendota_player_matches",
    ]
    assert all(before <= e["t"] <= time.time() for e in stats["log"])
    assert stats["log"][2]["params"] == {"limit": "3", "account_id": str(ACCOUNT)}
    assert "key" not in stats["log"][0]["params"]

    merged = http.post(f"{simulator.base_url}/_sim/config", json={"details_broken": True}).json()
    assert merged["details_broken"] is True
    assert merged["api_key"] == "sim-key"
    assert details(http, simulator, 1).status_code == 500
    refused = http.post(f"{simulator.base_url}/_sim/config", json={"detials_broken": True})
    assert refused.status_code == 400

    http.post(f"{simulator.base_url}/_sim/reset")
    assert simulator.state.calls() == dict.fromkeys(simulator.state.calls(), 0)
    assert simulator.state.log == []
    assert simulator.state.config["details_broken"] is True
    http.post(f"{simulator.base_url}/_sim/reset", json={"config": True})
    assert simulator.state.config["details_broken"] is False


def test_the_python_api_counts_calls(simulator, http):
    match_id = newest_match(http, simulator)
    details(http, simulator, match_id)
    details(http, simulator, match_id)
    assert simulator.state.calls("details") == 2
    assert simulator.state.calls()["history"] == 1
    assert simulator.state.log[-1]["params"] == {"match_id": str(match_id)}
    simulator.state.reset()
    assert simulator.state.calls("details") == 0


def test_connections_are_kept_alive(simulator):
    host, port = simulator.server.server_address[:2]
    connection = HTTPConnection(host, port, timeout=5)
    try:
        for account in (ACCOUNT, ACCOUNT + 1):
            connection.request("GET", f"/api/players/{account}/matches?limit=1")
            response = connection.getresponse()
            assert response.status == 200
            assert len(json.loads(response.read())) == 1
        assert connection.sock is not None
    finally:
        connection.close()


def _answers(http, url: str) -> requests.Response | None:
    try:
        return http.get(url, timeout=1)
    except requests.ConnectionError:
        return None


@pytest.mark.slow
def test_the_management_command_serves_until_sigterm(http):
    port = free_port()
    process = start_manage(
        "steam_simulator",
        *("--port", str(port), "--details-broken"),
        env=processes.child_env(LOG_LEVEL="INFO"),
    )
    try:
        base = f"http://127.0.0.1:{port}"
        stats = wait_for(lambda: _answers(http, f"{base}/_sim/stats"), 20, "the simulator")
        assert stats.status_code == 200
        answer = http.get(f"{base}/{DETAILS}", params={"key": "sim-key", "match_id": 1})
        assert (answer.status_code, answer.json()) == (500, {})
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    finally:
        stop(process)
    assert process.returncode == 0
    assert f"127.0.0.1:{port}" in process.output()
