"""Linking and unlinking Steam accounts; one parser for every way a player names an account."""

import re
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Exists, OuterRef

from matches.errors import NotFound, UpstreamError
from matches.models import (
    ANONYMOUS_ACCOUNT_ID,
    STEAM_ID64_OFFSET,
    AccountMatch,
    Match,
    SteamAccount,
)

_PROFILE_URL = re.compile(
    r"^(?:https?://)?(?:www\.)?steamcommunity\.com/(?P<kind>profiles|id)/(?P<value>[^/?#\s]+)/?"
    r"(?:[?#].*)?$",
    re.IGNORECASE,
)
_VANITY = re.compile(r"^[A-Za-z0-9_-]{2,32}$")
_MAX_STEAM_ID64 = STEAM_ID64_OFFSET + ANONYMOUS_ACCOUNT_ID - 1

HELP_TEXT = (
    "Enter a Steam account id (e.g. 86745912), a SteamID64 (e.g. 76561198047011640), or a "
    "profile URL (steamcommunity.com/profiles/… or steamcommunity.com/id/…)."
)


class InvalidAccountReference(ValueError):
    """The text names no Steam account; the message says why, for the player."""


def parse_account_reference(text: str, resolve_vanity: Callable[[str], int] | None = None) -> int:
    """The 32-bit account id named by `text`.

    Accepts a 32-bit account id, a SteamID64, steamcommunity.com/profiles/<id64> and
    steamcommunity.com/id/<vanity>; the last needs `resolve_vanity` (Steam's
    ResolveVanityURL) and is the only form that calls out.
    """
    value = (text or "").strip()
    if not value:
        raise InvalidAccountReference("Enter a Steam account. " + HELP_TEXT)
    url = _PROFILE_URL.match(value)
    if url:
        if url.group("kind").lower() == "profiles":
            return _from_number(url.group("value"), value)
        return _from_vanity(url.group("value"), resolve_vanity)
    if "/" in value or "." in value:
        raise InvalidAccountReference(f"{_short(value)} is not a Steam profile URL. " + HELP_TEXT)
    return _from_number(value, value)


def _from_number(digits: str, original: str) -> int:
    # str.isdigit() also accepts "²" or "١٢٣", which int() refuses or reads as a number.
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidAccountReference(f"{_short(original)} is not a Steam account id. " + HELP_TEXT)
    number = int(digits)
    if 0 < number < ANONYMOUS_ACCOUNT_ID:
        return number
    if STEAM_ID64_OFFSET < number <= _MAX_STEAM_ID64:
        return number - STEAM_ID64_OFFSET
    raise InvalidAccountReference(
        f"{_short(original)} is neither a 32-bit account id nor a SteamID64. " + HELP_TEXT
    )


def _from_vanity(vanity: str, resolve_vanity: Callable[[str], int] | None) -> int:
    if not _VANITY.match(vanity):
        raise InvalidAccountReference(f"{_short(vanity)} is not a valid Steam custom URL name.")
    if resolve_vanity is None:
        raise InvalidAccountReference(
            "Custom profile URLs need a Steam API key to resolve; enter the numeric account id."
        )
    try:
        account_id = resolve_vanity(vanity)
    except NotFound:
        raise InvalidAccountReference(f"No Steam profile is called {vanity!r}.") from None
    except UpstreamError as exc:
        raise InvalidAccountReference(f"Could not ask Steam about {vanity!r}: {exc}") from None
    if not 0 < account_id < ANONYMOUS_ACCOUNT_ID:
        raise InvalidAccountReference(f"Steam answered an invalid account for {vanity!r}.")
    return account_id


def _short(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


class AccountOwnedByAnotherUser(InvalidAccountReference):
    pass


def link_account(
    owner: AbstractBaseUser | None,
    text: str,
    resolve_vanity: Callable[[str], int] | None = None,
) -> SteamAccount:
    """Find or create the account named by `text` and give it to `owner`.

    An account already linked to a different user is refused rather than taken over.
    """
    account_id = parse_account_reference(text, resolve_vanity)
    with transaction.atomic():
        account, _ = SteamAccount.objects.select_for_update().get_or_create(account_id=account_id)
        if owner is not None:
            if account.owner_id not in (None, owner.pk):
                raise AccountOwnedByAnotherUser("That Steam account is linked to another user.")
            if account.owner_id is None:
                account.owner = owner
                account.save(update_fields=["owner"])
    return account


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
