"""The Django admin: account, match and job pages, the details filter and the cancel action."""

import pytest
from django.urls import reverse

from matches.models import AccountMatch, Match, MatchPlayer, SteamAccount
from matches.tests.match_builders import ACCOUNT_ID
from syncjobs import engine
from syncjobs.models import JobStatus, JobType, SyncJob


@pytest.fixture
def matches(account):
    for match_id, has_details in [(101, None), (102, True), (103, False)]:
        match = Match.objects.create(
            match_id=match_id, has_details=has_details, fetch_error="" if has_details else "x"
        )
        AccountMatch.objects.create(account=account, match=match)
    MatchPlayer.objects.create(
        match_id=102, player_slot=0, is_radiant=True, account_id=ACCOUNT_ID, hero_id=1, kills=7
    )


def changelist(client, model, **params):
    return client.get(reverse(f"admin:{model}_changelist"), params)


def listed_match_ids(response):
    return {m.match_id for m in response.context["cl"].result_list}


def test_matches_filter_by_details_status(admin_client, matches):
    assert listed_match_ids(changelist(admin_client, "matches_match")) == {101, 102, 103}
    for status, expected in [("pending", 101), ("complete", 102), ("failed", 103)]:
        response = changelist(admin_client, "matches_match", details=status)
        assert listed_match_ids(response) == {expected}


def test_matches_search_by_id_and_show_players_inline(admin_client, matches):
    assert listed_match_ids(changelist(admin_client, "matches_match", q="102")) == {102}

    page = admin_client.get(reverse("admin:matches_match_change", args=[102]))

    assert page.status_code == 200
    assert str(ACCOUNT_ID) in page.content.decode()
    assert "Match players" in page.content.decode()


def test_accounts_page_lists_and_searches(admin_client, account):
    response = changelist(admin_client, "matches_steamaccount", q=str(ACCOUNT_ID))

    assert [a.account_id for a in response.context["cl"].result_list] == [ACCOUNT_ID]
    assert "76561198047011640" in response.content.decode()  # the SteamID64


def test_jobs_filter_and_cancel_action(admin_client, account):
    pending = engine.create_job(account, JobType.FULL)
    other = SteamAccount.objects.create(account_id=5)
    done = engine.create_job(other, JobType.INCREMENTAL)
    SyncJob.objects.filter(pk=done.pk).update(status=JobStatus.COMPLETED)

    filtered = changelist(admin_client, "syncjobs_syncjob", status="pending")
    assert [j.pk for j in filtered.context["cl"].result_list] == [pending.pk]

    response = admin_client.post(
        reverse("admin:syncjobs_syncjob_changelist"),
        {"action": "cancel_jobs", "_selected_action": [pending.pk, done.pk]},
        follow=True,
    )

    pending.refresh_from_db()
    assert pending.status == JobStatus.CANCELLED
    text = response.content.decode()
    assert "Asked 1 job(s) to cancel." in text
    assert "1 job(s) had already ended." in text


def test_jobs_cannot_be_added_by_hand(admin_client, db):
    assert admin_client.get(reverse("admin:syncjobs_syncjob_add")).status_code == 403


def test_the_account_action_gives_used_up_matches_their_attempts_back(admin_client, matches):
    Match.objects.filter(pk=103).update(retry_count=3)
    other = Match.objects.create(match_id=104, has_details=False, retry_count=1, fetch_error="x")
    AccountMatch.objects.create(account=SteamAccount.objects.get(), match=other)

    response = admin_client.post(
        reverse("admin:matches_steamaccount_changelist"),
        {
            "action": "give_attempts_back",
            "_selected_action": [SteamAccount.objects.get().pk],
        },
        follow=True,
    )

    assert "1 failed match(es) are waiting for details again" in response.content.decode()
    assert Match.objects.get(pk=103).has_details is None
    assert Match.objects.get(pk=104).retry_count == 1  # attempts left: untouched
