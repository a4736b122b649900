"""An account's matches and their players as CSV or JSON Lines, streamed.

The rows come from the database a chunk at a time (keyset pagination on match_id), and the
encoders turn them into text pieces of bounded size, so an export of 50,000 matches takes the
same memory as one of 50. The web page, the API and `manage.py export_matches` all stream
`export()`; the columns are documented in the README's "Export" section.
"""

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple

from django.db.models import F

from matches.models import (
    AccountMatch,
    Match,
    MatchPlayer,
    SteamAccount,
    exported_fields,
    shown_as,
)
from matches.upstream.dota_constants import game_mode_name, hero_name, lobby_type_name

Row = dict[str, Any]

# Matches per database query: big enough that the queries cost little next to the encoding,
# small enough that a chunk of player rows (ten a match) stays a few megabytes.
CHUNK_SIZE = 1_000
# The encoders hand out text in pieces of about this size: one write per row would make a
# streamed response (and a file) pay a system call per line.
PIECE_SIZE = 64 * 1024

# The account's own numbers in a match, read from its player row (empty without details).
_OWN_PLAYER_NUMBERS = (
    "last_hits",
    "denies",
    "gold_per_min",
    "xp_per_min",
    "level",
    "net_worth",
    "hero_damage",
    "tower_damage",
    "hero_healing",
)
# The columns the matches file had when first documented, in their order, which stays.
_FIRST_MATCH_COLUMNS = (
    "match_id",
    "start_time",
    "duration",
    "game_mode",
    "game_mode_name",
    "lobby_type",
    "lobby_type_name",
    "radiant_win",
    "radiant_score",
    "dire_score",
    "has_details",
    "details_status",
    "player_slot",
    "side",
    "won",
    "hero_id",
    "hero_name",
    "kills",
    "deaths",
    "assists",
    *_OWN_PLAYER_NUMBERS,
    "leaver_status",
    "abandons",
)
# Then every other stored field of the match (models.exported_fields), in the model's order: a
# field added to Match reaches the file as a new last column.
_MORE_MATCH_FIELDS = tuple(
    name for name in exported_fields(Match) if name not in _FIRST_MATCH_COLUMNS
)
MATCH_COLUMNS = (*_FIRST_MATCH_COLUMNS, *_MORE_MATCH_FIELDS)
_MATCH_QUERY_FIELDS = (
    "match_id",
    "start_time",
    "duration",
    "game_mode",
    "lobby_type",
    "radiant_win",
    "radiant_score",
    "dire_score",
    "has_details",
    "player_slot",
    "is_radiant",
    "won",
    "hero_id",
    "kills",
    "deaths",
    "assists",
    *_OWN_PLAYER_NUMBERS,
    "leaver_status",
    "abandons",
    *_MORE_MATCH_FIELDS,
)
# Every stored field of a player row (models.exported_fields), and the match's result.
_PLAYER_QUERY_FIELDS = ("match_id", *exported_fields(MatchPlayer), "radiant_win")
# How the players file shows the stored fields that are not one column of their own name: the
# side and its result instead of is_radiant, with the account id whether it is the exported
# account's row, with the hero id its name.
_PLAYER_FIELDS_SHOWN_AS = {
    "is_radiant": ("side", "won"),
    "account_id": ("account_id", "is_exported_account"),
    "hero_id": ("hero_id", "hero_name"),
}
PLAYER_COLUMNS = ("match_id", *shown_as(exported_fields(MatchPlayer), _PLAYER_FIELDS_SHOWN_AS))


class ExportFormat(NamedTuple):
    content_type: str
    encode: Callable[[tuple[str, ...], Iterable[Row]], Iterator[str]]


class ExportKind(NamedTuple):
    columns: tuple[str, ...]
    rows: Callable[[SteamAccount], Iterator[Row]]


def match_rows(account: SteamAccount, chunk_size: int = CHUNK_SIZE) -> Iterator[Row]:
    """One row per match of the account, oldest first, seen from the account's side.

    Matches without details (stubs, failed fetches) are included: `has_details` is false and
    the numbers only the details give are None; hero and slot come from the match history.
    """
    matches = (
        Match.objects.from_side_of(account)
        .annotate(**{name: F(f"own_player__{name}") for name in _OWN_PLAYER_NUMBERS})
        .order_by("match_id")
        .values_list(*_MATCH_QUERY_FIELDS)
    )
    for match_ids in _match_id_chunks(account, chunk_size):
        for values in matches.filter(match_id__in=match_ids):
            yield _match_row(dict(zip(_MATCH_QUERY_FIELDS, values, strict=True)))


