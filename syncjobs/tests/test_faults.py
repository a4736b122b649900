"""The upstream fault matrix: every fault the simulator can inject, checked against the rules.

The expectation is never hard-coded: every answer the simulator gives is recorded (status,
whether it hung, whether its body is a usable match), and what each job should have done with
each match is derived from those answers and the engine's rules:

* a match is complete when a source answered it;
* it failed (one attempt counted) when no source answered and one refused it (not found,
  malformed JSON, wrong types);
* it stays a stub (deferred, no attempt counted) when every source had a server error or hung;
* 429s are waited out and retried, and count for nothing;
* per job, a source is asked about a match at most once (429 retries aside), and after
  SYNC_BREAKER_THRESHOLD consecutive server errors it is not asked again;
* over a match's life, a source is asked about an always-refused match at most
  SYNC_MAX_ATTEMPTS times, however many backfills run.
"""

import itertools
import json
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.conf import settings as django_settings

from matches.models import AccountMatch, Match, SteamAccount
from matches.tests.match_builders import ACCOUNT_ID
from matches.upstream.simulator import SEQ_OFFSET, SimulatorHandle
from syncjobs import engine
from syncjobs.models import JobStatus, JobType, SyncJob

# Phase 2 runs on threads with their own connections: the data must be committed.
pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]

MATCHES = 120
DETAIL_ENDPOINTS = ("details", "sequence", "opendota_match")
BACKFILLS = 4


@dataclass(frozen=True)
class Answer:
    """One answer of a detail endpoint, classified the way the rules need it."""

    endpoint: str
    match_id: int
    kind: str  # "ok", "refused", "down" (5xx or hung past the read timeout) or "rate_limited"
    t: float


class AnswerLog:
    """Wraps the simulator's request handler to see every answer it gives (thread-safe)."""

    def __init__(self, simulator: SimulatorHandle) -> None:
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self._handle = simulator.state.handle
        self._seq = 0

    def __call__(self, method: str, target: str, body: bytes = b"", headers=None):
        response = self._handle(method, target, body, headers)
        located = _detail_request(target)
        if located is not None:
            endpoint, match_id = located
            kind = _classify(endpoint, match_id, response)
            with self._lock:
                self.answers.append(Answer(endpoint, match_id, kind, time.time()))
        return response

    def mark(self) -> int:
        with self._lock:
            return len(self.answers)

    def since(self, mark: int) -> list[Answer]:
        with self._lock:
            return self.answers[mark:]


def _detail_request(target: str) -> tuple[str, int] | None:
    url = urlsplit(target)
    params = dict(parse_qsl(url.query))
    path = url.path.rstrip("/").lower()
    if path.endswith("/getmatchdetails/v1"):
        return "details", int(params["match_id"])
    if path.endswith("/getmatchhistorybysequencenum/v1"):
        return "sequence", int(params["start_at_match_seq_num"]) + SEQ_OFFSET
    if path.startswith("/api/matches/"):
        return "opendota_match", int(path.rsplit("/", 1)[1])
    return None


def _classify(endpoint: str, match_id: int, response) -> str:
    if response.delay >= django_settings.UPSTREAM_READ_TIMEOUT:
        return "down"
    if response.status == 429:
        return "rate_limited"
    if response.status >= 500:
        return "down"
    if response.status != 200:
        return "refused"
    try:
        data = json.loads(response.body)
    except ValueError:
        return "refused"
    if endpoint == "details":
        match = data.get("result")
    elif endpoint == "sequence":
        found = data.get("result", {}).get("matches") or [None]
        match = found[0]
    else:
        match = data
    usable = (
        isinstance(match, dict)
        and match.get("match_id") == match_id
        and isinstance(match.get("players"), list)
        and isinstance(match.get("duration"), int)
    )
    return "ok" if usable else "refused"


@pytest.fixture
def answers(simulator: SimulatorHandle, monkeypatch: pytest.MonkeyPatch) -> AnswerLog:
    log = AnswerLog(simulator)
    monkeypatch.setattr(simulator.state, "handle", log)
    simulator.state.configure(accounts={str(ACCOUNT_ID): {"matches": MATCHES}})
    return log


