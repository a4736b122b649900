"""STRATZ: the client's requests and error taxonomy (against `responses`), the query documents
against STRATZ's published schema, and the normalisation of its answers."""

import json
import time
from pathlib import Path

import pytest
import responses
from graphql import build_schema, parse, validate

from matches.upstream import ratelimit
from matches.upstream.client import QUERIES_DIR, STRATZ, UpstreamClient, stratz_query
from matches.upstream.errors import BadResponse, InvalidApiKey, NotFound, RateLimited, ServerError
from matches.upstream.slots import RateLimitSlot
from matches.upstream.stratz_normalize import stratz_match_details

URL = "https://stratz.example/graphql"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
# STRATZ's schema as introspected from api.stratz.com (shared/realdata/SOURCES.md: MIT declared
# in the D2A README only, and the schema is STRATZ's): read where it lies, in the shared folder
# beside the checkout, not copied in.
REAL_SCHEMA = (
    Path(__file__).resolve().parents[3]
    / "shared/realdata/stratz_queries/d2a_stratz-graphql-schema_introspected_2026-03.graphqls"
)
SIM_SCHEMA = Path(__file__).parents[1] / "upstream/simulator/stratz_schema.graphqls"
QUERY_FILES = sorted(QUERIES_DIR.glob("*.graphql"))
ANSWER = {
    "id": 8_500_000_001,
    "didRadiantWin": True,
    "durationSeconds": 2100,
    "startDateTime": 1_790_000_000,
    "sequenceNum": 7_100_000_001,
    "gameMode": "ALL_PICK",
    "lobbyType": "RANKED",
    "leagueId": 0,
    "clusterId": 133,
    "firstBloodTime": 95,
    "bottomLaneOutcome": "RADIANT_STOMP",
    "midLaneOutcome": "TIE",
    "topLaneOutcome": "DIRE_VICTORY",
    "players": [
        {
            "steamAccountId": 86745912,
            "playerSlot": 0,
            "isRadiant": True,
            "heroId": 1,
            "kills": 9,
            "deaths": 2,
            "assists": 7,
            "item0Id": 63,
            "neutral0Id": 1158,
            "leaverStatus": "NONE",
            "lane": "SAFE_LANE",
            "position": "POSITION_1",
            "imp": -12,
        },
        {
            "steamAccountId": None,
            "playerSlot": 128,
            "isRadiant": False,
            "heroId": 2,
            "leaverStatus": "ABANDONED",
            "lane": "SAFE_LANE",
            "position": "POSITION_1",
            "imp": 40,
        },
        {"steamAccountId": 5, "playerSlot": 130, "isRadiant": False, "lane": "ROAMING"},
    ],
}

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(settings) -> UpstreamClient:
    settings.STRATZ_MIN_INTERVAL = 0
    upstream = UpstreamClient(
        steam_api_key="",
        steam_base_url="https://steam.example",
        opendota_base_url="https://opendota.example/api",
        stratz_token=TOKEN,
        stratz_url=URL,
        sleep=lambda seconds: None,
    )
    yield upstream
    upstream.close()


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.mark.skipif(not REAL_SCHEMA.exists(), reason="STRATZ's published schema is not here")
@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.name)
def test_every_query_document_is_valid_against_stratzs_schema(path):
    assert validate(build_schema(REAL_SCHEMA.read_text()), parse(path.read_text())) == []


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.name)
def test_every_query_document_is_valid_against_the_simulators_schema(path):
    assert validate(build_schema(SIM_SCHEMA.read_text()), parse(path.read_text())) == []


def test_a_request_is_a_json_post_with_stratzs_three_headers(client, mocked):
    call = mocked.post(URL, json={"data": {"match": ANSWER}})

    details = client.stratz_match(ANSWER["id"])

    assert details.match_id == ANSWER["id"]
    request = call.calls[0].request
    assert request.headers["User-Agent"] == "STRATZ_API"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    body = json.loads(request.body)
    assert body == {"query": stratz_query("match"), "variables": {"id": ANSWER["id"]}}


