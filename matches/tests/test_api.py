from datetime import UTC, datetime

import pytest
import responses
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from dotasync.api import MAX_PAGE_SIZE
from matches.models import STEAM_ID64_OFFSET, AccountMatch, Match, SteamAccount
from matches.tests.match_builders import (
    ACCOUNT_ID,
    OTHERS_ACCOUNT_ID,
    complete_match,
    failed_match,
    make_account,
    stub_match,
)

pytestmark = pytest.mark.django_db

FRIEND = 2002
RESOLVE_VANITY_URL = "https://steam.example/ISteamUser/ResolveVanityURL/v1/"


def match_ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["match_id"] for row in response.json()["results"]]


# --- accounts -----------------------------------------------------------------------------------


def test_accounts_lists_only_the_users_accounts_with_their_details_counts(
    api, account, others_account
):
    complete_match(10, account, won=True)
    complete_match(11, account, won=False)
    stub_match(12, account)
    failed_match(13, account, error="Steam answered 500", attempts=1)
    complete_match(20, others_account, won=True)

    response = api.get("/api/accounts/")

    assert response.status_code == 200
    [row] = response.json()
    assert row["account_id"] == ACCOUNT_ID
    assert row["steam_id64"] == ACCOUNT_ID + STEAM_ID64_OFFSET
    assert row["persona_name"] == "Alice"
    assert row["details"] == {
        "matches": 4,
        "complete": 2,
        "pending": 1,
        "failed": 1,
        "retryable": 1,
    }


