from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SyncjobsConfig(AppConfig):
    name = "syncjobs"
    verbose_name = "Sync jobs"

    def ready(self) -> None:
        from syncjobs.schedule import ensure_schedule

        post_migrate.connect(ensure_schedule, sender=self)
