"""A user's own API token: made on the Accounts page (or by `manage.py create_api_token`),
shown once, then known only by its hash and its first characters.

The key is 160 random bits, so a plain SHA-256 of it is as good as a slow password hash: no
dictionary reaches it. `HashedTokenAuthentication` reads `Authorization: Token <key>` as
DRF's TokenAuthentication does and finds the token by the key's digest.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from matches.models import ApiToken

SHOWN_PREFIX_LENGTH = 6


class TokenExists(Exception):
    """The user already has a token: revoke it first (a second "create" must not replace the
    key the user may be copying right now)."""


@dataclass(frozen=True)
class TokenInfo:
    prefix: str
    created: datetime


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def token_of(user: AbstractBaseUser) -> TokenInfo | None:
    token = ApiToken.objects.filter(user=user).first()
    if token is None:
        return None
    return TokenInfo(prefix=token.prefix, created=token.created)


def create_token(user: AbstractBaseUser) -> str:
    """A new token's key, the only time it is returned; TokenExists if the user has one."""
    key = secrets.token_hex(20)
    try:
        with transaction.atomic():
            ApiToken.objects.create(
                user=user, digest=digest_of(key), prefix=key[:SHOWN_PREFIX_LENGTH]
            )
    except IntegrityError:
        raise TokenExists("You already have an API token; revoke it to make a new one.") from None
    return key


def revoke_token(user: AbstractBaseUser) -> bool:
    """Delete the user's token; the API refuses it (401) from now on. False if there was none."""
    deleted, _ = ApiToken.objects.filter(user=user).delete()
    return deleted > 0


class HashedTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, checked against the stored digests."""

    def authenticate_credentials(self, key: str) -> tuple[AbstractBaseUser, ApiToken]:
        token = ApiToken.objects.select_related("user").filter(digest=digest_of(key)).first()
        if token is None:
            raise AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        return token.user, token
