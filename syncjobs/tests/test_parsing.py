"""The parse step (syncjobs.parsing) through parse jobs and syncs, OpenDota mocked with
`responses` in the shapes odota/core sends (shared/realdata/SOURCES.md "opendota_request/")."""

import json
import re
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
import requests
import responses
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from matches.models import Match, ParsedMatch, ParseRequest, ParseState
from matches.tests.match_builders import ACCOUNT_ID, complete_match, stub_match
from matches.upstream import ratelimit
from syncjobs import engine, parsing, quota
from syncjobs.models import JobStatus, JobType, ParseSpend

pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]

OPENDOTA = "https://opendota.example/api"
POST_URL = re.compile(rf"{re.escape(OPENDOTA)}/request/(\d+)$")
PARSED_ANSWER = (
    Path(__file__).parents[2] / "matches/tests/data/opendota_parsed_match_4080856812.json"
)
PARSED_ID = 4080856812


@pytest.fixture(autouse=True)
def opendota(settings):
    settings.OPENDOTA_API_BASE_URL = OPENDOTA
    settings.OPENDOTA_API_KEY = ""
    settings.OPENDOTA_MIN_INTERVAL = 0
    settings.STEAM_API_MIN_INTERVAL = 0
    settings.PARSE_DAILY_BUDGET = 600
    settings.SYNC_OPENDOTA_RESERVE = 100
    settings.PARSE_CHECK_AFTER_SECONDS = 600


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def recent(hours: float = 1):
    return timezone.now() - timedelta(hours=hours)


def parse_job(account) -> object:
    return engine.run_job(engine.create_job(account, JobType.PARSE).pk)


def posts(mocked) -> list[int]:
    return [
        int(POST_URL.search(c.request.url).group(1))
        for c in mocked.calls
        if c.request.method == "POST"
    ]


def answer_jobs(mocked, first_job: int = 900, day_left: int | None = None) -> None:
    """POST /request/{id} answers {"job": {"jobId": N}}, a new N each time."""
    counter = {"next": first_job, "day": day_left}

    def reply(request):
        counter["next"] += 1
        headers = {}
        if counter["day"] is not None:
            counter["day"] -= 10  # a request counts 10 (odota/core svc/web.ts rateCost)
            headers["X-Rate-Limit-Remaining-Day"] = str(counter["day"])
        return 200, headers, json.dumps({"job": {"jobId": counter["next"]}})

    mocked.add_callback(responses.POST, POST_URL, callback=reply)


def due(match_id: int) -> None:
    ParseRequest.objects.filter(pk=match_id).update(next_check_at=timezone.now())


def test_a_new_match_is_asked_for_once_across_two_runs_newest_first(account, mocked):
    complete_match(11, account, won=True, start_time=recent(5))
    complete_match(12, account, won=True, start_time=recent(1))
    complete_match(10, account, won=True, start_time=recent(24 * 11))  # its replay is gone
    answer_jobs(mocked)

    first = parse_job(account)
    second = parse_job(account)  # before its first check is due: no call at all

    assert first.status == second.status == JobStatus.COMPLETED
    assert posts(mocked) == [12, 11]
    assert len(mocked.calls) == 2
    rows = {r.match_id: r for r in ParseRequest.objects.all()}
    assert set(rows) == {11, 12}
    assert rows[12].state == ParseState.REQUESTED
    assert rows[12].job_id == 901
    assert ParseSpend.objects.get().calls == 20  # 10 a request
    assert "asked OpenDota to parse 2 matches" in first.message


def test_a_dropped_post_or_a_crash_after_the_claim_is_checked_never_posted_again(account, mocked):
    complete_match(21, account, won=True, start_time=recent())
    mocked.post(f"{OPENDOTA}/request/21", body=requests.ConnectionError("reset"))
    parse_job(account)
    # What a kill -9 between the claim and the POST leaves: requested_at, no job id.
    complete_match(22, account, won=True, start_time=recent())
    ParseRequest.objects.create(
        match_id=22, state=ParseState.REQUESTED, requested_at=timezone.now()
    )
    assert posts(mocked) == [21]
    unparsed = json.loads(PARSED_ANSWER.read_text()) | {"version": None}
    for match_id in (21, 22):
        mocked.get(f"{OPENDOTA}/matches/{match_id}", json=unparsed | {"match_id": match_id})
        due(match_id)

    parse_job(account)

    assert posts(mocked) == [21]  # no second POST, whatever happened
    checked = [c.request.url for c in mocked.calls if c.request.method == "GET"]
    assert sorted(checked) == [f"{OPENDOTA}/matches/21", f"{OPENDOTA}/matches/22"]
    for row in ParseRequest.objects.all():
        assert row.state == ParseState.REQUESTED
        assert row.job_id is None
        assert row.next_check_at > timezone.now() + timedelta(minutes=9)


