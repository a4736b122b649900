"""Phase 2: fetch the details of the job's stubs, and record every outcome.

Work is claimed from the database a batch at a time (syncjobs.claims); each match
is tried at the detail sources in the configured order until one answers, and
its outcome (matches.store.Outcome) goes straight to the writer:

- completed: an answer, stored with all players;
- failed: a source refused the match (not found, malformed): one attempt counted;
- deferred: no source could answer now (5xx, timeouts, limits, a refused key):
  nothing counted, the match waits for a later sync.

A source that refuses us whatever the match (a wrong key) is switched off for
the job; a source that keeps failing is skipped by its circuit breaker; when
every source is down, phase 2 stops early and says so.
"""

import logging
import threading
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection

from matches import dbclock, store
from matches.errors import BadResponse, NotFound, RateLimited, ServerError, SourceRefused
from matches.models import Match
from matches.store import Outcome, OutcomeKind
from syncjobs import claims, dispatch
from syncjobs.claims import Stub
from syncjobs.concurrency import BATCH_SIZE, FetchPool, Writer
from syncjobs.models import JobPhase
from syncjobs.sources import DETAIL_SOURCES, LABELS, Breaker, DetailSource

if TYPE_CHECKING:
    from syncjobs.runner import JobRunner

logger = logging.getLogger(__name__)

CLAIM_POLL_SECONDS = 0.2
STOPPED_EARLY = (
    "Stopped fetching details early: every detail source is failing (HTTP 5xx); "
    "the remaining matches wait for a later sync."
)


class EndPhase(Exception):
    """Phase 2 stops early without failing the job (every detail source is down)."""


