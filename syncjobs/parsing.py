"""The parse step: ask OpenDota to parse an account's new matches while their replays exist.

It runs in a sync job after phase 2 (syncjobs.runner), and alone in a parse job
(`manage.py parse_matches`, the API, a match page's button). One step, for one account:

1. open requests whose match has parsed data by now (phase 2 brought it) are parsed, no call;
2. requests due a check: `GET /api/matches/{id}` (1 call); parsed data is stored through
   phase 2's path (matches.store.save_outcomes). Else `GET /api/request/{jobId}` (1 call):
   a queue row means later (the wait doubles); none means the job ended without a parse,
   expired when the replay window has passed by now, else refused;
3. players' asks (a row without requested_at), then, with the account's switch on, every
   match of the window that is neither parsed nor asked for, newest first: one
   `POST /api/request/{id}` each (10 calls).

A match is asked for once, never twice: its ParseRequest row is written before the POST
(created, or claimed by a conditional UPDATE) and the job id after; a crash between the two
leaves a row that is only ever checked. Expired and refused rows are never retried unless a
player asks again.

Every call is paid out of the day's quota in this order (syncjobs.quota): matches without
details of any account first (parse work spends only what is spare beyond them and
SYNC_OPENDOTA_RESERVE), then parse work within PARSE_DAILY_BUDGET (counted in ParseSpend by
one conditional UPDATE a call, so concurrent jobs never overspend it), then re-fetches.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from dotasync import dbclock
from matches import store
from matches.models import Match, ParseRequest, ParseState, SteamAccount
from matches.store import FetchOutcome
from matches.upstream.client import OPENDOTA
from matches.upstream.errors import (
    BadResponse,
    InvalidApiKey,
    NotFound,
    ParseRefused,
    RateLimited,
    ServerError,
    SourceRefused,
)
from syncjobs import dispatch, quota
from syncjobs.context import JobContext
from syncjobs.models import ParseSpend
from syncjobs.sources import OPENDOTA_DETAILS

logger = logging.getLogger(__name__)

LABEL = "OpenDota's parse requests"
ENDED_UNPARSED = "OpenDota's parse job ended without a parse"
# Valve keeps a replay about 10 days (shared/NOTES.md), whatever our window is set to.
REPLAY_GONE = "The replay is no longer kept (Valve keeps replays about 10 days)."
CHECK_SCHEDULE = "dotasync: check parse requests of account {}"


class OutOfBudget(Exception):
    """Parse work may spend nothing more now (its budget, or the spare quota, is used)."""


def window_start(now: datetime) -> datetime:
    """Matches played before this have no replay left to parse."""
    return now - timedelta(days=settings.PARSE_REPLAY_WINDOW_DAYS)


def take_budget(cost: int) -> bool:
    """Spend `cost` of today's parse budget, if it and the spare quota allow; one conditional
    UPDATE, so two workers never both take the last of it."""
    if cost > quota.spare_for_parsing():
        return False
    day = dbclock.now().date()
    ParseSpend.objects.bulk_create([ParseSpend(day=day)], ignore_conflicts=True)
    taken = ParseSpend.objects.filter(
        day=day, calls__lte=settings.PARSE_DAILY_BUDGET - cost
    ).update(calls=F("calls") + cost)
    return bool(taken)


def give_back(cost: int) -> None:
    """A claim lost to another worker: its unspent calls go back to today's budget."""
    ParseSpend.objects.filter(day=dbclock.now().date(), calls__gte=cost).update(
        calls=F("calls") - cost
    )


def claim_ask(match_id: int) -> bool:
    """Record a player's ask that OpenDota parse the match: a new row, or a refused one asked
    again; the next parse step sends it. False when it is asked for, parsed or expired."""
    if ParseRequest.objects.filter(match_id=match_id, state=ParseState.REFUSED).update(
        state=ParseState.REQUESTED, reason="", job_id=None, requested_at=None, next_check_at=None
    ):
        return True
    try:
        with transaction.atomic():
            ParseRequest.objects.create(match_id=match_id, state=ParseState.REQUESTED)
    except IntegrityError:
        return False
    return True


@dataclass
class StepReport:
    requested: int = 0
    parsed: int = 0
    ended: int = 0  # expired or refused
    out_of_budget: bool = False


