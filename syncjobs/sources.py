"""Where match IDs and match details come from, in 2026, and when to stop asking.

ID sources list an account's matches page by page, newest first:
- steam_history: GetMatchHistory (needs a key; only the newest 500; knows match_seq_num).
- opendota: /players/{id}/matches?significant=0 (no key; the whole history).

Detail sources answer one match each, tried in the configured order:
- steam_details: GetMatchDetails (HTTP 500 `{}` for every match since patch 7.36).
- steam_sequence: GetMatchHistoryBySequenceNum at the stub's match_seq_num.
- opendota: /matches/{id}.
"""

from collections.abc import Callable
from dataclasses import dataclass

from matches.upstream.client import OPENDOTA, STEAM, STEAM_PAGE_SIZE, STEAM_SEQUENCE, UpstreamClient
from matches.upstream.normalize import HistoryEntry, MatchDetails

STEAM_HISTORY = "steam_history"
OPENDOTA_LIST = "opendota"
STEAM_DETAILS = "steam_details"
STEAM_SEQUENCE_DETAILS = "steam_sequence"
OPENDOTA_DETAILS = "opendota"

OPENDOTA_FULL_PAGE = 1000
OPENDOTA_INCREMENTAL_PAGE = 100
# GetMatchHistory never reaches past an account's newest 500 matches: its `total_results` is
# then 500 (shared/NOTES.md), and its end is the cap, not the history's.
STEAM_HISTORY_CAP = 500

LABELS = {
    STEAM_HISTORY: "Steam GetMatchHistory",
    OPENDOTA_LIST: "OpenDota",
    STEAM_DETAILS: "Steam GetMatchDetails",
    STEAM_SEQUENCE_DETAILS: "Steam GetMatchHistoryBySequenceNum",
}


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


@dataclass(frozen=True)
class IdSource:
    name: str
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
    if not page.entries:
        return Page([], None, capped, hides)
    lowest = min(entry.match_id for entry in page.entries)
    if page.results_remaining <= 0 or (start_at is not None and lowest > start_at):
        return Page(page.entries, None, capped, hides)
    return Page(page.entries, lowest - 1, hides_matches=hides)  # start_at is inclusive


def _opendota_page(client: UpstreamClient, account_id: int, offset: Cursor, small: bool) -> Page:
    size = OPENDOTA_INCREMENTAL_PAGE if small else OPENDOTA_FULL_PAGE
    offset = offset or 0
    entries = client.opendota_player_matches(account_id, limit=size, offset=offset)
    return Page(entries, offset + size if len(entries) == size else None)


ID_SOURCES = {
    STEAM_HISTORY: IdSource(STEAM_HISTORY, STEAM, True, _steam_history_page),
    OPENDOTA_LIST: IdSource(
        OPENDOTA_LIST, OPENDOTA, False, _opendota_page, first_cursor=0, offset_paged=True
    ),
}

DETAIL_SOURCES = {
    STEAM_DETAILS: DetailSource(
        STEAM_DETAILS, STEAM, True, lambda c, match_id, seq: c.steam_match_details(match_id)
    ),
    STEAM_SEQUENCE_DETAILS: DetailSource(
        STEAM_SEQUENCE_DETAILS,
        STEAM_SEQUENCE,
        True,
        lambda c, match_id, seq: c.steam_match_by_seq_num(seq, match_id),
        needs_seq_num=True,
    ),
    OPENDOTA_DETAILS: DetailSource(
        OPENDOTA_DETAILS, OPENDOTA, False, lambda c, match_id, seq: c.opendota_match(match_id)
    ),
}
