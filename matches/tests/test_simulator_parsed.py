"""The simulator's parse requests and parsed matches held against the real upstream: the
shape of a real parsed answer (matches/tests/data/opendota_parsed_match_4080856812.json), the
rules the real answers follow, and odota/core's queue and rate limiter (svc/api/spec.ts,
svc/store/queue.ts, svc/web.ts)."""

import json
from pathlib import Path

import pytest

from matches.upstream.client import UpstreamClient
from matches.upstream.dota_constants import hero_ids_by_key
from matches.upstream.parsed import MATCH_KEYS, PLAYER_KEYS
from matches.upstream.simulator.parse_queue import parse_outcome
from matches.upstream.simulator.state import SimulatorState
from matches.upstream.simulator.world import DAY

DATA = Path(__file__).parent / "data"
ACCOUNT = 86745912
NOON = 1_769_342_400.0
# odota/core sql/create_tables.sql `CREATE TABLE queue`, plus the `jobId` spec.ts adds.
QUEUE_ROW_KEYS = {
    "id",
    "type",
    "timestamp",
    "attempts",
    "data",
    "next_attempt_time",
    "priority",
    "job_key",
    "jobId",
}


@pytest.fixture
def real() -> dict:
    return json.loads((DATA / "opendota_parsed_match_4080856812.json").read_text())


@pytest.fixture
def state() -> SimulatorState:
    simulated = SimulatorState(now=NOON, parse_delay_seconds=60, opendota_daily_allowance=3000)
    simulated.clock = lambda: NOON
    return simulated


def get(state: SimulatorState, path: str, method: str = "GET"):
    response = state.handle(method, path)
    return response, json.loads(response.body)


def listing(state: SimulatorState) -> list[dict]:
    return get(state, f"/api/players/{ACCOUNT}/matches?significant=0")[1]


def parsed_matches(state: SimulatorState, count: int) -> list[dict]:
    """The account's `count` newest matches, requested and parsed."""
    match_ids = [entry["match_id"] for entry in listing(state)[:count]]
    for match_id in match_ids:
        get(state, f"/api/request/{match_id}", "POST")
    state.clock = lambda: NOON + 61
    answers = [get(state, f"/api/matches/{match_id}")[1] for match_id in match_ids]
    return [answer for answer in answers if answer["version"] is not None]


def parsed_match(state: SimulatorState) -> dict:
    return parsed_matches(state, 1)[0]


