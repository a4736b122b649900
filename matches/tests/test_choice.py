"""The account the pages show: the one the user chose, kept per user, in the URL of pages
filtered by it; linking another account never changes it."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from matches.models import UserSettings
from matches.tests.match_builders import complete_match, make_account

pytestmark = pytest.mark.django_db

FIRST = 86745912
LOWER = 1234  # sorts before FIRST
PAGES = ["dashboard", "match_list", "teammates", "stats"]


@pytest.fixture
def user():
    return get_user_model().objects.create_user("alice", password="pw-not-used")


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def first(user):
    account = make_account(FIRST, owner=user, persona_name="First")
    complete_match(1, account, won=True)
    return account


def shown(html: str) -> int:
    """The account a page shows: the one its navigation links carry."""
    marker = f'href="{reverse("match_list")}?account='
    return int(html.split(marker, 1)[1].split('"', 1)[0])


@pytest.mark.parametrize("name", PAGES)
def test_an_account_linked_later_does_not_take_over(signed_in, user, first, name):
    make_account(LOWER, owner=user, persona_name="Smurf")

    html = signed_in.get(reverse(name)).text

    assert shown(html) == FIRST
    assert f'<option value="{FIRST}" selected>' in html


def test_choosing_an_account_on_one_page_keeps_it_on_every_page(signed_in, user, first):
    make_account(LOWER, owner=user, persona_name="Smurf")

    signed_in.get(reverse("teammates"), {"account": LOWER})

    for name in PAGES:
        html = signed_in.get(reverse(name)).text
        assert shown(html) == LOWER, name
        assert f'<option value="{LOWER}" selected>' in html, name
    assert UserSettings.objects.get(user=user).chosen_account.account_id == LOWER


def test_the_choice_is_per_user(signed_in, user, first, client):
    bob = get_user_model().objects.create_user("bob")
    bobs = make_account(555, owner=bob)
    make_account(LOWER, owner=user)
    signed_in.get(reverse("stats"), {"account": LOWER})
    client.force_login(bob)

    assert shown(client.get(reverse("stats")).text) == bobs.account_id


def test_an_unlinked_choice_falls_back_to_the_account_linked_first(signed_in, user, first):
    smurf = make_account(LOWER, owner=user)
    signed_in.get(reverse("match_list"), {"account": LOWER})

    smurf.delete()

    assert shown(signed_in.get(reverse("match_list")).text) == FIRST


def test_opening_a_page_for_the_chosen_account_writes_nothing(signed_in, user, first):
    signed_in.get(reverse("stats"), {"account": FIRST})
    assert UserSettings.objects.get(user=user).chosen_account_id == first.pk

    with CaptureQueriesContext(connection) as queries:
        signed_in.get(reverse("stats"), {"account": FIRST})

    writes = [q["sql"] for q in queries if q["sql"].startswith(("INSERT", "UPDATE"))]
    assert not [sql for sql in writes if "usersettings" in sql], writes


def test_pages_of_other_kinds_link_to_the_chosen_account(signed_in, user, first):
    make_account(LOWER, owner=user)
    signed_in.get(reverse("stats"), {"account": LOWER})

    for url in (reverse("accounts"), reverse("user_settings"), reverse("match_detail", args=[1])):
        assert shown(signed_in.get(url).text) == LOWER, url