@pytest.mark.parametrize(
    ("reference", "expected_account_id"),
    [
        (str(ACCOUNT_ID), ACCOUNT_ID),
        (str(ACCOUNT_ID + STEAM_ID64_OFFSET), ACCOUNT_ID),
        (f"https://steamcommunity.com/profiles/{ACCOUNT_ID + STEAM_ID64_OFFSET}/", ACCOUNT_ID),
    ],
)
def test_linking_an_account_by_any_id_form_gives_it_to_the_user(
    api, user, reference, expected_account_id
):
    response = api.post("/api/accounts/", {"account": reference}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["account_id"] == expected_account_id
    assert SteamAccount.objects.get(account_id=expected_account_id).owner == user


def test_linking_resolves_a_custom_url_through_steam_when_a_key_is_configured(api, user, settings):
    settings.STEAM_API_KEY = "test-key"
    settings.STEAM_API_BASE_URL = "https://steam.example"
    settings.STEAM_API_MIN_INTERVAL = 0
    with responses.RequestsMock() as steam:
        steam.get(
            RESOLVE_VANITY_URL,
            json={"response": {"success": 1, "steamid": str(ACCOUNT_ID + STEAM_ID64_OFFSET)}},
        )

        response = api.post(
            "/api/accounts/", {"account": "https://steamcommunity.com/id/alice"}, format="json"
        )
        asked = steam.calls[0].request.url

    assert response.status_code == 201, response.json()
    assert response.json()["account_id"] == ACCOUNT_ID
    assert "vanityurl=alice" in asked


def test_custom_url_without_a_steam_key_is_refused_without_calling_out(api, settings):
    settings.STEAM_API_KEY = ""
    with responses.RequestsMock():
        response = api.post(
            "/api/accounts/", {"account": "steamcommunity.com/id/alice"}, format="json"
        )

    assert response.status_code == 400
    assert "Steam API key" in response.json()["detail"]
    assert not SteamAccount.objects.exists()


@pytest.mark.parametrize("reference", ["not an id", "0", "https://example.com/profiles/1"])
def test_linking_something_that_names_no_account_is_a_400_with_the_reason(api, reference):
    response = api.post("/api/accounts/", {"account": reference}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"]
    assert not SteamAccount.objects.exists()


def test_linking_another_users_account_is_refused(api, others_account, other_user):
    response = api.post("/api/accounts/", {"account": str(OTHERS_ACCOUNT_ID)}, format="json")

    # As for any account alice cannot see: nothing says another user holds it.
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert "is not one you can link by typing its id" in detail
    assert "another" not in detail.lower()
    others_account.refresh_from_db()
    assert others_account.owner == other_user


def test_linking_without_the_field_is_a_validation_error_with_detail_and_field_errors(api):
    response = api.post("/api/accounts/", {}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["detail"].startswith("account: ")
    assert list(body["errors"]) == ["account"]


# --- matches ------------------------------------------------------------------------------------


def test_match_list_shows_each_match_from_the_accounts_side(api, account):
    complete_match(10, account, won=True, dire=True, hero_id=44, kda=(7, 1, 12), teammates=[FRIEND])
    stub_match(11, account, hero_id=8, player_slot=130)

    response = api.get("/api/matches/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    stub, complete = body["results"]
    assert complete["match_id"] == 10
    assert (complete["hero_id"], complete["player_slot"]) == (44, 128)
    assert (complete["is_radiant"], complete["won"], complete["radiant_win"]) == (
        False,
        True,
        False,
    )
    assert (complete["kills"], complete["deaths"], complete["assists"]) == (7, 1, 12)
    assert complete["details_status"] == "complete"
    assert stub["match_id"] == 11
    assert (stub["hero_id"], stub["player_slot"], stub["is_radiant"]) == (8, 130, False)
    assert stub["won"] is None
    assert stub["kills"] is None
    assert stub["details_status"] == "pending"


def test_match_list_filters_by_the_accounts_hero_including_stubs(api, account):
    complete_match(10, account, won=True, hero_id=44)
    complete_match(11, account, won=True, hero_id=5)
    stub_match(12, account, hero_id=44)
    # Someone else in the match played hero 5: it is not the account's hero.
    complete_match(13, account, won=True, hero_id=7, teammates=[FRIEND])

    assert match_ids(api.get("/api/matches/", {"hero_id": 44})) == [12, 10]
    assert match_ids(api.get("/api/matches/", {"hero_id": 5})) == [11]


def test_match_list_filters_by_result_from_the_accounts_side(api, account):
    complete_match(10, account, won=True)
    complete_match(11, account, won=True, dire=True)
    complete_match(12, account, won=False, dire=True)
    stub_match(13, account)

    assert match_ids(api.get("/api/matches/", {"won": "true"})) == [11, 10]
    assert match_ids(api.get("/api/matches/", {"won": "false"})) == [12]
    assert match_ids(api.get("/api/matches/")) == [13, 12, 11, 10]


@pytest.mark.parametrize(
    ("details_status", "expected"), [("pending", [11]), ("complete", [10]), ("failed", [12])]
)
def test_match_list_filters_by_details_status(api, account, details_status, expected):
    complete_match(10, account, won=True)
    stub_match(11, account)
    failed_match(12, account, error="Steam answered 500", attempts=2)

    assert match_ids(api.get("/api/matches/", {"details_status": details_status})) == expected


def test_match_list_filters_by_start_time_range(api, account):
    for match_id, day in [(10, 1), (11, 2), (12, 3)]:
        complete_match(match_id, account, won=True, start_time=datetime(2025, 5, day, tzinfo=UTC))

    response = api.get(
        "/api/matches/",
        {"start_after": "2025-05-02T00:00:00Z", "start_before": "2025-05-03T00:00:00Z"},
    )

    assert match_ids(response) == [11]


def test_match_list_orders_by_duration_with_unknown_durations_last(api, account):
    complete_match(10, account, won=True, duration=1800)
    complete_match(11, account, won=True, duration=3000)
    stub_match(12, account)

    assert match_ids(api.get("/api/matches/", {"ordering": "duration"})) == [10, 11, 12]
    assert match_ids(api.get("/api/matches/", {"ordering": "-duration"})) == [11, 10, 12]


def test_match_list_of_another_users_account_is_404(api, account, others_account):
    complete_match(20, others_account, won=True)

    response = api.get("/api/matches/", {"account": OTHERS_ACCOUNT_ID})

    assert response.status_code == 404
    assert "detail" in response.json()


def test_match_list_needs_an_account_when_the_user_has_several(api, account, user):
    make_account(FRIEND, owner=user)
    complete_match(10, account, won=True)

    response = api.get("/api/matches/")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["account"]
    assert match_ids(api.get("/api/matches/", {"account": ACCOUNT_ID})) == [10]


def test_match_list_without_any_linked_account_is_400(api):
    response = api.get("/api/matches/")

    assert response.status_code == 400
    assert "Link a Steam account" in response.json()["detail"]


@pytest.mark.parametrize(
    "query", [{"hero_id": "axe"}, {"won": "maybe"}, {"details_status": "lost"}, {"ordering": "kda"}]
)
def test_match_list_refuses_bad_filters_with_400(api, account, query):
    response = api.get("/api/matches/", query)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == list(query)


def test_page_size_is_capped(api, account):
    matches = Match.objects.bulk_create(
        Match(match_id=match_id) for match_id in range(1, MAX_PAGE_SIZE + 6)
    )
    AccountMatch.objects.bulk_create(AccountMatch(account=account, match=m) for m in matches)

    response = api.get("/api/matches/", {"page_size": 10_000})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == MAX_PAGE_SIZE + 5
    assert len(body["results"]) == MAX_PAGE_SIZE
    assert len(api.get("/api/matches/", {"page_size": 3}).json()["results"]) == 3
    assert api.get("/api/matches/", {"page": 2, "page_size": 200}).json()["results"]
    for invalid_page in ("99", "0", "", "last"):
        assert api.get("/api/matches/", {"page": invalid_page}).status_code == 404


def test_a_page_of_matches_costs_the_same_queries_however_many_rows(api, account):
    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get("/api/matches/").status_code == 200
        return len(captured)

    complete_match(1, account, won=True)
    one_row = queries_for_page()
    for match_id in range(2, 12):
        complete_match(match_id, account, won=match_id % 2 == 0, teammates=[FRIEND])
        stub_match(match_id + 100, account)

    assert queries_for_page() == one_row


def test_match_detail_has_all_ten_players_in_slot_order(api, account):
    complete_match(10, account, won=True, hero_id=44, teammates=[FRIEND])

    with CaptureQueriesContext(connection) as captured:
        response = api.get("/api/matches/10/")

    assert response.status_code == 200
    body = response.json()
    assert body["details_status"] == "complete"
    assert [p["player_slot"] for p in body["players"]] == [0, 1, 2, 3, 4, 128, 129, 130, 131, 132]
    me = body["players"][0]
    assert (me["account_id"], me["hero_id"], me["won"]) == (ACCOUNT_ID, 44, True)
    assert body["players"][5]["won"] is False
    assert len(me["items"]) == 6
    assert len(me["backpack"]) == 3
    assert (me["persona_name"], me["avatar"]) == ("Alice", None)  # the linked account's name
    assert body["players"][1]["persona_name"] == ""  # FRIEND: no name known
    # Token lookup, the match, its players, their names (players, then linked accounts):
    # no query per player.
    assert len(captured) <= 5


def test_match_played_by_two_of_the_users_accounts_is_one_match(api, account, user):
    second = make_account(FRIEND, owner=user)
    match = complete_match(10, account, won=True, teammates=[FRIEND])
    AccountMatch.objects.create(account=second, match=match, player_slot=1)

    response = api.get("/api/matches/10/")

    assert response.status_code == 200
    assert response.json()["match_id"] == 10


def test_another_users_match_is_404_and_so_is_an_unknown_one(api, account, others_account):
    complete_match(20, others_account, won=True)

    assert api.get("/api/matches/20/").status_code == 404
    assert api.get("/api/matches/999/").json() == {"detail": "No Match matches the given query."}


# --- teammates ----------------------------------------------------------------------------------


def test_teammates_aggregate_the_accounts_team_mates(api, account):
    complete_match(10, account, won=True, teammates=[FRIEND])
    complete_match(11, account, won=False, teammates=[FRIEND])
    complete_match(12, account, won=True, opponents=[FRIEND])
    make_account(FRIEND, persona_name="Friend")

    response = api.get("/api/teammates/", {"account": ACCOUNT_ID})

    assert response.status_code == 200
    [mate] = response.json()["results"]
    assert mate["account_id"] == FRIEND
    assert mate["persona_name"] == "Friend"
    assert (mate["games"], mate["wins"], mate["win_rate"]) == (2, 1, 0.5)


def test_teammates_of_another_users_account_is_404(api, account, others_account):
    assert api.get("/api/teammates/", {"account": OTHERS_ACCOUNT_ID}).status_code == 404


# --- authentication -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/accounts/", "/api/matches/", "/api/matches/1/", "/api/teammates/"]
)
def test_everything_needs_authentication(path):
    response = APIClient().get(path)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"
    assert "detail" in response.json()


def test_a_wrong_token_is_401(account):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    assert client.get("/api/accounts/").status_code == 401


def test_session_authentication_reads_and_needs_csrf_to_write(user, account):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)

    assert client.get("/api/accounts/").status_code == 200
    refused = client.post("/api/accounts/", {"account": str(FRIEND)}, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert not SteamAccount.objects.filter(account_id=FRIEND).exists()


def test_session_post_with_the_csrf_token_succeeds(user, account):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    csrf_token = "k" * 32
    client.cookies["csrftoken"] = csrf_token

    response = client.post(
        "/api/accounts/", {"account": str(FRIEND)}, format="json", HTTP_X_CSRFTOKEN=csrf_token
    )

    assert response.status_code == 201


@pytest.mark.parametrize("page_size", ["0", "-5", "ten", "false"])
def test_nonsense_page_size_is_a_400(api, account, page_size):
    response = api.get("/api/matches/", {"page_size": page_size})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["page_size"]