class ParseStep:
    def __init__(self, context: JobContext) -> None:
        self.context = context
        self.client = context.client
        self.account: SteamAccount = context.account
        self.report = StepReport()

    def run(self) -> StepReport:
        """The account's parse work that today's quota allows; notes what it did."""
        requests = ParseRequest.objects.for_account(self.account)
        now = dbclock.now()
        self.report.parsed += (
            requests.open()
            .filter(match__parsed__isnull=False)
            .update(state=ParseState.PARSED, checked_at=now, next_check_at=None, reason="")
        )
        try:
            for row in requests.due_for_check(now).order_by("next_check_at"):
                self.context.pulse.checkpoint()
                self.check(row)
            for row in requests.waiting_to_post().select_related("match"):
                self.context.pulse.checkpoint()
                self.ask(row.match, row)
            if self.account.parse_new_matches:
                since = window_start(dbclock.now())
                wanted = Match.objects.for_account(self.account).parse_wanted(since)
                for match in wanted.iterator():
                    self.context.pulse.checkpoint()
                    self.ask(match, None)
        except OutOfBudget:
            self.report.out_of_budget = True
        self.schedule_next_check()
        self.note()
        return self.report

    # --- requests

    def ask(self, match: Match, row: ParseRequest | None) -> None:
        """POST one parse request, claimed first so that it is never sent twice."""
        if not take_budget(quota.REQUEST_COST):
            raise OutOfBudget
        now = dbclock.now()
        first_check = now + timedelta(seconds=settings.PARSE_CHECK_AFTER_SECONDS)
        if row is None:
            try:
                with transaction.atomic():
                    ParseRequest.objects.create(
                        match=match,
                        state=ParseState.REQUESTED,
                        requested_at=now,
                        next_check_at=first_check,
                    )
                claimed = True
            except IntegrityError:
                claimed = False
        else:
            claimed = bool(
                ParseRequest.objects.filter(
                    pk=row.pk, state=ParseState.REQUESTED, requested_at__isnull=True
                ).update(requested_at=now, next_check_at=first_check)
            )
        if not claimed:  # another worker asked for it
            give_back(quota.REQUEST_COST)
            return
        self.report.requested += 1
        try:
            job_id = self.context.call(
                OPENDOTA, LABEL, lambda: self.client.request_parse(match.match_id)
            )
        except InvalidApiKey as exc:
            self.context.refuse(exc)  # no match is to blame: the row is checked later
            raise OutOfBudget from None
        except (ParseRefused, SourceRefused, NotFound) as exc:
            self.end(match.match_id, ParseState.REFUSED, exc.message)
            return
        except RateLimited:
            self.context.disable_for_today(OPENDOTA, LABEL)
            raise OutOfBudget from None
        except (ServerError, BadResponse) as exc:
            # It may have reached OpenDota: the row is checked, never sent again.
            logger.info("parse request of %s: %s", match.match_id, exc.message)
            return
        ParseRequest.objects.filter(pk=match.match_id).update(job_id=job_id)

    # --- checks

    def check(self, row: ParseRequest) -> None:
        if not take_budget(quota.CHECK_COST):
            raise OutOfBudget
        match_id = row.match_id
        now = dbclock.now()
        try:
            details = self.context.call(
                OPENDOTA, LABEL, lambda: self.client.opendota_match(match_id)
            )
        except (NotFound, BadResponse, ServerError) as exc:
            logger.info("parse check of %s: %s", match_id, exc.message)
            details = None
        except RateLimited:
            self.context.disable_for_today(OPENDOTA, LABEL)
            raise OutOfBudget from None
        if details is not None and details.parsed:
            store.save_outcomes(
                [FetchOutcome.completed(details, OPENDOTA_DETAILS)], self.context.job.pk, now
            )
            self.end(match_id, ParseState.PARSED, "")
            return
        gone = row.job_id is None  # claimed before a crash: no job to ask about
        if row.job_id is not None:
            if not take_budget(quota.CHECK_COST):
                self.later(row, now)
                raise OutOfBudget
            try:
                queued = self.context.call(
                    OPENDOTA, LABEL, lambda: self.client.parse_job(row.job_id)
                )
            except (NotFound, BadResponse, ServerError):
                queued = {}  # not known now: look again later
            gone = queued is None
        start = Match.objects.filter(pk=match_id).values_list("start_time", flat=True).first()
        expired = start is None or start < window_start(now)
        if gone and expired:
            self.end(match_id, ParseState.EXPIRED, REPLAY_GONE)
        elif gone and row.job_id is not None:
            self.end(match_id, ParseState.REFUSED, ENDED_UNPARSED)
        else:
            self.later(row, now)

    def later(self, row: ParseRequest, now: datetime) -> None:
        """Look again after twice as long as it has waited so far (at least the first wait)."""
        waited = (now - row.requested_at).total_seconds() if row.requested_at else 0
        wait = max(settings.PARSE_CHECK_AFTER_SECONDS, waited)
        ParseRequest.objects.filter(pk=row.pk, state=ParseState.REQUESTED).update(
            checked_at=now, next_check_at=now + timedelta(seconds=wait)
        )

    def end(self, match_id: int, state: str, reason: str) -> None:
        ParseRequest.objects.filter(pk=match_id).update(
            state=state, reason=reason[:300], checked_at=dbclock.now(), next_check_at=None
        )
        if state == ParseState.PARSED:
            self.report.parsed += 1
        else:
            self.report.ended += 1

    # --- what is left

    def schedule_next_check(self) -> None:
        """A parse job of the account when its next request is due a check."""
        due = (
            ParseRequest.objects.for_account(self.account)
            .open()
            .filter(next_check_at__isnull=False)
            .order_by("next_check_at")
            .values_list("next_check_at", flat=True)
            .first()
        )
        if due is not None:
            dispatch.run_once_at(
                CHECK_SCHEDULE.format(self.account.account_id),
                "syncjobs.tasks.parse_account",
                (self.account.account_id,),
                due,
                keep_after_run=False,
            )

    def note(self) -> None:
        report = self.report
        parts = []
        if report.requested:
            parts.append(f"asked OpenDota to parse {report.requested} matches")
        if report.parsed:
            parts.append(f"{report.parsed} parsed")
        if report.ended:
            parts.append(f"{report.ended} could not be parsed")
        if report.out_of_budget:
            parts.append(
                "the rest waits for OpenDota's quota (matches without details and "
                "PARSE_DAILY_BUDGET come first)"
            )
        if parts:
            self.context.note("Parse requests: " + "; ".join(parts) + ".")
