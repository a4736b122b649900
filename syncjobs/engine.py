"""The two-phase sync engine (seed notes 000-002, on today's upstream).

Phase 1 lists every match ID of the account and stores each page as stubs at
once, so no ID is ever lost and the total is known when the phase ends.
Phase 2 fetches details stub by stub from the detail sources in order,
recording failures for a later retry instead of dropping them.

Everything a job does is resumable from the database alone: a job that dies
(kill -9, a lost connection) leaves only committed pages and batches behind,
and the next job picks up the stubs that are still waiting.

Web views, the API, management commands and django-q tasks are thin adapters
over `start_sync`, `request_cancel`, `create_job` and `run_job`.
"""

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_q.tasks import async_task

from matches import ratelimit, store
from matches.errors import (
    BadResponse,
    InvalidApiKey,
    NotFound,
    PrivateProfile,
    RateLimited,
    ServerError,
    UpstreamError,
)
from matches.models import Match, SteamAccount
from matches.store import Completed, Deferred, Failed
from matches.upstream import UpstreamClient
from syncjobs import locks, names
from syncjobs.models import ACTIVE_STATUSES, JobPhase, JobStatus, JobType, SyncJob
from syncjobs.sources import DETAIL_SOURCES, ID_SOURCES, LABELS, Breaker, DetailSource, IdSource

logger = logging.getLogger(__name__)

BATCH_SIZE = 25
FLUSH_EVERY_SECONDS = 1.0
CANCEL_CHECK_SECONDS = 0.25
SLEEP_SLICE_SECONDS = 0.1
MAX_RATE_LIMIT_WAITS = 20
# A claim outlives a worker that dies mid-batch by this long; then others may take it.
CLAIM_LEASE_SECONDS = 300
CLAIM_POLL_SECONDS = 0.2
INTERRUPTED = "Interrupted: the worker running this job stopped (crash, kill or restart)."


class AlreadyRunning(Exception):
    def __init__(self, job: SyncJob) -> None:
        super().__init__(
            f"A sync is already {job.status} for account {job.account.account_id} (job #{job.pk})."
        )
        self.job = job


class NotCancellable(Exception):
    pass


class Cancelled(Exception):
    """Raised inside a running job once its cancel flag is seen."""


class EndPhase(Exception):
    """Phase 2 stops early without failing the job (every detail source is down)."""


# --- The public entry points -------------------------------------------------------------------


def create_job(
    account: SteamAccount,
    job_type: str,
    requested_by=None,
    *,
    force: bool = False,
) -> SyncJob:
    """Create a pending job, or raise AlreadyRunning while the account has one."""
    if job_type not in JobType.values:
        raise ValueError(f"unknown job type {job_type!r}; use one of {JobType.values}")
    reap_dead_jobs(account)
    try:
        with transaction.atomic():
            return SyncJob.objects.create(
                account=account,
                job_type=job_type,
                requested_by=requested_by if getattr(requested_by, "pk", None) else None,
                force=force,
                refresh_since=_resumed_refresh_time(account) if job_type == JobType.FULL else None,
            )
    except IntegrityError:
        active = SyncJob.objects.active().filter(account=account).first()
        if active is None:  # it finished in the meantime: try once more
            return create_job(account, job_type, requested_by, force=force)
        raise AlreadyRunning(active) from None


def _resumed_refresh_time(account: SteamAccount):
    """A full sync after an interrupted one resumes it: what the dead job stored stays fresh."""
    previous = SyncJob.objects.filter(account=account).order_by("-created_at", "-pk").first()
    if (
        previous is not None
        and previous.job_type == JobType.FULL
        and previous.status == JobStatus.FAILED
        and previous.error_message == INTERRUPTED
    ):
        return previous.refresh_since or previous.started_at
    return None


def start_sync(
    account: SteamAccount,
    job_type: str,
    requested_by=None,
    *,
    force: bool = False,
) -> SyncJob:
    """Create a job and hand it to the task cluster once the transaction commits."""
    job = create_job(account, job_type, requested_by, force=force)
    transaction.on_commit(lambda: enqueue(job))
    return job


