"""Which of a user's Steam accounts the pages show: the one they chose, kept per user.

A page filtered by account names it in its URL (`?account=<32-bit id>`); opening such a URL
is choosing that account, and the choice is kept (UserSettings.chosen_account), so every
other page, and the navigation's links, show the same account until the user picks another.
Without a choice, the pages show the account linked first: linking another account never
changes what the pages show.
"""

from dataclasses import dataclass
from functools import cached_property

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest

from matches.models import SteamAccount, UserSettings

# Set on the request by a view that resolved the choice, so the page's navigation reuses it.
REQUEST_ATTRIBUTE = "account_choice"


@dataclass(frozen=True)
class AccountChoice:
    accounts: list[SteamAccount]
    account: SteamAccount | None


def accounts_of(user: AbstractBaseUser, **filters: object) -> list[SteamAccount]:
    """The user's accounts (those that match `filters`), each with `is_chosen`, in one query."""
    chosen = UserSettings.objects.filter(user=user, chosen_account=OuterRef("pk"))
    accounts = SteamAccount.objects.filter(owner=user, **filters)
    return list(accounts.annotate(is_chosen=Exists(chosen)))


def shown_account(accounts: list[SteamAccount]) -> SteamAccount | None:
    """Of accounts_of(): the chosen account, else the one linked first."""
    for account in accounts:
        if account.is_chosen:
            return account
    return min(accounts, key=lambda account: (account.created_at, account.pk), default=None)


def choose(request: HttpRequest, requested: str | None = None) -> AccountChoice:
    """The signed-in user's accounts and the one the page shows.

    `requested` (a page's `?account=`) names an account the user owns, which becomes the
    user's choice; one they do not own is a 404, exactly like one that does not exist.
    Without it, the remembered choice, else the account linked first.
    """
    user = request.user
    accounts = accounts_of(user)
    wanted = (requested or "").strip()
    if wanted:
        account = next((a for a in accounts if str(a.account_id) == wanted), None)
        if account is None:
            raise Http404("No such account among yours.")
        if not account.is_chosen:
            UserSettings.objects.update_or_create(user=user, defaults={"chosen_account": account})
    else:
        account = shown_account(accounts)
    choice = AccountChoice(accounts=accounts, account=account)
    setattr(request, REQUEST_ATTRIBUTE, choice)
    return choice


class NavigationAccount:
    """The account the navigation's links carry, looked up only if a page shows them."""

    def __init__(self, request: HttpRequest) -> None:
        self._request = request

    @cached_property
    def account_id(self) -> int | None:
        choice = getattr(self._request, REQUEST_ATTRIBUTE, None)
        if choice is not None:
            return choice.account.account_id if choice.account else None
        user = getattr(self._request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        account = shown_account(accounts_of(user))
        return account.account_id if account else None

    @property
    def query(self) -> str:
        """`?account=<id>` for a link to a page filtered by account, or nothing."""
        return f"?account={self.account_id}" if self.account_id else ""
