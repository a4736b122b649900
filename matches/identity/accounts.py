"""Linking and unlinking Steam accounts (what a typed id means: matches.upstream.steam_ids).

One user holds a Steam account. A typed id links it unverified and only while nobody holds it;
a Steam sign-in proves it, links it verified, and takes it over from a user who had only typed
it (who is told, AccountNotice). A typed id of an account someone else holds is answered as
for any account the user cannot see, never naming the holder.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Exists, OuterRef

from matches.models import (
    AccountMatch,
    AccountNotice,
    Match,
    SteamAccount,
)
from matches.upstream.steam_ids import InvalidAccountReference, parse_account_reference


class AccountNotLinkable(InvalidAccountReference):
    """A typed id of an account another user holds. Said as for any account the user cannot
    see, never naming that user; a Steam sign-in that proves the account links it."""

    def __init__(self, account_id: int) -> None:
        super().__init__(
            f"Steam account {account_id} is not one you can link by typing its id. If it is "
            "yours, link it through Steam sign-in: that proves it and links it."
        )


class TooManyAccounts(InvalidAccountReference):
    """The user already has MAX_ACCOUNTS_PER_USER linked accounts."""

    def __init__(self, linked: int) -> None:
        super().__init__(
            f"You have {linked} linked Steam accounts, the most one user may have "
            "(MAX_ACCOUNTS_PER_USER): unlink one first."
        )


def link_account(
    owner: AbstractBaseUser,
    text: str,
    resolve_vanity: Callable[[str], int] | None = None,
) -> SteamAccount:
    """Link the account named by `text` to `owner`, unverified: typing an id proves nothing.

    Raises AccountNotLinkable for an account another user holds (a Steam sign-in that proves
    it takes it over, link_proven_account) and TooManyAccounts at MAX_ACCOUNTS_PER_USER.
    """
    account_id = parse_account_reference(text, resolve_vanity)
    with transaction.atomic():
        _lock_user(owner)
        held = SteamAccount.objects.filter(account_id=account_id, owner=owner).first()
        if held is not None:
            return held
        _refuse_beyond_account_limit(owner)
        account, _ = SteamAccount.objects.select_for_update().get_or_create(account_id=account_id)
        if account.owner_id is not None:
            raise AccountNotLinkable(account_id)
        account.owner, account.verified = owner, False
        account.save(update_fields=["owner", "verified"])
    return account


@dataclass(frozen=True)
class ProvenLink:
    """What a Steam sign-in's proof did to the account it proved."""

    account: SteamAccount
    taken_from_typed_link: bool = False  # another user had only typed its id: now it is yours
    held_by_another_proven_owner: bool = False  # another user proved it too: left with them


def link_proven_account(owner: AbstractBaseUser, account_id: int) -> ProvenLink:
    """Link the account a Steam sign-in just proved to `owner`, verified.

    An account another user had only typed in is taken over, and that user finds a notice
    (AccountNotice) saying so; its matches and sync jobs go with it, as they are the
    account's. One another user proved through Steam too stays with them. TooManyAccounts at
    MAX_ACCOUNTS_PER_USER.
    """
    with transaction.atomic():
        _lock_user(owner)
        account, _ = SteamAccount.objects.select_for_update().get_or_create(account_id=account_id)
        if account.owner_id is not None and account.owner_id != owner.pk and account.verified:
            return ProvenLink(account, held_by_another_proven_owner=True)
        if account.owner_id != owner.pk:
            _refuse_beyond_account_limit(owner)
        previous_owner_id = account.owner_id
        account.owner, account.verified = owner, True
        account.save(update_fields=["owner", "verified"])
        if previous_owner_id in (None, owner.pk):
            return ProvenLink(account)
        AccountNotice.objects.create(
            user_id=previous_owner_id,
            text=(
                f"Steam account {account_id}, which you had linked by typing its id, is no "
                "longer among your accounts: its owner proved through Steam sign-in that it "
                "is theirs, and its synced matches went with it."
            ),
        )
    return ProvenLink(account, taken_from_typed_link=True)


def _lock_user(user: AbstractBaseUser) -> None:
    """Lock the user's row until the transaction ends: a user's links count one at a time,
    so two at once cannot both pass the limit."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()


def _refuse_beyond_account_limit(owner: AbstractBaseUser) -> None:
    limit = settings.MAX_ACCOUNTS_PER_USER
    linked = SteamAccount.objects.filter(owner=owner).count()
    if limit and linked >= limit:
        raise TooManyAccounts(linked)


def take_notices(user: AbstractBaseUser) -> list[str]:
    """The user's notices, oldest first; each is given once, then gone."""
    with transaction.atomic():
        notices = list(AccountNotice.objects.select_for_update().filter(user=user))
        AccountNotice.objects.filter(pk__in=[notice.pk for notice in notices]).delete()
    return [notice.text for notice in notices]


# --- unlinking ----------------------------------------------------------------------------------


class AccountBusy(Exception):
    """The account has a sync waiting or running; unlinking it would pull the rows from under it."""


@dataclass(frozen=True)
class UnlinkSummary:
    """What unlinking an account removes and what stays."""

    matches: int  # the account's matches
    shared: int  # of them, played by another stored account too: they stay
    jobs: int  # the account's sync jobs, removed with it

    @property
    def removed(self) -> int:
        return self.matches - self.shared


def _played_by_another_account(account: SteamAccount) -> Exists:
    return Exists(AccountMatch.objects.filter(match=OuterRef("pk")).exclude(account=account))


def unlink_summary(account: SteamAccount) -> UnlinkSummary:
    mine = Match.objects.for_account(account)
    return UnlinkSummary(
        matches=mine.count(),
        shared=mine.filter(_played_by_another_account(account)).count(),
        jobs=account.sync_jobs.count(),
    )


def unlink_account(owner: AbstractBaseUser, account_id: int) -> UnlinkSummary:
    """Remove `owner`'s account `account_id`: its links, its jobs, and the matches no other
    stored account played. SteamAccount.DoesNotExist unless the owner has it; AccountBusy while
    it syncs.

    The rows go rather than the account staying behind unowned: the player asked for it to go,
    and nobody could see it any more. Matches are shared, so one another account played stays,
    with its players and details.
    """
    with transaction.atomic():
        # Locked, so a sync cannot be created for it until the rows are gone.
        account = SteamAccount.objects.select_for_update().get(account_id=account_id, owner=owner)
        if account.sync_jobs.active().exists():
            raise AccountBusy(
                f"Account {account_id} has a sync waiting or running: cancel it, or let it "
                "finish, then unlink the account."
            )
        summary = unlink_summary(account)
        Match.objects.for_account(account).exclude(_played_by_another_account(account)).delete()
        account.delete()
    return summary
