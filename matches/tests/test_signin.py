"""Sign-in lockouts over HTTP: per username from any address, per real client address when a
trusted proxy says which it is, on the admin's sign-in too, and never evicted by the cache."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client

from matches.identity.signin import DEVICE_COOKIE
from matches.models import SignInFailures
from matches.tests.match_builders import PASSWORD

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.1"
USER_LOCKED = "Too many failed sign-ins for this user; try again in"
ADDRESS_LOCKED = "Too many failed sign-ins from your address; try again in"


def sign_in(username: str, password: str, *, via: str = PROXY, forwarded: str | None = None):
    """A sign-in from a fresh browser; `forwarded` is the X-Forwarded-For a proxy passes on."""
    headers = {} if forwarded is None else {"HTTP_X_FORWARDED_FOR": forwarded}
    client = Client()
    response = client.post(
        "/login/", {"username": username, "password": password}, REMOTE_ADDR=via, **headers
    )
    return response, client


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def limits(settings):
    settings.SIGNIN_MAX_FAILURES = 5
    settings.SIGNIN_ADDRESS_MAX_FAILURES = 8
    settings.SIGNIN_FAILURE_WINDOW = 15 * 60
    return settings


def test_behind_a_proxy_guesses_from_many_addresses_lock_the_username(user, limits):
    for n in range(5):
        response, _ = sign_in("alice", f"guess-{n}", via=f"198.51.100.{n}", forwarded=f"1.2.3.{n}")
        assert "Please enter a correct username and password" in response.text

    response, client = sign_in("alice", PASSWORD, via="198.51.100.99")

    assert response.status_code == 200
    assert USER_LOCKED in response.text
    assert "try again in 15 minutes." in response.text
    assert not signed_in(client)


def test_one_users_lockout_leaves_the_others_behind_the_same_proxy_alone(user, other_user, limits):
    for n in range(5):
        sign_in("alice", f"guess-{n}")

    response, client = sign_in("bob", PASSWORD)

    assert response.status_code == 302
    assert signed_in(client)


def test_without_a_trusted_proxy_setting_the_proxys_address_locks_nobody_out(
    user, other_user, limits
):
    limits.TRUSTED_PROXY_COUNT = None
    # More failures than an address may have, every one through the proxy, over several users.
    for n in range(10):
        sign_in(f"nobody-{n}", "guess")

    assert sign_in("bob", PASSWORD)[0].status_code == 302
    assert not SignInFailures.objects.filter(scope="address").exists()


def test_a_trusted_proxy_header_locks_out_one_client_trying_many_usernames(user, limits):
    limits.TRUSTED_PROXY_COUNT = 1
    for n in range(8):
        # The client's own X-Forwarded-For entries are left of the one the proxy appended.
        sign_in(f"user-{n}", "guess", forwarded=f"192.0.2.{n}, 203.0.113.9")

    locked, client = sign_in("alice", PASSWORD, forwarded="203.0.113.9")
    someone_else, other_client = sign_in("alice", PASSWORD, forwarded="203.0.113.10")

    assert ADDRESS_LOCKED in locked.text
    assert not signed_in(client)
    assert someone_else.status_code == 302
    assert signed_in(other_client)


def test_with_no_proxy_the_connections_address_is_the_clients(user, limits):
    limits.TRUSTED_PROXY_COUNT = 0
    for n in range(8):
        sign_in(f"user-{n}", "guess", via="203.0.113.9", forwarded=f"192.0.2.{n}")

    assert ADDRESS_LOCKED in sign_in("alice", PASSWORD, via="203.0.113.9")[0].text
    assert sign_in("alice", PASSWORD, via="203.0.113.10")[0].status_code == 302


def test_the_admin_sign_in_locks_out_like_the_sign_in_page(db, limits):
    get_user_model().objects.create_superuser("root", password=PASSWORD)
    admin = Client()
    for n in range(5):
        response = admin.post(
            "/admin/login/", {"username": "root", "password": f"guess-{n}"}, REMOTE_ADDR=PROXY
        )
        assert response.status_code == 200

    response = admin.post(
        "/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD}, REMOTE_ADDR=PROXY
    )

    assert response.status_code == 200
    assert USER_LOCKED in response.text
    assert admin.get("/admin/").status_code == 302
    # The one sign-in page counts for both: the lockout holds on /login/ too.
    assert USER_LOCKED in sign_in("root", PASSWORD)[0].text


def test_a_right_password_without_staff_rights_counts_no_failure_on_the_admin(user, limits):
    for _ in range(6):
        Client().post("/admin/login/", {"username": "alice", "password": PASSWORD})

    assert sign_in("alice", PASSWORD)[0].status_code == 302


def test_filling_the_cache_evicts_no_lockout(user, limits):
    for n in range(5):
        sign_in("alice", f"guess-{n}")

    # What stats entries filling the size-capped cache do to older entries, to all at once.
    cache.clear()

    assert USER_LOCKED in sign_in("alice", PASSWORD)[0].text


def test_the_lockout_ends_with_its_window_and_says_how_long_is_left(user, limits):
    for n in range(5):
        sign_in("alice", f"guess-{n}")
    rows = SignInFailures.objects.filter(scope="username", subject="alice")
    rows.update(window_started_at=rows.get().window_started_at - timedelta(minutes=14, seconds=30))

    assert "try again in 1 minute." in sign_in("alice", PASSWORD)[0].text

    rows.update(window_started_at=rows.get().window_started_at - timedelta(minutes=1))
    assert sign_in("alice", PASSWORD)[0].status_code == 302


def test_the_right_password_forgets_the_usernames_failures_but_a_missing_one_does_not(user, limits):
    for username in ("alice", "ALICE", " Alice", "alicE "):  # one username, however typed
        sign_in(username, "guess")
    sign_in("alice", "")  # no password: the form refuses it before any check
    assert SignInFailures.objects.get(scope="username", subject="alice").failures == 4

    assert sign_in("alice", PASSWORD)[0].status_code == 302

    assert not SignInFailures.objects.filter(subject="alice").exists()
    for n in range(4):
        sign_in("alice", f"guess-{n}")
    assert sign_in("alice", PASSWORD)[0].status_code == 302


def test_a_locked_out_username_gets_no_password_checked(user, limits):
    for n in range(5):
        sign_in("alice", f"guess-{n}")

    for n in range(3):
        sign_in("alice", f"more-{n}")

    # Refused attempts count no further, so the window still ends on time.
    assert SignInFailures.objects.get(scope="username", subject="alice").failures == 5


# --- a browser that signed in before ---------------------------------------------------------


def known_browser(username: str = "alice") -> Client:
    """A browser that signed in as `username` and signed out again: it keeps its cookie."""
    response, client = sign_in(username, PASSWORD)
    assert response.status_code == 302
    assert DEVICE_COOKIE in response.cookies
    assert response.cookies[DEVICE_COOKIE]["httponly"]
    client.post("/logout/")
    return client


def sign_in_with(client: Client, username: str, password: str, via: str = PROXY):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=via)


def test_a_browser_that_signed_in_before_is_not_locked_out_by_someone_elses_guesses(user, limits):
    mine = known_browser()
    for n in range(5):
        sign_in("alice", f"guess-{n}", via=f"198.51.100.{n}")
    assert USER_LOCKED in sign_in("alice", PASSWORD)[0].text  # any other browser is refused

    response = sign_in_with(mine, "alice", PASSWORD)

    assert response.status_code == 302
    assert signed_in(mine)


def test_a_known_browser_has_guesses_of_its_own_and_no_more(user, limits):
    mine = known_browser()
    for n in range(5):
        assert USER_LOCKED not in sign_in_with(mine, "alice", f"guess-{n}").text

    assert USER_LOCKED in sign_in_with(mine, "alice", PASSWORD).text
    # Its failures were its own: the username is not locked for other browsers.
    assert sign_in("alice", PASSWORD)[0].status_code == 302


def test_a_cookie_for_another_user_or_a_forged_one_counts_for_nothing(user, other_user, limits):
    bobs = known_browser("bob")
    forged = Client()
    forged.cookies[DEVICE_COOKIE] = "eyJ1c2VyIjoiYWxpY2UiLCJkZXZpY2UiOiJ4In0:forged:signature"
    for n in range(5):
        sign_in("alice", f"guess-{n}")

    assert USER_LOCKED in sign_in_with(bobs, "alice", PASSWORD).text
    assert USER_LOCKED in sign_in_with(forged, "alice", PASSWORD).text
