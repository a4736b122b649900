"""The Settings page's Notifications section, as an inclusion tag: the page's view stays
as it is, and the section's own views re-render the page with their form's errors."""

from django import template

from matches.notifications.forms import ChannelForm
from matches.notifications.models import Channel, DeliveryStatus

register = template.Library()


@register.inclusion_tag("notifications/_section.html", takes_context=True)
def notifications_section(context: template.Context) -> dict:
    user = context["request"].user
    channels = list(Channel.objects.filter(user=user))
    for channel in channels:
        channel.last_failure = (
            channel.deliveries.exclude(status=DeliveryStatus.SENT).exclude(last_error="").first()
        )
    return {
        "channels": channels,
        "channel_form": context.get("channel_form") or ChannelForm(user=user),
        "csrf_token": context.get("csrf_token"),
    }
