"""The notifications app: a user's channels (Discord, a signed webhook, e-mail) and what is
sent to them when a play session ends or a sync needs the user."""

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "matches.notifications"
    label = "notifications"
