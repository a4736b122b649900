"""The completeness report of an account whose sources disagree, checked against the split
the simulator's World.knows gives, computed here independently of the report."""

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_q.models import OrmQ

from matches.models import AccountMatch, Match
from matches.tests.match_builders import ACCOUNT_ID
from matches.upstream.simulator.world import OPENDOTA_VIEW, STEAM_HISTORY_VIEW, STRATZ_VIEW
from syncjobs import completeness, refresh, tasks
from syncjobs.models import JobStatus, JobType, ListingFrontier
from syncjobs.sources import LISTED_BY_BITS

pytestmark = pytest.mark.django_db(transaction=True)

SPLIT = {
    "only_opendota": 0.05,
    "only_stratz": 0.04,
    "high_level": 0.06,
    "private_positions": [200, 230],
}
MATCHES = 700


@pytest.fixture
def split_account(stratz, account, sync):
    """An account whose matches the three sources split (STRATZ on, as with a token)."""
    simulator = stratz
    simulator.state.configure(accounts={str(ACCOUNT_ID): {"matches": MATCHES, **SPLIT}})
    job = sync(account, JobType.FULL)
    assert job.status == JobStatus.COMPLETED, job.error_message
    return account


def known_by(simulator, source: str) -> set[int]:
    world = simulator.state.world
    ids = {world.match_id(ACCOUNT_ID, k) for k in range(MATCHES)}
    return {match_id for match_id in ids if world.knows(source, ACCOUNT_ID, match_id)}


def test_the_first_sync_stores_the_union_and_records_who_listed_each(simulator, split_account):
    steam, opendota, stratz = (
        known_by(simulator, s) for s in (STEAM_HISTORY_VIEW, OPENDOTA_VIEW, STRATZ_VIEW)
    )
    links = dict(
        AccountMatch.objects.filter(account=split_account).values_list("match_id", "listed_by")
    )
    assert stratz - opendota - steam  # some matches only STRATZ has
    assert set(links) == steam | opendota | stratz
    assert {m for m, bits in links.items() if bits & LISTED_BY_BITS["steam_history"]} == steam
    assert {m for m, bits in links.items() if bits & LISTED_BY_BITS["opendota"]} == opendota
    assert {m for m, bits in links.items() if bits & LISTED_BY_BITS["stratz"]} == stratz
    # The private period: no source lists its 30 matches.
    world = simulator.state.world
    assert not any(world.match_id(ACCOUNT_ID, k) in links for k in range(200, 230))


def test_the_report_names_every_count_and_difference(simulator, split_account):
    world = simulator.state.world
    steam, opendota, stratz = (
        known_by(simulator, s) for s in (STEAM_HISTORY_VIEW, OPENDOTA_VIEW, STRATZ_VIEW)
    )
    counted_by_steam = len(world.steam_window(ACCOUNT_ID))

    with CaptureQueriesContext(connection) as queries:
        report = completeness.report(split_account)

    assert len(queries) == 4
    views = {view.name: view for view in report.sources}
    assert views["steam_history"].reported_total == counted_by_steam == 500
    assert views["steam_history"].listed == len(steam)
    assert views["opendota"].reported_total == len(opendota) == views["opendota"].listed
    assert views["stratz"].reported_total == len(stratz) == views["stratz"].listed
    assert views["steam_history"].only_here == len(steam - opendota - stratz) == 0
    assert views["opendota"].only_here == len(opendota - steam - stratz) > 0
    assert views["stratz"].only_here == len(stratz - steam - opendota) > 0
    only_opendota = opendota - steam - stratz
    starts = dict(Match.objects.filter(pk__in=only_opendota).values_list("pk", "start_time"))
    by_month = Counter(date(t.year, t.month, 1) for t in starts.values())
    assert {m.month: m.count for m in views["opendota"].only_here_by_month} == by_month
    # The invariant: the sources' listings and the unrecorded links make up the store.
    assert report.stored == len(steam | opendota | stratz)
    assert report.stored == report.listed_union + report.unrecorded
    hidden = counted_by_steam - len(steam)
    assert hidden > 0
    assert any(
        f"counts {hidden:,} more matches than its pages listed" in line for line in report.advice
    )
    # OpenDota lists everything Steam lists and more, but not what only STRATZ has.
    assert report.refresh_offered


