"""Phase 2: fetch the details of the job's stubs, every detail source at once.

The worker claims its work from the database a batch at a time (syncjobs.claims)
into a queue. Each usable detail source has its own lane (SYNC_CONCURRENCY
threads), which waits for the source's next rate-limit slot and only then takes
the first queued match it can serve: so a match goes to whichever source is free
to serve it, each source runs at its own pace, and the slow sequence endpoint
never holds up a match OpenDota could answer now. A match without match_seq_num
is never offered to the sequence endpoint; a re-fetch of a complete match goes
to a metered source (OpenDota's daily quota) only out of the quota's spare part
(syncjobs.quota.spare_for_refetches), or when no other source can take it. A
source that cannot answer a match (5xx, not found) hands it back for the next able
source; when none is left, the match's outcome (matches.store.FetchOutcome)
goes to the writer:

- completed: an answer, stored with all players;
- failed: a source refused the match (not found, malformed): one attempt counted;
- deferred: no source could answer now (5xx, timeouts, limits, a refused key):
  nothing counted, the match waits for a later sync.

A source that refuses us whatever the match (a wrong key) is switched off for
the job; a source that keeps failing is skipped by its circuit breaker
(syncjobs.breakers, shared by the job's workers); when no source is left,
phase 2 stops early and says so.

A task whose time is nearly up (its runner's deadline, SYNC_HANDOVER_MARGIN before
SYNC_TASK_TIMEOUT) stops claiming, lets its lanes end their calls, stores every
answer, releases the rest and raises `HandOver`: a fresh task continues the job
(syncjobs.runner), and what this one attempted is never fetched again by the job.
"""

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import Q

from dotasync import dbclock
from matches import store
from matches.models import Match
from matches.store import FetchOutcome, FetchOutcomeKind
from matches.upstream import ratelimit
from matches.upstream.client import OPENDOTA, interval_of
from matches.upstream.errors import BadResponse, NotFound, RateLimited, ServerError, SourceRefused
from syncjobs import claims, dispatch, quota
from syncjobs.breakers import DAILY_LIMIT, JobBreaker
from syncjobs.claims import Stub
from syncjobs.concurrency import BATCH_SIZE, Writer
from syncjobs.context import JobContext
from syncjobs.models import JobPhase
from syncjobs.sources import DETAIL_SOURCES, LABELS, DetailSource, is_metered

logger = logging.getLogger(__name__)

CLAIM_POLL_SECONDS = 0.2
# Matches claimed at a time (the queue is topped up below this many waiting): a claim costs
# about as much for 100 as for 25, and at zero latency smaller ones starved the lanes.
CLAIM_SIZE = 4 * BATCH_SIZE
STOPPED_EARLY = (
    "Stopped fetching details early: every detail source is failing (HTTP 5xx); "
    "the remaining matches wait for a later sync."
)


class EndPhase(Exception):
    """Phase 2 stops early without failing the job (every detail source is down)."""


class HandOver(Exception):
    """This task's time is nearly up: its phase 2 goes on in a fresh task."""


@dataclass
class Item:
    """A claimed match on its way through the sources."""

    stub: Stub
    tried: set[str] = field(default_factory=set)
    down: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


