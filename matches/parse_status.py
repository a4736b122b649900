"""Why a match is not parsed, in a player's words: what its page and the API say.

Read from the match's ParseRequest (syncjobs.parsing writes it) and its accounts' parse
switch; a match older than PARSE_REPLAY_WINDOW_DAYS reads "replay expired" without any call.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from matches.models import Match, ParsedMatch, ParseRequest, ParseState

NOT_REQUESTED = "not_requested"
WAITING_TO_SEND = "waiting_to_send"
PARSING_OFF = "parsing_off"
# The other kinds are ParseState's values: requested, expired, refused.


@dataclass(frozen=True)
class ParseStatus:
    kind: str
    text: str
    since: datetime | None = None
    can_ask: bool = False  # the player may ask OpenDota to parse it (again)

    def as_dict(self) -> dict:
        return {"state": self.kind, "text": self.text, "since": self.since}


def replay_exists(match: Match, now: datetime | None = None) -> bool:
    now = now or timezone.now()  # what a page says: no query for the database's clock
    since = now - timedelta(days=settings.PARSE_REPLAY_WINDOW_DAYS)
    return match.start_time is not None and match.start_time >= since


def parse_status(match: Match, owner=None) -> ParseStatus | None:
    """Why `match` is not parsed (None once it is), for `owner`'s accounts that played it."""
    parsed = getattr(match, "is_parsed", None)  # MatchQuerySet.with_parse_state's
    if parsed is None:
        parsed = ParsedMatch.objects.filter(pk=match.pk).exists()
    if parsed:
        return None
    try:
        request = match.parse_request
    except ParseRequest.DoesNotExist:
        request = None
    alive = replay_exists(match)
    if request is None or request.state == ParseState.PARSED:
        if not alive:
            return ParseStatus(ParseState.EXPIRED, _expired())
        switched_on = getattr(match, "parse_switched_on", None)  # with_parse_state's
        if switched_on is None:
            accounts = match.account_links.filter(account__parse_new_matches=True)
            if owner is not None:
                accounts = accounts.filter(account__owner=owner)
            switched_on = accounts.exists()
        if not switched_on:
            return ParseStatus(PARSING_OFF, "Parsing is off for this account.", can_ask=True)
        return ParseStatus(
            NOT_REQUESTED,
            "Not requested yet: the next sync asks OpenDota to parse it.",
            can_ask=True,
        )
    if request.state == ParseState.REQUESTED and request.requested_at is None:
        return ParseStatus(
            WAITING_TO_SEND, "You asked for it: OpenDota is asked with this account's next sync."
        )
    if request.state == ParseState.REQUESTED:
        return ParseStatus(
            ParseState.REQUESTED, "Requested from OpenDota, waiting since", request.requested_at
        )
    if request.state == ParseState.EXPIRED:
        return ParseStatus(ParseState.EXPIRED, _expired(), request.checked_at)
    return ParseStatus(
        ParseState.REFUSED,
        f"OpenDota refused: {request.reason or 'no reason given'}.",
        request.checked_at,
        can_ask=alive,
    )


def _expired() -> str:
    days = f"{settings.PARSE_REPLAY_WINDOW_DAYS:g}"
    return f"Replay expired: OpenDota keeps replays about {days} days, so it cannot be parsed."
