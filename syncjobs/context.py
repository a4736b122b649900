"""What a job's phases share in one worker: the `JobContext` they receive.

The job and its account, its pulse (syncjobs.liveness), the upstream client, waiting out
429s, which sources the job may still use, and the task's deadline. The phases
(syncjobs.listing, syncjobs.details) get it from syncjobs.runner, which runs them and ends
the job; they never import the runner, so the engine's modules form a tree.
"""

import logging
import threading
import time
from collections.abc import Callable

from matches.upstream import ratelimit
from matches.upstream.client import KEY_SETTINGS, URL_SETTINGS, UpstreamClient
from matches.upstream.errors import RateLimited, ServerError, SourceRefused
from syncjobs import sources
from syncjobs.liveness import Pulse
from syncjobs.models import SyncJob
from syncjobs.sources import DetailSource, IdSource

logger = logging.getLogger(__name__)

MAX_RATE_LIMIT_WAITS = 20


class NoSourceLeft(Exception):
    """Every source the job could use refused or failed: the job fails with this message."""


class JobContext:
    def __init__(
        self,
        job: SyncJob,
        *,
        client: UpstreamClient | None = None,
        cancel_event: threading.Event | None = None,
        on_progress: Callable[[SyncJob], None] | None = None,
        coordinator: bool = True,
        deadline: float | None = None,
    ) -> None:
        self.job = job
        self.account = job.account
        # time.monotonic() by which this task hands its phase 2 over; None: never.
        self.deadline = deadline
        self.pulse = Pulse(
            job, coordinator=coordinator, cancel_event=cancel_event, on_progress=on_progress
        )
        self.client = client or UpstreamClient.from_settings(
            sleep=self.pulse.sleep, checkpoint=self.pulse.checkpoint
        )
        # Sources refused for this job, by the setting to fix (a wrong key, a wrong URL).
        self.refusals: dict[str, str] = {}
        self._refusals_lock = threading.Lock()

    def time_is_up(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def note(self, text: str) -> None:
        self.pulse.note(text)

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
                self.pulse.sleep(wait)
        raise ServerError(f"{label} kept answering 429 Too Many Requests", status=429)

    def disable_for_today(self, bucket: str, label: str) -> None:
        """The day's limit is used up; a source switched off already (STRATZ's refused
        token) keeps its own reason and end, which say what to fix."""
        already = ratelimit.disabled_reason(bucket)
        if already is not None:
            self.note(already)
            return
        until = ratelimit.next_utc_midnight()
        reason = f"{label}'s daily API limit is used up; it is skipped until {until:%H:%M} UTC."
        ratelimit.disable_until(bucket, until, reason)
        self.note(reason)

    def refuse(self, refusal: SourceRefused) -> None:
        """A source refused us: every source behind the same setting is off for this job."""
        with self._refusals_lock:
            if refusal.setting in self.refusals:
                return
            self.refusals[refusal.setting] = refusal.message
        self.note(f"{refusal.message}: check {refusal.setting}; its sources were not used.")

    def refused(self, bucket: str) -> bool:
        with self._refusals_lock:
            return KEY_SETTINGS[bucket] in self.refusals or URL_SETTINGS[bucket] in self.refusals

    def usable(self, source: IdSource | DetailSource) -> bool:
        """Whether this job may call `source` now: sources.usable_now with the client's key,
        unless the source refused this job; a switched-off source is noted in the job."""
        if not sources.has_its_key(source, self.client.has_steam_key):
            return False
        if self.refused(source.bucket):
            return False
        reason = sources.switched_off(source)
        if reason:
            self.note(reason)
            return False
        return True

    def no_source_left(self, what: str) -> NoSourceLeft:
        """The error that fails the job, naming what to fix when sources refused us."""
        with self._refusals_lock:
            refusals = dict(self.refusals)
        if refusals:
            fixes = "; ".join(f"{message} (check {name})" for name, message in refusals.items())
            return NoSourceLeft(f"No source of {what} is left: {fixes}.")
        return NoSourceLeft(f"No source of {what} is available.")