def _match_row(stored: Row) -> Row:
    return {
        **stored,
        "game_mode_name": _name(game_mode_name, stored["game_mode"]),
        "lobby_type_name": _name(lobby_type_name, stored["lobby_type"]),
        "has_details": stored["has_details"] is True,
        "details_status": _details_status(stored["has_details"]),
        "side": _side(stored["is_radiant"]),
        "hero_name": _name(hero_name, stored["hero_id"]),
    }


def player_rows(account: SteamAccount, chunk_size: int = CHUNK_SIZE) -> Iterator[Row]:
    """Every player row (usually ten) of the account's matches with details, oldest match
    first, then by slot. Stubs have no players yet, so nothing of theirs appears here."""
    players = (
        MatchPlayer.objects.annotate(radiant_win=F("match__radiant_win"))
        .order_by("match_id", "player_slot")
        .values_list(*_PLAYER_QUERY_FIELDS)
    )
    for match_ids in _match_id_chunks(account, chunk_size):
        for values in players.filter(match_id__in=match_ids):
            yield _player_row(dict(zip(_PLAYER_QUERY_FIELDS, values, strict=True)), account)


def _match_id_chunks(account: SteamAccount, chunk_size: int) -> Iterator[list[int]]:
    """The account's match ids in ascending order, `chunk_size` at a time.

    Keyset pagination on the account's own links (their unique index on account and match):
    each chunk costs the same however far into the history it is, where a LIMIT over the
    joined rows made PostgreSQL walk the history from its start for every chunk.
    """
    match_ids = (
        AccountMatch.objects.filter(account=account)
        .order_by("match_id")
        .values_list("match_id", flat=True)
    )
    last_match_id = 0
    while True:
        chunk = list(match_ids.filter(match_id__gt=last_match_id)[:chunk_size])
        if chunk:
            yield chunk
        if len(chunk) < chunk_size:
            return
        last_match_id = chunk[-1]


def _player_row(stored: Row, account: SteamAccount) -> Row:
    radiant_win = stored.pop("radiant_win")
    return {
        **stored,
        "side": _side(stored["is_radiant"]),
        "won": None if radiant_win is None else radiant_win == stored["is_radiant"],
        "is_exported_account": stored["account_id"] == account.account_id,
        "hero_name": _name(hero_name, stored["hero_id"]),
    }


def _name(name_of: Callable[[int], str], value: int | None) -> str:
    """The constant's name; empty, not "Unknown …", when the value is unknown."""
    return "" if value is None else name_of(value)


def _details_status(has_details: bool | None) -> str:
    if has_details is None:
        return "pending"
    return "complete" if has_details else "failed"


def _side(is_radiant: bool | None) -> str:
    if is_radiant is None:
        return ""
    return "radiant" if is_radiant else "dire"


def csv_pieces(columns: tuple[str, ...], rows: Iterable[Row]) -> Iterator[str]:
    """RFC 4180 CSV with a header row: empty for None, `true`/`false`, times in ISO 8601 UTC,
    lists and objects as JSON."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_value(row[column]) for column in columns])
        if buffer.tell() >= PIECE_SIZE:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | dict):  # a JSON column (a skill build) is one JSON field
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return _iso_utc(value)
    return value


def jsonl_pieces(columns: tuple[str, ...], rows: Iterable[Row]) -> Iterator[str]:
    """One JSON object a line, keys in column order: null for None, times in ISO 8601 UTC."""
    lines: list[str] = []
    size = 0
    for row in rows:
        line = json.dumps(
            {column: row[column] for column in columns}, default=_iso_utc, separators=(",", ":")
        )
        lines.append(line)
        size += len(line) + 1
        if size >= PIECE_SIZE:
            yield "\n".join(lines) + "\n"
            lines, size = [], 0
    if lines:
        yield "\n".join(lines) + "\n"


def _iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


FORMATS = {
    "csv": ExportFormat("text/csv; charset=utf-8", csv_pieces),
    "jsonl": ExportFormat("application/x-ndjson", jsonl_pieces),
}
KINDS = {
    "matches": ExportKind(MATCH_COLUMNS, match_rows),
    "players": ExportKind(PLAYER_COLUMNS, player_rows),
}


def export(account: SteamAccount, kind: str, file_format: str) -> Iterator[str]:
    """The account's `kind` ("matches" or "players") in `file_format` ("csv" or "jsonl"), as
    text pieces to write or stream in order. Nothing is read from the database until the
    first piece is asked for."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {tuple(KINDS)}, not {kind!r}")
    if file_format not in FORMATS:
        raise ValueError(f"file_format must be one of {tuple(FORMATS)}, not {file_format!r}")
    columns, rows = KINDS[kind]
    return FORMATS[file_format].encode(columns, rows(account))


def file_name(account: SteamAccount, kind: str, file_format: str) -> str:
    """What a download of this export is saved as, e.g. `dotasync-86745912-matches.csv`."""
    return f"dotasync-{account.account_id}-{kind}.{file_format}"
