"""What the sync dashboard shows for one of a user's accounts, in a player's words,
independent of HTTP.

The page keeps its controls and its live region while a sync runs: each poll answers only
the parts that changed (syncjobs.views). `LiveState` names what a page shows of a job, so a
poll can tell the numbers, which change every second, from the sentence the live region
announces, which changes only when the phase does and when the job ends, and from the
controls, which change only when a cancel is asked for and when the job ends.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import pluralize

from matches.missing import fetch_waiting_label, waiting_count
from matches.models import Match, SteamAccount
from syncjobs import liveness, quota
from syncjobs.models import JobPhase, JobStatus, JobType, SyncJob, about
from syncjobs.quota import Estimate
from syncjobs.sources import LABELS, PLAYER_NAMES

RECENT_JOBS = 10
FAILED_MATCHES_SHOWN = 5

# A job's notes are sentences joined by spaces (syncjobs.liveness.merge_notes).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def n_matches(count: int) -> str:
    return f"{count} match{pluralize(count, 'es')}"


def join_names(names: list[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


@dataclass(frozen=True)
class LiveState:
    """What a page shows of a job's live parts: the phase its live region announced
    (`announced`) and the controls it offers (`controls`). Polls carry it as `?shown=`."""

    announced: str
    controls: str

    @classmethod
    def of(cls, job: SyncJob | None) -> "LiveState":
        if job is None:
            return cls(announced="none", controls="idle")
        running = job.status == JobStatus.RUNNING
        announced = (job.phase or "starting") if running else job.status
        if not job.is_active:
            controls = "idle"
        elif job.cancel_requested:
            controls = "cancelling"
        else:
            controls = "active"
        return cls(announced=announced, controls=controls)

    @classmethod
    def parse(cls, text: str | None) -> "LiveState | None":
        """The state a poll names; None for anything else (then every part is sent)."""
        announced, dot, controls = (text or "").partition(".")
        return cls(announced=announced, controls=controls) if dot else None

    def __str__(self) -> str:
        return f"{self.announced}.{self.controls}"


@dataclass(frozen=True)
class JobReport:
    """How a job went, for a player: a headline (what the live region announces) and a few
    plain sentences; `notes` are the technical ones, shown in a disclosure."""

    headline: str
    sentences: list[str]
    notes: list[str]


def headline(job: SyncJob) -> str:
    """The sentence the live region announces: it changes with the phase and at the end."""
    if job.status == JobStatus.PENDING:
        return "Waiting for a worker to start the sync"
    if job.status == JobStatus.RUNNING:
        if job.phase == JobPhase.COLLECTING_IDS:
            return "Collecting match IDs"
        if job.phase == JobPhase.FETCHING_DETAILS:
            return "Fetching match details"
        return "Starting the sync"
    if job.status == JobStatus.COMPLETED:
        if job.details_ok:
            return f"Sync complete: {n_matches(job.details_ok)} synced"
        if not job.details_total:
            if job.job_type == JobType.BACKFILL:
                return "Sync complete: no match was waiting"
            return "Sync complete: no new matches"
        return "Sync complete: no match details could be fetched this time"
    if job.status == JobStatus.CANCELLED:
        if job.details_total:
            return f"Sync cancelled: {job.details_ok} of {n_matches(job.details_total)} synced"
        return "Sync cancelled"
    if job.error_message.startswith("Interrupted"):
        return "Sync interrupted"
    if job.error_message.startswith("Timed out"):
        return "Sync timed out"
    return "Sync failed"


def waiting_after(job: SyncJob) -> int:
    """Matches of the job's own work that still wait for details once it ended: those no
    source could answer (deferred) and those it did not reach."""
    return job.details_deferred + max(0, job.details_total - job.details_done)


def plain_sentences(job: SyncJob) -> list[str]:
    """What an ended job means for the player's history."""
    if job.is_active:
        return []
    sentences = []
    if job.status == JobStatus.FAILED and job.error_message:
        sentences.append(job.error_message)
    used = sorted(job.sources.items(), key=lambda item: (-item[1], item[0]))
    names = [PLAYER_NAMES.get(source, source) for source, count in used if count]
    if names:
        sentences.append(f"Details came from {join_names(names)}.")
    if job.details_failed:
        sentences.append(
            f"{n_matches(job.details_failed)} could not be fetched: no source has "
            f"{'its' if job.details_failed == 1 else 'their'} details (see Matches without "
            "details)."
        )
    waiting = waiting_after(job)
    if waiting:
        verb = "waits" if waiting == 1 else "wait"
        sentences.append(
            f"{n_matches(waiting)} still {verb} for details: the next sync fetches them."
        )
    if job.status != JobStatus.COMPLETED and job.details_ok:
        sentences.append("What was fetched before it stopped is kept.")
    return sentences


def technical_notes(job: SyncJob) -> list[str]:
    """The counts, the sources by their API names and the job's own notes."""
    notes = [f"Job #{job.pk}: {job.get_job_type_display()}, {job.get_status_display().lower()}."]
    if job.job_type != JobType.BACKFILL and (job.ids_found or job.phase):
        notes.append(f"Match IDs: {job.ids_found} listed, {job.ids_new} new to this account.")
    if job.details_total:
        notes.append(
            f"Details: {job.details_done} of {job.details_total} tried; {job.details_ok} stored, "
            f"{job.details_failed} refused by every source, {job.details_deferred} deferred "
            "(no source answered; they stay waiting)."
        )
    if job.sources:
        per_source = ", ".join(
            f"{LABELS.get(source, source)} ({source}) {count}"
            for source, count in sorted(job.sources.items())
        )
        notes.append(f"Sources: {per_source}.")
    notes += [note for note in _SENTENCE_END.split(job.message) if note]
    return notes