def enqueue(job: SyncJob) -> None:
    task_id = async_task(
        "syncjobs.tasks.run_sync_job",
        job.pk,
        task_name=f"sync-job-{job.pk}",
        group="sync",
    )
    SyncJob.objects.filter(pk=job.pk).update(task_id=str(task_id or ""))


def request_cancel(job: SyncJob) -> SyncJob:
    """Cancel a pending job at once; ask a running one to stop (it does within a second)."""
    now = timezone.now()
    became_cancelled = SyncJob.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(
        status=JobStatus.CANCELLED,
        cancel_requested_at=now,
        finished_at=now,
        message="Cancelled before it started.",
    )
    if not became_cancelled:
        flagged = SyncJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
            cancel_requested_at=now
        )
        if not flagged:
            job.refresh_from_db()
            raise NotCancellable(
                f"Cannot cancel job #{job.pk}: it has already {job.get_status_display().lower()}."
            )
    job.refresh_from_db()
    return job


def reap_dead_jobs(account: SteamAccount) -> int:
    """Mark the account's running jobs whose worker is gone as failed ("interrupted")."""
    reaped = 0
    for job in SyncJob.objects.filter(account=account, status=JobStatus.RUNNING):
        if _worker_is_gone(job):
            reaped += _finish(job, JobStatus.FAILED, error=INTERRUPTED)
    return reaped


def _worker_is_gone(job: SyncJob) -> bool:
    free = locks.held_by_nobody(job.account.account_id)
    if free is not None:
        return free
    last_sign_of_life = job.heartbeat_at or job.started_at or job.created_at
    return last_sign_of_life < timezone.now() - timedelta(seconds=settings.SYNC_STALE_AFTER)


def run_job(
    job_id: int,
    *,
    client: UpstreamClient | None = None,
    cancel_event: threading.Event | None = None,
    on_progress: Callable[[SyncJob], None] | None = None,
) -> SyncJob:
    """Run a job to its end in this process. Safe to call twice for one job.

    A redelivered task for a job that has ended, or that a live worker runs, returns
    without doing anything; one for a job whose worker died marks it interrupted.
    """
    job = SyncJob.objects.select_related("account").get(pk=job_id)
    if job.status not in ACTIVE_STATUSES:
        logger.info("job %s has already %s; nothing to do", job.pk, job.status)
        return job
    account_id = job.account.account_id
    if not locks.acquire(account_id):
        logger.info("job %s is being run by another worker", job.pk)
        return job
    try:
        if job.status == JobStatus.RUNNING:
            if locks.supported() or _worker_is_gone(job):
                _finish(job, JobStatus.FAILED, error=INTERRUPTED)
            job.refresh_from_db()
            return job
        now = timezone.now()
        claimed = SyncJob.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(
            status=JobStatus.RUNNING,
            started_at=now,
            heartbeat_at=now,
            refresh_since=Coalesce("refresh_since", Value(now)),
        )
        job.refresh_from_db()
        if not claimed:
            return job
        JobRunner(job, client=client, cancel_event=cancel_event, on_progress=on_progress).run()
        job.refresh_from_db()
        return job
    finally:
        locks.release(account_id)


def _finish(job: SyncJob, status: str, *, error: str = "") -> int:
    """End a running job (a conditional update: a job ends once, whoever gets there first)."""
    return SyncJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
        status=status, finished_at=timezone.now(), error_message=error[:500]
    )


# --- One job's run -----------------------------------------------------------------------------


@dataclass
class _Result:
    """What phase 2 learnt about one match."""

    match_id: int
    completed: Completed | None = None
    failed: Failed | None = None
    deferred: Deferred | None = None


