"""The upstream client's error taxonomy, retries and request shape, against `responses` mocks."""

import gzip
import json
from pathlib import Path

import pytest
import requests
import responses

from matches.upstream.client import OPENDOTA, STEAM, STEAM_SEQUENCE, USER_AGENT, UpstreamClient
from matches.upstream.errors import (
    BadResponse,
    InvalidApiKey,
    NotFound,
    PrivateProfile,
    RateLimited,
    ServerError,
    SourceRefused,
)

DATA = Path(__file__).parent / "data"
STEAM_BASE = "https://steam.example"
OPENDOTA_BASE = "https://opendota.example/api"
STEAM_KEY = "0123456789ABCDEF0123456789ABCDEF"
OPENDOTA_KEY = "od-key-5e1f2a77-0c1b-4bd6"
HISTORY_URL = f"{STEAM_BASE}/IDOTA2Match_570/GetMatchHistory/v1/"
DETAILS_URL = f"{STEAM_BASE}/IDOTA2Match_570/GetMatchDetails/v1/"
SEQUENCE_URL = f"{STEAM_BASE}/IDOTA2Match_570/GetMatchHistoryBySequenceNum/v1/"
HISTORY_ACCOUNT = 88367253  # plays every match of GetMatchHistory.json
FORBIDDEN_HTML = "<html><head><title>Forbidden</title></head><body><h1>Forbidden</h1></body></html>"


def fixture(name: str) -> dict:
    return json.loads((DATA / name).read_text())


@pytest.fixture
def upstream(settings, sleeps) -> UpstreamClient:
    settings.STEAM_API_MIN_INTERVAL = 0
    settings.STEAM_SEQUENCE_MIN_INTERVAL = 0
    settings.OPENDOTA_MIN_INTERVAL = 0
    settings.UPSTREAM_CONNECT_TIMEOUT = 2.5
    settings.UPSTREAM_READ_TIMEOUT = 7.5
    client = UpstreamClient(
        steam_api_key=STEAM_KEY,
        steam_base_url=STEAM_BASE,
        opendota_base_url=OPENDOTA_BASE,
        opendota_api_key=OPENDOTA_KEY,
        sleep=sleeps.append,
    )
    yield client
    client.close()


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


# --- answers with a status -------------------------------------------------------------------


def test_broken_get_match_details_500_is_a_server_error(upstream, mocked):
    mocked.get(DETAILS_URL, json={}, status=500)

    with pytest.raises(ServerError) as caught:
        upstream.steam_match_details(1781962623)

    assert caught.value.status == 500
    assert caught.value.source == STEAM
    assert len(mocked.calls) == 1


def test_403_with_an_html_page_is_an_invalid_api_key(upstream, mocked):
    mocked.get(HISTORY_URL, body=FORBIDDEN_HTML, status=403, content_type="text/html")

    with pytest.raises(InvalidApiKey) as caught:
        upstream.steam_match_history(HISTORY_ACCOUNT)

    assert caught.value.status == 403


def test_opendota_403_blames_the_opendota_key(upstream, mocked):
    mocked.get(f"{OPENDOTA_BASE}/matches/1", json={"error": "invalid api key"}, status=403)

    with pytest.raises(InvalidApiKey, match="OpenDota") as caught:
        upstream.opendota_match(1)

    assert caught.value.source == OPENDOTA


def test_no_steam_key_fails_without_calling_steam(settings, mocked):
    settings.STEAM_API_MIN_INTERVAL = 0
    client = UpstreamClient(
        steam_api_key="", steam_base_url=STEAM_BASE, opendota_base_url=OPENDOTA_BASE
    )

    with pytest.raises(InvalidApiKey):
        client.steam_match_history(HISTORY_ACCOUNT)

    assert not client.has_steam_key
    assert len(mocked.calls) == 0


@pytest.mark.parametrize(("header", "expected"), [("30", 30.0), ("1.5", 1.5), ("soon", None)])
def test_429_carries_retry_after(upstream, mocked, header, expected):
    mocked.get(DETAILS_URL, json={}, status=429, headers={"Retry-After": header})

    with pytest.raises(RateLimited) as caught:
        upstream.steam_match_details(1781962623)

    assert caught.value.retry_after == expected
    assert caught.value.status == 429
    assert not caught.value.daily


