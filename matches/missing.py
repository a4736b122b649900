"""Matches without details, in a player's words: why one has none yet (its page says it),
and the button that fetches an account's waiting matches (a backfill)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format

from matches.models import Match


@dataclass(frozen=True)
class MissingDetails:
    title: str
    reasons: list[str]
    # Whether a sync would still try it; False once it used up its attempts.
    will_retry: bool


def waiting_count(summary: dict[str, int]) -> int:
    """What a backfill fetches now, from a details_summary(): the stubs, and the failed
    matches that have attempts left."""
    return summary["pending"] + summary["retryable"]


def fetch_waiting_label(waiting: int) -> str:
    """The button that starts a backfill of an account's waiting matches."""
    return "Fetch the waiting match" if waiting == 1 else f"Fetch the {waiting} waiting matches"


def _when(moment: datetime) -> str:
    return date_format(timezone.localtime(moment), "Y-m-d H:i T")


def retry_due_at(match: Match) -> datetime | None:
    """When a failed match's backoff passes: SYNC_RETRY_BACKOFF_BASE * 2**n after its n-th
    failure (matches.models.due_for_retry)."""
    if match.last_fetch_attempt is None:
        return None
    wait = settings.SYNC_RETRY_BACKOFF_BASE * 2**match.retry_count
    return match.last_fetch_attempt + timedelta(seconds=wait)


def why_details_missing(match: Match) -> MissingDetails:
    """What happened to a match without details, and what happens next."""
    if match.has_details is None:
        if match.fetch_error and match.last_fetch_attempt:
            return MissingDetails(
                title="Details not fetched yet",
                reasons=[
                    f"The last try ({_when(match.last_fetch_attempt)}) got no answer: "
                    f"{match.fetch_error}.",
                    "A busy or broken source counts no attempt: the match keeps waiting, "
                    "and the next sync tries again.",
                ],
                will_retry=True,
            )
        return MissingDetails(
            title="Details not fetched yet",
            reasons=[
                "DotaSync found this match in the account's history, but no sync has fetched "
                "its details yet: the sync that found it stopped before it got to it, or has "
                "not got to it yet."
            ],
            will_retry=True,
        )
    error = match.fetch_error or "no reason recorded"
    attempts = f"{match.retry_count} of {settings.SYNC_MAX_ATTEMPTS} attempts"
    if match.retry_count >= settings.SYNC_MAX_ATTEMPTS:
        return MissingDetails(
            title="Details unavailable",
            reasons=[
                f"Its details could not be fetched: {error} ({attempts}).",
                "DotaSync stopped trying: no source seems to have this match.",
            ],
            will_retry=False,
        )
    due = retry_due_at(match)
    next_try = (
        f"Syncs try again after {_when(due)}"
        if due and due > timezone.now()
        else "The next sync tries again"
    )
    return MissingDetails(
        title="Details unavailable",
        reasons=[
            f"Its details could not be fetched: {error} ({attempts}).",
            f"{next_try}; fetching the waiting matches now tries it at once.",
        ],
        will_retry=True,
    )
