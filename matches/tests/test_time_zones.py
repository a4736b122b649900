"""Pages show times in the signed-in user's zone, named; the API answers in UTC for everyone."""

import re
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from matches.identity import api_tokens
from matches.models import AccountMatch, SteamAccount, UserSettings
from matches.tests.match_builders import complete_match, make_account
from syncjobs.models import JobStatus, JobType, SyncJob

pytestmark = pytest.mark.django_db

ALICE_ACCOUNT = 1001
BOB_ACCOUNT = 2002
# Mid-summer noon and a winter night in UTC: Berlin is then on CEST (+2) and CET (+1), so the
# winter match falls on the next day there; New York is on EDT (-4).
SUMMER_MATCH = 7_000_000_002
WINTER_MATCH = 7_000_000_001
SUMMER = datetime(2024, 7, 1, 12, 0, tzinfo=UTC)
WINTER = datetime(2024, 1, 15, 23, 30, tzinfo=UTC)


def user_in(username: str, zone: str) -> Client:
    user = get_user_model().objects.create_user(username, password="pw-not-used")
    if zone:
        UserSettings.objects.create(user=user, time_zone=zone)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice() -> Client:
    return user_in("alice", "Europe/Berlin")


@pytest.fixture
def bob() -> Client:
    return user_in("bob", "America/New_York")


@pytest.fixture
def shared_matches(alice, bob) -> None:
    """Both users' accounts played the same two matches."""
    users = get_user_model().objects
    alices = make_account(ALICE_ACCOUNT, owner=users.get(username="alice"))
    bobs = make_account(BOB_ACCOUNT, owner=users.get(username="bob"))
    for match_id, start in ((SUMMER_MATCH, SUMMER), (WINTER_MATCH, WINTER)):
        match = complete_match(match_id, alices, won=True, start_time=start)
        AccountMatch.objects.create(account=bobs, match=match)


def shown_times(page: str) -> list[str]:
    return re.findall(r"<time datetime=\"([^\"]+)\">([^<]+)</time>", page)


def test_two_users_see_the_same_matches_in_their_own_zones(alice, bob, shared_matches):
    alices_list = alice.get("/matches/").content.decode()
    bobs_list = bob.get("/matches/").content.decode()

    assert shown_times(alices_list) == [
        ("2024-07-01T14:00:00+02:00", "2024-07-01 14:00 CEST"),
        ("2024-01-16T00:30:00+01:00", "2024-01-16 00:30 CET"),
    ]
    assert shown_times(bobs_list) == [
        ("2024-07-01T08:00:00-04:00", "2024-07-01 08:00 EDT"),
        ("2024-01-15T18:30:00-05:00", "2024-01-15 18:30 EST"),
    ]
    # Every page names the zone and links to where it is chosen.
    assert "Times are shown in Europe/Berlin" in alices_list
    assert "Times are shown in America/New_York" in bobs_list
    assert 'href="/settings/">change</a>' in alices_list


def test_the_match_page_and_the_dashboard_use_the_users_zone(alice, bob, shared_matches):
    job = SyncJob.objects.create(
        account=SteamAccount.objects.get(account_id=ALICE_ACCOUNT),
        job_type=JobType.FULL,
        status=JobStatus.COMPLETED,
    )
    SyncJob.objects.filter(pk=job.pk).update(created_at=WINTER)

    match_page = alice.get(f"/matches/{WINTER_MATCH}/").content.decode()
    dashboard = alice.get("/").content.decode()
    bobs_match_page = bob.get(f"/matches/{WINTER_MATCH}/").content.decode()

    assert ("2024-01-16T00:30:00+01:00", "2024-01-16 00:30 CET") in shown_times(match_page)
    assert ("2024-01-16T00:30:00+01:00", "2024-01-16 00:30 CET") in shown_times(dashboard)
    assert ("2024-01-15T18:30:00-05:00", "2024-01-15 18:30 EST") in shown_times(bobs_match_page)


def test_without_a_choice_the_sites_time_zone_applies(settings, shared_matches):
    settings.TIME_ZONE = "Asia/Tokyo"
    carol = user_in("carol", "")
    make_account(3003, owner=get_user_model().objects.get(username="carol"))
    AccountMatch.objects.create(
        account=SteamAccount.objects.get(account_id=3003), match_id=SUMMER_MATCH
    )

    page = carol.get("/matches/").content.decode()

    assert shown_times(page) == [("2024-07-01T21:00:00+09:00", "2024-07-01 21:00 JST")]
    assert "Times are shown in Asia/Tokyo" in page