class WorkQueue:
    """The matches this worker claimed, waiting for a source that can serve them."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._items: list[Item] = []
        self._in_flight = 0
        self.closed = False

    def add(self, stubs: Iterable[Stub]) -> None:
        with self._cond:
            self._items.extend(Item(stub) for stub in stubs)
            self._cond.notify_all()

    def waiting(self) -> int:
        with self._cond:
            return len(self._items)

    def idle(self) -> bool:
        with self._cond:
            return not self._items and not self._in_flight

    def wait_for(self, accepts: Callable[[Item], bool], timeout: float) -> bool:
        """Whether an item `accepts` takes is queued, waiting up to `timeout` for one."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self.closed or any(accepts(item) for item in self._items), timeout
            ) and any(accepts(item) for item in self._items)

    def take(self, accepts: Callable[[Item], bool], prefers: Callable[[Item], bool]) -> Item | None:
        """The first item `accepts` takes, or better the first of those it `prefers`."""
        with self._cond:
            acceptable = [i for i, item in enumerate(self._items) if accepts(item)]
            if not acceptable:
                return None
            index = next((i for i in acceptable if prefers(self._items[i])), acceptable[0])
            self._in_flight += 1
            return self._items.pop(index)

    def put_back(self, item: Item) -> None:
        """An item another source may still answer keeps its place in line."""
        with self._cond:
            self._in_flight -= 1
            position = next(
                (i for i, queued in enumerate(self._items) if queued.stub < item.stub),
                len(self._items),
            )
            self._items.insert(position, item)
            self._cond.notify_all()

    def done(self, item: Item) -> None:
        with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()

    def remove(self, unwanted: Callable[[Item], bool]) -> list[Item]:
        with self._cond:
            removed = [item for item in self._items if unwanted(item)]
            self._items = [item for item in self._items if not unwanted(item)]
            self._in_flight += len(removed)
            return removed

    def close(self) -> list[Item]:
        """No more work: the lanes stop; returns what was left unserved."""
        with self._cond:
            self.closed = True
            left, self._items = self._items, []
            self._cond.notify_all()
            return left

    def wait_change(self, timeout: float) -> None:
        with self._cond:
            self._cond.wait(timeout)


