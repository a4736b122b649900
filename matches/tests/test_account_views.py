"""Sign-in (throttled), sign-up, the Steam sign-in pipeline steps and the accounts page."""

import importlib
import re
import threading

import pytest
import responses
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection, transaction
from django.test import Client, RequestFactory
from social_django.models import UserSocialAuth
from social_django.utils import load_backend, load_strategy

from matches.identity.accounts import TooManyAccounts, link_account
from matches.identity.social import (
    SignUpClosed,
    link_steam_account,
    refuse_new_user_unless_signup_allowed,
)
from matches.models import STEAM_ID64_OFFSET, SteamAccount, UserSettings
from matches.tests.match_builders import ACCOUNT_ID, PASSWORD
from syncjobs.models import JobType, SyncJob

pytestmark = pytest.mark.django_db


def sign_in(client: Client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


# --- sign-in --------------------------------------------------------------------------------


def test_sign_in_page_is_open_and_signing_in_leads_to_the_dashboard(client, user):
    assert client.get("/login/").status_code == 200

    response = sign_in(client, "alice", PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_sign_in_returns_to_the_page_asked_for(client, user):
    response = client.post(
        "/login/?next=/accounts/", {"username": "alice", "password": PASSWORD, "next": "/accounts/"}
    )

    assert response["Location"] == "/accounts/"


def test_a_wrong_password_is_refused(client, user):
    response = sign_in(client, "alice", "wrong")

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.text
    assert client.get("/").status_code == 302


def test_sign_out_is_a_post(client, user):
    client.force_login(user)

    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")

    assert response["Location"] == "/login/"
    assert client.get("/").status_code == 302


# Lockouts after failed sign-ins: matches/tests/test_signin.py.


# --- sign-up --------------------------------------------------------------------------------


def test_sign_up_is_closed_by_default(client, settings):
    assert settings.ALLOW_SIGNUP is False

    assert client.get("/signup/").status_code == 404
    response = client.post(
        "/signup/", {"username": "mallory", "password1": PASSWORD, "password2": PASSWORD}
    )

    assert response.status_code == 404
    assert not get_user_model().objects.filter(username="mallory").exists()
    assert "/signup/" not in client.get("/login/").text


def test_open_sign_up_creates_a_user_and_signs_them_in(client, settings):
    settings.ALLOW_SIGNUP = True
    assert "/signup/" in client.get("/login/").text

    response = client.post(
        "/signup/", {"username": "carol", "password1": PASSWORD, "password2": PASSWORD}
    )

    assert response["Location"] == "/accounts/"
    assert get_user_model().objects.get(username="carol").check_password(PASSWORD)
    assert client.get("/accounts/").status_code == 200


def test_open_sign_up_still_validates_the_password(client, settings):
    settings.ALLOW_SIGNUP = True

    response = client.post("/signup/", {"username": "dave", "password1": "1", "password2": "1"})

    assert response.status_code == 200
    assert "This password is too short" in response.text
    assert not get_user_model().objects.filter(username="dave").exists()


# --- sign in through Steam ------------------------------------------------------------------


@pytest.fixture
def steam_backend():
    request = RequestFactory().get("/auth/complete/steam/")
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    return load_backend(load_strategy(request), "steam", redirect_uri="/auth/complete/steam/")


def test_steam_button_shows_only_when_steam_sign_in_is_enabled(client, settings):
    settings.STEAM_SIGN_IN_ENABLED = False
    assert "/auth/login/steam/" not in client.get("/login/").text

    settings.STEAM_SIGN_IN_ENABLED = True
    assert "Sign in through Steam" in client.get("/login/").text


def test_a_first_steam_sign_in_is_refused_while_sign_up_is_closed(steam_backend, settings):
    settings.ALLOW_SIGNUP = False

    with pytest.raises(SignUpClosed):
        refuse_new_user_unless_signup_allowed(steam_backend, user=None)


def test_a_first_steam_sign_in_may_create_a_user_when_sign_up_is_open(steam_backend, settings):
    settings.ALLOW_SIGNUP = True

    assert refuse_new_user_unless_signup_allowed(steam_backend, user=None) is None


def test_a_known_user_signs_in_through_steam_even_with_sign_up_closed(steam_backend, user):
    assert refuse_new_user_unless_signup_allowed(steam_backend, user=user) is None


def test_steam_sign_in_links_the_steam_account_to_the_user(steam_backend, user):
    link_steam_account(steam_backend, str(ACCOUNT_ID + STEAM_ID64_OFFSET), user=user)

    assert SteamAccount.objects.get(account_id=ACCOUNT_ID).owner == user


def test_steam_sign_in_links_the_account_verified(steam_backend, user, api):
    SteamAccount.objects.create(account_id=ACCOUNT_ID, owner=user)  # typed in before

    link_steam_account(steam_backend, str(ACCOUNT_ID + STEAM_ID64_OFFSET), user=user)

    assert SteamAccount.objects.get(account_id=ACCOUNT_ID).verified
    assert api.get("/api/accounts/").json()[0]["verified"] is True


def test_a_steam_proven_owner_takes_over_an_account_another_user_only_typed_in(
    client, steam_backend, user, other_user
):
    client.force_login(other_user)
    client.post("/accounts/", {"reference": str(ACCOUNT_ID)})
    squatted = SteamAccount.objects.get(account_id=ACCOUNT_ID)
    assert (squatted.owner, squatted.verified) == (other_user, False)

    link_steam_account(steam_backend, str(ACCOUNT_ID + STEAM_ID64_OFFSET), user=user)

    account = SteamAccount.objects.get(account_id=ACCOUNT_ID)
    assert (account.pk, account.owner, account.verified) == (squatted.pk, user, True)
    notes = [str(m) for m in get_messages(steam_backend.strategy.request)]
    assert any("Another user had linked it by typing its id" in note for note in notes)
    # bob is told once, on his Accounts page, and the account is gone from it.
    page = client.get("/accounts/").text
    assert f"Steam account {ACCOUNT_ID}, which you had linked by typing its id" in page
    assert "No Steam account linked yet." in page
    assert "which you had linked by typing" not in client.get("/accounts/").text


def test_steam_sign_in_leaves_an_account_another_user_proved_with_them(
    steam_backend, user, other_user
):
    SteamAccount.objects.create(account_id=ACCOUNT_ID, owner=other_user, verified=True)

    link_steam_account(steam_backend, str(ACCOUNT_ID + STEAM_ID64_OFFSET), user=user)

    assert SteamAccount.objects.get(account_id=ACCOUNT_ID).owner == other_user
    notes = [str(m) for m in get_messages(steam_backend.strategy.request)]
    assert any("another DotaSync user who proved it through Steam" in note for note in notes)


def test_a_broken_steam_answer_returns_to_sign_in_with_a_message(client, settings):
    settings.STEAM_SIGN_IN_ENABLED = True
    # No "?next=": the social views are exempt from LoginRequiredMiddleware, and a callback
    # without Steam's OpenID assertion is turned into a message, not a server error.
    response = client.get("/auth/complete/steam/", follow=True)

    assert response.redirect_chain == [("/login/", 302)]
    assert "The authentication provider returned an invalid response." in response.text


# --- the accounts page ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "reference",
    [
        str(ACCOUNT_ID),
        str(ACCOUNT_ID + STEAM_ID64_OFFSET),
        f"https://steamcommunity.com/profiles/{ACCOUNT_ID + STEAM_ID64_OFFSET}/",
        f"steamcommunity.com/profiles/{ACCOUNT_ID + STEAM_ID64_OFFSET}",
    ],
)
def test_linking_by_number_or_profile_url(signed_in, user, reference):
    response = signed_in.post("/accounts/", {"reference": reference}, follow=True)

    assert SteamAccount.objects.get(account_id=ACCOUNT_ID).owner == user
    assert f"Linked Steam account {ACCOUNT_ID}." in response.text
    assert str(ACCOUNT_ID + STEAM_ID64_OFFSET) in response.text  # listed with its SteamID64


def test_linking_a_vanity_url_asks_steam(signed_in, user, simulator):
    simulator.state.configure(vanity={"gaben_fan": ACCOUNT_ID})

    signed_in.post("/accounts/", {"reference": "https://steamcommunity.com/id/gaben_fan/"})

    assert SteamAccount.objects.get(account_id=ACCOUNT_ID).owner == user
    assert simulator.state.calls("vanity") == 1


def test_an_unknown_vanity_url_is_a_form_error(signed_in, simulator):
    response = signed_in.post("/accounts/", {"reference": "steamcommunity.com/id/nobody_here"})

    assert response.status_code == 200
    assert "No Steam profile is called" in response.text
    assert not SteamAccount.objects.exists()


@responses.activate
def test_a_vanity_url_when_steam_fails_is_a_form_error(signed_in, settings):
    settings.STEAM_API_KEY = "k"
    settings.STEAM_API_MIN_INTERVAL = 0
    responses.get(
        f"{settings.STEAM_API_BASE_URL}/ISteamUser/ResolveVanityURL/v1/", status=503, body=""
    )

    response = signed_in.post("/accounts/", {"reference": "steamcommunity.com/id/someone"})

    assert "Could not ask Steam about" in response.text
    assert not SteamAccount.objects.exists()


def test_a_vanity_url_without_a_steam_key_asks_for_the_number(signed_in, settings):
    settings.STEAM_API_KEY = ""

    response = signed_in.post("/accounts/", {"reference": "steamcommunity.com/id/someone"})

    assert "need a Steam API key" in response.text
    assert not SteamAccount.objects.exists()


@pytest.mark.parametrize(
    ("reference", "error"),
    [
        ("", "This field is required."),
        ("not an id", "is not a Steam account id"),
        ("https://example.com/profiles/1", "is not a Steam profile URL"),
        ("4294967295", "is neither a 32-bit account id nor a SteamID64"),
    ],
)
def test_bad_references_are_form_errors(signed_in, reference, error):
    response = signed_in.post("/accounts/", {"reference": reference})

    assert response.status_code == 200
    assert error in response.text
    assert not SteamAccount.objects.exists()


def test_typing_an_account_another_user_holds_does_not_say_who_or_that_a_user_does(
    signed_in, other_user
):
    SteamAccount.objects.create(account_id=ACCOUNT_ID, owner=other_user)

    response = signed_in.post("/accounts/", {"reference": str(ACCOUNT_ID)})

    assert response.status_code == 200
    assert f"Steam account {ACCOUNT_ID} is not one you can link by typing its id" in response.text
    assert "another" not in response.text.lower()
    assert "bob" not in response.text
    assert SteamAccount.objects.get(account_id=ACCOUNT_ID).owner == other_user


def test_the_page_marks_typed_links_unverified(signed_in, user):
    SteamAccount.objects.create(account_id=111, owner=user, verified=True)
    signed_in.post("/accounts/", {"reference": "222"})

    rows = signed_in.get("/accounts/").text.split('<tr role="row">')[2:]

    assert ["unverified</span>" in row for row in rows] == [False, True]


def test_the_page_lists_only_the_users_own_accounts(signed_in, user, other_user):
    SteamAccount.objects.create(account_id=111, persona_name="Mine", owner=user)
    SteamAccount.objects.create(account_id=222, persona_name="Bobs", owner=other_user)

    html = signed_in.get("/accounts/").text

    assert "Mine" in html
    assert "Bobs" not in html


# --- linking and syncing, and what the forms tell assistive technology ----------------------


def test_link_and_sync_starts_a_sync_without_changing_the_chosen_account(signed_in, user):
    first = SteamAccount.objects.create(account_id=ACCOUNT_ID, owner=user)
    signed_in.get("/matches/", {"account": ACCOUNT_ID})

    response = signed_in.post("/accounts/", {"reference": "1234", "then": "sync"}, follow=True)

    second = SteamAccount.objects.get(account_id=1234)
    job = SyncJob.objects.get()
    assert (job.account, job.job_type, job.status) == (second, JobType.INCREMENTAL, "pending")
    assert "Syncing 1234" in response.text
    assert re.search(
        r'1234(</span>)* (<span [^>]*>unverified</span> )?<span class="badge badge-running">'
        r"Syncing</span>",
        response.text,
    )
    assert UserSettings.objects.get(user=user).chosen_account == first


def test_link_only_starts_nothing(signed_in, user):
    signed_in.post("/accounts/", {"reference": str(ACCOUNT_ID)})

    assert SteamAccount.objects.get(account_id=ACCOUNT_ID).owner == user
    assert not SyncJob.objects.exists()


def described_by_targets(html: str) -> list[tuple[str, bool]]:
    """Every id an aria-describedby names, and whether the page has an element with it."""
    ids = re.findall(r'aria-describedby="([^"]+)"', html)
    return [(one, f'id="{one}"' in html) for many in ids for one in many.split()]


def test_every_aria_describedby_of_the_link_form_names_an_element(signed_in):
    for response in (
        signed_in.get("/accounts/"),
        signed_in.post("/accounts/", {"reference": "not an id"}),
    ):
        targets = described_by_targets(response.text)
        assert targets, "the field is described by its help"
        assert all(exists for _, exists in targets), targets
    assert ("id_reference_error", True) in targets


def test_error_lists_keep_list_semantics_inside_an_alert(client, user, settings):
    settings.ALLOW_SIGNUP = True
    sign_in_error = sign_in(client, "alice", "wrong").text
    sign_up_errors = client.post("/signup/", {"username": "", "password1": "x"}).text

    for html in (sign_in_error, sign_up_errors):
        assert not re.search(r'<ul[^>]*role="alert"', html)
        assert re.search(r'<div role="alert">\s*<ul class="errorlist', html)
        assert all(exists for _, exists in described_by_targets(html))


# --- the account limit ----------------------------------------------------------------------


def test_linking_beyond_the_account_limit_is_refused_on_the_page_and_in_the_api(
    signed_in, user, api, settings
):
    settings.MAX_ACCOUNTS_PER_USER = 2
    signed_in.post("/accounts/", {"reference": "111"})
    signed_in.post("/accounts/", {"reference": "222"})

    page = signed_in.post("/accounts/", {"reference": "333"})
    answer = api.post("/api/accounts/", {"account": "333"}, format="json")
    again = api.post("/api/accounts/", {"account": "222"}, format="json")  # already hers

    assert "You have 2 linked Steam accounts, the most one user may have" in page.text
    assert answer.status_code == 400
    assert "MAX_ACCOUNTS_PER_USER" in answer.json()["detail"]
    assert (again.status_code, again.json()["verified"]) == (201, False)
    assert not SteamAccount.objects.filter(account_id=333).exists()
    assert SteamAccount.objects.filter(owner=user).count() == 2


def test_a_steam_sign_in_beyond_the_account_limit_links_nothing_and_says_why(
    steam_backend, user, settings
):
    settings.MAX_ACCOUNTS_PER_USER = 1
    SteamAccount.objects.create(account_id=111, owner=user)

    link_steam_account(steam_backend, str(ACCOUNT_ID + STEAM_ID64_OFFSET), user=user)

    assert not SteamAccount.objects.filter(account_id=ACCOUNT_ID, owner=user).exists()
    notes = [str(m) for m in get_messages(steam_backend.strategy.request)]
    assert any("was not linked. You have 1 linked Steam accounts" in note for note in notes)


@pytest.mark.postgresql_only(reason="SQLite runs one writing transaction at a time anyway")
@pytest.mark.django_db(transaction=True)
def test_two_links_at_once_cannot_both_pass_the_account_limit(user, settings):
    settings.MAX_ACCOUNTS_PER_USER = 1
    outcome: list[object] = []

    def link_second() -> None:
        try:
            outcome.append(link_account(user, "222"))
        except TooManyAccounts as exc:
            outcome.append(exc)
        finally:
            connection.close()

    with transaction.atomic():  # the first link, not committed yet
        link_account(user, "111")
        racing = threading.Thread(target=link_second)
        racing.start()
        racing.join(timeout=1.0)
        assert racing.is_alive(), "the second link must wait for the first one's count"
    racing.join(timeout=10)

    assert [type(result) for result in outcome] == [TooManyAccounts]
    assert list(SteamAccount.objects.values_list("account_id", flat=True)) == [111]


def test_the_migration_marks_accounts_their_owners_sign_in_with_as_verified(user, other_user):
    migration = importlib.import_module(
        "matches.migrations.0010_steam_account_verified_and_account_notices"
    )
    proven = SteamAccount.objects.create(account_id=ACCOUNT_ID, owner=user)
    typed = SteamAccount.objects.create(account_id=111, owner=user)
    elsewhere = SteamAccount.objects.create(account_id=222, owner=other_user)
    UserSocialAuth.objects.create(user=user, provider="steam", uid=str(proven.steam_id64))
    UserSocialAuth.objects.create(user=user, provider="steam", uid=str(elsewhere.steam_id64))

    migration.verify_accounts_their_owners_sign_in_with(apps, None)

    verified = dict(SteamAccount.objects.values_list("account_id", "verified"))
    assert verified == {ACCOUNT_ID: True, typed.account_id: False, elsewhere.account_id: False}
