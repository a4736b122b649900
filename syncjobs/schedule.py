"""The periodic incremental sync, kept in step with SYNC_SCHEDULE_INTERVAL_MINUTES."""

from django.conf import settings
from django_q.models import Schedule

SCHEDULE_NAME = "dotasync: incremental sync of every linked account"


def ensure_schedule(**_: object) -> None:
    """Create, update or (interval 0) remove the django-q Schedule; runs after migrate."""
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
