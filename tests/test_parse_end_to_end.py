"""Parse requests from end to end against the simulator (the upstream's twin, with OpenDota's
parse queue): syncs ask OpenDota once for each new match while its replay exists, the parsed
data lands and every section of its page renders, a parse that fails says so and costs
nothing more, and an old match is never asked for."""

from datetime import timedelta

import pytest
from django.utils import timezone

from matches.models import Match, ParsedMatch, ParseRequest, ParseState
from matches.parsed_page import SECTIONS
from matches.upstream.simulator.parse_queue import parse_outcome
from syncjobs.models import JobStatus, JobType

pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def parsing_on(simulator, settings):
    settings.PARSE_DAILY_BUDGET = 600
    settings.PARSE_CHECK_AFTER_SECONDS = 0
    # Parses run at once; a third of them fail; OpenDota parsed nothing by itself.
    simulator.state.configure(
        parse_delay_seconds=0, parse_failure_share=0.3, opendota_parsed_share=0.0
    )
    return simulator


def test_new_matches_are_parsed_once_and_their_pages_show_every_section(
    parsing_on, account, set_matches, sync, signed_in
):
    simulator = parsing_on
    set_matches(160)

    first = sync(account, JobType.INCREMENTAL)
    second = sync(account, JobType.INCREMENTAL)  # checks what the first asked for
    third = sync(account, JobType.INCREMENTAL)

    assert first.status == second.status == third.status == JobStatus.COMPLETED
    since = timezone.now() - timedelta(days=10)
    matches = list(Match.objects.for_account(account))
    young = {m.pk for m in matches if m.start_time >= since}
    league = {m.pk for m in matches if simulator.state.world.parsed_by_opendota(m.pk)}
    assert young - league, "the simulated history has matches younger than the replay window"
    # Each match in the window asked for exactly once, over three syncs; none older.
    asked = [
        int(entry["params"]["match_id"])
        for entry in simulator.state.log
        if entry["endpoint"] == "opendota_request_parse"
    ]
    assert sorted(asked) == sorted(young - league)
    # What became of each, as the simulator's own rule says.
    world = simulator.state.world
    for match_id in young - league:
        ran = ParseRequest.objects.get(pk=match_id)
        outcome = parse_outcome(
            world,
            match_id,
            ran.requested_at.timestamp(),
            replay_lifetime_days=10,
            parse_failure_share=0.3,
        )
        if outcome == "parsed":
            assert ran.state == ParseState.PARSED
            assert ParsedMatch.objects.filter(pk=match_id).exists()
        else:
            assert ran.state == ParseState.REFUSED
            assert "ended without a parse" in ran.reason
            assert not ParsedMatch.objects.filter(pk=match_id).exists()
    parsed = ParsedMatch.objects.filter(pk__in=young).values_list("pk", flat=True)
    refused = ParseRequest.objects.filter(state=ParseState.REFUSED).values_list("pk", flat=True)
    assert parsed
    assert refused
    # A parsed match's page: every section renders.
    match_id = parsed[0]
    for section, title in SECTIONS:
        url = f"/matches/{match_id}/" + ("" if section == "overview" else f"{section}/")
        page = signed_in.get(url)
        assert page.status_code == 200, section
        assert f'id="section-tab-{section}"' in page.content.decode()
        tab = page.content.decode().split(f'id="section-tab-{section}"', 1)[1].split("</a>")[0]
        assert 'aria-current="page"' in tab, section
        assert tab.endswith(title), section
    # A failed parse says so, and an old match says its replay is gone.
    assert "OpenDota refused" in signed_in.get(f"/matches/{refused[0]}/").content.decode()
    old = next(m.pk for m in matches if m.start_time < since)
    assert "expired" in signed_in.get(f"/matches/{old}/").content.decode().lower()
    assert not ParseRequest.objects.filter(pk=old).exists()
