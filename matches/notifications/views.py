"""The Settings page's notification actions: add a channel, show a webhook's secret once,
send a test message, switch a channel on or off, remove it."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from matches.identity.forms import UserSettingsForm
from matches.models import UserSettings
from matches.notifications import events
from matches.notifications.forms import ChannelForm
from matches.notifications.models import Channel, ChannelKind
from syncjobs import dispatch

# The secret of a webhook just added, kept in the session for the one page that shows it.
NEW_SECRET_SESSION_KEY = "dotasync_new_webhook_secret"


def _settings_section() -> str:
    return reverse("user_settings") + "#notifications"


@require_POST
def channel_add(request: HttpRequest) -> HttpResponse:
    form = ChannelForm(request.POST, user=request.user)
    if not form.is_valid():
        settings_form = UserSettingsForm(instance=UserSettings.of(request.user))
        return render(
            request,
            "identity/settings.html",
            {"form": settings_form, "channel_form": form},
            status=400,
        )
    channel = form.save()
    messages.success(request, f"Added: {channel.get_kind_display()} to {channel.destination}.")
    if channel.kind == ChannelKind.WEBHOOK:
        request.session[NEW_SECRET_SESSION_KEY] = [channel.pk, channel.secret]
        return redirect("notification_secret", channel_id=channel.pk)
    return redirect(_settings_section())


@never_cache  # the page shows a secret: no copy of it in any cache
def channel_secret(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = get_object_or_404(Channel, pk=channel_id, user=request.user)
    shown = request.session.pop(NEW_SECRET_SESSION_KEY, None)
    secret = shown[1] if shown and shown[0] == channel.pk else None
    return render(request, "notifications/secret.html", {"channel": channel, "secret": secret})


@require_POST
def channel_test(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = get_object_or_404(Channel, pk=channel_id, user=request.user)
    if not channel.enabled:
        messages.error(request, "This channel is switched off: switch it on first.")
        return redirect(_settings_section())
    if not events.write_test_message(channel):
        messages.error(request, "A test message was sent moments ago: wait half a minute.")
        return redirect(_settings_section())
    dispatch.enqueue_deliveries()
    messages.info(
        request,
        f"A test message to {channel.destination} is on its way; this page shows if it fails.",
    )
    return redirect(_settings_section())


@require_POST
def channel_switch(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = get_object_or_404(Channel, pk=channel_id, user=request.user)
    switch_on = request.POST.get("on") == "1"
    Channel.objects.filter(pk=channel.pk).update(
        enabled=switch_on, failures_in_a_row=0, switched_off_reason=""
    )
    state = "on" if switch_on else "off"
    messages.success(request, f"{channel.get_kind_display()} to {channel.destination}: {state}.")
    return redirect(_settings_section())


@require_POST
def channel_remove(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = get_object_or_404(Channel, pk=channel_id, user=request.user)
    channel.delete()
    messages.success(request, f"Removed: {channel.get_kind_display()} to {channel.destination}.")
    return redirect(_settings_section())
