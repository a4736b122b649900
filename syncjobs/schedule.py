"""The cluster's periodic tasks, kept in step with the settings by `migrate`, and the order in
which the scheduled syncs start.

- the incremental sync of every linked account, every SYNC_SCHEDULE_INTERVAL_MINUTES: it
  looks every minute for the accounts whose last sync started that long ago (or that never
  synced);
- the supervisor, every minute: it ends jobs whose worker is gone and takes care of
  pending jobs no worker will run (syncjobs.supervisor);
- notifications, every minute: ended play sessions, then the deliveries that are due.

django-q's brokers hand tasks out first in, first out (the ORM broker by row id, Redis as a
list), so the order of the enqueues is the order the workers run them, and nothing can pass a
task once it is queued. Fairness between users is therefore decided before the enqueue: the
scheduled syncs go out round-robin between users, each user's least recently synced account
first, and never more of a user's than their free share of MAX_ACTIVE_JOBS_PER_USER (the
engine refuses more anyway). A user's accounts beyond their share wait, and start at the first
look after one of the user's syncs ends. So another user's sync, scheduled or started by hand,
queues behind at most MAX_ACTIVE_JOBS_PER_USER jobs of each other user.
"""

import logging
from collections import defaultdict
from datetime import timedelta
from itertools import zip_longest

from django.conf import settings
from django.db.models import Count, F, Max, Q
from django.utils import timezone

from matches.models import SteamAccount
from syncjobs import dispatch, engine
from syncjobs.models import JobType, SyncJob

logger = logging.getLogger(__name__)

SCHEDULE_NAME = "dotasync: incremental sync of every linked account"
SUPERVISOR_SCHEDULE_NAME = "dotasync: supervisor"
# How often the schedule looks for accounts that are due, in minutes: a user's accounts held
# back by their share start soon after one of their syncs ends, not an interval later.
LOOK_EVERY_MINUTES = 1
NOTIFICATIONS_SCHEDULE_NAME = "dotasync: notifications"


def ensure_schedule(**_: object) -> None:
    """Create, update or (interval 0) remove the django-q Schedules; runs after migrate."""
    dispatch.keep_repeating(SUPERVISOR_SCHEDULE_NAME, "syncjobs.tasks.supervise", 1)
    dispatch.keep_repeating(
        NOTIFICATIONS_SCHEDULE_NAME, "matches.notifications.tasks.check_sessions_and_deliver", 1
    )
    if settings.SYNC_SCHEDULE_INTERVAL_MINUTES <= 0:
        dispatch.drop_schedule(SCHEDULE_NAME)
        return
    dispatch.keep_repeating(SCHEDULE_NAME, "syncjobs.tasks.sync_all_accounts", LOOK_EVERY_MINUTES)


def scheduled_sync_order() -> list[SteamAccount]:
    """The linked accounts the schedule syncs now, in the order it starts them: those whose
    last sync started SYNC_SCHEDULE_INTERVAL_MINUTES ago or more, or that never synced.

    Round-robin between users: every user's first account, then every user's second, and
    so on; a user's accounts least recently synced first (never synced before all), users in
    the order their first account has waited. Accounts with a sync waiting or running are
    left out, and so is what is beyond a user's free share of MAX_ACTIVE_JOBS_PER_USER.
    """
    limit = settings.MAX_ACTIVE_JOBS_PER_USER
    due_before = timezone.now() - timedelta(minutes=settings.SYNC_SCHEDULE_INTERVAL_MINUTES)
    busy = SyncJob.objects.active().filter(account__owner__isnull=False)
    active_per_owner = dict(
        busy.values_list("account__owner").annotate(active=Count("pk")).order_by()
    )
    idle = (
        SteamAccount.objects.filter(owner__isnull=False)
        .exclude(pk__in=busy.values("account_id"))
        .annotate(last_sync=Max("sync_jobs__created_at"))
        .filter(Q(last_sync__isnull=True) | Q(last_sync__lte=due_before))
        .order_by(F("last_sync").asc(nulls_first=True), "owner_id", "account_id")
    )
    per_owner: dict[int, list[SteamAccount]] = defaultdict(list)
    for account in idle:
        share = limit - active_per_owner.get(account.owner_id, 0) if limit else None
        if share is None or len(per_owner[account.owner_id]) < share:
            per_owner[account.owner_id].append(account)
    # dicts keep insertion order: owners come in the order of their longest-waiting account.
    rounds = zip_longest(*per_owner.values())
    return [account for one_round in rounds for account in one_round if account is not None]


def start_scheduled_syncs() -> int:
    """Start the scheduled incremental syncs (scheduled_sync_order); returns how many started."""
    started = 0
    # The order is read into a list first: enqueueing on the ORM broker must not run while a
    # server-side cursor is still open on SQLite.
    for account in scheduled_sync_order():
        try:
            engine.start_sync(account, JobType.INCREMENTAL)
        except engine.AlreadyRunning:
            logger.info("account %s is already syncing; schedule skips it", account.account_id)
            continue
        except engine.TooManyJobs:
            logger.info("account %s: its owner's share is in use; next run", account.account_id)
            continue
        except engine.EnqueueFailed as exc:
            logger.error("account %s: %s", account.account_id, exc)
            continue
        started += 1
    return started