class JobRunner:
    def __init__(
        self,
        job: SyncJob,
        *,
        client: UpstreamClient | None = None,
        cancel_event: threading.Event | None = None,
        on_progress: Callable[[SyncJob], None] | None = None,
        coordinator: bool = True,
    ) -> None:
        self.job = job
        self.account = job.account
        self.coordinator = coordinator
        self.counts: Counter[str] = Counter()
        self.source_names: list[str] = []
        self.detail_sources: list[DetailSource] = []
        self.deferred_streak = 0
        self.claimed_here: set[int] = set()
        self.attempted = 0
        # Guards counts, claimed_here and flushing, shared with the writer thread.
        self._count_lock = threading.RLock()
        self._pool: _FetchPool | None = None
        self.cancel_event = cancel_event or threading.Event()
        self.on_progress = on_progress
        self.client = client or UpstreamClient.from_settings(sleep=self.sleep)
        self.client.sleep = self.sleep
        self.client.checkpoint = self.checkpoint
        self.notes: list[str] = []
        self.breakers: dict[str, Breaker] = {}
        self._tick_lock = threading.Lock()
        self._last_cancel_check = 0.0
        self._last_flush = 0.0
        self._unflushed = 0

    # --- lifecycle

    def run(self) -> None:
        try:
            if self.job.job_type != JobType.BACKFILL:
                self.collect_ids()
            self.fetch_details()
        except Cancelled:
            self.flush()
            self.conclude(JobStatus.CANCELLED)
        except (PrivateProfile, InvalidApiKey) as exc:
            self.flush()
            self.conclude(JobStatus.FAILED, error=exc.message)
        except UpstreamError as exc:
            self.flush()
            self.conclude(JobStatus.FAILED, error=f"Could not list matches: {exc.message}")
        except Exception as exc:
            logger.exception("job %s crashed", self.job.pk)
            self.flush()
            self.conclude(JobStatus.FAILED, error=f"Internal error: {type(exc).__name__}")
        else:
            self.flush()
            self.conclude(JobStatus.COMPLETED)

    def conclude(self, status: str, *, error: str = "") -> None:
        _finish(self.job, status, error=error)
        release_claims(self.job)
        self.job.refresh_from_db()
        logger.info(
            "job %s %s: %s ids, %s/%s details (%s ok, %s failed, %s deferred) %s",
            self.job.pk,
            self.job.status,
            self.job.ids_found,
            self.job.details_done,
            self.job.details_total,
            self.job.details_ok,
            self.job.details_failed,
            self.job.details_deferred,
            error,
        )
        if self.on_progress:
            self.on_progress(self.job)
        if self.job.status == JobStatus.COMPLETED:
            names.enqueue_name_resolution(self.job)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)
            logger.warning("job %s: %s", self.job.pk, text)

    # --- cancellation, heartbeat and progress

    def checkpoint(self) -> None:
        """Raise Cancelled once the job's cancel flag is set; called before every call."""
        if self.cancel_event.is_set():
            self._persist_cancel_request()
            raise Cancelled
        now = time.monotonic()
        with self._tick_lock:
            if now - self._last_cancel_check < CANCEL_CHECK_SECONDS:
                return
            self._last_cancel_check = now
        requested = (
            SyncJob.objects.filter(pk=self.job.pk, cancel_requested_at__isnull=False)
            .values_list("pk", flat=True)
            .exists()
        )
        if requested:
            self.cancel_event.set()
            raise Cancelled

    def _persist_cancel_request(self) -> None:
        SyncJob.objects.filter(pk=self.job.pk, cancel_requested_at__isnull=True).update(
            cancel_requested_at=timezone.now()
        )

    def sleep(self, seconds: float) -> None:
        """A wait that notices a cancel within a fraction of a second and keeps the heartbeat."""
        deadline = time.monotonic() + seconds
        while True:
            self.checkpoint()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if self.cancel_event.wait(min(SLEEP_SLICE_SECONDS, left)):
                continue
            if threading.current_thread() is threading.main_thread():
                self.maybe_flush()

    def progressed(self, count: int = 1) -> None:
        with self._count_lock:
            self._unflushed += count
            self.maybe_flush()

    def maybe_flush(self) -> None:
        with self._count_lock:
            due = time.monotonic() - self._last_flush >= FLUSH_EVERY_SECONDS
            if due or self._unflushed >= BATCH_SIZE:
                self.flush()

    def flush(self) -> None:
        """Add this runner's progress to the job row, under a row lock (parts share the job)."""
        with self._count_lock:
            counts, self.counts = self.counts, Counter()
            self._flush(counts)

    def _flush(self, counts: Counter) -> None:
        with transaction.atomic():
            row = SyncJob.objects.select_for_update().get(pk=self.job.pk)
            fields = [
                "details_done",
                "details_ok",
                "details_failed",
                "details_deferred",
                "sources",
                "message",
                "heartbeat_at",
            ]
            if self.coordinator:
                for name in ("phase", "ids_found", "details_total", "details_started_at"):
                    setattr(row, name, getattr(self.job, name))
                fields += ["phase", "ids_found", "details_total", "details_started_at"]
            row.details_ok += counts["ok"]
            row.details_failed += counts["failed"]
            row.details_deferred += counts["deferred"]
            row.details_done = min(row.details_total, row.details_done + counts["done"])
            sources = dict.fromkeys(self.source_names, 0) | (row.sources or {})
            for name in self.source_names:
                sources[name] += counts[f"source:{name}"]
            row.sources = sources
            row.message = _merge_notes(row.message, self.notes)
            row.heartbeat_at = timezone.now()
            row.save(update_fields=fields)
        row.account = self.account
        self.job = row
        self._last_flush = time.monotonic()
        self._unflushed = 0
        if self.on_progress:
            self.on_progress(row)

    # --- upstream calls with 429 handling

    def call(self, bucket: str, label: str, fn: Callable[[], object]) -> object:
        """Call `fn`, waiting out 429s (Retry-After, else backoff); nothing is counted for them."""
        for attempt in range(MAX_RATE_LIMIT_WAITS):
            try:
                return fn()
            except RateLimited as exc:
                if exc.daily:
                    raise
                wait = exc.retry_after if exc.retry_after is not None else min(60, 2**attempt)
                wait = max(wait, 0.5)
                ratelimit.push_back(bucket, wait)
                logger.info("%s rate-limited us; waiting %.1f s", label, wait)
                self.sleep(wait)
        raise ServerError(f"{label} kept answering 429 Too Many Requests", status=429)

    def disable_for_today(self, bucket: str, label: str) -> None:
        until = ratelimit.next_utc_midnight()
        reason = f"{label}'s daily API limit is used up; it is skipped until {until:%H:%M} UTC."
        ratelimit.disable_until(bucket, until, reason)
        self.note(reason)

    def usable(self, source: IdSource | DetailSource) -> bool:
        if source.needs_key and not self.client.has_steam_key:
            return False
        reason = ratelimit.disabled_reason(source.bucket)
        if reason:
            self.note(reason)
            return False
        return True

    # --- phase 1

    def collect_ids(self) -> None:
        self.job.phase = JobPhase.COLLECTING_IDS
        self.flush()
        incremental = self.job.job_type == JobType.INCREMENTAL
        sources = [
            ID_SOURCES[name] for name in settings.SYNC_ID_SOURCES if self.usable(ID_SOURCES[name])
        ]
        if not sources:
            raise ServerError("no source of match IDs is available")
        seen: set[int] = set()
        failures: list[str] = []
        for source in sources:
            try:
                self.walk_id_source(source, incremental, seen)
            except RateLimited as exc:  # daily limit
                self.disable_for_today(source.bucket, LABELS[source.name])
                failures.append(exc.message)
                continue
            except ServerError as exc:
                self.note(f"{LABELS[source.name]} could not list matches ({exc.message}).")
                failures.append(exc.message)
                continue
            except (NotFound, BadResponse) as exc:
                self.note(f"{LABELS[source.name]} gave an unusable match list ({exc.message}).")
                failures.append(exc.message)
                continue
            if incremental:
                break  # one cheap source is enough to find what is new
        if len(failures) == len(sources):
            raise ServerError("; ".join(failures))
        self.flush()

    def walk_id_source(self, source: IdSource, incremental: bool, seen: set[int]) -> None:
        cursor = source.first_cursor
        while True:
            page, cursor = self.call(
                source.bucket,
                LABELS[source.name],
                lambda c=cursor: source.fetch_page(
                    self.client, self.account.account_id, c, incremental
                ),
            )
            reached_known = incremental and bool(
                store.linked_ids(self.account, (e.match_id for e in page))
            )
            store.save_history_page(self.account, page)
            seen.update(entry.match_id for entry in page)
            self.job.ids_found = len(seen)
            self.progressed(len(page))
            if reached_known or cursor is None:
                return

    # --- phase 2

    def fetch_details(self) -> None:
        """Coordinate phase 2: count the work, start helper tasks, work until all is done."""
        job = self.job
        job.phase = JobPhase.FETCHING_DETAILS
        job.details_started_at = timezone.now()
        job.details_total = detail_candidates(job).count()
        self.prepare_detail_sources()
        self.flush()
        for _ in range(settings.SYNC_DETAIL_TASKS - 1):
            async_task("syncjobs.tasks.fetch_details_part", job.pk, group="sync")
        try:
            self.work_on_details(wait_for_parts=True)
        finally:
            self.close_pool()
            release_claims(job, self.claimed_here)

    def run_part(self) -> None:
        """A helper task's share of phase 2: claim and fetch until nothing is left."""
        try:
            self.prepare_detail_sources()
            self.work_on_details(wait_for_parts=False)
        except Cancelled:
            pass
        except Exception:
            logger.exception("a phase-2 part of job %s crashed", self.job.pk)
        finally:
            self.close_pool()
            self.flush()
            release_claims(self.job, self.claimed_here)
            logger.info("job %s: a phase-2 part attempted %s matches", self.job.pk, self.attempted)

    def prepare_detail_sources(self) -> None:
        self.detail_sources = [
            DETAIL_SOURCES[name]
            for name in settings.SYNC_DETAIL_SOURCES
            if self.usable(DETAIL_SOURCES[name])
        ]
        self.source_names = [source.name for source in self.detail_sources]
        self.breakers = {
            name: Breaker(settings.SYNC_BREAKER_THRESHOLD) for name in self.source_names
        }

    def work_on_details(self, *, wait_for_parts: bool) -> None:
        concurrency = max(1, settings.SYNC_CONCURRENCY)
        size = BATCH_SIZE if concurrency == 1 else 4 * concurrency
        # Writing a batch overlaps fetching the next one, on a thread with its own
        # connection; inside a caller's transaction the writes must stay on its connection.
        self.writer = _Writer(self.store_results, inline=connection.in_atomic_block)
        try:
            while True:
                self.checkpoint()
                batch = claim_batch(self.job, size)
                if batch:
                    with self._count_lock:
                        self.claimed_here.update(match_id for match_id, _ in batch)
                    self.process(batch, concurrency)
                elif wait_for_parts and parts_hold_claims(self.job):
                    self.sleep(CLAIM_POLL_SECONDS)
                else:
                    return
        except EndPhase as stop:
            self.note(str(stop))
        finally:
            self.writer.close()

    def process(self, batch: list[tuple[int, int | None]], concurrency: int) -> None:
        if concurrency == 1:
            self.record([self.fetch_one(*item) for item in batch])
            return
        if self._pool is None:
            self._pool = _FetchPool(self.fetch_one, concurrency)
        ready: list[_Result] = []
        for result in self._pool.map(batch):
            ready.append(result)
            if len(ready) >= BATCH_SIZE:
                self.record(ready)
                ready = []
        self.record(ready)

    def close_pool(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def fetch_one(self, match_id: int, seq_num: int | None) -> _Result:
        """Try each detail source in order until one answers with the match."""
        down: list[str] = []
        refused: list[str] = []
        for source in self.detail_sources:
            if source.needs_seq_num and seq_num is None:
                continue
            breaker = self.breakers[source.name]
            if not breaker.acquire():
                down.append(f"{LABELS[source.name]} is down")
                continue
            outcome = self.try_source(source, breaker, match_id, seq_num)
            if isinstance(outcome, Completed):
                return _Result(match_id, completed=outcome)
            kind, reason = outcome
            (down if kind == "down" else refused).append(reason)
        if refused:
            return _Result(match_id, failed=Failed(match_id, "; ".join(refused)))
        reason = "; ".join(down) or "no detail source is available"
        return _Result(match_id, deferred=Deferred(match_id, reason))

    def try_source(
        self, source: DetailSource, breaker: Breaker, match_id: int, seq_num: int | None
    ) -> Completed | tuple[str, str]:
        label = LABELS[source.name]
        try:
            details = self.call(
                source.bucket, label, lambda: source.fetch(self.client, match_id, seq_num)
            )
        except ServerError as exc:
            if breaker.failed(exc.message):
                self.note(f"{label} is failing ({exc.message}); skipped for the rest of this job.")
            return "down", f"{label}: {exc.message}"
        except RateLimited:
            breaker.released()
            self.disable_for_today(source.bucket, label)
            breaker.open("daily limit")
            return "down", f"{label}: daily limit"
        except (NotFound, BadResponse) as exc:
            breaker.answered()
            return "refused", f"{label}: {exc.message}"
        except BaseException:
            breaker.released()
            raise
        breaker.answered()
        return Completed(details, source.name)

    def record(self, results: list[_Result]) -> None:
        """Judge a batch of outcomes, then hand it to the writer to store and count."""
        if not results:
            return
        for result in results:
            self.deferred_streak = self.deferred_streak + 1 if result.deferred else 0
        self.writer.submit(results)
        if self.breakers and all(b.is_open for b in self.breakers.values()):
            raise EndPhase(STOPPED_EARLY)
        if self.deferred_streak >= settings.SYNC_MAX_CONSECUTIVE_DEFERRED:
            raise EndPhase(STOPPED_EARLY)

    def store_results(self, results: list[_Result]) -> None:
        """Store one batch of outcomes (releasing their claims) and count them."""
        store.save_outcomes(
            [r.completed for r in results if r.completed],
            [r.failed for r in results if r.failed],
            [r.deferred for r in results if r.deferred],
            timezone.now(),
        )
        with self._count_lock:
            self.claimed_here.difference_update(r.match_id for r in results)
            self.attempted += len(results)
            for result in results:
                self.counts["done"] += 1
                if result.completed:
                    self.counts["ok"] += 1
                    self.counts[f"source:{result.completed.source}"] += 1
                else:
                    self.counts["failed" if result.failed else "deferred"] += 1
        self.progressed(len(results))


STOPPED_EARLY = (
    "Stopped fetching details early: every detail source is failing (HTTP 5xx); "
    "the remaining matches wait for a later sync."
)


def _merge_notes(existing: str, notes: list[str]) -> str:
    merged = existing
    for note in notes:
        if note not in merged:
            merged = f"{merged} {note}".strip()
    return merged[:500]


class _FetchPool:
    """Threads that overlap phase-2 round trips; results come back in completion order."""

    def __init__(self, fetch: Callable[[int, int | None], _Result], size: int) -> None:
        self.fetch = fetch
        self.todo: queue.Queue = queue.Queue()
        self.done: queue.Queue = queue.Queue()
        self.threads = [threading.Thread(target=self._work, daemon=True) for _ in range(size)]
        for thread in self.threads:
            thread.start()

    def _work(self) -> None:
        try:
            while (item := self.todo.get()) is not None:
                try:
                    self.done.put(self.fetch(*item))
                except BaseException as exc:  # handed to the caller, which re-raises it
                    self.done.put(exc)
        finally:
            connection.close()

    def map(self, items: list[tuple[int, int | None]]) -> Iterator[_Result]:
        for item in items:
            self.todo.put(item)
        failure: BaseException | None = None
        for _ in items:
            result = self.done.get()
            if isinstance(result, BaseException):
                failure = failure or result
            elif failure is None:
                yield result
        if failure is not None:
            raise failure

    def close(self) -> None:
        for _ in self.threads:
            self.todo.put(None)
        for thread in self.threads:
            thread.join(timeout=5)


class _Writer:
    """Stores phase-2 results in order on its own thread, so the next batch's fetches
    overlap this batch's writes; a failure surfaces at the next hand-over.

    A hand-over waits until the previous batch is stored, so at most two batches are
    ever fetched but not yet stored: the one being written and the one being fetched.
    That bounds what a kill -9 throws away.
    """

    def __init__(self, store_results: Callable[[list[_Result]], None], *, inline: bool) -> None:
        self.store_results = store_results
        self.inline = inline
        self.error: BaseException | None = None
        if not inline:
            self.batches: queue.Queue = queue.Queue()
            self.thread = threading.Thread(target=self._work, daemon=True)
            self.thread.start()

    def _work(self) -> None:
        try:
            while (results := self.batches.get()) is not None:
                if self.error is None:
                    try:
                        self.store_results(results)
                    except BaseException as exc:  # re-raised by the runner's thread
                        self.error = exc
                self.batches.task_done()
        finally:
            connection.close()

    def submit(self, results: list[_Result]) -> None:
        if self.inline:
            self.store_results(results)
            return
        self.batches.join()
        self._raise_error()
        self.batches.put(results)

    def close(self) -> None:
        """Wait until everything submitted is stored."""
        if not self.inline:
            self.batches.put(None)
            self.thread.join()
            self._raise_error()

    def _raise_error(self) -> None:
        if self.error is not None:
            raise self.error


# --- Phase-2 work claims -----------------------------------------------------------------------


def detail_candidates(job: SyncJob):
    """The account's matches this job fetches details for, as a lazy queryset.

    What the job already attempted since phase 2 began is left out, so every match
    is tried at most once per job however many workers share the job.
    """
    matches = Match.objects.for_account(job.account)
    max_attempts = settings.SYNC_MAX_ATTEMPTS
    if job.job_type == JobType.BACKFILL and not job.force:
        matches = matches.due_for_retry(
            max_attempts, settings.SYNC_RETRY_BACKOFF_BASE, timezone.now()
        )
    elif job.job_type == JobType.FULL:
        # Re-fetch everything but what this job (or the interrupted job it resumes)
        # already refreshed, and never what has used up its attempts.
        matches = matches.filter(
            Q(has_details=True, details_fetched_at__lt=job.refresh_since)
            | Q(has_details__isnull=True)
            | Q(has_details=False, retry_count__lt=max_attempts)
        )
    else:
        matches = matches.pending_details(max_attempts)
    if job.details_started_at is not None:
        matches = matches.exclude(last_fetch_attempt__gte=job.details_started_at)
    return matches


def _claim_is_free(now) -> Q:
    running_claimer = SyncJob.objects.filter(pk=OuterRef("claimed_by"), status=JobStatus.RUNNING)
    return Q(claimed_by__isnull=True) | Q(claimed_until__lt=now) | ~Q(Exists(running_claimer))


def claim_batch(job: SyncJob, size: int) -> list[tuple[int, int | None]]:
    """Claim up to `size` of the job's candidates, newest first, for this worker.

    SKIP LOCKED lets parallel workers claim disjoint batches without waiting on each
    other; the claim (claimed_by, claimed_until) outlives the short transaction, so no
    lock is held while the upstream answers. A claim of a job that is no longer running,
    or whose lease ran out, is free again.
    """
    if not SyncJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).exists():
        return []
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            detail_candidates(job)
            .filter(_claim_is_free(now))
            .order_by("-match_id")
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("match_id", "match_seq_num")[:size]
        )
        if rows:
            Match.objects.filter(pk__in=[match_id for match_id, _ in rows]).update(
                claimed_by=job, claimed_until=now + timedelta(seconds=CLAIM_LEASE_SECONDS)
            )
    return rows


def parts_hold_claims(job: SyncJob) -> bool:
    return Match.objects.filter(claimed_by=job, claimed_until__gt=timezone.now()).exists()


def release_claims(job: SyncJob, match_ids: Iterable[int] | None = None) -> None:
    """Free the job's claims (only those on `match_ids` when given)."""
    claims = Match.objects.filter(claimed_by=job)
    if match_ids is not None:
        claims = claims.filter(pk__in=list(match_ids))
    claims.update(claimed_by=None, claimed_until=None)


def run_details_part(job_id: int) -> None:
    """A helper task of a running job's phase 2 (SYNC_DETAIL_TASKS > 1)."""
    job = SyncJob.objects.select_related("account").get(pk=job_id)
    if job.status != JobStatus.RUNNING or job.phase != JobPhase.FETCHING_DETAILS:
        return
    JobRunner(job, coordinator=False).run_part()