def listed_ids(simulator: SimulatorHandle) -> set[int]:
    """Every match the simulator's OpenDota lists for the account (its whole history)."""
    entries = simulator.state.world.opendota_player_matches(
        ACCOUNT_ID, significant=False, limit=None, offset=0
    )
    return {entry["match_id"] for entry in entries}


def states(account: SteamAccount) -> dict[int, tuple[bool | None, int]]:
    rows = Match.objects.for_account(account).values_list("pk", "has_details", "retry_count")
    return {pk: (has_details, retries) for pk, has_details, retries in rows}


def outcomes(answers: list[Answer]) -> dict[int, str]:
    """What the rules make of one job's answers, per match asked about."""
    kinds: dict[int, set[str]] = defaultdict(set)
    for answer in answers:
        if answer.kind != "rate_limited":
            kinds[answer.match_id].add(answer.kind)
    return {
        match_id: "complete" if "ok" in seen else "failed" if "refused" in seen else "deferred"
        for match_id, seen in kinds.items()
    }


def run_checked(
    account: SteamAccount,
    simulator: SimulatorHandle,
    log: AnswerLog,
    job_type: str,
    *,
    force: bool = False,
    during: Callable[[], None] | None = None,
) -> tuple[SyncJob, dict[int, str]]:
    """Run one job and check the database and the calls against the rules; returns its outcomes."""
    before = states(account)
    mark = log.mark()
    job = engine.create_job(account, job_type, force=force)
    if during is None:
        job = engine.run_job(job.pk)
    else:
        watcher = threading.Thread(target=during, daemon=True)
        watcher.start()
        job = engine.run_job(job.pk)
        watcher.join(timeout=10)
    seen = log.since(mark)
    expected = outcomes(seen)
    after = states(account)

    assert job.status == JobStatus.COMPLETED, job.error_message
    # No id lost: everything the simulator lists is stored and linked to the account.
    linked = set(AccountMatch.objects.filter(account=account).values_list("match_id", flat=True))
    assert listed_ids(simulator) <= linked
    # Every match's state follows from its answers in this job.
    for match_id, (has_details, retries) in after.items():
        was_details, was_retries = before.get(match_id, (None, 0))
        outcome = expected.get(match_id)
        if outcome == "complete":
            assert has_details is True, match_id
        elif outcome == "failed" and was_details is not True:
            assert (has_details, retries) == (False, was_retries + 1), match_id
        else:  # deferred, or not asked at all (a complete match is never downgraded)
            assert (has_details, retries) == (was_details, was_retries), (match_id, outcome)
    counts = Counter(expected.values())
    assert job.details_ok == counts["complete"]
    assert job.details_failed == counts["failed"]
    # Deferred also counts matches whose every source was skipped by an open breaker.
    assert job.details_deferred >= counts["deferred"]
    assert job.details_done == job.details_ok + job.details_failed + job.details_deferred
    check_call_budget(seen)
    return job, expected


def check_call_budget(seen: list[Answer]) -> None:
    """Per job: one call per match and source (429s aside), none past an open breaker."""
    per_source = Counter((a.match_id, a.endpoint) for a in seen if a.kind != "rate_limited")
    assert max(per_source.values(), default=0) <= 1, per_source.most_common(3)
    threshold = django_settings.SYNC_BREAKER_THRESHOLD
    for endpoint in DETAIL_ENDPOINTS:
        streak = 0
        calls_after_open = 0
        opened = False
        for answer in (a for a in seen if a.endpoint == endpoint):
            if opened:
                calls_after_open += 1
            elif answer.kind == "down":
                streak += 1
                opened = streak >= threshold
            elif answer.kind != "rate_limited":
                streak = 0
        # Calls already in flight when the breaker opened may still land.
        assert calls_after_open <= django_settings.SYNC_CONCURRENCY - 1, endpoint


