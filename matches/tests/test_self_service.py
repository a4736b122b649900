"""On the Accounts page a user manages their own API token and unlinks Steam accounts."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from matches.identity import api_tokens
from matches.models import AccountMatch, ApiToken, Match, MatchPlayer, SteamAccount
from matches.tests.match_builders import complete_match, make_account, stub_match
from syncjobs.models import JobStatus, JobType, SyncJob

pytestmark = pytest.mark.django_db

MAIN = 1001
SMURF = 1002
BOBS = 2002
UNOWNED = 3003
ONLY_MAIN = 7_000_000_001
WITH_SMURF = 7_000_000_002
WITH_BOB = 7_000_000_003
WITH_UNOWNED = 7_000_000_004
ONLY_SMURF = 7_000_000_005
STUB_ONLY_MAIN = 7_000_000_006


def signed_in(username: str, **client_options) -> Client:
    user = get_user_model().objects.get_or_create(username=username)[0]
    client = Client(**client_options)
    client.force_login(user)
    return client


@pytest.fixture
def alice() -> Client:
    return signed_in("alice")


@pytest.fixture
def bob() -> Client:
    return signed_in("bob")


def api_status(key: str) -> int:
    return Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/accounts/").status_code


def shown_new_token(page: str) -> str | None:
    found = re.search(r'id="new-api-token" class="mono" value="([0-9a-f]+)"', page)
    return found.group(1) if found else None


# --- the API token -------------------------------------------------------------------------------


def test_create_see_once_use_and_revoke_a_token(alice):
    page = alice.get("/accounts/").content.decode()
    assert "<title>Accounts · DotaSync</title>" in page
    assert "No API token." in page
    assert "Create API token</button>" in page

    created = alice.post("/accounts/token/", follow=True)

    assert created.redirect_chain == [("/accounts/#api-token", 302)]
    key = shown_new_token(created.content.decode())
    # Stored as its hash only: the database cannot give the key back.
    stored = ApiToken.objects.get(user__username="alice")
    assert stored.digest == api_tokens.digest_of(key)
    assert key not in (stored.digest, stored.prefix)
    assert "Copy it now: DotaSync shows it this once." in created.content.decode()
    assert api_status(key) == 200

    # Shown once: afterwards only that a token exists, and the start of its key.
    again = alice.get("/accounts/").content.decode()
    assert shown_new_token(again) is None
    assert key not in again
    assert f"starting with <code>{key[:6]}…</code>" in again

    revoked = alice.post("/accounts/token/revoke/", follow=True)

    assert "API token revoked" in revoked.content.decode()
    assert not ApiToken.objects.filter(user__username="alice").exists()
    assert api_status(key) == 401
    assert "Create API token</button>" in revoked.content.decode()


def test_a_second_create_does_not_replace_the_token_being_copied(alice):
    key = shown_new_token(alice.post("/accounts/token/", follow=True).content.decode())

    page = alice.post("/accounts/token/", follow=True).content.decode()

    assert "You already have an API token; revoke it to make a new one." in page
    assert ApiToken.objects.get(user__username="alice").digest == api_tokens.digest_of(key)
    assert api_status(key) == 200


def test_revoking_touches_only_ones_own_token(alice, bob):
    # The page that shows the new key once.
    bobs_key = shown_new_token(bob.post("/accounts/token/", follow=True).content.decode())

    alice.post("/accounts/token/")
    alice.post("/accounts/token/revoke/")

    assert api_status(bobs_key) == 200
    bobs_page = bob.get("/accounts/").content.decode()
    assert f"starting with <code>{bobs_key[:6]}…</code>" in bobs_page


def test_the_page_that_can_show_a_token_is_never_cached(alice):
    assert "no-store" in alice.get("/accounts/")["Cache-Control"]


def test_token_changes_need_the_csrf_token(alice):
    guarded = signed_in("alice", enforce_csrf_checks=True)
    guarded.get("/accounts/")

    assert guarded.post("/accounts/token/").status_code == 403
    assert not ApiToken.objects.filter(user__username="alice").exists()
    alice.post("/accounts/token/")
    assert guarded.post("/accounts/token/revoke/").status_code == 403
    assert ApiToken.objects.filter(user__username="alice").exists()
    token = guarded.cookies["csrftoken"].value
    assert (
        guarded.post("/accounts/token/revoke/", {"csrfmiddlewaretoken": token}).status_code == 302
    )
    assert not ApiToken.objects.filter(user__username="alice").exists()


def test_an_admin_made_token_shows_as_existing(alice):
    key = api_tokens.create_token(get_user_model().objects.get(username="alice"))

    page = alice.get("/accounts/").content.decode()

    assert key not in page
    assert f"starting with <code>{key[:6]}…</code>" in page
    assert "Revoke token</button>" in page


# --- unlinking a Steam account -------------------------------------------------------------------


@pytest.fixture
def history(alice, bob) -> dict[str, SteamAccount]:
    """Alice's main account shares matches with her smurf, with Bob and with an unowned account."""
    users = get_user_model().objects
    main = make_account(MAIN, owner=users.get(username="alice"), persona_name="Main")
    smurf = make_account(SMURF, owner=users.get(username="alice"))
    bobs = make_account(BOBS, owner=users.get(username="bob"))
    unowned = make_account(UNOWNED)  # synced by `sync_matches` from the command line
    complete_match(ONLY_MAIN, main, won=True)
    stub_match(STUB_ONLY_MAIN, main)
    for match_id, other in ((WITH_SMURF, smurf), (WITH_BOB, bobs), (WITH_UNOWNED, unowned)):
        AccountMatch.objects.create(account=other, match=complete_match(match_id, main, won=False))
    complete_match(ONLY_SMURF, smurf, won=True)
    SyncJob.objects.create(account=main, job_type=JobType.FULL, status=JobStatus.COMPLETED)
    return {"main": main, "smurf": smurf, "bobs": bobs, "unowned": unowned}