def test_the_player_page_carries_stratzs_match_count(client, mocked):
    mocked.post(
        URL,
        json={
            "data": {
                "player": {
                    "steamAccountId": 7,
                    "matchCount": 1234,
                    "matches": [
                        {
                            "id": 11,
                            "startDateTime": 1_790_000_000,
                            "sequenceNum": 9,
                            "players": [{"heroId": 3, "playerSlot": 129, "isRadiant": False}],
                        }
                    ],
                }
            }
        },
    )

    entries, count = client.stratz_player_matches(7, take=100, skip=200)

    assert count == 1234
    assert [(e.match_id, e.match_seq_num, e.hero_id, e.player_slot) for e in entries] == [
        (11, 9, 3, 129)
    ]
    assert json.loads(mocked.calls[0].request.body)["variables"] == {
        "steamAccountId": 7,
        "take": 100,
        "skip": 200,
    }


@pytest.mark.parametrize(
    ("status", "headers", "body"),
    [
        (403, {"WWW-Authenticate": 'Key realm="kong"'}, {"message": "Unauthorized"}),
        (500, {}, {"message": "An unexpected error occurred"}),
    ],
    ids=["bad-signature-403", "malformed-500"],
)
def test_a_refused_token_switches_stratz_off_naming_its_setting(
    client, mocked, status, headers, body
):
    mocked.post(URL, json=body, status=status, headers=headers)

    with pytest.raises(InvalidApiKey) as refused:
        client.stratz_match(1)

    assert refused.value.setting == "STRATZ_API_TOKEN"
    assert "STRATZ_API_TOKEN" in ratelimit.disabled_reason(STRATZ)


def test_stratz_failing_is_a_server_error_not_the_tokens(client, mocked):
    mocked.post(URL, json={"errors": [{"message": "boom"}]}, status=500)

    with pytest.raises(ServerError):
        client.stratz_match(1)
    assert ratelimit.disabled_reason(STRATZ) is None


def test_429_honours_retry_after(client, mocked):
    mocked.post(
        URL, status=429, json={"message": "API rate limit exceeded"}, headers={"Retry-After": "7"}
    )

    with pytest.raises(RateLimited) as limited:
        client.stratz_match(1)

    assert limited.value.retry_after == 7
    assert not limited.value.daily


def test_an_unknown_match_is_not_found_on_stratz(client, mocked):
    mocked.post(URL, json={"data": {"match": None}})

    with pytest.raises(NotFound, match="not known to STRATZ"):
        client.stratz_match(1)


def test_a_graphql_errors_array_is_a_clear_upstream_error(client, mocked):
    mocked.post(URL, json={"errors": [{"message": "Cannot query field 'nope'"}], "data": None})

    with pytest.raises(BadResponse, match="GraphQL error: Cannot query field 'nope'"):
        client.stratz_match(1)


def test_the_windows_left_are_heeded(client, mocked):
    """Nothing left this hour waits for the next; nothing left today switches STRATZ off."""
    mocked.post(
        URL,
        json={"data": {"match": None}},
        headers={"X-RateLimit-Remaining-Hour": "0", "X-RateLimit-Remaining-Day": "5"},
    )
    with pytest.raises(NotFound):
        client.stratz_match(1)
    slot = RateLimitSlot.objects.get(bucket=STRATZ)
    assert slot.remaining_today == 5
    assert slot.next_at > time.time() + 1
    assert ratelimit.disabled_reason(STRATZ) is None

    mocked.replace(
        responses.POST,
        URL,
        json={"data": {"match": None}},
        headers={"X-RateLimit-Remaining-Day": "0"},
    )
    with pytest.raises(NotFound):
        client.stratz_match(1)
    assert "STRATZ's daily API limit is used up" in ratelimit.disabled_reason(STRATZ)


def test_without_a_token_no_request_is_made(settings, mocked):
    settings.STRATZ_API_TOKEN = ""
    upstream = UpstreamClient.from_settings()

    with pytest.raises(InvalidApiKey):
        upstream.stratz_match(1)

    assert len(mocked.calls) == 0


def test_stratzs_answer_normalises_with_its_own_facts():
    details = stratz_match_details(ANSWER)

    assert details.fields["radiant_win"] is True
    assert details.fields["game_mode"] == 1
    assert details.fields["lobby_type"] == 7
    assert details.fields["duration"] == 2100
    first, second, third = details.players
    assert (first["imp"], first["position"], first["lane_outcome"]) == (-12, 1, "won")
    assert (first["item_0"], first["item_neutral"], first["leaver_status"]) == (63, 1158, 0)
    # Dire's safe lane is the top one, which Dire won.
    assert (second["account_id"], second["lane_outcome"], second["leaver_status"]) == (
        None,
        "won",
        3,
    )
    assert (third["imp"], third["position"], third["lane_outcome"]) == (None, None, None)