class DetailPhase:
    def __init__(self, runner: JobContext) -> None:
        self.runner = runner
        self.job = runner.job
        self.pulse = runner.pulse
        self.sources: list[DetailSource] = []
        self.breakers: dict[str, JobBreaker] = {}
        self.dead: dict[str, str] = {}  # sources this worker stopped using, and why
        self.queue = WorkQueue()
        self.attempted = 0
        self.stopped_early = ""
        self._lock = threading.Lock()
        self._deferred_streak = 0
        self._lane_failure: BaseException | None = None
        # OpenDota calls this worker may still spend on re-fetches (syncjobs.quota).
        self.refetch_budget = 0
        self.refetches_claimed = False
        self._budget_counted_at = 0.0

    # --- the coordinator and the helper tasks

    def run(self) -> None:
        """The coordinator's phase 2: count the work, start helper tasks, work until done."""
        state = self.pulse.state
        if state.phase == JobPhase.FETCHING_DETAILS:  # a fresh task continues the job
            state.details_total = sum(self.attempted_and_left())
        else:
            state.phase = JobPhase.FETCHING_DETAILS
            state.details_started_at = dbclock.now()
            state.details_total = claims.detail_candidates(self.job).count()
        self.prepare_sources()
        self.pulse.estimate = lambda: quota.estimate_job(self.job, self.sources, self.dead)
        self.pulse.beat()  # helper tasks start from the row: phase and total first
        for _ in range(settings.SYNC_DETAIL_TASKS - 1):
            dispatch.enqueue_part(self.job)
        self.work(wait_for_parts=True)
        self.settle_total()

    def run_part(self) -> None:
        """A helper task's share: claim and fetch until nothing is left (or its time is up)."""
        self.prepare_sources()
        with contextlib.suppress(HandOver):  # the job's coordinator, or its fresh task, goes on
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
        self.breakers = {s.name: JobBreaker(self.job, s.name) for s in self.sources}
        for source in self.sources:
            self.pulse.count(f"source:{source.name}", 0)  # listed even when it answers nothing

    def work(self, *, wait_for_parts: bool) -> None:
        # Outcomes are stored on a thread with its own connection while fetching goes on.
        self.writer = Writer(self.store)
        lanes = [
            threading.Thread(target=self.lane, args=(source,), name=f"lane-{source.name}-{n}")
            for source in self.sources
            for n in range(max(1, settings.SYNC_CONCURRENCY))
        ]
        for lane in lanes:
            lane.start()
        try:
            try:
                self.feed(wait_for_parts=wait_for_parts)
            finally:
                self.queue.close()  # what no lane took is released below, unattempted
                for lane in lanes:
                    lane.join()
                self.writer.close()  # what was answered is stored, also on a cancel
                claims.free_claims(self.job, self.pulse.claimed)
                self.pulse.let_go(list(self.pulse.claimed))
            # A lane can fail after the feed saw the queue empty (a cancel seen as it began
            # its call hands the match back): the phase ends as that lane says, not as done.
            self.raise_lane_failure()
        except EndPhase as stop:
            self.stopped_early = str(stop)
            self.runner.note(str(stop))

    def feed(self, *, wait_for_parts: bool) -> None:
        """Keep the queue stocked from the database until the job's work is done."""
        size = max(CLAIM_SIZE, 4 * len(self.sources) * max(1, settings.SYNC_CONCURRENCY))
        exhausted = False
        while True:
            self.pulse.checkpoint()
            self.raise_lane_failure()
            if self.attempted and self.runner.time_is_up():
                raise HandOver  # having stored something, so every task moves the job on
            if self.refetches_claimed and time.monotonic() - self._budget_counted_at > 1.0:
                self.count_refetch_budget()
            self.settle_unservable()
            claimable = self.claimable()
            if claimable is None:
                raise EndPhase(self.why_no_source())
            if not exhausted and self.queue.waiting() < size:
                batch = self.claim(size, claimable)
                if batch:
                    self.pulse.hold(stub.match_id for stub in batch)
                    self.refetches_claimed |= any(stub.refetch for stub in batch)
                    self.queue.add(batch)
                else:
                    exhausted = True
            if exhausted and self.queue.idle():
                if not (wait_for_parts and claims.held_by_others(self.job, self.pulse.claimed)):
                    return
                self.pulse.sleep(CLAIM_POLL_SECONDS)
                exhausted = False  # a helper may have let some go: claim again
                continue
            self.queue.wait_change(CLAIM_POLL_SECONDS)

    def claim(self, size: int, claimable: Q) -> list[Stub]:
        """A batch for every source still in use: when only some sources can serve matches
        without a seq num, half of it are such matches, half others (as far as there are)."""
        alive = [source for source in self.sources if source.name not in self.dead]
        if not any(s.needs_seq_num for s in alive) or all(s.needs_seq_num for s in alive):
            return claims.claim_batch(self.job, size, only=claimable)
        with_seq = claimable & Q(match_seq_num__isnull=False)
        without_seq = claimable & Q(match_seq_num__isnull=True)
        batch = claims.claim_batch(self.job, size // 2, only=without_seq)
        batch += claims.claim_batch(self.job, size - len(batch), only=with_seq)
        if len(batch) < size:
            batch += claims.claim_batch(self.job, size - len(batch), only=without_seq)
        return batch

    def count_refetch_budget(self) -> None:
        """What OpenDota's quota can spare for re-fetches, from what it last said is left
        (less what the metered lanes may have in flight); one call, to be told, when it has
        said nothing today."""
        self._budget_counted_at = time.monotonic()
        metered = [s for s in self.sources if s.name not in self.dead and is_metered(s)]
        if not metered:
            return
        if ratelimit.remaining_today(OPENDOTA) is None:
            budget = 1
        else:
            stubs_left = claims.detail_candidates(self.job).exclude(has_details=True).count()
            in_flight = len(metered) * max(1, settings.SYNC_CONCURRENCY)
            budget = quota.spare_for_refetches(stubs_left) - in_flight
        with self._lock:
            self.refetch_budget = budget

    def claimable(self) -> Q | None:
        """Which candidates a source still in use can serve; None when no source is left."""
        alive = [source for source in self.sources if source.name not in self.dead]
        if any(not source.needs_seq_num for source in alive):
            return Q()
        if alive:
            return Q(match_seq_num__isnull=False)
        return None

    def settle_unservable(self) -> None:
        """Queued matches no source still in use can serve: one a source tried gets its
        outcome; one no source tried goes back to the database for a later sync."""
        unservable = self.queue.remove(lambda item: not self.servable(item))
        untried = [item for item in unservable if not item.tried]
        for item in unservable:
            if item.tried:
                self.finish(item)
            self.queue.done(item)
        if untried:
            ids = [item.stub.match_id for item in untried]
            claims.free_claims(self.job, ids)
            self.pulse.let_go(ids)

    def raise_lane_failure(self) -> None:
        with self._lock:
            failure = self._lane_failure
        if failure is not None:
            raise failure

    def why_no_source(self) -> str:
        if any("daily" in why for why in self.dead.values()):
            return (
                "Stopped fetching details: no detail source is left for today "
                f"({'; '.join(self.dead.values())}); the remaining matches wait for a later sync."
            )
        return STOPPED_EARLY

    def attempted_and_left(self) -> tuple[int, int]:
        """How many matches the job attempted (in every task), and how many are left."""
        attempted = (
            Match.objects.for_account(self.job.account).filter(last_attempt_job=self.job).count()
        )
        return attempted, claims.detail_candidates(self.job).count()

    def settle_total(self) -> None:
        """The job's total becomes what it attempted plus what is left, with the reason."""
        attempted, left = self.attempted_and_left()
        self.pulse.state.details_total = attempted + left
        if not left:
            return
        waiting_for_quota = quota.waiting_for_reset(self.job)
        if waiting_for_quota:
            self.runner.note(waiting_for_quota.sentence)
            quota.continue_after_reset(self.job.account, waiting_for_quota.resets_at)
        if self.stopped_early:
            return  # its note says why
        elsewhere = claims.held_elsewhere(self.job)
        if elsewhere:
            self.runner.note(
                f"{elsewhere} matches were being fetched by another account's sync at the same "
                "time; they are stored once it has them."
            )

    # --- the lanes

    def accepts(self, source: DetailSource, item: Item) -> bool:
        """Whether `source` may take `item` now."""
        if source.name in item.tried or source.name in self.dead:
            return False
        if source.needs_seq_num and item.stub.match_seq_num is None:
            return False
        if item.stub.refetch and is_metered(source) and self.refetch_budget <= 0:
            # A daily quota goes to matches without details: a re-fetch goes to a metered
            # source only out of its spare part, or when no unmetered one can take it.
            return not any(
                self.accepts(other, item) for other in self.sources if not is_metered(other)
            )
        return True

    def only_for(self, source: DetailSource, item: Item) -> bool:
        """Whether no other source could take `item`: a source takes those first, so that
        every source has work to the end (OpenDota the matches without a seq num while the
        sequence endpoint does the others)."""
        return not any(self.accepts(other, item) for other in self.sources if other != source)

    def servable(self, item: Item) -> bool:
        return any(self.accepts(source, item) for source in self.sources)

    def lane(self, source: DetailSource) -> None:
        """Serve `source`: wait for its turn, then take the first match it can serve."""
        try:
            self._serve(source)
        except BaseException as exc:
            self.fail_lane(exc)
        finally:
            connection.close()

    def fail_lane(self, failure: BaseException) -> None:
        """The phase ends with the first failure any lane met."""
        with self._lock:
            self._lane_failure = self._lane_failure or failure

    def _serve(self, source: DetailSource) -> None:
        breaker = self.breakers[source.name]
        label = LABELS[source.name]
        while source.name not in self.dead and not self.queue.closed:
            if not self.queue.wait_for(lambda it: self.accepts(source, it), CLAIM_POLL_SECONDS):
                if self.queue.closed:
                    return
                continue
            permit = breaker.acquire(self.pulse.sleep)
            if permit is None:
                self.mark_dead(source, f"{label} is failing")
                return
            try:
                ratelimit.wait_turn(source.bucket, interval_of(source.bucket), self.pulse.sleep)
            except RateLimited as exc:  # an answer said nothing is left today: no 429 asked for
                breaker.released(permit)
                self.mark_dead(source, exc.message)
                return
            except BaseException:
                breaker.released(permit)
                raise
            item = self.queue.take(
                lambda it: self.accepts(source, it), lambda it: self.only_for(source, it)
            )
            if item is None:  # another lane was quicker: the slot goes unused
                breaker.released(permit)
                continue
            if item.stub.refetch and is_metered(source):
                with self._lock:
                    self.refetch_budget -= 1
            try:
                self.try_source(source, breaker, permit, item)
            except BaseException as exc:
                breaker.released(permit)
                # Told before the queue empties, so the feed never takes it for done.
                self.fail_lane(exc)
                self.queue.done(item)
                raise

    def try_source(self, source: DetailSource, breaker: JobBreaker, permit, item: Item) -> None:
        label = LABELS[source.name]
        stub = item.stub
        try:
            with self.runner.client.slot_taken(source.bucket):
                details = self.runner.call(
                    source.bucket,
                    label,
                    lambda: source.fetch(self.runner.client, stub.match_id, stub.match_seq_num),
                )
        except ServerError as exc:
            if breaker.failed(permit, exc.message):
                self.runner.note(
                    f"{label} is failing ({exc.message}); skipped for the rest of this job."
                )
                self.mark_dead(source, f"{label} is failing")
            item.down.append(f"{label}: {exc.message}")
        except RateLimited:  # the daily limit: 429s within it are waited out
            breaker.released(permit)
            self.runner.disable_for_today(source.bucket, label)
            breaker.open(DAILY_LIMIT)
            self.mark_dead(source, f"{label}'s daily limit is used up")
            item.down.append(f"{label}: daily limit")
        except SourceRefused as exc:
            breaker.released(permit)
            self.runner.refuse(exc)
            self.mark_dead(source, exc.message)
            item.down.append(f"{label}: {exc.message}")
        except (NotFound, BadResponse) as exc:
            breaker.answered(permit)
            item.refused.append(f"{label}: {exc.message}")
        else:
            breaker.answered(permit)
            self.submit(FetchOutcome.completed(details, source.name))
            self.queue.done(item)
            return
        item.tried.add(source.name)
        if self.servable(item):
            self.queue.put_back(item)
        else:
            self.finish(item)
            self.queue.done(item)

    def mark_dead(self, source: DetailSource, why: str) -> None:
        with self._lock:
            self.dead.setdefault(source.name, why)
        if all(self.runner.refused(s.bucket) for s in self.sources):
            self.fail_lane(self.runner.no_source_left("match details"))

    # --- outcomes

    def outcome_of(self, item: Item) -> FetchOutcome:
        if item.refused:
            return FetchOutcome.failed(item.stub.match_id, "; ".join(item.refused))
        reason = "; ".join(item.down) or "no detail source could serve it"
        return FetchOutcome.deferred(item.stub.match_id, reason)

    def finish(self, item: Item) -> None:
        """No source is left to try for `item`: record why (it is not tried again)."""
        self.submit(self.outcome_of(item))

    def submit(self, outcome: FetchOutcome) -> None:
        self.writer.submit(outcome)
        self.judge(outcome)

    def judge(self, outcome: FetchOutcome) -> None:
        """Stop the phase early once nothing gets answered any more."""
        with self._lock:
            if outcome.kind is FetchOutcomeKind.DEFERRED:
                self._deferred_streak += 1
            else:
                self._deferred_streak = 0
            streak = self._deferred_streak
        if streak >= settings.SYNC_MAX_CONSECUTIVE_DEFERRED:
            self.fail_lane(EndPhase(STOPPED_EARLY))

    def store(self, outcomes: list[FetchOutcome]) -> None:
        """The writer's work: store one batch (releasing its claims), then count it as stored
        (details the database refused are a failure)."""
        stored = store.save_outcomes(outcomes, self.job.pk, dbclock.now())
        self.pulse.let_go(o.match_id for o in outcomes)
        with self._lock:
            self.attempted += len(outcomes)
        for outcome in stored:
            self.pulse.count("done")
            if outcome.kind is FetchOutcomeKind.COMPLETED:
                self.pulse.count("ok")
                self.pulse.count(f"source:{outcome.source}")
            else:
                self.pulse.count(outcome.kind.value)
