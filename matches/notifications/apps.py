"""The notifications app: a user's channels (Discord, a signed webhook, e-mail) and what is
sent to them when a play session ends or a sync needs the user."""

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "matches.notifications"
    label = "notifications"

    def ready(self) -> None:
        from matches.notifications import events
        from syncjobs import signals

        # The engine announces a job's end; this app listens (it stands above the engine).
        signals.job_ended.connect(events.on_job_ended, dispatch_uid="notifications.job_ended")
