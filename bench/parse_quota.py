"""16. Parse requests under OpenDota's daily quota: a simulated day, hour by hour.

A busy account plays 40 matches over the day (two an hour for 20 hours), each asked to be
parsed by its sync's parse step (syncjobs.parsing, run for real on the bench database); the
same account's full sync wants to re-fetch its 2,000 complete matches; another account gets
12 new matches an hour (288 stubs). OpenDota's keyless day is 3,000 calls,
SYNC_OPENDOTA_RESERVE 300, PARSE_DAILY_BUDGET 600, PARSE_CHECK_AFTER_SECONDS one hour.

Each hour, in the order a sync spends the quota: the stubs waiting are fetched (a stand-in for
phase 2, whose routing benchmarks 8 and 11 measure: one call a stub, out of what is left); the
busy account's parse step runs through a fake OpenDota client (below); then the full sync's
re-fetches take what syncjobs.quota.spare_for_refetches grants. An hour passing is the clock
moved on: every open request becomes due a check.

The fake client (`DayOfOpenDota`) answers in OpenDota's shapes and prices (a parse request 10
calls, odota/core svc/web.ts `rateCost`; a match or a job's state 1) and says what is left of
the day as OpenDota's X-Rate-Limit-Remaining-Day does, through ratelimit.heed_remaining: a
match is parsed an hour after its request (its answer is the real parsed match of
matches/tests/data with the id replaced), its job's row is there until then.

Reported: calls per kind, the re-fetches served, and the longest a stub waited while parse
work spent calls (must be 0: stubs come first).
"""

import json
from datetime import timedelta

from django.test import override_settings
from django.utils import timezone

from bench.common import Options, Section, Simulator, reset_data, verdict
from matches.models import AccountMatch, Match, ParseRequest, SteamAccount
from matches.upstream import ratelimit
from matches.upstream.client import OPENDOTA
from matches.upstream.normalize import MatchDetails, match_details
from matches.upstream.parsed import parsed_data
from syncjobs import parsing, quota
from syncjobs.context import JobContext
from syncjobs.models import JobStatus, JobType, ParseSpend, SyncJob
from tests.processes import ROOT

BUSY, OTHER = 75_000_012, 75_000_013
HOURS = 24
NEW_A_HOUR, NEW_HOURS = 2, 20
STUBS_AN_HOUR = 12
REFETCHES = 2_000
DAY_CALLS = 3_000
PARSED_ANSWER = ROOT / "matches/tests/data/opendota_parsed_match_4080856812.json"
BENCH = "16. Parse requests under the daily quota"  # the rows' first column


class DayOfOpenDota:
    """The OpenDota calls the parse step makes, answered and counted for one simulated day."""

    def __init__(self) -> None:
        self.left = DAY_CALLS
        self.hour = 0
        self.calls = {"stubs": 0, "parse requests": 0, "checks": 0, "re-fetches": 0}
        self.asked_at: dict[int, int] = {}  # job id -> hour
        self.answer = json.loads(PARSED_ANSWER.read_text())
        self.has_steam_key = False

    def spend(self, kind: str, cost: int) -> None:
        self.left -= cost
        self.calls[kind] += cost
        ratelimit.heed_remaining(OPENDOTA, minute=None, day=self.left)

    # --- what syncjobs.parsing calls

    def request_parse(self, match_id: int) -> int:
        self.spend("parse requests", 10)
        self.asked_at[match_id] = self.hour
        return match_id

    def parse_job(self, job_id: int) -> dict | None:
        self.spend("checks", 1)
        if self.hour - self.asked_at[job_id] >= 1:
            return None
        return {"id": job_id, "jobId": job_id, "type": "parse", "data": {"match_id": job_id}}

    def opendota_match(self, match_id: int) -> MatchDetails:
        self.spend("checks", 1)
        raw = dict(self.answer, match_id=match_id)
        if self.hour - self.asked_at.get(match_id, self.hour) < 1:
            raw["version"] = None
        details = match_details(raw)
        details.parsed = parsed_data(raw)
        return details

    def checkpoint(self) -> None:
        return None


def _new_matches(account: SteamAccount, first_id: int, count: int, *, complete: bool) -> None:
    now = timezone.now()
    matches = [
        Match(match_id=first_id + n, start_time=now, has_details=True if complete else None)
        for n in range(count)
    ]
    Match.objects.bulk_create(matches)
    AccountMatch.objects.bulk_create(
        AccountMatch(account=account, match=m, player_slot=0, hero_id=1) for m in matches
    )


