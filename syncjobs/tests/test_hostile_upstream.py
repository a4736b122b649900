"""Syncs against a hostile upstream (matches.tests.hostile_upstream, in front of the simulator).

A bad value in an answer is stored without it or refuses that one match, saying why, while
the job goes on and the match's other sources are asked; a trickling or endless answer is
cut like a timeout (no attempt counted) and a cancel still ends the job at once; a redirect
is not followed.
"""

import math
import threading
import time
from collections.abc import Iterator

import pytest
from django.db import connection

from matches.models import Match, MatchPlayer, Player
from matches.tests.hostile_upstream import (
    HostileServer,
    endless,
    hostile_server,
    redirected,
    replaced,
    spoiled,
    trickled,
)
from matches.tests.match_builders import ACCOUNT_ID
from syncjobs import engine
from syncjobs.models import JobStatus, JobType
from tests.processes import wait_for

pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]

STEAM_DETAILS = r"/IDOTA2Match_570/GetMatchDetails/"
OPENDOTA_MATCH = r"/api/matches/\d+"
OPENDOTA_ANY = r"/api/"
NESTED = b'{"result": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


@pytest.fixture
def hostile(settings, simulator) -> Iterator[HostileServer]:
    """Steam's and OpenDota's base URLs point at a hostile server in front of the simulator
    (each test says which sources it uses)."""
    with hostile_server(simulator) as server:
        settings.STEAM_API_BASE_URL = server.base_url
        settings.OPENDOTA_API_BASE_URL = server.opendota_url
        yield server


def account_matches(account):
    return Match.objects.for_account(account)


def test_nul_and_nan_in_steam_details_are_stored_without_them(
    settings, account, set_matches, sync, hostile
):
    settings.SYNC_DETAIL_SOURCES = ["steam_details"]
    set_matches(30)

    def spoil(data):
        result = data["result"]
        result["radiant_name"] = "Team\u0000Secret"
        result["dire_name"] = "\ud800"  # a lone surrogate: no UTF-8 for it
        first = result["players"][0]["ability_upgrades"][0]
        first["time"] = math.nan
        first["level"] = math.inf

    hostile.on(STEAM_DETAILS, spoiled(spoil))

    job = sync(account)

    assert job.status == JobStatus.COMPLETED, job.error_message
    assert len(hostile.claimed("spoiled")) == 30
    assert job.details_ok == 30
    assert set(account_matches(account).values_list("radiant_name", "dire_name")) == {
        ("TeamSecret", "")
    }
    first_players = MatchPlayer.objects.filter(match__account_links__account=account, player_slot=0)
    for player in first_players:
        assert player.ability_upgrades[0]["time"] is None
        assert player.ability_upgrades[0]["level"] is None
        assert isinstance(player.ability_upgrades[1]["time"], int)


def test_nul_in_opendota_names_is_stored_without_it(settings, account, set_matches, sync, hostile):
    settings.SYNC_ID_SOURCES = ["steam_history"]
    settings.SYNC_DETAIL_SOURCES = ["opendota"]
    set_matches(10)

    def spoil(data):
        data["radiant_team"] = {"team_id": 15, "name": "\u0000PSG.LGD"}
        for player in data["players"]:
            if player.get("account_id"):
                player["personaname"] = f"\u0000{player['account_id']}\u0000"

    hostile.on(OPENDOTA_MATCH, spoiled(spoil))

    job = sync(account)

    assert job.status == JobStatus.COMPLETED, job.error_message
    assert job.details_ok == 10
    assert set(account_matches(account).values_list("radiant_name", flat=True)) == {"PSG.LGD"}
    named = dict(Player.objects.values_list("account_id", "persona_name"))
    assert named[ACCOUNT_ID] == str(ACCOUNT_ID)
    assert not any("\x00" in name for name in named.values())


def test_an_answer_nested_too_deeply_is_refused_and_the_other_source_serves_the_match(
    settings, account, set_matches, sync, hostile
):
    settings.SYNC_ID_SOURCES = ["steam_history"]
    settings.SYNC_DETAIL_SOURCES = ["steam_details", "opendota"]
    set_matches(40)
    hostile.on(STEAM_DETAILS, replaced(NESTED))

    job = sync(account)

    assert job.status == JobStatus.COMPLETED, job.error_message
    refused_by_steam = {int(s.params["match_id"]) for s in hostile.claimed("replaced")}
    assert refused_by_steam  # Steam's lane took its share of the matches
    assert job.details_ok == 40
    asked_twice = account_matches(account).filter(pk__in=refused_by_steam)
    assert set(asked_twice.values_list("details_source", "retry_count", "fetch_error")) == {
        ("opendota", 0, "")
    }