def outcome(job: SyncJob) -> JobReport:
    return JobReport(
        headline=headline(job), sentences=plain_sentences(job), notes=technical_notes(job)
    )


@dataclass(frozen=True)
class FullSyncPreview:
    """What a full sync of the account does, said before it starts."""

    matches: int
    estimate: Estimate | None = None

    def __str__(self) -> str:
        if not self.matches:
            return "Lists the account's whole history and fetches every match's details."
        text = (
            "Lists the whole history again and re-fetches the details of "
            f"{'the one match' if self.matches == 1 else f'all {self.matches} matches'} "
            "already stored"
        )
        guess = self.estimate
        if guess is not None and guess.seconds:
            text += f": {about(guess.seconds)}"
        if guess is not None and guess.waiting and guess.resets_at:
            text += (
                f", and {guess.waiting:,} wait for OpenDota's daily limit "
                f"(reset {guess.resets_at:%H:%M} UTC)"
            )
        return text + "."


@dataclass(frozen=True)
class SyncPanel:
    """One account's sync panel. What only the whole page and the end of a phase show (the
    accounts, the recent jobs, the failed matches) is read when first shown: a poll, once a
    second, reads the job and the account's counts only."""

    accounts: Sequence[SteamAccount]
    account: SteamAccount
    job: SyncJob | None
    summary: dict[str, int]

    @cached_property
    def recent_jobs(self) -> list[SyncJob]:
        return list(SyncJob.objects.filter(account=self.account)[:RECENT_JOBS])

    @cached_property
    def failed_matches(self) -> list[Match]:
        failed = Match.objects.for_account(self.account).failed()
        return list(failed.order_by("-last_fetch_attempt")[:FAILED_MATCHES_SHOWN])

    @property
    def recent_rows(self) -> list[tuple[SyncJob, str]]:
        """Each recent job with its headline: what it did, in a few words."""
        return [(job, headline(job)) for job in self.recent_jobs]

    @property
    def polling(self) -> bool:
        """The browser keeps asking for fresh progress only while the job can still change."""
        return self.job is not None and self.job.is_active

    @property
    def state(self) -> LiveState:
        return LiveState.of(self.job)

    @cached_property
    def outcome(self) -> JobReport | None:
        return outcome(self.job) if self.job else None

    @property
    def waiting(self) -> int:
        """Matches a backfill would fetch now: stubs, and failed ones with attempts left."""
        return waiting_count(self.summary)

    @property
    def can_fetch_waiting(self) -> bool:
        """Only when something can still be fetched, and no sync of the account runs."""
        return not self.polling and bool(self.waiting)

    @property
    def fetch_waiting_label(self) -> str:
        return fetch_waiting_label(self.waiting)

    @property
    def shows_waiting(self) -> bool:
        """The card of matches without details: not while a sync works on them."""
        return not self.polling and bool(self.waiting or self.failed_matches)

    @property
    def waiting_sentence(self) -> str:
        pending, failed = self.summary["pending"], self.summary["failed"]
        retryable = self.summary["retryable"]
        parts = []
        if pending:
            parts.append(f"{n_matches(pending)} {'waits' if pending == 1 else 'wait'} for details")
        if failed:
            could_not = f"{n_matches(failed)} could not be fetched"
            if retryable == failed:
                could_not += f"; {'it' if failed == 1 else 'they'} can be tried again"
            elif retryable:
                could_not += f"; {retryable} of them can be tried again"
            else:
                could_not += " and will not be tried again"
            parts.append(could_not)
        return "; ".join(parts) + "."

    @property
    def full_sync_preview(self) -> FullSyncPreview:
        return FullSyncPreview(
            matches=self.summary["matches"],
            estimate=quota.estimate_sync(self.account, JobType.FULL),
        )

    @property
    def bar_class(self) -> str:
        """Running, finished (the colour of a win, never that of a loss) or stopped."""
        if self.job is None or self.job.is_active:
            return "bar-running"
        return "bar-done" if self.job.status == JobStatus.COMPLETED else "bar-stopped"


def user_accounts(user: AbstractBaseUser) -> QuerySet[SteamAccount]:
    """The user's accounts, read only if a page shows them."""
    return SteamAccount.objects.filter(owner=user)


def job_for_user(user: AbstractBaseUser, job_id: int) -> SyncJob:
    """The job, if one of the user's accounts owns it; a 404 otherwise."""
    return get_object_or_404(SyncJob.objects.for_user(user).select_related("account"), pk=job_id)


def build_panel(
    accounts: Sequence[SteamAccount], account: SteamAccount, job: SyncJob | None = None
) -> SyncPanel:
    """The panel of `account`, showing `job` or else the account's newest job.

    A job that says running but whose worker is gone is ended before it is shown.
    """
    if job is None:
        liveness.refresh(
            SyncJob.objects.filter(account=account, status=JobStatus.RUNNING).select_related(
                "account"
            )
        )
        job = SyncJob.objects.filter(account=account).first()
    else:
        liveness.end_if_dead(job)
    return SyncPanel(
        accounts=accounts,
        account=account,
        job=job,
        summary=Match.objects.for_account(account).details_summary(),
    )
