"""A user's own API token: made on the Accounts page, shown once, then only known to exist.

Tokens are DRF's (rest_framework.authtoken: one a user, the key stored as it is), so the
API's TokenAuthentication and an admin's `manage.py drf_create_token` work unchanged. After
the page that creates it, only the key's first characters are ever shown: enough to tell
which key a script holds, far too few to use.
"""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from rest_framework.authtoken.models import Token

SHOWN_PREFIX_LENGTH = 6


class TokenExists(Exception):
    """The user already has a token: revoke it first (a second "create" must not replace the
    key the user may be copying right now)."""


@dataclass(frozen=True)
class TokenInfo:
    prefix: str
    created: datetime


def token_of(user: AbstractBaseUser) -> TokenInfo | None:
    token = Token.objects.filter(user=user).first()
    if token is None:
        return None
    return TokenInfo(prefix=token.key[:SHOWN_PREFIX_LENGTH], created=token.created)


def create_token(user: AbstractBaseUser) -> str:
    """A new token's key, the only time it is returned; TokenExists if the user has one."""
    try:
        with transaction.atomic():
            return Token.objects.create(user=user).key
    except IntegrityError:
        raise TokenExists("You already have an API token; revoke it to make a new one.") from None


def revoke_token(user: AbstractBaseUser) -> bool:
    """Delete the user's token; the API refuses it (401) from now on. False if there was none."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted > 0