def test_a_match_every_source_refuses_fails_with_the_reasons_and_the_job_completes(
    settings, account, set_matches, sync, hostile
):
    settings.SYNC_ID_SOURCES = ["steam_history"]
    settings.SYNC_DETAIL_SOURCES = ["steam_details", "opendota"]
    set_matches(12)
    hostile.on(STEAM_DETAILS, replaced(NESTED))
    hostile.on(OPENDOTA_MATCH, replaced(NESTED.replace(b'"result": ', b'"r": ')))

    job = sync(account)

    assert job.status == JobStatus.COMPLETED, job.error_message
    assert (job.details_failed, job.details_ok) == (12, 0)
    for match in account_matches(account):
        assert (match.has_details, match.retry_count) == (False, 1)
        assert "Steam GetMatchDetails: Steam sent JSON nested too deeply" in match.fetch_error
        assert "OpenDota: OpenDota sent JSON nested too deeply" in match.fetch_error

    again = sync(account, JobType.BACKFILL, force=True)
    assert again.status == JobStatus.COMPLETED, again.error_message
    assert set(account_matches(account).values_list("retry_count", flat=True)) == {2}


def test_a_trickling_answer_is_cut_and_the_match_goes_to_the_next_source(
    settings, account, set_matches, sync, hostile
):
    settings.SYNC_ID_SOURCES = ["steam_history"]
    settings.SYNC_DETAIL_SOURCES = ["opendota", "steam_sequence"]
    settings.UPSTREAM_MAX_ANSWER_SECONDS = 1.0
    set_matches(20)
    hostile.on(OPENDOTA_MATCH, trickled(every=0.02))

    started = time.monotonic()
    job = sync(account)
    took = time.monotonic() - started

    assert job.status == JobStatus.COMPLETED, job.error_message
    trickles = hostile.claimed("trickled")
    assert trickles
    assert job.details_ok == 20
    assert set(account_matches(account).values_list("details_source", flat=True)) == {
        "steam_sequence"
    }
    assert set(account_matches(account).values_list("retry_count", flat=True)) == {0}
    # Each trickle is cut at a second (OpenDota's lane tries one at a time), far before its
    # thousands of bytes at 50 a second are through.
    assert took < len(trickles) * 1.0 + 5
    assert all(served.bytes_sent < 100 for served in trickles)


def test_a_cancel_ends_a_job_whose_answer_trickles_within_about_a_second(
    settings, account, set_matches, hostile
):
    settings.SYNC_ID_SOURCES = ["steam_history"]
    settings.SYNC_DETAIL_SOURCES = ["opendota"]
    assert settings.UPSTREAM_MAX_ANSWER_SECONDS >= 30  # the default: the cancel ends it first
    set_matches(5)
    hostile.on(OPENDOTA_MATCH, trickled(every=0.02))
    job = engine.create_job(account, JobType.FULL)
    worker = _in_thread(lambda: engine.run_job(job.pk))
    wait_for(lambda: hostile.claimed("trickled"), 30, "a trickling answer")
    time.sleep(0.5)  # well into the trickle

    requested = time.monotonic()
    engine.request_cancel(job)
    worker.join(timeout=30)
    took = time.monotonic() - requested

    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert took < 2.0
    assert len(hostile.claimed("trickled")) == 1
    assert not account_matches(account).filter(retry_count__gt=0).exists()


def test_an_endless_answer_is_cut_at_the_size_limit_without_charging_the_match(
    settings, account, set_matches, sync, hostile
):
    settings.SYNC_ID_SOURCES = ["steam_history"]
    settings.SYNC_DETAIL_SOURCES = ["opendota"]
    settings.UPSTREAM_MAX_ANSWER_BYTES = 2**20
    set_matches(3)
    hostile.on(OPENDOTA_MATCH, endless(up_to=512 * 2**20))

    job = sync(account)

    assert job.status == JobStatus.COMPLETED, job.error_message
    assert (job.details_deferred, job.details_failed) == (3, 0)
    for match in account_matches(account):
        assert (match.has_details, match.retry_count) == (None, 0)
        assert "larger than 1,048,576 bytes; cut off" in match.fetch_error
    wait_for(
        lambda: all(s.client_went_away for s in hostile.claimed("endless")),
        10,
        "the client to hang up",
    )
    # The client hung up after its megabyte (what the kernel's buffers took on top aside).
    assert all(s.bytes_sent < 32 * 2**20 for s in hostile.claimed("endless"))


def test_a_redirect_to_another_host_is_not_followed_and_names_the_setting(
    settings, account, set_matches, sync, hostile, simulator
):
    settings.SYNC_ID_SOURCES = ["steam_history", "opendota"]
    settings.SYNC_DETAIL_SOURCES = ["opendota", "steam_sequence"]
    set_matches(10)
    with hostile_server(simulator) as elsewhere:
        elsewhere.on(r"/", replaced(b"[]"))
        # Another host name for the same machine: what a redirect to a stranger looks like.
        hostile.on(OPENDOTA_ANY, redirected(f"http://localhost:{elsewhere.server_port}/"))

        job = sync(account)

        assert job.status == JobStatus.COMPLETED, job.error_message
        assert elsewhere.claimed("replaced") == []
    assert len(hostile.claimed("redirected")) == 1  # switched off after its first
    assert "OpenDota answered HTTP 302, a redirect to localhost" in job.message
    assert "check OPENDOTA_API_BASE_URL" in job.message
    assert job.details_ok == 10
    assert not account_matches(account).filter(retry_count__gt=0).exists()


def _in_thread(target) -> threading.Thread:
    def run():
        try:
            target()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread
