"""The simulator's STRATZ held against STRATZ itself.

No real captured STRATZ answer exists in a licensed repository (shared/realdata/SOURCES.md:
stratz_player_matches/ and stratz_match/ are empty), so fidelity is checked against the
published schema (shared/realdata/stratz_queries/, read where it lies): the simulator's schema
is a part of it, field for field and type for type, and its answers to our queries type-check
against it. The gateway's refusals and limits follow SOURCES.md's observed behaviour.
"""

import json

import pytest
import requests
from graphql import build_schema, execute, parse
from graphql.type import GraphQLInputObjectType, GraphQLObjectType

from matches.tests.test_stratz import QUERY_FILES, REAL_SCHEMA, SIM_SCHEMA
from matches.upstream.client import stratz_query
from matches.upstream.simulator import run_simulator
from matches.upstream.simulator.state import SimulatorState
from matches.upstream.simulator.stratz import known_matches, stratz_knows

ACCOUNT = 86745912
HEADERS = {
    "User-Agent": "STRATZ_API",
    "Content-Type": "application/json",
    "Authorization": "Bearer sim-token",
}
needs_real_schema = pytest.mark.skipif(
    not REAL_SCHEMA.exists(), reason="STRATZ's published schema is not here"
)


class Headers(dict):
    """http.server's request headers: .get ignores case."""

    def get(self, name, default=None):
        return next((v for k, v in self.items() if k.lower() == name.lower()), default)


def ask(state: SimulatorState, query: str, variables: dict, **headers: str):
    body = json.dumps({"query": query, "variables": variables}).encode()
    return state.handle("POST", "/graphql", body, Headers({**HEADERS, **headers}))


@needs_real_schema
def test_the_simulators_schema_is_a_part_of_stratzs():
    real = build_schema(REAL_SCHEMA.read_text())
    ours = build_schema(SIM_SCHEMA.read_text())
    for name, ours_type in ours.type_map.items():
        if name.startswith("__"):
            continue
        real_type = real.get_type(name)
        assert real_type is not None, name
        if isinstance(ours_type, GraphQLObjectType | GraphQLInputObjectType):
            for field_name, field in ours_type.fields.items():
                assert field_name in real_type.fields, f"{name}.{field_name}"
                assert str(field.type) == str(real_type.fields[field_name].type), field_name
                for arg, value in getattr(field, "args", {}).items():
                    assert str(value.type) == str(real_type.fields[field_name].args[arg].type)
        elif hasattr(ours_type, "values"):
            assert list(ours_type.values) == list(real_type.values), name


@needs_real_schema
@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.name)
def test_the_simulators_answers_type_check_against_stratzs_schema(path):
    """Executing the query on the real schema over the simulator's answer must give it back
    unchanged: every field asked is there, nothing else, each value of the field's type
    (an enum name STRATZ has, an Int that is one)."""
    state = SimulatorState()
    match_id = known_matches(state.world, ACCOUNT)[0]
    variables = {"steamAccountId": ACCOUNT, "take": 5, "skip": 3, "id": match_id}
    document = parse(path.read_text())
    used = {v.variable.name.value for v in document.definitions[0].variable_definitions}
    response = ask(state, path.read_text(), {k: v for k, v in variables.items() if k in used})
    answer = json.loads(response.body)

    assert response.status == 200
    assert response.content_type.startswith("application/graphql-response+json")
    assert "errors" not in answer
    checked = execute(
        build_schema(REAL_SCHEMA.read_text()),
        document,
        root_value=answer["data"],
        variable_values={k: v for k, v in variables.items() if k in used},
    )
    assert checked.errors is None
    assert checked.data == answer["data"]


def test_a_page_is_skip_and_take_of_the_known_matches_newest_first():
    state = SimulatorState(accounts={str(ACCOUNT): {"matches": 230}})
    variables = {"steamAccountId": ACCOUNT, "take": 100, "skip": 200}

    player = json.loads(ask(state, stratz_query("player_matches"), variables).body)["data"][
        "player"
    ]

    assert player["matchCount"] == 230
    ids = [m["id"] for m in player["matches"]]
    assert ids == known_matches(state.world, ACCOUNT)[200:230]
    assert ids == sorted(ids, reverse=True)
    assert all(len(m["players"]) == 1 for m in player["matches"])