def test_parsed_data_lands_on_the_check(account, mocked):
    complete_match(PARSED_ID, account, won=True, start_time=recent())
    ParseRequest.objects.create(
        match_id=PARSED_ID,
        state=ParseState.REQUESTED,
        job_id=77,
        requested_at=recent(0.5),
        next_check_at=timezone.now(),
    )
    mocked.get(f"{OPENDOTA}/matches/{PARSED_ID}", json=json.loads(PARSED_ANSWER.read_text()))

    parse_job(account)

    assert len(mocked.calls) == 1  # the match's answer says it all: no queue look
    assert ParsedMatch.objects.get(pk=PARSED_ID).version == 21
    assert ParseRequest.objects.get(pk=PARSED_ID).state == ParseState.PARSED


def test_a_match_parsed_meanwhile_is_parsed_without_a_call(account, mocked):
    match = complete_match(31, account, won=True, start_time=recent())
    ParsedMatch.objects.create(match=match, version=22, stored_at=timezone.now(), data={})
    ParseRequest.objects.create(match=match, state=ParseState.REQUESTED, requested_at=recent())
    due(31)

    parse_job(account)

    assert not mocked.calls
    assert ParseRequest.objects.get(pk=31).state == ParseState.PARSED


def test_a_job_gone_unparsed_is_refused_or_expired_and_costs_nothing_more(account, mocked):
    complete_match(41, account, won=True, start_time=recent())
    complete_match(42, account, won=True, start_time=recent(24 * 10 + 1))
    for match_id, job_id in ((41, 141), (42, 142)):
        ParseRequest.objects.create(
            match_id=match_id,
            state=ParseState.REQUESTED,
            job_id=job_id,
            requested_at=recent(24 * 9),
            next_check_at=timezone.now(),
        )
        unparsed = json.loads(PARSED_ANSWER.read_text()) | {"version": None, "match_id": match_id}
        mocked.get(f"{OPENDOTA}/matches/{match_id}", json=unparsed)
        mocked.get(f"{OPENDOTA}/request/{job_id}", body="null", content_type="application/json")

    parse_job(account)
    calls = len(mocked.calls)
    parse_job(account)

    assert calls == 4
    assert len(mocked.calls) == 4
    refused, expired = ParseRequest.objects.get(pk=41), ParseRequest.objects.get(pk=42)
    assert (refused.state, refused.reason) == (ParseState.REFUSED, parsing.ENDED_UNPARSED)
    assert expired.state == ParseState.EXPIRED
    assert ParseSpend.objects.get().calls == 4


def test_opendotas_err_answer_is_a_refusal_in_its_words(account, mocked):
    complete_match(51, account, won=True, start_time=recent())
    mocked.post(f"{OPENDOTA}/request/51", json={"err": "invalid match_id"})

    parse_job(account)
    parse_job(account)

    row = ParseRequest.objects.get(pk=51)
    assert (row.state, row.reason) == (ParseState.REFUSED, "invalid match_id")
    assert posts(mocked) == [51]


def test_the_switch_off_asks_nothing(account, mocked):
    account.parse_new_matches = False
    account.save()
    complete_match(61, account, won=True, start_time=recent())

    job = parse_job(account)

    assert job.status == JobStatus.COMPLETED
    assert not mocked.calls
    assert not ParseRequest.objects.exists()


