"""How one message goes out through each kind of channel.

A message is the neutral dict that events.py builds and a Delivery stores: `title`, `text`,
`url`, `color`, `fields` [{name, value}] and, per event, its data (`matches`, `job`). Each kind
renders it its own way:

- Discord: its webhook JSON, one embed (https://discord.com/developers/docs/resources/webhook
  #execute-webhook and .../resources/message#embed-object): title ≤ 256, description ≤ 4096,
  ≤ 25 fields with a value ≤ 1024 each; field values take Markdown links.
- Webhook: the message as JSON with the delivery's `id` (a receiver drops a retry it has seen)
  and `X-DotaSync-Signature: sha256=<hex HMAC-SHA256 of the body under the channel's secret>`.
- E-mail: a plain-text mail through Django's mail (the EMAIL_* settings).
"""

import hashlib
import hmac
import json

from django.conf import settings
from django.core.mail import EmailMessage

from matches.notifications import addresses
from matches.notifications.models import Channel, ChannelKind, Delivery

SIGNATURE_HEADER = "X-DotaSync-Signature"
TIMEOUT_SECONDS = 10.0
DISCORD_MAX_FIELDS = 25


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def discord_body(message: dict) -> dict:
    fields = message.get("fields", [])
    if len(fields) > DISCORD_MAX_FIELDS:  # Discord refuses a 26th: the last one counts the rest
        left = len(fields) - DISCORD_MAX_FIELDS + 1
        fields = [*fields[: DISCORD_MAX_FIELDS - 1], {"name": "…", "value": f"and {left} more"}]
    embed = {
        "title": message["title"][:256],
        "description": message.get("text", "")[:4096],
        "color": message.get("color", 0),
        "fields": [
            {"name": field["name"][:256], "value": field["value"][:1024], "inline": False}
            for field in fields
        ],
    }
    if message.get("url"):
        embed["url"] = message["url"]
    return {"username": "DotaSync", "embeds": [embed]}


def webhook_body(delivery: Delivery) -> bytes:
    return json.dumps({"id": delivery.pk, **delivery.payload}, separators=(",", ":")).encode()


def email_text(message: dict) -> str:
    lines = [message.get("text", ""), ""]
    for field in message.get("fields", []):
        lines.append(f"{field['name']}: {field.get('plain', field['value'])}")
    if message.get("url"):
        lines += ["", message["url"]]
    return "\n".join(lines).strip() + "\n"


def send(delivery: Delivery) -> None:
    """Send one delivery; raises addresses.UnsafeAddress or addresses.DeliveryFailed."""
    channel: Channel = delivery.channel
    message = delivery.payload
    if channel.kind == ChannelKind.EMAIL:
        mail = EmailMessage(
            subject=message["title"],
            body=email_text(message),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[channel.email],
        )
        try:
            mail.send()
        except OSError as exc:  # smtplib's errors are OSErrors, and so is no connection
            raise addresses.DeliveryFailed(
                f"Could not hand the mail over ({type(exc).__name__})."
            ) from None
        return
    if channel.kind == ChannelKind.DISCORD:
        body = json.dumps(discord_body(message)).encode()
        headers = {"Content-Type": "application/json"}
    else:
        body = webhook_body(delivery)
        headers = {
            "Content-Type": "application/json",
            "X-DotaSync-Event": delivery.event,
            "X-DotaSync-Delivery": str(delivery.pk),
            SIGNATURE_HEADER: sign(channel.secret, body),
        }
    headers["User-Agent"] = "DotaSync notifications"
    addresses.post(channel.url, body, headers, timeout=TIMEOUT_SECONDS)