def run(sim: Simulator, options: Options) -> Section:
    reset_data()
    ParseSpend.objects.all().delete()
    section = Section()
    with override_settings(
        OPENDOTA_FREE_DAILY_CALLS=DAY_CALLS,
        SYNC_OPENDOTA_RESERVE=300,
        PARSE_DAILY_BUDGET=600,
        PARSE_CHECK_AFTER_SECONDS=3600,
        OPENDOTA_MIN_INTERVAL=0,
    ):
        result = _day()
    calls = result["calls"]
    section.add(
        BENCH,
        "calls: stubs / parse requests (x10) / checks / re-fetches",
        f"{calls['stubs']} / {calls['parse requests']} / {calls['checks']} / {calls['re-fetches']}",
        f"<= {DAY_CALLS} in all",
        verdict(sum(calls.values()) <= DAY_CALLS),
    )
    section.add(
        BENCH,
        "longest a stub waited while parse work spent calls",
        f"{result['stub_wait_behind_parse']} h",
        "0",
        verdict(result["stub_wait_behind_parse"] == 0),
    )
    section.add(
        BENCH,
        "matches parsed / asked for / new",
        f"{result['parsed']} / {result['asked']} / {NEW_A_HOUR * NEW_HOURS}",
        "every new match asked once",
        verdict(result["asked"] == NEW_A_HOUR * NEW_HOURS),
    )
    section.notes.append(
        f"Parse quota: {result['refetched']} of {REFETCHES} re-fetches served out of what was "
        f"spare; {result['left']} calls left at the day's end (the reserve is 300); parse work "
        f"spent {result['parse_spent']} of its budget of 600."
    )
    return section


def _day() -> dict:
    busy = SteamAccount.objects.create(account_id=BUSY)
    other = SteamAccount.objects.create(account_id=OTHER)
    old = timezone.now() - timedelta(days=60)
    refetch = [
        Match(match_id=1_000_000 + n, start_time=old, has_details=True) for n in range(REFETCHES)
    ]
    Match.objects.bulk_create(refetch)
    AccountMatch.objects.bulk_create(
        AccountMatch(account=busy, match=m, player_slot=0, hero_id=1) for m in refetch
    )
    client = DayOfOpenDota()
    job = SyncJob.objects.create(account=busy, job_type=JobType.PARSE, status=JobStatus.RUNNING)
    refetched = 0
    waiting_since: dict[int, int] = {}  # stub -> hour it arrived
    stub_wait_behind_parse = 0
    for hour in range(HOURS):
        client.hour = hour
        ParseRequest.objects.open().update(next_check_at=timezone.now())  # an hour passed
        _new_matches(other, 2_000_000 + hour * 100, STUBS_AN_HOUR, complete=False)
        if hour < NEW_HOURS:
            _new_matches(busy, 3_000_000 + hour * 100, NEW_A_HOUR, complete=True)
        for stub in Match.objects.stubs().values_list("pk", flat=True):
            waiting_since.setdefault(stub, hour)
        # Stubs first: one call each, while the day has calls.
        served = list(Match.objects.stubs().order_by("pk").values_list("pk", flat=True))
        served = served[: max(0, client.left)]
        for _ in served:
            client.spend("stubs", 1)
        Match.objects.filter(pk__in=served).update(has_details=True)
        for stub in served:
            waiting_since.pop(stub)
        parse_before = client.calls["parse requests"] + client.calls["checks"]
        parsing.ParseStep(JobContext(job, client=client)).run()
        spent_on_parse = client.calls["parse requests"] + client.calls["checks"] - parse_before
        if spent_on_parse and waiting_since:
            stub_wait_behind_parse = max(
                stub_wait_behind_parse, max(hour - h + 1 for h in waiting_since.values())
            )
        grant = min(quota.spare_for_refetches(0), REFETCHES - refetched)
        for _ in range(grant):
            client.spend("re-fetches", 1)
        refetched += grant
    job.delete()
    return {
        "calls": client.calls,
        "stub_wait_behind_parse": stub_wait_behind_parse,
        "refetched": refetched,
        "left": client.left,
        "asked": ParseRequest.objects.count(),
        "parsed": ParseRequest.objects.filter(state="parsed").count(),
        "parse_spent": quota.parse_spent_today(),
    }