def test_opendota_minute_limit_is_not_daily(upstream, mocked, db):
    mocked.get(
        f"{OPENDOTA_BASE}/matches/1781962623",
        json={"error": "minute rate limit exceeded"},
        status=429,
        headers={"X-Rate-Limit-Remaining-Minute": "0", "X-Rate-Limit-Remaining-Day": "2400"},
    )

    with pytest.raises(RateLimited) as caught:
        upstream.opendota_match(1781962623)

    assert not caught.value.daily
    assert caught.value.source == OPENDOTA


def test_opendota_daily_limit_is_daily(upstream, mocked):
    mocked.get(
        f"{OPENDOTA_BASE}/players/{HISTORY_ACCOUNT}/matches",
        json={"error": "daily api limit exceeded"},
        status=429,
    )

    with pytest.raises(RateLimited, match="daily") as caught:
        upstream.opendota_player_matches(HISTORY_ACCOUNT, limit=100)

    assert caught.value.daily


def test_private_profile_status_15(upstream, mocked):
    mocked.get(
        HISTORY_URL,
        json={
            "result": {
                "status": 15,
                "statusDetail": "Cannot get match history for a user that hasn't allowed it",
            }
        },
    )

    with pytest.raises(PrivateProfile, match="Expose Public Match Data"):
        upstream.steam_match_history(HISTORY_ACCOUNT)


def test_other_history_status_is_a_bad_response(upstream, mocked):
    mocked.get(HISTORY_URL, json={"result": {"status": 8, "statusDetail": "Invalid account"}})

    with pytest.raises(BadResponse, match="Invalid account"):
        upstream.steam_match_history(HISTORY_ACCOUNT)


def test_unknown_match_on_steam_is_not_found(upstream, mocked):
    mocked.get(DETAILS_URL, json={"result": {"error": "Match ID not found"}})

    with pytest.raises(NotFound):
        upstream.steam_match_details(42)


def test_opendota_404_is_not_found(upstream, mocked):
    mocked.get(f"{OPENDOTA_BASE}/matches/42", json={"error": "Not Found"}, status=404)

    with pytest.raises(NotFound) as caught:
        upstream.opendota_match(42)

    assert caught.value.status == 404


def test_unexpected_4xx_is_the_sources_refusal_naming_its_url_setting(upstream, mocked):
    mocked.get(DETAILS_URL, body="teapot", status=418)

    with pytest.raises(SourceRefused) as caught:
        upstream.steam_match_details(42)

    assert not isinstance(caught.value, InvalidApiKey)
    assert (caught.value.status, caught.value.setting) == (418, "STEAM_API_BASE_URL")
    assert caught.value.message == "Steam refused our requests (HTTP 418)"


@pytest.mark.parametrize(
    ("status", "error", "message"),
    [
        (
            400,
            "Invalid API key format",
            "OpenDota refused the API key (HTTP 400: Invalid API key format)",
        ),
        (
            400,
            "API key invalid. Please check your key.",
            "OpenDota refused the API key (HTTP 400: API key invalid. Please check your key.)",
        ),
        (401, "Unauthorized", "OpenDota refused the API key (HTTP 401: Unauthorized)"),
    ],
)
def test_opendota_key_refusals_name_opendota_api_key(upstream, mocked, status, error, message):
    mocked.get(f"{OPENDOTA_BASE}/matches/7", json={"error": error}, status=status)

    with pytest.raises(InvalidApiKey) as caught:
        upstream.opendota_match(7)

    assert (caught.value.setting, caught.value.message) == ("OPENDOTA_API_KEY", message)
    assert OPENDOTA_KEY not in caught.value.message


# --- bodies that cannot be used ----------------------------------------------------------------


def test_malformed_json_is_a_bad_response(upstream, mocked):
    mocked.get(DETAILS_URL, body='{"result": {"match_id": 17', content_type="application/json")

    with pytest.raises(BadResponse, match="malformed JSON"):
        upstream.steam_match_details(17)


