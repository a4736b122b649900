"""Steam's account ids: the constants that map a 32-bit account id to a SteamID64, and the one
parser for every way a player names an account (an id, a SteamID64, a profile URL)."""

import re
from collections.abc import Callable

from matches.upstream.errors import NotFound, UpstreamError

STEAM_ID64_OFFSET = 76561197960265728
ANONYMOUS_ACCOUNT_ID = 4294967295

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
