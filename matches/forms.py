"""Forms of the sign-in, sign-up, account-linking and settings pages."""

from django import forms
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from matches.accounts import HELP_TEXT, InvalidAccountReference, link_account
from matches.models import SteamAccount, UserSettings
from matches.signin import clear_failures, client_address, is_locked_out, record_failure
from matches.timezones import available_time_zones
from matches.upstream import UpstreamClient

TOO_MANY_ATTEMPTS = "Too many attempts to sign in. Wait a few minutes and try again."


class ThrottledAuthenticationForm(AuthenticationForm):
    """The username/password form, refusing a username+address pair after repeated failures."""

    def clean(self) -> dict:
        username = self.cleaned_data.get("username") or ""
        address = client_address(self.request)
        # Checked before the password so a locked-out guesser learns nothing more.
        if is_locked_out(username, address):
            raise ValidationError(TOO_MANY_ATTEMPTS, code="too_many_attempts")
        try:
            cleaned = super().clean()
        except ValidationError:
            record_failure(username, address)
            raise
        clear_failures(username, address)
        return cleaned


class LinkAccountForm(forms.Form):
    reference = forms.CharField(
        label="Steam account",
        max_length=300,
        help_text=HELP_TEXT,
        widget=forms.TextInput(attrs={"placeholder": "76561198047011640", "autocomplete": "off"}),
    )

    def link(self, owner: AbstractBaseUser) -> SteamAccount | None:
        """Link the account named in a valid form to `owner`; None after adding a form error."""
        client = UpstreamClient.from_settings()
        resolve_vanity = client.resolve_vanity_url if client.has_steam_key else None
        try:
            return link_account(owner, self.cleaned_data["reference"], resolve_vanity)
        except InvalidAccountReference as exc:
            self.add_error("reference", str(exc))
            return None
        finally:
            client.close()


class UserSettingsForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        label="Time zone",
        required=False,
        help_text="Pages show dates and times in this zone.",
    )
    allow_outside_images = forms.BooleanField(
        label="Show players' avatars from Steam",
        required=False,
        help_text="Pictures are then loaded from Steam's servers, which see your address.",
    )

    class Meta:
        model = UserSettings
        fields = ["time_zone", "allow_outside_images"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Built per form: the site's zone is a setting, and tests change it.
        self.fields["time_zone"].choices = [
            ("", f"The site's time zone ({settings.TIME_ZONE})"),
            *((name, name) for name in available_time_zones()),
        ]


class ExportForm(forms.Form):
    """What the match list's download asks for: which account, which rows, which format."""

    account = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    rows = forms.ChoiceField(
        choices=[("matches", "Matches, one row each"), ("players", "All ten players of each")]
    )
    format = forms.ChoiceField(choices=[("csv", "CSV"), ("jsonl", "JSON Lines")])