def test_steam_json_without_result_is_a_bad_response(upstream, mocked):
    mocked.get(HISTORY_URL, json={"response": {}})

    with pytest.raises(BadResponse):
        upstream.steam_match_history(HISTORY_ACCOUNT)


@pytest.mark.parametrize(
    "missing", ["match_id", "radiant_win", "start_time", "duration", "players"]
)
def test_details_without_a_required_field_are_a_bad_response(upstream, mocked, missing):
    body = fixture("GetMatchDetails.json")
    del body["result"][missing]
    mocked.get(DETAILS_URL, json=body)

    with pytest.raises(BadResponse):
        upstream.steam_match_details(1781962623)


def test_details_of_another_match_are_a_bad_response(upstream, mocked):
    mocked.get(DETAILS_URL, json=fixture("GetMatchDetails.json"))

    with pytest.raises(BadResponse, match="asked for match 5"):
        upstream.steam_match_details(5)


def test_opendota_match_list_that_is_not_a_list_is_a_bad_response(upstream, mocked):
    mocked.get(f"{OPENDOTA_BASE}/players/{HISTORY_ACCOUNT}/matches", json={"matches": []})

    with pytest.raises(BadResponse):
        upstream.opendota_player_matches(HISTORY_ACCOUNT, limit=10)


# --- retries -----------------------------------------------------------------------------------


def test_connection_errors_are_retried_three_times_then_a_server_error(upstream, mocked, sleeps):
    mocked.get(DETAILS_URL, body=requests.ConnectionError("connection refused"))

    with pytest.raises(ServerError, match="could not connect"):
        upstream.steam_match_details(1781962623)

    assert len(mocked.calls) == 3
    assert len(sleeps) == 2
    assert all(0 < seconds <= 4 for seconds in sleeps)


def test_a_connection_error_then_an_answer_succeeds(upstream, mocked, sleeps):
    mocked.get(DETAILS_URL, body=requests.ConnectionError("connection reset"))
    mocked.get(DETAILS_URL, json=fixture("GetMatchDetails.json"))

    details = upstream.steam_match_details(1781962623)

    assert details.match_id == 1781962623
    assert len(mocked.calls) == 2
    assert len(sleeps) == 1


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"body": FORBIDDEN_HTML, "status": 403}, InvalidApiKey),
        ({"json": {}, "status": 404}, NotFound),
        ({"json": {"result": {"status": 15}}}, PrivateProfile),
        ({"body": "<html>oops</html>", "status": 200}, BadResponse),
        ({"body": requests.ReadTimeout("read timed out")}, ServerError),
        ({"json": {}, "status": 500}, ServerError),
    ],
)
def test_answers_and_read_timeouts_are_never_retried(upstream, mocked, sleeps, answer, error):
    mocked.get(HISTORY_URL, **answer)

    with pytest.raises(error):
        upstream.steam_match_history(HISTORY_ACCOUNT)

    assert len(mocked.calls) == 1
    assert sleeps == []


def test_read_timeout_says_it_timed_out(upstream, mocked):
    mocked.get(DETAILS_URL, body=requests.ReadTimeout("read timed out"))

    with pytest.raises(ServerError, match="timed out") as caught:
        upstream.steam_match_details(1)

    assert caught.value.status is None


# --- hostile answers: size, nesting, redirects, unstorable text --------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        {"body": b"[" + b" " * 70_000 + b"]"},
        # Refused on its word, before reading: the body itself would be small.
        {"body": b"[]", "headers": {"Content-Length": "70000"}},
        # 20 MB of JSON in 20 kB of gzip: counted as it decompresses, not as it arrives.
        {
            "body": gzip.compress(b"[" + b" " * 20_000_000 + b"]"),
            "headers": {"Content-Encoding": "gzip"},
        },
    ],
    ids=["plain", "declared", "gzip"],
)
def test_an_answer_over_the_size_limit_is_cut_like_a_server_error(
    upstream, mocked, settings, sleeps, answer
):
    settings.UPSTREAM_MAX_ANSWER_BYTES = 65_536
    mocked.get(DETAILS_URL, **answer)

    with pytest.raises(ServerError, match="larger than 65,536 bytes; cut off") as caught:
        upstream.steam_match_details(1)

    assert (caught.value.status, caught.value.source) == (200, STEAM)
    assert len(mocked.calls) == 1
    assert sleeps == []


