"""Steps of the "Sign in through Steam" pipeline (settings.SOCIAL_AUTH_PIPELINE)."""

from typing import Any

from django.conf import settings
from django.contrib import messages
from social_core.exceptions import AuthPolicyError

from matches.identity.accounts import link_proven_account
from matches.upstream.steam_ids import InvalidAccountReference, parse_account_reference


class SignUpClosed(AuthPolicyError):
    def __str__(self) -> str:
        return (
            "No DotaSync user is linked to this Steam account yet. Sign in with your password "
            "and link Steam from the Accounts page, or ask an administrator for a user."
        )


def refuse_new_user_unless_signup_allowed(
    backend: Any, user: Any = None, *args: Any, **kwargs: Any
) -> None:
    """Stop before create_user: a first Steam sign-in is a sign-up, open only when allowed."""
    if user is None and not settings.ALLOW_SIGNUP:
        raise SignUpClosed(backend, stage="pipeline")


def link_steam_account(backend: Any, uid: str, user: Any = None, *args: Any, **kwargs: Any) -> None:
    """Link the Steam account that just proved itself to the signed-in user, verified.

    The uid of Steam's OpenID is the SteamID64. The proof outweighs a typed id: an account
    another user had only typed in becomes this user's
    (matches.identity.accounts.link_proven_account leaves that user a notice). One another user
    proved through Steam too stays with them.
    """
    if backend.name != "steam" or user is None:
        return
    request = backend.strategy.request
    try:
        link = link_proven_account(user, parse_account_reference(uid))
    except InvalidAccountReference as exc:  # TooManyAccounts, or a uid that is no SteamID64
        messages.warning(request, f"Signed in, but this Steam account was not linked. {exc}")
        return
    account_id = link.account.account_id
    if link.held_by_another_proven_owner:
        messages.warning(
            request,
            "Signed in, but this Steam account is linked to another DotaSync user who proved "
            "it through Steam too, so it was not added to your accounts.",
        )
    elif link.taken_from_typed_link:
        messages.success(
            request,
            f"Linked Steam account {account_id}, proven through Steam. Another user had linked "
            "it by typing its id; it is yours now, with the matches synced so far, and they "
            "have been told.",
        )