def test_links_stored_before_sources_were_recorded_count_as_unrecorded(split_account):
    AccountMatch.objects.filter(
        account=split_account, match_id__in=Match.objects.values("pk")[:7]
    ).update(listed_by=0)

    report = completeness.report(split_account)

    assert report.unrecorded == 7
    assert report.listed_union + report.unrecorded == report.stored


def test_a_month_without_matches_between_months_with_matches_is_named(account):
    for match_id, month in ((11, 1), (12, 4)):
        match = Match.objects.create(
            match_id=match_id, start_time=datetime(2025, month, 3, tzinfo=UTC)
        )
        AccountMatch.objects.create(account=account, match=match, listed_by=1)

    report = completeness.report(account)

    assert report.quiet_months == [date(2025, 2, 1), date(2025, 3, 1)]
    assert any(
        "February 2025" in line and "Expose Public Match Data" in line for line in report.advice
    )


def test_opendota_behind_is_offered_its_refresh_at_most_once_a_day(simulator, account, sync):
    simulator.state.configure(accounts={str(ACCOUNT_ID): {"matches": 120}})
    sync(account, JobType.FULL)
    # OpenDota last counted fewer than Steam lists.
    ListingFrontier.objects.filter(account=account, source="opendota").update(reported_total=100)
    assert completeness.report(account).refresh_offered
    simulator.state.reset()

    queued = OrmQ.objects.count()

    assert refresh.ask(account) is True
    assert refresh.ask(account) is False  # the second click spends nothing
    assert OrmQ.objects.count() == queued + 1
    assert tasks.refresh_opendota(ACCOUNT_ID) is True  # what the worker runs
    assert simulator.state.calls("opendota_refresh") == 1
    frontier = ListingFrontier.objects.get(account=account, source="opendota")
    assert refresh.claim(account, now=frontier.refresh_asked_at + timedelta(hours=23)) is False
    assert refresh.claim(account, now=frontier.refresh_asked_at + timedelta(hours=24)) is True


def expected_split(simulator) -> dict[str, tuple[int, int, int]]:
    """Per source (what it says, what it listed, what only it listed), from World.knows."""
    steam, opendota, stratz = (
        known_by(simulator, s) for s in (STEAM_HISTORY_VIEW, OPENDOTA_VIEW, STRATZ_VIEW)
    )
    counted = len(simulator.state.world.steam_window(ACCOUNT_ID))
    return {
        "steam_history": (counted, len(steam), len(steam - opendota - stratz)),
        "opendota": (len(opendota), len(opendota), len(opendota - steam - stratz)),
        "stratz": (len(stratz), len(stratz), len(stratz - steam - opendota)),
    }


def test_the_page_names_every_sources_count_and_difference(simulator, split_account, signed_in):
    expected = expected_split(simulator)

    page = signed_in.get("/completeness/", {"account": ACCOUNT_ID})

    assert page.status_code == 200
    html = page.content.decode()
    for name, player_name in (
        ("steam_history", "Steam&#x27;s match history"),
        ("opendota", "OpenDota"),
    ):
        says, listed, only = expected[name]
        row = f'<th scope="row">{player_name}</th>'
        assert row in html
        cells = html.split(row, 1)[1].split("</tr>", 1)[0]
        assert f'<td class="num">{says}' in cells
        assert f'<td class="num">{listed}</td>' in cells
        assert f'<td class="num">{only}</td>' in cells
    hidden = expected["steam_history"][0] - expected["steam_history"][1]
    assert f"counts {hidden:,} more matches than its pages listed" in html
    assert "Only OpenDota knows" in html
    assert "Ask OpenDota to refresh" in html  # it lacks what only STRATZ has
    assert "/completeness/" in signed_in.get("/").content.decode()
    assert "/completeness/" in signed_in.get("/matches/").content.decode()


