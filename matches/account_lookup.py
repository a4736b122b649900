"""The account a user or a script names on a command line: the username of a user with one
linked account, a 32-bit account id or a SteamID64 (the commands of both apps ask)."""

from django.contrib.auth import get_user_model

from matches.models import SteamAccount
from matches.upstream.steam_ids import InvalidAccountReference, parse_account_reference


def named_account(text: str, add_unknown: bool = True) -> SteamAccount:
    """The account `text` names; raises InvalidAccountReference, saying why, otherwise.

    An id not in the database yet is added, unless `add_unknown` is false (a command that only
    reads an account's data): then it is an error too.
    """
    user = get_user_model().objects.filter(username=text).first()
    if user is not None and not text.isdigit():
        accounts = list(SteamAccount.objects.filter(owner=user)[:2])
        if len(accounts) != 1:
            raise InvalidAccountReference(
                f"user {text!r} has {'no' if not accounts else 'several'} linked accounts; "
                "name the account id instead"
            )
        return accounts[0]
    account_id = parse_account_reference(text)
    if add_unknown:
        account, _ = SteamAccount.objects.get_or_create(account_id=account_id)
        return account
    account = SteamAccount.objects.filter(account_id=account_id).first()
    if account is None:
        raise InvalidAccountReference(f"no account {account_id} in the database; sync it first")
    return account