def life_of_repeated_backfills(
    account: SteamAccount, simulator: SimulatorHandle, log: AnswerLog
) -> list[dict[int, str]]:
    """A full sync, then forced backfills; checks the attempt cap over the whole life."""
    start = log.mark()
    history = [run_checked(account, simulator, log, JobType.FULL)[1]]
    for _ in range(BACKFILLS):
        history.append(run_checked(account, simulator, log, JobType.BACKFILL, force=True)[1])
    retries = dict(Match.objects.for_account(account).values_list("pk", "retry_count"))
    failed_jobs = Counter(m for outcome in history for m, o in outcome.items() if o == "failed")
    for match_id, count in retries.items():
        assert count == failed_jobs[match_id] <= django_settings.SYNC_MAX_ATTEMPTS, match_id
    # A match no source ever answered usably is asked about at most SYNC_MAX_ATTEMPTS times.
    life = log.since(start)
    answered = {a.match_id for a in life if a.kind in ("ok", "down")}
    calls = Counter((a.match_id, a.endpoint) for a in life if a.kind == "refused")
    for (match_id, endpoint), count in calls.items():
        if match_id not in answered:
            assert count <= django_settings.SYNC_MAX_ATTEMPTS, (match_id, endpoint)
    return history


def final_counts(account: SteamAccount) -> dict[str, int]:
    summary = Match.objects.for_account(account).details_summary()
    return {key: summary[key] for key in ("complete", "pending", "failed")}


# --- random server errors -------------------------------------------------------------------


@pytest.mark.parametrize("rate", [0.05, 0.2, 1.0])
def test_random_server_errors_on_every_detail_source(simulator, account, answers, rate):
    simulator.state.configure(seed=7, error_rate=dict.fromkeys(DETAIL_ENDPOINTS, rate))

    history = life_of_repeated_backfills(account, simulator, answers)

    summary = final_counts(account)
    ever_complete = {m for outcome in history for m, o in outcome.items() if o == "complete"}
    assert summary["complete"] == len(ever_complete)
    assert summary["failed"] == 0  # a server error is never an attempt
    assert summary["pending"] == MATCHES - len(ever_complete)
    assert not Match.objects.filter(retry_count__gt=0).exists()
    if rate == 1.0:
        # The first job probes each dead source SYNC_BREAKER_THRESHOLD times, every later job
        # (within the hour) once; each then stops early.
        assert summary["complete"] == 0
        probes = django_settings.SYNC_BREAKER_THRESHOLD + BACKFILLS
        assert simulator.state.calls("details") == probes
        assert "Stopped fetching details early" in SyncJob.objects.latest("pk").message
    else:
        assert summary["complete"] == MATCHES  # the other sources cover a flaky one


def test_server_errors_on_one_source_fall_through_to_the_next(
    simulator, account, answers, settings
):
    settings.SYNC_DETAIL_SOURCES = ["steam_details", "steam_sequence"]
    simulator.state.configure(seed=3, error_rate={"details": 0.2})

    job, outcome = run_checked(account, simulator, answers, JobType.FULL)

    assert set(outcome.values()) == {"complete"}
    # Every match Steam's details failed for was asked of the other source, which also
    # served matches of its own at the same time.
    down = {a.match_id for a in answers.answers if a.endpoint == "details" and a.kind == "down"}
    asked_next = {a.match_id for a in answers.answers if a.endpoint == "sequence"}
    assert down
    assert down <= asked_next
    assert job.sources["steam_sequence"] == len(asked_next)


# --- rate limits ------------------------------------------------------------------------------


def test_bursts_of_429_are_waited_out_and_cost_nothing(simulator, account, answers, settings):
    settings.SYNC_DETAIL_SOURCES = ["steam_details"]
    retry_after = 0.2
    simulator.state.configure(
        rate_limit={
            "history": {"burst": 2, "retry_after": retry_after},
            "opendota_player_matches": {"burst": 1, "retry_after": retry_after},
            "details": {"burst": 4, "retry_after": retry_after},
        }
    )

    job, outcome = run_checked(account, simulator, answers, JobType.FULL)

    assert final_counts(account) == {"complete": MATCHES, "pending": 0, "failed": 0}
    assert set(outcome.values()) == {"complete"}
    assert job.sources["steam_details"] == MATCHES
    assert simulator.state.calls("details") == MATCHES + 4
    assert simulator.state.calls("sequence") == 0
    # Retry-After is honoured: the retry after each 429 waits at least that long.
    details = [a for a in answers.answers if a.endpoint == "details"]
    for refused, retry in itertools.pairwise(details):
        if refused.kind == "rate_limited":
            assert retry.t - refused.t >= retry_after * 0.9


# --- hanging answers --------------------------------------------------------------------------


