"""The cluster's periodic tasks, kept in step with the settings by `migrate`.

- the incremental sync of every linked account, every SYNC_SCHEDULE_INTERVAL_MINUTES;
- the supervisor, every minute: it ends jobs whose worker is gone and takes care of
  pending jobs no worker will run (syncjobs.supervisor);
- notifications, every minute: ended play sessions, then the deliveries that are due.
"""

from django.conf import settings
from django_q.models import Schedule

SCHEDULE_NAME = "dotasync: incremental sync of every linked account"
SUPERVISOR_SCHEDULE_NAME = "dotasync: supervisor"
NOTIFICATIONS_SCHEDULE_NAME = "dotasync: notifications"


def ensure_schedule(**_: object) -> None:
    """Create, update or (interval 0) remove the django-q Schedules; runs after migrate."""
    Schedule.objects.update_or_create(
        name=SUPERVISOR_SCHEDULE_NAME,
        defaults={
            "func": "syncjobs.tasks.supervise",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
    Schedule.objects.update_or_create(
        name=NOTIFICATIONS_SCHEDULE_NAME,
        defaults={
            "func": "notifications.tasks.check_sessions_and_deliver",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
    minutes = settings.SYNC_SCHEDULE_INTERVAL_MINUTES
    if minutes <= 0:
        Schedule.objects.filter(name=SCHEDULE_NAME).delete()
        return
    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": "syncjobs.tasks.sync_all_accounts",
            "schedule_type": Schedule.MINUTES,
            "minutes": minutes,
            "repeats": -1,
        },
    )
