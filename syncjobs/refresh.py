"""OpenDota's refresh of an account: asked at most once a day, only when OpenDota is behind.

`POST /api/players/{id}/refresh` has OpenDota rescan the account's newest 500 matches; the
next sync then lists what it found. The page and the API offer it only when the
completeness report finds OpenDota's count behind another source's. A click claims the day
with a conditional UPDATE of ListingFrontier.refresh_asked_at (two clicks, one call); the
call itself runs in a django-q task (syncjobs.tasks.refresh_opendota), as every upstream
call does.
"""

import logging
from datetime import datetime, timedelta

from django.db.models import Q

from dotasync import dbclock
from matches.models import SteamAccount
from matches.upstream.client import UpstreamClient
from matches.upstream.errors import UpstreamError
from syncjobs import dispatch
from syncjobs.completeness import REFRESH_EVERY_HOURS
from syncjobs.models import ListingFrontier
from syncjobs.sources import OPENDOTA_LIST

logger = logging.getLogger(__name__)


def claim(account: SteamAccount, now: datetime | None = None) -> bool:
    """Claim today's refresh of the account: True for the one caller that got it."""
    now = now or dbclock.now()
    ListingFrontier.objects.get_or_create(account=account, source=OPENDOTA_LIST)
    due = Q(refresh_asked_at__isnull=True) | Q(
        refresh_asked_at__lte=now - timedelta(hours=REFRESH_EVERY_HOURS)
    )
    return bool(
        ListingFrontier.objects.filter(due, account=account, source=OPENDOTA_LIST).update(
            refresh_asked_at=now
        )
    )


def ask(account: SteamAccount) -> bool:
    """Claim the day's refresh and hand the call to the task cluster; False when it was
    asked within the last day already."""
    if not claim(account):
        return False
    dispatch.enqueue_opendota_refresh(account.account_id)
    return True


def run(account_id: int) -> bool:
    """The task's body: ask OpenDota to refresh the account. False when OpenDota refused
    (the claim stands: the day's call is spent either way)."""
    try:
        UpstreamClient.from_settings().opendota_refresh(account_id)
    except UpstreamError as exc:
        logger.warning("OpenDota's refresh of %s failed: %s", account_id, exc)
        return False
    return True
