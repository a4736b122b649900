import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from matches.management.commands.bootstrap_demo import DEMO_ACCOUNT_ID
from matches.models import SteamAccount

pytestmark = pytest.mark.django_db


def run_bootstrap(*args: str) -> str:
    out = StringIO()
    call_command("bootstrap_demo", *args, stdout=out)
    return out.getvalue()


def printed_password(output: str) -> str:
    found = re.search(r"password '([^']+)'", output)
    assert found, output
    return found.group(1)


def test_creates_demo_user_with_a_printed_password_and_links_the_account(settings):
    settings.DEMO_MODE = True

    output = run_bootstrap()

    user = get_user_model().objects.get(username="demo")
    assert user.check_password(printed_password(output))
    account = SteamAccount.objects.get(account_id=DEMO_ACCOUNT_ID)
    assert account.owner == user
    assert account.persona_name == "Demo Player"


def test_second_run_changes_nothing_and_prints_no_password(settings):
    settings.DEMO_MODE = True
    password = printed_password(run_bootstrap())

    output = run_bootstrap()

    assert "already exists" in output
    assert password not in output
    assert "password '" not in output
    assert get_user_model().objects.filter(username="demo").count() == 1
    assert get_user_model().objects.get(username="demo").check_password(password)
    assert SteamAccount.objects.filter(account_id=DEMO_ACCOUNT_ID).count() == 1


def test_each_new_demo_user_gets_its_own_password(settings):
    settings.DEMO_MODE = True
    first = printed_password(run_bootstrap())
    get_user_model().objects.filter(username="demo").delete()

    second = printed_password(run_bootstrap())

    assert first != second


def test_does_nothing_outside_demo_mode(settings):
    settings.DEMO_MODE = False

    output = run_bootstrap()

    assert "--force" in output
    assert not get_user_model().objects.filter(username="demo").exists()
    assert not SteamAccount.objects.filter(account_id=DEMO_ACCOUNT_ID).exists()


def test_force_bootstraps_outside_demo_mode(settings):
    settings.DEMO_MODE = False

    output = run_bootstrap("--force")

    user = get_user_model().objects.get(username="demo")
    assert user.check_password(printed_password(output))
    assert SteamAccount.objects.get(account_id=DEMO_ACCOUNT_ID).owner == user


def test_keeps_an_existing_account_and_its_owner(settings):
    settings.DEMO_MODE = True
    someone = get_user_model().objects.create_user(username="someone")
    SteamAccount.objects.create(account_id=DEMO_ACCOUNT_ID, owner=someone, persona_name="Mine")

    output = run_bootstrap()

    account = SteamAccount.objects.get(account_id=DEMO_ACCOUNT_ID)
    assert (account.owner, account.persona_name) == (someone, "Mine")
    assert f"Steam account {DEMO_ACCOUNT_ID} already exists" in output