def test_the_quota_order_when_the_day_runs_out(account, others_account, mocked, settings):
    """300 calls left today: the other account's 50 stubs and the 100 kept back come first;
    parse work stops at its budget (60: six requests); re-fetches get what is left after it."""
    settings.PARSE_DAILY_BUDGET = 60
    ratelimit.heed_remaining("opendota", minute=None, day=300)
    for n in range(50):
        stub_match(5000 + n, others_account, start_time=recent(24 * 30))
    for n in range(10):
        complete_match(100 + n, account, won=True, start_time=recent(n + 1))
    assert quota.spare_for_parsing() == 150
    assert quota.spare_for_refetches(50) == 150 - 60  # the parse budget before re-fetches
    answer_jobs(mocked, day_left=300)

    job = parse_job(account)

    assert posts(mocked) == [100, 101, 102, 103, 104, 105]  # newest first, to the budget
    assert ParseSpend.objects.get().calls == 60
    assert "the rest waits for OpenDota's quota" in job.message
    assert quota.left_today() == 240
    assert quota.spare_for_refetches(50) == 240 - 50 - 100  # nothing more for parse today
    assert quota.spare_for_parsing() == 90


def test_stubs_of_any_account_come_before_parse_requests(account, others_account, mocked):
    ratelimit.heed_remaining("opendota", minute=None, day=400)
    for n in range(300):
        stub_match(6000 + n, others_account, start_time=recent(24 * 30))
    complete_match(71, account, won=True, start_time=recent())

    parse_job(account)

    assert not mocked.calls  # 400 - 300 stubs - 100 reserve: nothing spare
    assert not ParseRequest.objects.exists()


def test_re_fetches_leave_the_rest_of_the_parse_budget_while_an_account_asks(account):
    assert quota.spare_for_refetches(0, 3000) == 3000 - 100 - 600
    ParseSpend.objects.create(day=timezone.now().date(), calls=450)
    assert quota.spare_for_refetches(0, 3000) == 3000 - 100 - 150
    account.parse_new_matches = False
    account.save()
    assert quota.spare_for_refetches(0, 3000) == 2900  # nobody asks: nothing kept back


def test_parse_matches_runs_a_parse_job_through_start_sync(account, mocked):
    complete_match(91, account, won=True, start_time=recent())
    answer_jobs(mocked)
    out = StringIO()

    call_command("parse_matches", str(ACCOUNT_ID), "--json", stdout=out, stderr=StringIO())

    report = json.loads(out.getvalue().strip().splitlines()[-1])
    assert report["status"] == JobStatus.COMPLETED
    assert report["job_type"] == JobType.PARSE
    assert posts(mocked) == [91]
    assert Match.objects.get(pk=91).parse_request.state == ParseState.REQUESTED


def test_two_syncs_ask_for_each_new_match_once_after_phase_2(
    simulator, account, set_matches, settings, sync
):
    """Phases 1 and 2 against the simulator, OpenDota's parse endpoint mocked beside it. The
    simulator's history ends before the test's clock: its three newest matches are moved
    into the replay window as if played yesterday."""
    set_matches(8)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru(simulator.base_url)
        rsps.add_passthru(simulator.opendota_url)
        post = re.compile(rf"{re.escape(simulator.opendota_url)}/request/(\d+)$")
        rsps.add(responses.POST, post, json={"job": {"jobId": 5}})
        first = sync(account, JobType.INCREMENTAL)
        assert first.status == JobStatus.COMPLETED
        newest = list(
            Match.objects.for_account(account).order_by("-start_time").values_list("pk", flat=True)
        )[:3]
        Match.objects.filter(pk__in=newest).update(start_time=recent(20))

        second = sync(account, JobType.INCREMENTAL)
        third = sync(account, JobType.INCREMENTAL)

        asked = [
            int(post.search(c.request.url).group(1))
            for c in rsps.calls
            if c.request.method == "POST"
        ]
    assert second.status == third.status == JobStatus.COMPLETED
    assert Match.objects.for_account(account).complete().count() == 8
    assert sorted(asked) == sorted(newest)  # each once, in the second sync
    assert "asked OpenDota to parse 3 matches" in second.message
    assert "asked OpenDota" not in third.message
    assert set(ParseRequest.objects.values_list("pk", flat=True)) == set(newest)
    assert Schedule.objects.filter(
        name=parsing.CHECK_SCHEDULE.format(ACCOUNT_ID), func="syncjobs.tasks.parse_account"
    ).exists()