def json_type(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def entry_keys(entries: list) -> set[str]:
    return {key for entry in entries if isinstance(entry, dict) for key in entry}


def test_a_parsed_answer_has_every_parsed_key_of_a_real_one_with_its_type(state, real):
    answers = parsed_matches(state, 8)
    simulated = answers[0]

    assert simulated["version"] == 22
    for key in MATCH_KEYS:
        if key in real:
            assert json_type(simulated[key]) == json_type(real[key]), key
    for key in ("teamfights", "chat", "draft_timings"):
        assert entry_keys(simulated[key]) <= entry_keys(real[key]), key
    assert entry_keys(simulated["teamfights"][0]["players"]) == entry_keys(
        real["teamfights"][0]["players"]
    )
    # Objectives: each carries the keys of a real one of its type (a tower a creep takes has
    # no slot).
    real_shapes = {(e["type"], frozenset(e)) for e in real["objectives"]}
    for objective in simulated["objectives"]:
        assert (objective["type"], frozenset(objective)) in real_shapes, objective
    real_player, player = real["players"][0], simulated["players"][0]
    for key in PLAYER_KEYS:
        if key not in real_player or key == "net_worth":
            continue
        assert json_type(player[key]) == json_type(real_player[key]), key
        if isinstance(real_player[key], list) and real_player[key]:
            logs = [p[key] for answer in answers for p in answer["players"] if p[key]]
            assert logs, key
            assert entry_keys(logs[0]) == entry_keys(real_player[key]), key
    # damage_targets: per inflictor ("null" for attacks), the damage per hero key.
    assert all(key.startswith("npc_dota_hero_") for key in player["damage_targets"]["null"])
    assert "neutral_item_history" in player  # parser v22 (realdata's v22 blob)


def test_the_per_minute_series_follow_the_real_answers_rules(state, real):
    for answer in (real, parsed_match(state)):
        minutes = answer["duration"] // 60
        radiant = [p for p in answer["players"] if p["player_slot"] < 128]
        dire = [p for p in answer["players"] if p["player_slot"] >= 128]
        for series, advantage in (("gold_t", "radiant_gold_adv"), ("xp_t", "radiant_xp_adv")):
            assert answer[advantage] == [
                sum(p[series][i] for p in radiant) - sum(p[series][i] for p in dire)
                for i in range(minutes + 1)
            ]
        for player in answer["players"]:
            assert player["times"] == [60 * i for i in range(minutes + 1)]
            for series, total in (("lh_t", "last_hits"), ("dn_t", "denies")):
                values = player[series]
                assert values == sorted(values)
                assert values[0] == 0
                assert values[-1] <= player[total]


def test_kills_logs_name_heroes_of_the_other_side_as_many_as_the_kills(state):
    answer = parsed_match(state)
    heroes = {p["player_slot"]: p for p in answer["players"]}
    ids = hero_ids_by_key()
    for player in answer["players"]:
        assert len(player["kills_log"]) == player["kills"]
        enemies = {
            p["hero_id"] for p in heroes.values() if (p["player_slot"] < 128) != player["isRadiant"]
        }
        assert {ids[entry["key"]] for entry in player["kills_log"]} <= enemies
        assert sum(player["damage_targets"]["null"].values()) == player["hero_damage"]


def test_a_parse_request_costs_ten_calls_and_is_refused_but_counted_below_ten(state):
    match_id = listing(state)[0]["match_id"]
    left = int(
        state.handle("GET", f"/api/matches/{match_id}").headers["X-Rate-Limit-Remaining-Day"]
    )

    response, answer = get(state, f"/api/request/{match_id}", "POST")

    assert answer == {"job": {"jobId": 1}}
    assert int(response.headers["X-Rate-Limit-Remaining-Day"]) == left - 10
    # Another client spends all but 5 of the day: the next request would need 10.
    state.configure(opendota_spent_today=int(response.headers["X-Rate-Limit-Remaining-Day"]) - 5)
    refused, body = get(state, f"/api/request/{match_id}", "POST")
    assert refused.status == 429
    assert body == {"error": "daily api limit exceeded"}
    assert int(refused.headers["X-Rate-Limit-Remaining-Day"]) == -5


def test_a_job_is_its_queue_row_while_it_waits_and_null_once_it_ran(state):
    match_id = listing(state)[0]["match_id"]
    job_id = get(state, f"/api/request/{match_id}", "POST")[1]["job"]["jobId"]
    # A second request while the job waits is the same job (ON CONFLICT(job_key) DO NOTHING).
    assert get(state, f"/api/request/{match_id}", "POST")[1]["job"]["jobId"] == job_id

    _, row = get(state, f"/api/request/{job_id}")
    assert set(row) == QUEUE_ROW_KEYS
    assert row["jobId"] == row["id"] == job_id
    assert row["data"] == {"match_id": match_id}
    assert row["job_key"] == f"parse:{match_id}"
    assert get(state, f"/api/matches/{match_id}")[1]["version"] is None

    state.clock = lambda: NOON + 61
    assert get(state, f"/api/request/{job_id}")[1] is None
    assert get(state, "/api/request/999")[1] is None


def test_old_replays_expire_and_a_share_fails_as_the_rule_says_and_only_parsed_ones_list_a_version(
    state,
):
    state.configure(parse_failure_share=0.3)
    entries = listing(state)
    for entry in entries:
        get(state, f"/api/request/{entry['match_id']}", "POST")
    state.clock = lambda: NOON + 61
    world = state.world
    outcomes = {}
    for entry in entries:
        answer = get(state, f"/api/matches/{entry['match_id']}")[1]
        expected = parse_outcome(
            world, entry["match_id"], NOON + 60, replay_lifetime_days=10, parse_failure_share=0.3
        )
        outcomes[expected] = outcomes.get(expected, 0) + 1
        if NOON + 60 - entry["start_time"] > 10 * DAY:
            assert expected == "expired"
        assert (answer["version"] is not None) == (
            expected == "parsed" or world.parsed_by_opendota(entry["match_id"])
        )
    assert outcomes.keys() == {"parsed", "expired", "failed"}
    # The listing's version agrees with the match answer's, match by match.
    for entry in listing(state):
        answer = get(state, f"/api/matches/{entry['match_id']}")[1]
        assert entry["version"] == answer["version"]


def test_the_client_asks_for_a_parse_and_reads_it_back_from_the_simulator(simulator, settings):
    simulator.state.configure(parse_delay_seconds=0)
    client = UpstreamClient.from_settings()
    match_id = client.opendota_player_matches(ACCOUNT, limit=1)[0].match_id

    job_id = client.request_parse(match_id)

    assert client.parse_job(job_id) is None
    details = client.opendota_match(match_id)
    assert details.parsed is not None
    assert details.parsed["version"] == 22
    assert len(details.parsed["players"]) == len(details.players)