def test_the_api_and_the_command_name_the_same_numbers(simulator, split_account, api):
    expected = expected_split(simulator)

    answer = api.get("/api/completeness/", {"account": ACCOUNT_ID})
    out = StringIO()
    call_command("completeness", str(ACCOUNT_ID), "--json", stdout=out)
    text = StringIO()
    call_command("completeness", str(ACCOUNT_ID), stdout=text)

    assert answer.status_code == 200
    for body in (answer.json(), json.loads(out.getvalue())):
        got = {
            s["name"]: (s["reported_total"], s["listed"], s["only_here"]) for s in body["sources"]
        }
        assert got == expected
        assert body["stored"] == body["listed_union"] + body["unrecorded"]
    says, listed, only = expected["opendota"]
    assert (
        f"OpenDota: says {says:,}; listed {listed:,} stored matches; only it: {only:,}"
        in text.getvalue()
    )
    # OpenDota lacks what only STRATZ has: its refresh is offered, once a day.
    assert api.post(f"/api/completeness/refresh?account={ACCOUNT_ID}").status_code == 202
    assert api.post(f"/api/completeness/refresh?account={ACCOUNT_ID}").status_code == 409


def test_the_refresh_button_and_endpoint_spend_one_call_a_day(
    simulator, account, sync, signed_in, api
):
    simulator.state.configure(accounts={str(ACCOUNT_ID): {"matches": 120}})
    sync(account, JobType.FULL)
    ListingFrontier.objects.filter(account=account, source="opendota").update(reported_total=100)
    page = signed_in.get("/completeness/", {"account": ACCOUNT_ID}).content.decode()
    assert "Ask OpenDota to refresh this account" in page
    assert "refresh this account: never" in page
    queued = OrmQ.objects.count()

    first = signed_in.post("/completeness/refresh/", {"account": ACCOUNT_ID})
    second = api.post(f"/api/completeness/refresh?account={ACCOUNT_ID}")

    assert first.status_code == 302
    assert second.status_code == 409
    assert OrmQ.objects.count() == queued + 1
    page = signed_in.get("/completeness/", {"account": ACCOUNT_ID}).content.decode()
    assert "refresh this account: never" not in page


def test_without_a_steam_key_the_report_says_to_add_one_and_why_failed_matches_wait(
    account, settings
):
    settings.STEAM_API_KEY = ""
    for match_id, attempts in ((21, 1), (22, settings.SYNC_MAX_ATTEMPTS)):
        match = Match.objects.create(
            match_id=match_id, has_details=False, retry_count=attempts, fetch_error="not found"
        )
        AccountMatch.objects.create(account=account, match=match, listed_by=2)

    report = completeness.report(account)

    assert any("add a Steam API key (STEAM_API_KEY)" in line for line in report.advice)
    assert [(g.error, g.count) for g in report.failed] == [("not found", 2)]
    assert report.stubs_waiting_why == [
        "1 failed matches are tried again once their backoff has passed (SYNC_RETRY_BACKOFF_BASE).",
        f"1 failed matches used up their {settings.SYNC_MAX_ATTEMPTS} attempts: “Fetch waiting "
        "matches” on the dashboard tries them again.",
    ]


def test_without_a_stratz_token_the_report_says_what_one_would_add(account, settings):
    settings.STRATZ_API_TOKEN = ""

    report = completeness.report(account)

    stratz = next(view for view in report.sources if view.name == "stratz")
    assert (stratz.has_key, stratz.listed, stratz.reported_total) == (False, 0, None)
    assert any("STRATZ_API_TOKEN" in line for line in report.advice)