def test_the_accounts_page_links_to_unlinking_each_account(alice, history):
    page = alice.get("/accounts/").content.decode()

    assert f'<a href="/accounts/{MAIN}/unlink/" aria-label="Unlink Main">Unlink</a>' in page
    assert f'<a href="/accounts/{SMURF}/unlink/" aria-label="Unlink {SMURF}">Unlink</a>' in page


def test_unlinking_asks_first_and_says_what_goes_and_what_stays(alice, history):
    page = alice.get(f"/accounts/{MAIN}/unlink/").content.decode()
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())

    assert "Unlink Main?" in text
    assert "2 matches only this account played, with their players and details" in text
    assert "the account's 1 sync job " in text
    assert "3 matches another account also played stay for that account." in text
    assert "Unlink and delete</button>" in page
    # Nothing has happened yet.
    assert SteamAccount.objects.filter(account_id=MAIN).exists()


def test_unlinking_deletes_the_accounts_own_matches_and_keeps_shared_ones(alice, history):
    response = alice.post(f"/accounts/{MAIN}/unlink/", follow=True)

    assert response.redirect_chain == [("/accounts/", 302)]
    assert (
        f"Unlinked Steam account {MAIN}: 2 of its matches deleted, 3 kept because another "
        "account played them too." in response.content.decode()
    )
    assert not SteamAccount.objects.filter(account_id=MAIN).exists()
    assert not SyncJob.objects.filter(account__account_id=MAIN).exists()
    assert not AccountMatch.objects.filter(account__account_id=MAIN).exists()
    remaining = set(Match.objects.values_list("match_id", flat=True))
    assert remaining == {WITH_SMURF, WITH_BOB, WITH_UNOWNED, ONLY_SMURF}
    # Shared matches keep their ten players and their details.
    for match_id in (WITH_SMURF, WITH_BOB, WITH_UNOWNED):
        assert MatchPlayer.objects.filter(match_id=match_id).count() == 10
        assert Match.objects.get(match_id=match_id).has_details is True
    assert not MatchPlayer.objects.filter(match_id=ONLY_MAIN).exists()
    # The other accounts still have all their matches.
    assert set(Match.objects.for_account(history["smurf"]).values_list("pk", flat=True)) == {
        WITH_SMURF,
        ONLY_SMURF,
    }
    assert list(Match.objects.for_account(history["bobs"]).values_list("pk", flat=True)) == [
        WITH_BOB
    ]
    assert f"/accounts/{MAIN}/unlink/" not in response.content.decode()


def test_an_unlinked_account_can_be_linked_again(alice, history):
    alice.post(f"/accounts/{MAIN}/unlink/")

    response = alice.post("/accounts/", {"reference": str(MAIN)}, follow=True)

    assert f"Linked Steam account {MAIN}." in response.content.decode()
    assert SteamAccount.objects.get(account_id=MAIN).owner.username == "alice"


def test_someone_elses_account_cannot_be_unlinked(bob, history):
    assert bob.get(f"/accounts/{MAIN}/unlink/").status_code == 404
    assert bob.post(f"/accounts/{MAIN}/unlink/").status_code == 404
    assert bob.post(f"/accounts/{UNOWNED}/unlink/").status_code == 404

    assert SteamAccount.objects.filter(account_id__in=[MAIN, UNOWNED]).count() == 2
    assert Match.objects.count() == 6


@pytest.mark.parametrize("status", [JobStatus.PENDING, JobStatus.RUNNING])
def test_an_account_that_is_syncing_is_not_unlinked(alice, history, status):
    SyncJob.objects.create(account=history["main"], job_type=JobType.INCREMENTAL, status=status)

    page = alice.get(f"/accounts/{MAIN}/unlink/").content.decode()
    refused = alice.post(f"/accounts/{MAIN}/unlink/", follow=True)

    assert "This account has a sync waiting or running." in page
    assert "Unlink and delete</button>" not in page
    assert refused.redirect_chain == [(f"/accounts/{MAIN}/unlink/", 302)]
    assert "has a sync waiting or running: cancel it" in refused.content.decode()
    assert SteamAccount.objects.filter(account_id=MAIN).exists()
    assert Match.objects.count() == 6


def test_unlinking_needs_the_csrf_token(history):
    guarded = signed_in("alice", enforce_csrf_checks=True)

    assert guarded.post(f"/accounts/{MAIN}/unlink/").status_code == 403
    assert SteamAccount.objects.filter(account_id=MAIN).exists()
