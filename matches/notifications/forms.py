"""The Settings page's form that adds a notification channel."""

import secrets

from django import forms
from django.contrib.auth.base_user import AbstractBaseUser

from matches.notifications.addresses import UnsafeAddress, check_url
from matches.notifications.models import Channel, ChannelKind

MAX_CHANNELS = 10


class ChannelForm(forms.ModelForm):
    kind = forms.ChoiceField(label="Send to", choices=ChannelKind.choices)
    url = forms.CharField(
        label="Webhook URL",
        required=False,
        max_length=500,
        help_text="For Discord and webhooks; it must start with https://. Discord: Server "
        "Settings → Integrations → Webhooks → Copy Webhook URL.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "url"}),
    )
    email = forms.EmailField(label="E-mail address", required=False, help_text="For e-mail.")
    on_sessions = forms.BooleanField(label="When a play session ends", required=False, initial=True)
    on_sync_problems = forms.BooleanField(
        label="When a sync needs you", required=False, initial=True
    )

    class Meta:
        model = Channel
        fields = ["kind", "url", "email", "on_sessions", "on_sync_problems"]

    def __init__(self, *args, user: AbstractBaseUser, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self) -> dict:
        cleaned = super().clean()
        if Channel.objects.filter(user=self.user).count() >= MAX_CHANNELS:
            raise forms.ValidationError(f"You have {MAX_CHANNELS} channels: remove one first.")
        if cleaned.get("kind") == ChannelKind.EMAIL:
            cleaned["url"] = ""
            if not cleaned.get("email") and "email" not in self.errors:
                self.add_error("email", "Enter the address to send the e-mails to.")
        elif cleaned.get("kind"):
            cleaned["email"] = ""
            url = cleaned.get("url", "").strip()
            cleaned["url"] = url
            if not url:
                self.add_error("url", "Enter the webhook's URL.")
            else:
                try:
                    check_url(url)
                except UnsafeAddress as exc:
                    self.add_error("url", str(exc))
        return cleaned

    def save(self, commit: bool = True) -> Channel:
        channel = super().save(commit=False)
        channel.user = self.user
        if channel.kind == ChannelKind.WEBHOOK:
            channel.secret = secrets.token_hex(32)
        if commit:
            channel.save()
        return channel
