"""Parse requests through what a player touches: the match page's state and button, the
Accounts page's switch, the API (match detail, account switch, POST /api/sync/parse); the
work they start runs as a parse job (syncjobs.parsing) against OpenDota mocked with
`responses`."""

from datetime import timedelta

import pytest
import responses
from django.urls import reverse
from django.utils import timezone

from matches.models import ParseRequest, ParseState, SteamAccount
from matches.tests.match_builders import ACCOUNT_ID, complete_match
from syncjobs import engine
from syncjobs.models import JobType, SyncJob

OPENDOTA = "https://opendota.example/api"
ASK = "Ask OpenDota to parse this match"


@pytest.fixture(autouse=True)
def opendota(settings):
    settings.OPENDOTA_API_BASE_URL = OPENDOTA
    settings.OPENDOTA_API_KEY = ""
    settings.OPENDOTA_MIN_INTERVAL = 0
    settings.PARSE_DAILY_BUDGET = 600


@pytest.fixture
def mocked():
    # Nothing registered answers: any call would fail the test with a ConnectionError.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def recent(hours: float = 1):
    return timezone.now() - timedelta(hours=hours)


def page(signed_in, match_id: int) -> str:
    response = signed_in.get(reverse("match_detail", args=[match_id]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_refused_and_expired_say_so_on_the_page_and_in_the_api_and_cost_nothing_more(
    signed_in, api, account, mocked
):
    complete_match(1, account, won=True, start_time=recent())
    complete_match(2, account, won=True, start_time=recent(24 * 12))
    complete_match(3, account, won=True, start_time=recent(24 * 30))  # never asked: too old
    ParseRequest.objects.create(
        match_id=1, state=ParseState.REFUSED, reason="invalid match_id", requested_at=recent()
    )
    ParseRequest.objects.create(match_id=2, state=ParseState.EXPIRED, requested_at=recent(24 * 12))

    refused, expired, old = page(signed_in, 1), page(signed_in, 2), page(signed_in, 3)

    assert "OpenDota refused: invalid match_id." in refused
    assert ASK in refused  # the player may ask again while the replay exists
    for text in (expired, old):
        assert "Replay expired" in text
        assert ASK not in text
    assert api.get("/api/matches/1/").json()["parse"]["state"] == "refused"
    assert api.get("/api/matches/2/").json()["parse"]["state"] == "expired"
    assert api.get("/api/matches/3/").json()["parse"]["state"] == "expired"
    job = engine.run_job(engine.create_job(account, JobType.PARSE).pk)
    assert job.status == "completed"
    assert not mocked.calls
    assert not ParseRequest.objects.filter(pk=3).exists()


@pytest.mark.django_db(transaction=True)
def test_the_button_records_the_ask_and_a_parse_job_sends_it(signed_in, account, mocked):
    account.parse_new_matches = False
    account.save()
    complete_match(7, account, won=True, start_time=recent())
    assert "Parsing is off for this account." in page(signed_in, 7)

    response = signed_in.post(reverse("parse_match", args=[7]), follow=True)

    assert "OpenDota is asked to parse this match now" in response.content.decode()
    assert not mocked.calls  # none in the web request
    row = ParseRequest.objects.get(pk=7)
    assert (row.state, row.requested_at) == (ParseState.REQUESTED, None)
    assert "OpenDota is asked with this account" in page(signed_in, 7)
    job = SyncJob.objects.get(account=account, job_type=JobType.PARSE)
    mocked.post(f"{OPENDOTA}/request/7", json={"job": {"jobId": 4242}})

    engine.run_job(job.pk)

    row.refresh_from_db()
    assert (row.state, row.job_id) == (ParseState.REQUESTED, 4242)
    assert row.requested_at is not None
    assert "Requested from OpenDota, waiting since" in page(signed_in, 7)
    assert len(mocked.calls) == 1


@pytest.mark.django_db
def test_a_second_press_asks_nothing_more(signed_in, account):
    complete_match(8, account, won=True, start_time=recent())
    ParseRequest.objects.create(match_id=8, state=ParseState.REQUESTED, requested_at=recent())

    response = signed_in.post(reverse("parse_match", args=[8]), follow=True)

    assert "asked for already" in response.content.decode()
    assert not SyncJob.objects.exists()


@pytest.mark.django_db
def test_the_accounts_page_switch_turns_parsing_off_and_on(signed_in, account):
    assert (
        "Turn off: stop asking OpenDota to parse new matches"
        in signed_in.get("/accounts/").content.decode()
    )

    signed_in.post(reverse("account_parse_switch", args=[ACCOUNT_ID]))
    assert not SteamAccount.objects.get(pk=account.pk).parse_new_matches
    assert (
        "Turn on: ask OpenDota to parse each new match"
        in signed_in.get("/accounts/").content.decode()
    )

    signed_in.post(reverse("account_parse_switch", args=[ACCOUNT_ID]), {"parse_new_matches": "on"})
    assert SteamAccount.objects.get(pk=account.pk).parse_new_matches


@pytest.mark.django_db
def test_the_switch_refuses_a_get_and_another_users_account(signed_in, account, others_account):
    assert signed_in.get(reverse("account_parse_switch", args=[ACCOUNT_ID])).status_code == 405
    other = reverse("account_parse_switch", args=[others_account.account_id])
    assert signed_in.post(other).status_code == 404


@pytest.mark.django_db
def test_the_account_api_shows_and_changes_the_switch(api, account):
    assert api.get("/api/accounts/").json()[0]["parse_new_matches"] is True

    response = api.patch(
        f"/api/accounts/{ACCOUNT_ID}/", {"parse_new_matches": False}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["parse_new_matches"] is False
    assert not SteamAccount.objects.get(pk=account.pk).parse_new_matches


@pytest.mark.django_db
def test_the_parse_endpoint_starts_a_parse_job(api, account):
    response = api.post("/api/sync/parse", {}, format="json")

    assert response.status_code == 201
    assert response.json()["job_type"] == JobType.PARSE
    assert SyncJob.objects.get(pk=response.json()["id"]).job_type == JobType.PARSE
    assert api.post("/api/sync/parse", {}, format="json").status_code == 409
