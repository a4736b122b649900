"""A user's notification channels, the deliveries waiting for or done by each, and how far each
account's play sessions have been told about."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from matches.models import SteamAccount
from matches.notifications.addresses import host_of


class ChannelKind(models.TextChoices):
    DISCORD = "discord", "Discord webhook"
    WEBHOOK = "webhook", "Webhook (signed JSON)"
    EMAIL = "email", "E-mail"


class Event(models.TextChoices):
    SESSION_ENDED = "session_ended", "A play session ended"
    SYNC_NEEDS_YOU = "sync_needs_you", "A sync needs you"
    TEST = "test", "Test message"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    SENT = "sent", "Sent"
    GAVE_UP = "gave_up", "Given up"


class Channel(models.Model):
    """Where a user's notifications go. `url` (a webhook's URL holds its credentials) and
    `secret` are secrets: never logged, never shown again after the page that created them."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_channels"
    )
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    url = models.CharField(max_length=500, blank=True)
    email = models.EmailField(blank=True)
    secret = models.CharField(max_length=64, blank=True, help_text="signs a webhook's bodies")
    on_sessions = models.BooleanField(default=True)
    on_sync_problems = models.BooleanField(default=True)
    enabled = models.BooleanField(default=True)
    failures_in_a_row = models.PositiveSmallIntegerField(default=0)
    switched_off_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="email") | ~Q(email=""), name="email_channel_has_address"
            ),
            models.CheckConstraint(
                condition=Q(kind="email") | ~Q(url=""), name="webhook_channel_has_url"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.user}"

    @property
    def destination(self) -> str:
        """What the page shows of where it goes: the e-mail address, or a webhook's host only
        (the rest of its URL is its credential)."""
        if self.kind == ChannelKind.EMAIL:
            return self.email
        return host_of(self.url)


class Delivery(models.Model):
    """One message for one channel. `key` makes writing it idempotent: an event noticed twice
    is one row. A worker claims a due row by moving `next_try_at` on (a conditional UPDATE)."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=20, choices=Event.choices)
    key = models.CharField(max_length=200)
    payload = models.JSONField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_try_at = models.DateTimeField()
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["channel", "key"], name="one_delivery_per_event")
        ]
        indexes = [models.Index(fields=["status", "next_try_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.event} #{self.pk} to channel {self.channel_id}: {self.status}"


class SessionMarker(models.Model):
    """How far an account's play sessions were told about: the start of the newest match a
    session notification covered (or passed over)."""

    account = models.OneToOneField(
        SteamAccount, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    notified_through = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"sessions of {self.account_id} told through {self.notified_through}"
