"""Forms of the sign-in, account-linking and settings pages, and the admin's throttled sign-in."""

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from matches.identity.accounts import link_account
from matches.identity.signin import (
    clear_failures,
    client_address,
    known_device,
    lockout_message,
    record_failure,
)
from matches.models import SteamAccount, UserSettings
from matches.timezones import available_time_zones
from matches.upstream.client import UpstreamClient
from matches.upstream.steam_ids import HELP_TEXT, InvalidAccountReference


class ThrottledSignIn:
    """The password check of a sign-in form, refused while its username (or, for a browser that
    signed in before, that browser) or its address is locked out (matches.identity.signin);
    mixed into Django's sign-in form and the admin's."""

    def clean(self) -> dict:
        username = self.cleaned_data.get("username") or ""
        address = client_address(self.request)
        device = known_device(self.request, username)
        # Checked before the password so a locked-out guesser learns nothing more.
        refusal = lockout_message(username, address, device)
        if refusal is not None:
            raise ValidationError(refusal, code="too_many_attempts")
        try:
            return super().clean()
        except ValidationError:
            # Only a wrong password counts: the admin also refuses right ones of non-staff.
            if self.user_cache is None:
                record_failure(username, address, device)
            raise
        finally:
            if self.user_cache is not None:
                clear_failures(username, device)


class ThrottledAuthenticationForm(ThrottledSignIn, AuthenticationForm):
    """The sign-in page's username/password form."""


class ThrottledAdminAuthenticationForm(ThrottledSignIn, AdminAuthenticationForm):
    """The admin's sign-in form (/admin/login/), throttled like the sign-in page's."""


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