def test_hanging_answers_time_out_and_fall_through(simulator, account, answers, settings):
    settings.UPSTREAM_READ_TIMEOUT = 0.5
    ids = sorted(listed_ids(simulator), reverse=True)
    one_source_hangs, every_source_hangs = ids[3:6], ids[10:12]
    faults = {str(m): {"details": "hang"} for m in one_source_hangs}
    faults |= {str(m): {"*": "hang"} for m in every_source_hangs}
    simulator.state.configure(hang_seconds=2, match_faults=faults)

    _, outcome = run_checked(account, simulator, answers, JobType.FULL)

    for match_id in one_source_hangs:
        assert outcome[match_id] == "complete"
    for match_id in every_source_hangs:
        assert outcome[match_id] == "deferred"
        match = Match.objects.get(pk=match_id)
        assert (match.has_details, match.retry_count) == (None, 0)
        assert "timed out" in match.fetch_error
    assert final_counts(account) == {
        "complete": MATCHES - len(every_source_hangs),
        "pending": len(every_source_hangs),
        "failed": 0,
    }


# --- answers that are not a match -----------------------------------------------------------


@pytest.mark.parametrize("fault", ["malformed", "wrong_types", "not_found"])
def test_unusable_answers_fail_the_attempt_and_are_capped_for_life(
    simulator, account, answers, fault
):
    ids = sorted(listed_ids(simulator), reverse=True)
    everywhere, steam_only = ids[0:3], ids[20:24]
    faults = {str(m): {"*": fault} for m in everywhere}
    faults |= {str(m): {"details": fault} for m in steam_only}
    simulator.state.configure(match_faults=faults)

    history = life_of_repeated_backfills(account, simulator, answers)

    assert {m for m, o in history[0].items() if o == "failed"} == set(everywhere)
    for match_id in steam_only:
        assert history[0][match_id] == "complete"
    failed = Match.objects.for_account(account).failed()
    assert set(failed.values_list("pk", flat=True)) == set(everywhere)
    assert set(failed.values_list("retry_count", flat=True)) == {django_settings.SYNC_MAX_ATTEMPTS}
    assert final_counts(account) == {
        "complete": MATCHES - len(everywhere),
        "pending": 0,
        "failed": len(everywhere),
    }


def test_a_match_missing_from_the_sequence_is_found_on_opendota(simulator, account, answers):
    ids = sorted(listed_ids(simulator), reverse=True)
    gaps = ids[5:8]
    simulator.state.configure(
        details_broken=True,
        match_faults={str(m): {"sequence": "missing_from_sequence"} for m in gaps},
    )

    job, outcome = run_checked(account, simulator, answers, JobType.FULL)

    assert set(outcome.values()) == {"complete"}
    opendota_asked = {a.match_id for a in answers.answers if a.endpoint == "opendota_match"}
    assert set(gaps) <= opendota_asked
    assert job.sources["opendota"] == len(opendota_asked)


# --- GetMatchDetails breaking while phase 2 runs -----------------------------------------------


def test_get_match_details_breaking_mid_sync(simulator, account, answers, settings):
    settings.SYNC_DETAIL_SOURCES = ["steam_details", "steam_sequence"]
    simulator.state.configure(latency_ms=2)
    switched_after: list[int] = []

    def break_details_once_phase_2_runs() -> None:
        # Another thread flips the simulator, like Valve did, while the job is fetching details.
        deadline = time.monotonic() + 30
        while simulator.state.calls("details") < 30 and time.monotonic() < deadline:
            time.sleep(0.005)
        simulator.state.configure(details_broken=True)
        switched_after.append(simulator.state.calls("details"))

    job, outcome = run_checked(
        account, simulator, answers, JobType.FULL, during=break_details_once_phase_2_runs
    )

    assert switched_after
    assert switched_after[0] < MATCHES
    assert set(outcome.values()) == {"complete"}
    details = [a for a in answers.answers if a.endpoint == "details"]
    # The breaker opened after exactly SYNC_BREAKER_THRESHOLD server errors.
    assert sum(1 for a in details if a.kind == "down") == django_settings.SYNC_BREAKER_THRESHOLD
    assert job.sources["steam_details"] + job.sources["steam_sequence"] == MATCHES
    assert job.sources["steam_details"] <= switched_after[0]
    assert "skipped for the rest of this job" in job.message