def test_stratz_knows_nothing_of_a_private_account():
    state = SimulatorState(accounts={str(ACCOUNT): {"matches": 10, "private": True}})
    match_id = state.world.match_id(ACCOUNT, 0)
    assert not stratz_knows(state.world, ACCOUNT, match_id)
    answer = json.loads(
        ask(
            state, stratz_query("player_matches"), {"steamAccountId": ACCOUNT, "take": 5, "skip": 0}
        ).body
    )
    assert answer["data"]["player"]["matches"] == []


def test_an_unknown_match_is_null_without_errors():
    response = ask(SimulatorState(), stratz_query("match"), {"id": 5})
    assert response.status == 200
    assert json.loads(response.body) == {"data": {"match": None}}


@pytest.mark.parametrize(
    ("headers", "status", "marker"),
    [
        ({"User-Agent": "python-requests/2"}, 403, ("cf-mitigated", "challenge")),
        ({"Authorization": ""}, 403, ("WWW-Authenticate", 'Key realm="kong"')),
        ({"Authorization": "Bearer e30.e30.c2ln"}, 403, ("WWW-Authenticate", 'Key realm="kong"')),
        ({"Authorization": "Bearer not-a-jwt"}, 500, None),
        ({"Content-Type": "text/plain"}, 400, None),
    ],
    ids=["no-user-agent", "no-token", "bad-signature", "malformed-token", "no-json-type"],
)
def test_the_gateway_refuses_as_stratzs_does(headers, status, marker):
    state = SimulatorState()
    response = ask(state, stratz_query("match"), {"id": 1}, **headers)
    assert response.status == status
    if marker:
        assert response.headers[marker[0]] == marker[1]
    assert "X-RateLimit-Remaining-Day" not in response.headers  # refused before counting


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "JSON_INVALID"),
        (json.dumps({"query": "{ match(id: 1) {"}).encode(), "SYNTAX_ERROR"),
        (json.dumps({"query": "{ match(id: 1) { nope } }"}).encode(), "GRAPHQL_VALIDATION_FAILED"),
    ],
)
def test_bad_requests_are_400_with_the_code(body, code):
    response = SimulatorState().handle("POST", "/graphql", body, Headers(HEADERS))
    assert response.status == 400
    assert json.loads(response.body)["errors"][0]["extensions"]["code"] == code


def test_each_window_counts_and_past_it_answers_429_with_retry_after():
    state = SimulatorState(stratz_limits={"second": 0, "minute": 2, "hour": 0, "day": 3})
    state.clock = lambda: 1_800_000_030.0  # 30 s into a minute
    query, variables = stratz_query("match"), {"id": 1}

    first, second, third = (ask(state, query, variables) for _ in range(3))

    assert first.headers["X-RateLimit-Remaining-Minute"] == "1"
    assert second.headers["X-RateLimit-Remaining-Minute"] == "0"
    assert second.headers["X-RateLimit-Remaining-Day"] == "1"
    assert third.status == 429
    assert third.headers["Retry-After"] == "30"
    state.clock = lambda: 1_800_000_090.0  # the next minute: the day's last call, then none
    assert ask(state, query, variables).headers["X-RateLimit-Remaining-Day"] == "0"
    spent = ask(state, query, variables)
    assert spent.status == 429
    assert spent.headers["X-RateLimit-Remaining-Day"] == "0"


def test_the_server_answers_graphql_over_http():
    with run_simulator() as sim:
        answer = requests.post(
            sim.stratz_url,
            data=json.dumps({"query": stratz_query("match"), "variables": {"id": 5}}),
            headers=HEADERS,
            timeout=5,
        )
    assert answer.status_code == 200
    assert answer.json() == {"data": {"match": None}}
    assert sim.state.calls("stratz") == 1