def test_a_zone_the_machine_no_longer_knows_falls_back_to_the_sites(settings, shared_matches):
    UserSettings.objects.filter(user__username="alice").update(time_zone="Atlantis/Capital")
    client = Client()
    client.force_login(get_user_model().objects.get(username="alice"))

    page = client.get("/matches/").content.decode()

    assert "Times are shown in UTC" in page
    assert ("2024-07-01T12:00:00+00:00", "2024-07-01 12:00 UTC") in shown_times(page)


def test_the_zone_ends_with_the_request(alice, shared_matches):
    alice.get("/matches/")

    assert timezone.get_current_timezone_name() == "UTC"


def test_the_api_answers_in_utc_whoever_asks_and_however(alice, shared_matches):
    # Alice's browser session (Berlin) and her token both get UTC, with its offset.
    alice_user = get_user_model().objects.get(username="alice")
    token = Client(HTTP_AUTHORIZATION=f"Token {api_tokens.create_token(alice_user)}")

    by_session = alice.get("/api/matches/").json()["results"]
    by_token = token.get("/api/matches/").json()["results"]
    detail = alice.get(f"/api/matches/{WINTER_MATCH}/").json()

    assert [m["start_time"] for m in by_session] == ["2024-07-01T12:00:00Z", "2024-01-15T23:30:00Z"]
    assert by_token == by_session
    assert detail["start_time"] == "2024-01-15T23:30:00Z"
    # A time without an offset in a filter means UTC too, not the user's zone.
    after = alice.get("/api/matches/", {"start_after": "2024-01-15T23:00:00"}).json()
    assert {m["match_id"] for m in after["results"]} == {SUMMER_MATCH, WINTER_MATCH}
    later = alice.get("/api/matches/", {"start_after": "2024-01-16T00:00:00"}).json()
    assert {m["match_id"] for m in later["results"]} == {SUMMER_MATCH}


# --- the settings page -------------------------------------------------------------------------


def test_the_settings_page_is_in_the_nav_and_shows_the_current_choice(alice):
    page = alice.get("/settings/").content.decode()

    assert '<a href="/settings/" aria-current="page">Settings</a>' in page
    assert '<option value="Europe/Berlin" selected>Europe/Berlin</option>' in page
    assert '<option value="">The site&#x27;s time zone (UTC)</option>' in page
    assert '<label for="id_time_zone">Time zone</label>' in page
    assert '<label for="id_allow_outside_images">Show players&#x27; avatars from Steam</label>' in (
        page
    )
    assert 'aria-describedby="id_allow_outside_images_helptext"' in page
    assert re.search(r"It is now <time [^>]+>[0-9-]+ [0-9:]+ CES?T</time> in Europe/Berlin", page)


def test_saving_the_settings(alice):
    response = alice.post(
        "/settings/", {"time_zone": "Asia/Kolkata", "allow_outside_images": "on"}, follow=True
    )

    assert response.redirect_chain == [("/settings/", 302)]
    assert "Settings saved." in response.content.decode()
    saved = UserSettings.objects.get(user__username="alice")
    assert (saved.time_zone, saved.allow_outside_images) == ("Asia/Kolkata", True)
    assert "Times are shown in Asia/Kolkata" in response.content.decode()

    alice.post("/settings/", {"time_zone": ""})
    saved.refresh_from_db()
    # Back to the site's zone, and an unticked box is False.
    assert (saved.time_zone, saved.allow_outside_images) == ("", False)


def test_a_first_visit_creates_the_settings_with_the_defaults():
    dave = user_in("dave", "")

    page = dave.get("/settings/").content.decode()

    assert '<option value="" selected>The site&#x27;s time zone (UTC)</option>' in page
    saved = UserSettings.objects.get(user__username="dave")
    assert (saved.time_zone, saved.allow_outside_images) == ("", False)


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", "x" * 100])
def test_an_unknown_zone_is_refused(alice, zone):
    response = alice.post("/settings/", {"time_zone": zone})

    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
    assert UserSettings.objects.get(user__username="alice").time_zone == "Europe/Berlin"