def test_a_redirect_is_not_followed_and_names_the_url_setting(upstream, mocked):
    mocked.get(
        DETAILS_URL,
        status=302,
        headers={"Location": f"https://collector.example/steal?key={STEAM_KEY}"},
    )
    elsewhere = mocked.get("https://collector.example/steal", json={})

    with pytest.raises(SourceRefused) as caught:
        upstream.steam_match_details(1)

    assert caught.value.setting == "STEAM_API_BASE_URL"
    assert caught.value.message == (
        "Steam answered HTTP 302, a redirect to collector.example, which is not followed"
    )
    assert elsewhere.call_count == 0


def test_json_nested_too_deeply_is_a_bad_response(upstream, mocked):
    mocked.get(DETAILS_URL, body=b'{"result": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")

    with pytest.raises(BadResponse, match="nested too deeply"):
        upstream.steam_match_details(1)


def test_upstream_text_in_messages_and_names_loses_nul_and_control_characters(upstream, mocked):
    mocked.get(HISTORY_URL, json={"result": {"status": 8, "statusDetail": "bad\u0000\n id"}})
    mocked.get(f"{OPENDOTA_BASE}/matches/1", json={"error": "we do not\u0000 like you"}, status=418)
    mocked.get(
        f"{STEAM_BASE}/ISteamUser/GetPlayerSummaries/v2/",
        json={
            "response": {
                "players": [{"steamid": "76561198080534862", "personaname": "\u0000B\ud800"}]
            }
        },
    )

    with pytest.raises(BadResponse) as history:
        upstream.steam_match_history(HISTORY_ACCOUNT)
    with pytest.raises(SourceRefused) as refused:
        upstream.opendota_match(1)
    summaries = upstream.player_summaries([120269134])

    assert history.value.message == "GetMatchHistory refused: bad id"
    assert refused.value.message == "OpenDota refused our requests (HTTP 418: we do not like you)"
    assert summaries[120269134].persona_name == "B"


# --- the sequence endpoint ---------------------------------------------------------------------


def test_sequence_answers_the_match_asked_for(upstream, mocked):
    mocked.get(SEQUENCE_URL, json=fixture("GetMatchHistoryBySequenceNum.json"))

    details = upstream.steam_match_by_seq_num(7215564751, 8591933650)

    assert details.match_id == 8591933650
    assert details.fields["match_seq_num"] == 7215564751
    assert mocked.calls[0].request.params == {
        "key": STEAM_KEY,
        "start_at_match_seq_num": "7215564751",
        "matches_requested": "1",
    }


def test_sequence_answering_a_different_match_is_not_found(upstream, mocked):
    mocked.get(SEQUENCE_URL, json=fixture("GetMatchHistoryBySequenceNum.json"))

    with pytest.raises(NotFound) as caught:
        upstream.steam_match_by_seq_num(7215564750, 8591933649)

    assert caught.value.source == STEAM_SEQUENCE


def test_sequence_with_no_matches_is_not_found(upstream, mocked):
    mocked.get(SEQUENCE_URL, json={"result": {"status": 1, "matches": []}})

    with pytest.raises(NotFound):
        upstream.steam_match_by_seq_num(7215564751, 8591933650)


# --- request shape -----------------------------------------------------------------------------


def test_history_page_params_and_result(upstream, mocked):
    mocked.get(HISTORY_URL, json=fixture("GetMatchHistory.json"))

    page = upstream.steam_match_history(HISTORY_ACCOUNT)

    assert mocked.calls[0].request.params == {
        "key": STEAM_KEY,
        "account_id": str(HISTORY_ACCOUNT),
        "matches_requested": "100",
    }
    assert [entry.match_id for entry in page.entries][:2] == [346632222, 340377950]
    assert len(page.entries) == 7
    assert page.entries[0].player_slot == 128
    assert page.entries[0].hero_id == 1


def test_next_history_page_starts_at_the_given_match(upstream, mocked):
    mocked.get(HISTORY_URL, json=fixture("GetMatchHistory.json"))

    upstream.steam_match_history(HISTORY_ACCOUNT, start_at_match_id=346632221)

    params = mocked.calls[0].request.params
    assert params["start_at_match_id"] == "346632221"
    assert params["matches_requested"] == "100"


def test_user_agent_and_timeouts_are_sent(upstream, mocked):
    mocked.get(DETAILS_URL, json=fixture("GetMatchDetails.json"))

    upstream.steam_match_details(1781962623)

    request = mocked.calls[0].request
    assert request.headers["User-Agent"] == USER_AGENT
    assert request.req_kwargs["timeout"] == (2.5, 7.5)


def test_opendota_calls_send_the_api_key_and_show_all_matches(upstream, mocked):
    mocked.get(
        f"{OPENDOTA_BASE}/players/{HISTORY_ACCOUNT}/matches",
        json=[{"match_id": 8591933650, "player_slot": 130, "hero_id": 51, "start_time": 1}],
    )

    entries = upstream.opendota_player_matches(HISTORY_ACCOUNT, limit=50, offset=100)

    assert mocked.calls[0].request.params == {
        "significant": "0",
        "limit": "50",
        "offset": "100",
        "api_key": OPENDOTA_KEY,
    }
    assert [(e.match_id, e.player_slot, e.hero_id) for e in entries] == [(8591933650, 130, 51)]


def test_opendota_match_without_a_key_sends_no_api_key(settings, mocked):
    settings.OPENDOTA_MIN_INTERVAL = 0
    client = UpstreamClient(
        steam_api_key="", steam_base_url=STEAM_BASE, opendota_base_url=OPENDOTA_BASE
    )
    mocked.get(
        f"{OPENDOTA_BASE}/matches/3254426673",
        json=fixture("GetMatchDetails_pro_match.json")["result"],
    )

    details = client.opendota_match(3254426673)

    assert details.match_id == 3254426673
    assert mocked.calls[0].request.params == {}


def test_player_summaries_map_steam_ids_to_account_ids(upstream, mocked):
    mocked.get(
        f"{STEAM_BASE}/ISteamUser/GetPlayerSummaries/v2/", json=fixture("GetPlayerSummaries.json")
    )

    summaries = upstream.player_summaries([120269134])

    assert mocked.calls[0].request.params["steamids"] == "76561198080534862"
    summary = summaries[120269134]
    assert summary.persona_name == "Cherno Billy"
    assert summary.avatar_url.endswith("2867_medium.jpg")
    assert summary.avatar_small_url.endswith("2867.jpg")
    assert summary.avatar_full_url.endswith("2867_full.jpg")
    assert summary.profile_url == "http://steamcommunity.com/profiles/76561198080534862/"


def test_player_summaries_refuse_more_than_100_accounts_without_calling(upstream, mocked):
    with pytest.raises(ValueError, match="at most 100"):
        upstream.player_summaries(list(range(1, 102)))
    assert upstream.player_summaries([]) == {}
    assert len(mocked.calls) == 0


def test_player_summaries_keep_only_the_accounts_asked_for_and_safe_urls(upstream, mocked):
    players = [
        {"steamid": "76561198080534862", "personaname": " Billy ", "avatar": "javascript:x"},
        {"steamid": "76561197960265729", "personaname": "not asked"},
        {"steamid": "not a number"},
    ]
    mocked.get(
        f"{STEAM_BASE}/ISteamUser/GetPlayerSummaries/v2/", json={"response": {"players": players}}
    )

    summaries = upstream.player_summaries([120269134, 5])

    assert list(summaries) == [120269134]
    assert (summaries[120269134].persona_name, summaries[120269134].avatar_url) == ("Billy", "")


def test_player_summaries_without_players_are_a_bad_response(upstream, mocked):
    mocked.get(f"{STEAM_BASE}/ISteamUser/GetPlayerSummaries/v2/", json={"response": {}})

    with pytest.raises(BadResponse):
        upstream.player_summaries([120269134])


def test_resolve_vanity_url(upstream, mocked):
    url = f"{STEAM_BASE}/ISteamUser/ResolveVanityURL/v1/"
    mocked.get(url, json={"response": {"steamid": "76561198048999058", "success": 1}})

    assert upstream.resolve_vanity_url("someone") == 88733330
    assert mocked.calls[0].request.params == {"key": STEAM_KEY, "vanityurl": "someone"}


def test_unknown_vanity_url_is_not_found(upstream, mocked):
    url = f"{STEAM_BASE}/ISteamUser/ResolveVanityURL/v1/"
    mocked.get(url, json={"response": {"success": 42, "message": "No match"}})

    with pytest.raises(NotFound, match="nobody"):
        upstream.resolve_vanity_url("nobody")


def test_opendotas_remaining_calls_are_heeded(upstream, mocked, db):
    from matches.upstream import ratelimit
    from matches.upstream.slots import RateLimitSlot

    mocked.get(
        f"{OPENDOTA_BASE}/matches/5",
        json={"error": "Not Found"},
        status=404,
        headers={"X-Rate-Limit-Remaining-Minute": "0", "X-Rate-Limit-Remaining-Day": "1234"},
    )

    with pytest.raises(NotFound):
        upstream.opendota_match(5)

    assert ratelimit.remaining_today(OPENDOTA) == 1234
    slot = RateLimitSlot.objects.get(bucket=OPENDOTA)
    # Nothing left this minute: the next call waits for the next minute to begin.
    from dotasync import dbclock

    now = dbclock.epoch()
    assert now < slot.next_at <= now - now % 60 + 61


def test_a_day_with_nothing_left_switches_opendota_off_before_a_429(upstream, mocked, db):
    from matches.upstream import ratelimit

    mocked.get(
        f"{OPENDOTA_BASE}/players/7/matches",
        json=[],
        headers={"X-Rate-Limit-Remaining-Day": "0"},
    )

    assert upstream.opendota_player_matches(7, limit=100) == []

    assert "daily API limit is used up" in ratelimit.disabled_reason(OPENDOTA)


# --- parse requests --------------------------------------------------------------------------


def test_a_parse_request_is_one_post_answering_its_job_id(upstream, mocked):
    mocked.post(f"{OPENDOTA_BASE}/request/7490235544", json={"job": {"jobId": 81234567}})

    assert upstream.request_parse(7490235544) == 81234567

    (call,) = mocked.calls
    assert call.request.method == "POST"
    assert f"api_key={OPENDOTA_KEY}" in call.request.url


@pytest.mark.parametrize("answer", [{}, {"job": None}, {"job": {"jobId": "x"}}, []])
def test_a_parse_request_answered_without_a_job_id_is_a_bad_response(upstream, mocked, answer):
    mocked.post(f"{OPENDOTA_BASE}/request/1", json=answer)

    with pytest.raises(BadResponse):
        upstream.request_parse(1)


def test_a_parse_request_whose_connection_drops_is_not_sent_again(upstream, mocked):
    mocked.post(f"{OPENDOTA_BASE}/request/1", body=requests.ConnectionError("reset"))

    with pytest.raises(ServerError):
        upstream.request_parse(1)

    assert len(mocked.calls) == 1


def test_a_parse_jobs_state_is_its_queue_row_or_none_once_gone(upstream, mocked):
    row = {"id": 5, "jobId": 5, "type": "parse", "attempts": 1, "data": {"match_id": 9}}
    mocked.get(f"{OPENDOTA_BASE}/request/5", json=row)
    mocked.get(f"{OPENDOTA_BASE}/request/6", body="null", content_type="application/json")

    assert upstream.parse_job(5) == row
    assert upstream.parse_job(6) is None


def test_an_opendota_match_brings_its_parsed_data_when_opendota_parsed_it(upstream, mocked):
    answer = fixture("opendota_parsed_match_4080856812.json")
    mocked.get(f"{OPENDOTA_BASE}/matches/4080856812", json=answer)
    # Not parsed: OpenDota's `version` is null (as in realdata's dp_2021_ability_draft answer).
    mocked.get(
        f"{OPENDOTA_BASE}/matches/4080856813", json=dict(answer, match_id=4080856813, version=None)
    )

    parsed = upstream.opendota_match(4080856812).parsed
    assert parsed["version"] == 21
    assert parsed["radiant_gold_adv"] == answer["radiant_gold_adv"]
    assert upstream.opendota_match(4080856813).parsed is None
