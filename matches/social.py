"""Steps of the "Sign in through Steam" pipeline (settings.SOCIAL_AUTH_PIPELINE)."""

from typing import Any

from django.conf import settings
from django.contrib import messages
from social_core.exceptions import AuthPolicyError

from matches.accounts import AccountOwnedByAnotherUser, link_account


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
    """Link the Steam account that just proved itself to the signed-in user.

    The uid of Steam's OpenID is the SteamID64. An account that another user already
    linked is left with them: typing an id proves nothing, but taking it over silently
    would surprise that user, so the player is told instead.
    """
    if backend.name != "steam" or user is None:
        return
    try:
        link_account(user, uid)
    except AccountOwnedByAnotherUser:
        messages.warning(
            backend.strategy.request,
            "Signed in, but this Steam account is linked to another DotaSync user, "
            "so it was not added to your accounts.",
        )
