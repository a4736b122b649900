"""Which of a user's linked accounts an API request means (the match and sync endpoints ask)."""

from django.contrib.auth.models import AbstractBaseUser
from rest_framework.exceptions import NotFound, ValidationError

from matches.models import SteamAccount


def user_account(
    user: AbstractBaseUser, account_id: int | None, field: str = "account_id"
) -> SteamAccount:
    """The user's account with this Steam id, or their only account when none is named.

    Someone else's account answers 404, exactly like an account nobody linked. `field`
    names the parameter in the 400 errors.
    """
    accounts = SteamAccount.objects.filter(owner=user)
    if account_id is not None:
        try:
            return accounts.get(account_id=account_id)
        except SteamAccount.DoesNotExist:
            raise NotFound(f"You have no linked Steam account {account_id}.") from None
    linked = list(accounts[:2])
    if not linked:
        raise ValidationError({field: ["Link a Steam account first."]})
    if len(linked) > 1:
        raise ValidationError({field: ["You have several linked accounts: say which one."]})
    return linked[0]
