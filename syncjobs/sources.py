"""Where match IDs and match details come from, in 2026, and when to stop asking.

ID sources list an account's matches page by page, newest first:
- steam_history: GetMatchHistory (needs a key; only the newest 500; knows match_seq_num).
- opendota: /players/{id}/matches?significant=0 (no key; the whole history).
- stratz: GraphQL player.matches, paged by skip (needs STRATZ_API_TOKEN; the whole history
  STRATZ has, with its matchCount).

Detail sources answer one match each, tried in the configured order:
- steam_details: GetMatchDetails (HTTP 500 `{}` for every match since patch 7.36).
- steam_sequence: GetMatchHistoryBySequenceNum at the stub's match_seq_num.
- opendota: /matches/{id}.
- stratz: GraphQL match(id) (needs STRATZ_API_TOKEN): adds each player's IMP, position and
  lane outcome.

Without a token STRATZ is in neither configured list (SYNC_ID_SOURCES, SYNC_DETAIL_SOURCES)
and `has_its_key` refuses it, so no STRATZ call is ever made.

Each source's facts are declared here once: its label (for logs and notes), its name for a
player, whether it needs the Steam key, whether its calls spend a daily quota (`is_metered`)
and whether it may be called now (`usable_now`). A job adds its own refusals to the last
(syncjobs.context); the estimate (syncjobs.quota) and the health check ask the same.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from matches.upstream import ratelimit
from matches.upstream.client import (
    OPENDOTA,
    STEAM,
    STEAM_PAGE_SIZE,
    STEAM_SEQUENCE,
    STRATZ,
    UpstreamClient,
)
from matches.upstream.normalize import HistoryEntry, MatchDetails

STEAM_HISTORY = "steam_history"
OPENDOTA_LIST = "opendota"
STEAM_DETAILS = "steam_details"
STEAM_SEQUENCE_DETAILS = "steam_sequence"
OPENDOTA_DETAILS = "opendota"
STRATZ_LIST = "stratz"
STRATZ_DETAILS = "stratz"

OPENDOTA_FULL_PAGE = 1000
OPENDOTA_INCREMENTAL_PAGE = 100
# STRATZ's player.matches answers at most 100 a request (`take`).
STRATZ_PAGE = 100
# GetMatchHistory never reaches past an account's newest 500 matches: its `total_results` is
# then 500 (shared/NOTES.md), and its end is the cap, not the history's.
STEAM_HISTORY_CAP = 500


# A listing cursor: Steam's next start_at_match_id, or OpenDota's next offset.
Cursor = int | None


@dataclass(frozen=True)
class Page:
    """One page of an ID source, newest first."""

    entries: list[HistoryEntry]
    next_cursor: Cursor  # None: the source lists nothing further down
    # The source stops at a cap (Steam's newest 500), not at the end of the history: what it
    # listed is no complete listing.
    capped: bool = False
    # The source left matches out of this page that it still counts (Steam's high-level
    # matches since March 2025): another source has to list them.
    hides_matches: bool = False
    # How many matches the source says the account has, when this page tells (Steam's
    # total_results, capped at 500; OpenDota's full listing's length on its last page;
    # STRATZ's matchCount).
    reported_total: int | None = None


@dataclass(frozen=True)
class IdSource:
    name: str
    label: str  # the endpoint, for logs and a job's notes
    player_name: str  # what a player knows it as
    bucket: str
    needs_key: bool
    # (client, account_id, cursor, small) -> the page at the cursor; `small` asks for a
    # small page when few matches are expected to be new.
    fetch_page: Callable[[UpstreamClient, int, Cursor, bool], Page]
    first_cursor: Cursor = None
    # True when the cursor counts entries from the newest (OpenDota's offset), not a match id.
    offset_paged: bool = False


@dataclass(frozen=True)
class DetailSource:
    name: str
    label: str
    player_name: str
    bucket: str
    needs_key: bool
    fetch: Callable[[UpstreamClient, int, int | None], MatchDetails]
    needs_seq_num: bool = False


def _steam_history_page(
    client: UpstreamClient, account_id: int, start_at: Cursor, small: bool
) -> Page:
    page = client.steam_match_history(account_id, start_at)
    capped = page.total_results >= STEAM_HISTORY_CAP
    # A short page before the end: Valve removed matches it still counts in results_remaining.
    hides = len(page.entries) < STEAM_PAGE_SIZE and page.results_remaining > 0
    # total_results counts the hidden high-level matches too (shared/NOTES.md).
    total = page.total_results
    if not page.entries:
        return Page([], None, capped, hides, total)
    lowest = min(entry.match_id for entry in page.entries)
    if page.results_remaining <= 0 or (start_at is not None and lowest > start_at):
        return Page(page.entries, None, capped, hides, total)
    # start_at is inclusive
    return Page(page.entries, lowest - 1, hides_matches=hides, reported_total=total)


def _opendota_page(client: UpstreamClient, account_id: int, offset: Cursor, small: bool) -> Page:
    size = OPENDOTA_INCREMENTAL_PAGE if small else OPENDOTA_FULL_PAGE
    offset = offset or 0
    entries = client.opendota_player_matches(account_id, limit=size, offset=offset)
    if len(entries) == size:
        return Page(entries, offset + size)
    # OpenDota answers no count with significant=0: its last page tells the listing's length
    # without another call.
    return Page(entries, None, reported_total=offset + len(entries))


def _stratz_page(client: UpstreamClient, account_id: int, skip: Cursor, small: bool) -> Page:
    skip = skip or 0
    entries, count = client.stratz_player_matches(account_id, take=STRATZ_PAGE, skip=skip)
    more = len(entries) == STRATZ_PAGE
    return Page(entries, skip + STRATZ_PAGE if more else None, reported_total=count)


# One bit per ID source in AccountMatch.listed_by: which sources' pages listed a match.
# A new source adds one line; a bit once given is never reused.
LISTED_BY_BITS = {
    STEAM_HISTORY: 1,
    OPENDOTA_LIST: 2,
    STRATZ_LIST: 4,
}

ID_SOURCES = {
    STEAM_HISTORY: IdSource(
        STEAM_HISTORY,
        "Steam GetMatchHistory",
        "Steam's match history",
        STEAM,
        True,
        _steam_history_page,
    ),
    OPENDOTA_LIST: IdSource(
        OPENDOTA_LIST,
        "OpenDota",
        "OpenDota",
        OPENDOTA,
        False,
        _opendota_page,
        first_cursor=0,
        offset_paged=True,
    ),
    STRATZ_LIST: IdSource(
        STRATZ_LIST,
        "STRATZ",
        "STRATZ",
        STRATZ,
        False,
        _stratz_page,
        first_cursor=0,
        offset_paged=True,
    ),
}

DETAIL_SOURCES = {
    STEAM_DETAILS: DetailSource(
        STEAM_DETAILS,
        "Steam GetMatchDetails",
        "Steam's match details",
        STEAM,
        True,
        lambda c, match_id, seq: c.steam_match_details(match_id),
    ),
    STEAM_SEQUENCE_DETAILS: DetailSource(
        STEAM_SEQUENCE_DETAILS,
        "Steam GetMatchHistoryBySequenceNum",
        "Steam's match sequence",
        STEAM_SEQUENCE,
        True,
        lambda c, match_id, seq: c.steam_match_by_seq_num(seq, match_id),
        needs_seq_num=True,
    ),
    OPENDOTA_DETAILS: DetailSource(
        OPENDOTA_DETAILS,
        "OpenDota",
        "OpenDota",
        OPENDOTA,
        False,
        lambda c, match_id, seq: c.opendota_match(match_id),
    ),
    STRATZ_DETAILS: DetailSource(
        STRATZ_DETAILS,
        "STRATZ",
        "STRATZ",
        STRATZ,
        False,
        lambda c, match_id, seq: c.stratz_match(match_id),
    ),
}
ALL_SOURCES = (*ID_SOURCES.values(), *DETAIL_SOURCES.values())
# By source name (a job's notes and counts name its sources so; OpenDota lists and details
# under one name, and one label).
LABELS = {source.name: source.label for source in ALL_SOURCES}
PLAYER_NAMES = {source.name: source.player_name for source in ALL_SOURCES}


def has_its_key(source: IdSource | DetailSource, has_steam_key: bool | None = None) -> bool:
    """Whether `source` has the key it needs: a Steam source the Steam key (the client's when
    `has_steam_key` says, else the deployment's STEAM_API_KEY; STRATZ its token)."""
    if source.bucket == STRATZ:
        return bool(settings.STRATZ_API_TOKEN)
    if has_steam_key is None:
        has_steam_key = bool(settings.STEAM_API_KEY)
    return has_steam_key or not source.needs_key


def switched_off(source: IdSource | DetailSource) -> str | None:
    """Why `source`'s bucket is switched off now (a used-up daily limit), or None."""
    return ratelimit.disabled_reason(source.bucket)


def usable_now(source: IdSource | DetailSource, has_steam_key: bool | None = None) -> bool:
    """Whether `source` may be called now: it has its key and is not switched off."""
    return has_its_key(source, has_steam_key) and switched_off(source) is None


def is_metered(source: IdSource | DetailSource) -> bool:
    """Whether every call to `source` spends a daily quota that matters (OpenDota's free
    tier; a key raises its limits far beyond what one deployment uses)."""
    return source.bucket == OPENDOTA and not settings.OPENDOTA_API_KEY
