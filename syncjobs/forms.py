from django import forms
from django.contrib.auth.base_user import AbstractBaseUser

from matches.models import SteamAccount
from syncjobs.models import JobType


class StartSyncForm(forms.Form):
    account = forms.ModelChoiceField(
        queryset=SteamAccount.objects.none(), to_field_name="account_id"
    )
    job_type = forms.ChoiceField(choices=JobType.choices, initial=JobType.INCREMENTAL)

    def __init__(self, user: AbstractBaseUser, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Only the user's own accounts validate, so another user's account cannot be synced.
        self.fields["account"].queryset = SteamAccount.objects.filter(owner=user)
