"""STRATZ as a third source, through a sync against the simulator: what it lists and adds
(IMP, position, lane outcome) reaches the API and the match page; a refused token charges no
match and names STRATZ_API_TOKEN; without a token STRATZ is never asked."""

import pytest
import responses
from django.core.management import call_command

from matches.models import LaneOutcome, Match, MatchPlayer
from matches.tests.match_builders import ACCOUNT_ID
from matches.upstream import ratelimit
from matches.upstream.client import STRATZ
from syncjobs.health import check_health, summary_lines
from syncjobs.models import JobStatus, SyncJob

# Phase 2 runs on threads with their own connections: the data must be committed.
pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]


def test_stratz_alone_lists_and_fetches_every_match_with_its_own_facts(
    stratz, account, settings, set_matches, sync
):
    settings.SYNC_ID_SOURCES = ["stratz"]
    settings.SYNC_DETAIL_SOURCES = ["stratz"]
    set_matches(130)  # two pages of 100

    job = sync(account)

    assert job.status == JobStatus.COMPLETED, job.error_message
    assert job.ids_found == 130
    assert job.sources == {"stratz": 130}
    assert Match.objects.for_account(account).complete().count() == 130
    assert set(Match.objects.values_list("details_source", flat=True)) == {"stratz"}
    mine = MatchPlayer.objects.filter(account_id=ACCOUNT_ID)
    assert mine.count() == 130
    assert not mine.filter(imp__isnull=True).exists()
    assert set(mine.values_list("position", flat=True)) <= {1, 2, 3, 4, 5}
    assert set(mine.values_list("lane_outcome", flat=True)) <= set(LaneOutcome.values)
    # 2 listing pages, 130 matches: nothing asked twice.
    assert stratz.state.calls("stratz") == 132


def test_the_api_and_the_match_page_show_what_stratz_adds(
    stratz, account, settings, set_matches, sync, api, signed_in
):
    settings.SYNC_DETAIL_SOURCES = ["stratz"]
    set_matches(5)
    sync(account)
    player = MatchPlayer.objects.filter(account_id=ACCOUNT_ID, position__isnull=False).first()
    assert player is not None

    answer = api.get(f"/api/matches/{player.match_id}/").json()
    row = next(p for p in answer["players"] if p["player_slot"] == player.player_slot)
    assert (row["imp"], row["position"], row["lane_outcome"]) == (
        player.imp,
        player.position,
        player.lane_outcome,
    )
    page = signed_in.get(f"/matches/{player.match_id}/").content.decode()
    assert f"Pos {player.position}" in page
    assert f"IMP</abbr> {'+' if player.imp > 0 else ''}{player.imp}" in page


def test_the_three_listings_together_find_every_match(stratz, account, set_matches, sync):
    set_matches(700)  # past Steam's 500: OpenDota and STRATZ list the rest
    stratz.state.configure(details_broken=True)

    job = sync(account)

    assert job.status == JobStatus.COMPLETED, job.error_message
    assert job.ids_found == 700
    assert Match.objects.for_account(account).complete().count() == 700
    assert stratz.state.calls("stratz") > 0


def test_another_sources_later_fetch_keeps_stratzs_facts(
    stratz, account, settings, set_matches, sync
):
    settings.SYNC_DETAIL_SOURCES = ["stratz"]
    set_matches(3)
    sync(account)
    before = dict(MatchPlayer.objects.values_list("pk", "imp"))
    stratz.state.reset()

    settings.SYNC_DETAIL_SOURCES = ["opendota"]
    job = sync(account)  # a full sync fetches the complete matches again

    assert job.sources == {"opendota": 3}
    assert set(Match.objects.values_list("details_source", flat=True)) == {"opendota"}
    assert dict(MatchPlayer.objects.values_list("pk", "imp")) == before
    assert None not in before.values()


@pytest.mark.parametrize("token", ["e30.e30.c2ln", "not-a-jwt"])
def test_a_refused_token_charges_no_match_and_names_the_setting(
    stratz, account, settings, set_matches, sync, token
):
    """A JWT with a bad signature gets 403 from Kong, a malformed token 500: STRATZ is
    switched off, every match comes from the other sources, none is charged."""
    settings.STRATZ_API_TOKEN = token
    settings.SYNC_DETAIL_SOURCES = ["stratz", "opendota"]
    set_matches(20)

    job = sync(account)

    assert job.status == JobStatus.COMPLETED, job.error_message
    assert "STRATZ_API_TOKEN" in job.message
    assert Match.objects.for_account(account).complete().count() == 20
    assert not Match.objects.filter(retry_count__gt=0).exists()
    assert not Match.objects.exclude(fetch_error="").exists()
    assert "STRATZ_API_TOKEN" in (ratelimit.disabled_reason(STRATZ) or "")
    report = check_health()
    assert report["sources"]["stratz"]["switched_off"]
    assert any("STRATZ_API_TOKEN" in line for line in summary_lines(report))
    # The next job does not even ask: the switched-off source is skipped and says why.
    calls = stratz.state.calls("stratz")
    sync(account)
    assert stratz.state.calls("stratz") == calls
    assert "STRATZ_API_TOKEN" in SyncJob.objects.latest("pk").message


def test_a_refused_token_with_stratz_as_the_only_detail_source_defers(
    stratz, account, settings, set_matches, sync
):
    settings.STRATZ_API_TOKEN = "not-a-jwt"
    settings.SYNC_DETAIL_SOURCES = ["stratz"]
    set_matches(5)

    job = sync(account)

    assert "STRATZ_API_TOKEN" in (job.message + job.error_message)
    assert not Match.objects.filter(retry_count__gt=0).exists()
    assert not Match.objects.exclude(fetch_error="").exists()


def test_stratzs_used_up_day_switches_it_off_until_the_reset(
    stratz, account, settings, set_matches, sync
):
    """The answer that says nothing is left today is the last call: no 429 is asked for,
    the rest wait uncharged for another source or the reset."""
    settings.SYNC_ID_SOURCES = ["opendota"]
    settings.SYNC_DETAIL_SOURCES = ["stratz"]
    settings.STRATZ_MIN_INTERVAL = 0.001  # a paced bucket: its reservation sees the switch
    stratz.state.configure(stratz_limits={"day": 8})
    set_matches(20)

    job = sync(account)

    assert job.sources == {"stratz": 8}
    assert stratz.state.calls("stratz") == 8
    assert Match.objects.for_account(account).complete().count() == 8
    assert not Match.objects.exclude(fetch_error="").exists()  # the other 12 wait as stubs
    assert "STRATZ's daily API limit is used up" in (ratelimit.disabled_reason(STRATZ) or "")
    assert not Match.objects.filter(retry_count__gt=0).exists()


def test_without_a_token_stratz_is_never_asked(simulator, account, settings, set_matches):
    """The default: no STRATZ_API_TOKEN, so no STRATZ call, and the sources are as before."""
    assert settings.STRATZ_API_TOKEN == ""
    assert "stratz" not in settings.SYNC_ID_SOURCES
    assert "stratz" not in settings.SYNC_DETAIL_SOURCES
    set_matches(10)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(simulator.base_url)
        real = mock.post(settings.STRATZ_API_BASE_URL, json={"data": {}})

        call_command("sync_matches", str(ACCOUNT_ID), "--full")

    assert real.call_count == 0
    assert simulator.state.calls("stratz") == 0
    job = SyncJob.objects.get()
    assert job.status == JobStatus.COMPLETED
    assert "stratz" not in job.sources
    assert "stratz" not in check_health()["sources"]