class DetailPhase:
    def __init__(self, runner: "JobRunner") -> None:
        self.runner = runner
        self.job = runner.job
        self.pulse = runner.pulse
        self.sources: list[DetailSource] = []
        self.breakers: dict[str, Breaker] = {}
        self.attempted = 0
        self._streak_lock = threading.Lock()
        self._deferred_streak = 0
        self.stopped_early = False

    # --- the coordinator and the helper tasks

    def run(self) -> None:
        """The coordinator's phase 2: count the work, start helper tasks, work until done."""
        state = self.pulse.state
        state.phase = JobPhase.FETCHING_DETAILS
        state.details_started_at = dbclock.now()
        state.details_total = claims.detail_candidates(self.job).count()
        self.prepare_sources()
        self.pulse.beat()  # helper tasks start from the row: phase and total first
        for _ in range(settings.SYNC_DETAIL_TASKS - 1):
            dispatch.enqueue_part(self.job)
        self.work(wait_for_parts=True)
        self.settle_total()

    def run_part(self) -> None:
        """A helper task's share: claim and fetch until nothing is left."""
        self.prepare_sources()
        self.work(wait_for_parts=False)
        logger.info("job %s: a phase-2 part attempted %s matches", self.job.pk, self.attempted)

    def prepare_sources(self) -> None:
        self.sources = [
            DETAIL_SOURCES[name]
            for name in settings.SYNC_DETAIL_SOURCES
            if self.runner.usable(DETAIL_SOURCES[name])
        ]
        if not self.sources:
            raise self.runner.no_source_left("match details")
        self.breakers = {s.name: Breaker(settings.SYNC_BREAKER_THRESHOLD) for s in self.sources}
        for source in self.sources:
            self.pulse.count(f"source:{source.name}", 0)  # listed even when it answers nothing

    def work(self, *, wait_for_parts: bool) -> None:
        concurrency = max(1, settings.SYNC_CONCURRENCY)
        size = BATCH_SIZE if concurrency == 1 else 4 * concurrency
        # Outcomes are stored on a thread with its own connection while fetching goes on;
        # inside a caller's transaction (tests) the writes must stay on its connection.
        self.writer = Writer(self.store, inline=connection.in_atomic_block)
        pool = FetchPool(self.fetch, concurrency) if concurrency > 1 else None
        try:
            while True:
                self.pulse.checkpoint()
                batch = claims.claim_batch(self.job, size)
                if batch:
                    self.pulse.hold(stub.match_id for stub in batch)
                    if pool is None:
                        for stub in batch:
                            self.fetch(stub)
                    else:
                        pool.run(batch)
                elif wait_for_parts and claims.held_by_others(self.job, self.pulse.claimed):
                    self.pulse.sleep(CLAIM_POLL_SECONDS)
                else:
                    return
        except EndPhase as stop:
            self.stopped_early = True
            self.runner.note(str(stop))
        finally:
            if pool is not None:
                pool.close()
            self.writer.close()  # what was answered is stored, also on a cancel
            claims.release(self.job, self.pulse.claimed)
            self.pulse.let_go(list(self.pulse.claimed))

    def settle_total(self) -> None:
        """The job's total becomes what it attempted plus what is left, with the reason."""
        left = claims.detail_candidates(self.job).count()
        attempted = (
            Match.objects.for_account(self.job.account).filter(last_attempt_job=self.job).count()
        )
        self.pulse.state.details_total = attempted + left
        if not left:
            return
        if self.stopped_early:
            return  # STOPPED_EARLY says it
        elsewhere = claims.held_elsewhere(self.job)
        if elsewhere:
            self.runner.note(
                f"{elsewhere} matches were being fetched by another account's sync at the same "
                "time; they are stored once it has them."
            )
        if left > elsewhere:
            self.runner.note(f"{left - elsewhere} matches wait for a later sync.")

    # --- one match

    def fetch(self, stub: Stub) -> None:
        outcome = self.fetch_one(stub)
        self.writer.submit(outcome)
        self.judge(outcome)

    def fetch_one(self, stub: Stub) -> Outcome:
        """Try each usable detail source in order until one answers with the match."""
        down: list[str] = []
        refused: list[str] = []
        for source in self.sources:
            if source.needs_seq_num and stub.match_seq_num is None:
                continue
            if self.runner.refused(source.bucket):
                continue
            breaker = self.breakers[source.name]
            if not breaker.acquire():
                down.append(f"{LABELS[source.name]} is down")
                continue
            label = LABELS[source.name]
            try:
                details = self.runner.call(
                    source.bucket,
                    label,
                    lambda s=source: s.fetch(self.runner.client, stub.match_id, stub.match_seq_num),
                )
            except ServerError as exc:
                if breaker.failed(exc.message):
                    self.runner.note(
                        f"{label} is failing ({exc.message}); skipped for the rest of this job."
                    )
                down.append(f"{label}: {exc.message}")
                continue
            except RateLimited:  # the daily limit
                breaker.released()
                self.runner.disable_for_today(source.bucket, label)
                breaker.open("daily limit")
                down.append(f"{label}: daily limit")
                continue
            except SourceRefused as exc:
                breaker.released()
                self.runner.refuse(exc)
                down.append(f"{label}: {exc.message}")
                continue
            except (NotFound, BadResponse) as exc:
                breaker.answered()
                refused.append(f"{label}: {exc.message}")
                continue
            except BaseException:
                breaker.released()
                raise
            breaker.answered()
            return Outcome.completed(details, source.name)
        if refused:
            return Outcome.failed(stub.match_id, "; ".join(refused))
        if all(self.runner.refused(source.bucket) for source in self.sources):
            raise self.runner.no_source_left("match details")
        reason = "; ".join(down) or "no detail source could serve it"
        return Outcome.deferred(stub.match_id, reason)

    def judge(self, outcome: Outcome) -> None:
        """Stop the phase early once every source is down or nothing gets answered."""
        with self._streak_lock:
            if outcome.kind is OutcomeKind.DEFERRED:
                self._deferred_streak += 1
            else:
                self._deferred_streak = 0
            streak = self._deferred_streak
        if self.breakers and all(b.is_open for b in self.breakers.values()):
            raise EndPhase(STOPPED_EARLY)
        if streak >= settings.SYNC_MAX_CONSECUTIVE_DEFERRED:
            raise EndPhase(STOPPED_EARLY)

    def store(self, outcomes: list[Outcome]) -> None:
        """The writer's work: store one batch (releasing its claims), then count it."""
        store.save_outcomes(outcomes, self.job.pk, dbclock.now())
        self.pulse.let_go(o.match_id for o in outcomes)
        self.attempted += len(outcomes)
        for outcome in outcomes:
            self.pulse.count("done")
            if outcome.kind is OutcomeKind.COMPLETED:
                self.pulse.count("ok")
                self.pulse.count(f"source:{outcome.source}")
            else:
                self.pulse.count(outcome.kind.value)
