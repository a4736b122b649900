"""Writing what the upstream told us: stubs, account links and match details.

Every write is idempotent: a page or a match stored twice leaves exactly the
rows storing it once left. Callers make the HTTP calls first; these functions
only open short transactions. A match whose details the database refuses (a
value matches.upstream.normalize let through that PostgreSQL or SQLite will not store)
is recorded as failed with the database's reason, and the rest of its batch is
stored: one bad value never stops a sync, nor every later one.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.db import DataError, IntegrityError, connection, transaction
from django.db.models import F, Q

from matches import parsed_summary
from matches import players as player_names
from matches.models import AccountMatch, Match, MatchPlayer, ParsedMatch, SteamAccount
from matches.upstream.normalize import HistoryEntry, MatchDetails, optional_text

FETCH_ERROR_MAX = Match._meta.get_field("fetch_error").max_length
_PLAYER_COLUMNS = [
    f.name
    for f in MatchPlayer._meta.concrete_fields
    if f.name not in {"id", "match", "player_slot"}
]
_DETAIL_COLUMNS = [
    "match_seq_num",
    "start_time",
    "duration",
    "game_mode",
    "lobby_type",
    "radiant_win",
    "radiant_score",
    "dire_score",
    "leagueid",
    "cluster",
    "first_blood_time",
    "human_players",
    "radiant_team_id",
    "dire_team_id",
    "radiant_name",
    "dire_name",
    "league_name",
    "picks_bans",
    "abandons",
]
# What only one source tells (STRATZ's imp, position, lane outcome): another source's fetch,
# which leaves them out, keeps what STRATZ stored.
_KEPT_UNLESS_TOLD = ("imp", "position", "lane_outcome")
# NOT NULL text columns: a match without team or league names stores "".
_TEXT_DETAIL_COLUMNS = ("radiant_name", "dire_name", "league_name")


def save_history_page(
    account: SteamAccount, entries: Sequence[HistoryEntry], listed_by: int = 0
) -> int:
    """Store one listing page as stubs plus account links, in one transaction.

    Rows already there are left alone, except that a stub learns its
    match_seq_num when a source that knows it (Steam) lists it after one that
    does not (OpenDota), and a link gains the listing source's bit `listed_by`
    (idempotent: a bitwise OR). Returns how many of the matches were new to the account.
    """
    if not entries:
        return 0
    by_id = {entry.match_id: entry for entry in entries}
    with transaction.atomic():
        known = linked_ids(account, by_id)
        Match.objects.bulk_create(
            [
                Match(match_id=e.match_id, match_seq_num=e.match_seq_num, start_time=e.start_time)
                for e in by_id.values()
            ],
            ignore_conflicts=True,
        )
        with_seq = [e.match_id for e in by_id.values() if e.match_seq_num is not None]
        if with_seq:
            missing = list(
                Match.objects.filter(pk__in=with_seq, match_seq_num__isnull=True).only("pk")
            )
            for match in missing:
                match.match_seq_num = by_id[match.pk].match_seq_num
            Match.objects.bulk_update(missing, ["match_seq_num"])
        AccountMatch.objects.bulk_create(
            [
                AccountMatch(
                    account=account,
                    match_id=e.match_id,
                    player_slot=e.player_slot,
                    hero_id=e.hero_id,
                    listed_by=listed_by,
                )
                for e in by_id.values()
                if e.match_id not in known
            ],
            ignore_conflicts=True,
        )
        if listed_by and known:
            # Only the links that lack the bit are written: a re-listing writes nothing.
            AccountMatch.objects.alias(bit=F("listed_by").bitand(listed_by)).filter(
                account=account, match_id__in=list(known), bit=0
            ).update(listed_by=F("listed_by").bitor(listed_by))
    return len(by_id) - len(known)


def linked_ids(account: SteamAccount, match_ids: Iterable[int]) -> set[int]:
    return set(
        AccountMatch.objects.filter(account=account, match_id__in=list(match_ids)).values_list(
            "match_id", flat=True
        )
    )


class FetchOutcomeKind(StrEnum):
    COMPLETED = "completed"
    # A source refused this match (not found, malformed): one attempt is counted.
    FAILED = "failed"
    # No source could answer now (outage, limit, configuration): nothing is counted.
    DEFERRED = "deferred"


@dataclass(frozen=True)
class FetchOutcome:
    """What phase 2 learnt about one match, carried unchanged from the fetch to the store."""

    match_id: int
    kind: FetchOutcomeKind
    details: MatchDetails | None = None
    source: str = ""
    reason: str = ""

    @classmethod
    def completed(cls, details: MatchDetails, source: str) -> "FetchOutcome":
        return cls(details.match_id, FetchOutcomeKind.COMPLETED, details=details, source=source)

    @classmethod
    def failed(cls, match_id: int, reason: str) -> "FetchOutcome":
        return cls(match_id, FetchOutcomeKind.FAILED, reason=reason)

    @classmethod
    def deferred(cls, match_id: int, reason: str) -> "FetchOutcome":
        return cls(match_id, FetchOutcomeKind.DEFERRED, reason=reason)


def save_outcomes(
    outcomes: Sequence[FetchOutcome], job_id: int | None, now: datetime
) -> list[FetchOutcome]:
    """Record one batch of phase-2 outcomes of job `job_id` in one short transaction, and
    return them as recorded.

    A complete match is never downgraded: a later failure or outage while
    re-fetching it (full sync) leaves its stored details as they were. A deferral
    counts nothing: a stub notes why it waits, and a failed match keeps its
    attempts and the clock of its retry backoff. When the database refuses the
    batch, each outcome is stored on its own, and a match whose details it refuses
    becomes a failure saying why (one attempt counted, as for a malformed answer).
    """
    try:
        _save_outcomes(outcomes, job_id, now)
    except (DataError, IntegrityError, UnicodeEncodeError) as exc:
        if len(outcomes) > 1:
            return [stored for o in outcomes for stored in save_outcomes([o], job_id, now)]
        (outcome,) = outcomes
        if outcome.kind is not FetchOutcomeKind.COMPLETED:
            raise
        reason = f"{outcome.source}: the database refused its details ({_why_refused(exc)})"
        refused = FetchOutcome.failed(outcome.match_id, reason)
        _save_outcomes([refused], job_id, now)
        return [refused]
    return list(outcomes)


def _why_refused(exc: Exception) -> str:
    said = optional_text(str(exc).partition("\n")[0])
    return f"{type(exc).__name__}: {said}" if said else type(exc).__name__


def _save_outcomes(outcomes: Sequence[FetchOutcome], job_id: int | None, now: datetime) -> None:
    by_kind: dict[FetchOutcomeKind, list[FetchOutcome]] = {kind: [] for kind in FetchOutcomeKind}
    for outcome in outcomes:
        by_kind[outcome.kind].append(outcome)
    with transaction.atomic():
        # Every attempt is stamped with its job (which tries a match at most once) and
        # its work claim released, whatever the outcome and whatever the match's state.
        Match.objects.filter(pk__in=[o.match_id for o in outcomes]).update(
            last_attempt_job_id=job_id, claimed_by=None, claimed_until=None
        )
        if by_kind[FetchOutcomeKind.COMPLETED]:
            _save_completed(by_kind[FetchOutcomeKind.COMPLETED], now)
        for outcome in by_kind[FetchOutcomeKind.FAILED]:
            Match.objects.filter(pk=outcome.match_id).filter(
                Q(has_details__isnull=True) | Q(has_details=False)
            ).update(
                has_details=False,
                retry_count=F("retry_count") + 1,
                fetch_error=outcome.reason[:FETCH_ERROR_MAX],
                last_fetch_attempt=now,
            )
        for outcome in by_kind[FetchOutcomeKind.DEFERRED]:
            Match.objects.filter(pk=outcome.match_id, has_details__isnull=True).update(
                fetch_error=outcome.reason[:FETCH_ERROR_MAX], last_fetch_attempt=now
            )


def _save_completed(completed: Sequence[FetchOutcome], now: datetime) -> None:
    matches = []
    players = []
    for item in completed:
        details = item.details
        fields = {key: details.fields.get(key) for key in _DETAIL_COLUMNS}
        for key in _TEXT_DETAIL_COLUMNS:
            fields[key] = fields[key] or ""
        if fields["match_seq_num"] is None:
            fields.pop("match_seq_num")
        matches.append(
            Match(
                match_id=details.match_id,
                has_details=True,
                fetch_error="",
                details_source=item.source,
                details_fetched_at=now,
                last_fetch_attempt=now,
                **fields,
            )
        )
        players.extend((details.match_id, player) for player in details.players)
    with_seq = [m for m in matches if m.match_seq_num is not None]
    common = [
        "has_details",
        "fetch_error",
        "details_source",
        "details_fetched_at",
        "last_fetch_attempt",
        *(c for c in _DETAIL_COLUMNS if c != "match_seq_num"),
    ]
    # INSERT ... ON CONFLICT DO UPDATE: one statement a group, far cheaper for the
    # database than bulk_update's CASE WHEN per row and column. Every match exists already.
    for group, fields in (
        (with_seq, [*common, "match_seq_num"]),
        ([m for m in matches if m.match_seq_num is None], common),
    ):
        if group:
            Match.objects.bulk_create(
                group, update_conflicts=True, unique_fields=["match_id"], update_fields=fields
            )
    _upsert_players(players)
    save_parsed(
        [(item.details.match_id, item.details.parsed) for item in completed if item.details.parsed],
        now,
    )
    # A source that lists fewer players than an earlier one (e.g. a leaver slot) must
    # not leave the earlier rows behind.
    stale = Q()
    for item in completed:
        slots = [p["player_slot"] for p in item.details.players]
        stale |= Q(match_id=item.details.match_id) & ~Q(player_slot__in=slots)
    MatchPlayer.objects.filter(stale).delete()
    player_names.remember_names(
        (player["account_id"], player.get("persona_name", ""))
        for item in completed
        for player in item.details.players
    )


def save_parsed(parsed: Sequence[tuple[int, dict]], now: datetime) -> None:
    """Keep what the replay parser added to these matches (matches.upstream.parsed's shape).

    A match parsed again (a newer parser version) has its data replaced; a later answer
    without parsed data (another source, or OpenDota before the parse) never removes it.
    Each match's summary rows (matches.parsed_summary) are replaced with it.
    """
    if not parsed:
        return
    # Its summary rows in the same transaction: the stats never see one without the other.
    with transaction.atomic():
        ParsedMatch.objects.bulk_create(
            [
                ParsedMatch(match_id=match_id, version=data["version"], stored_at=now, data=data)
                for match_id, data in parsed
            ],
            update_conflicts=True,
            unique_fields=["match"],
            update_fields=["version", "stored_at", "data"],
        )
        parsed_summary.replace_summaries(parsed)


def _upsert_players(players: list[tuple[int, dict]]) -> None:
    """INSERT ... ON CONFLICT (match, player_slot) DO UPDATE, one row per parameter set.

    Ten rows a match made this the sync's hottest write: the ORM's bulk_create spends
    most of its time adapting every value in Python, while executemany hands the rows
    to the driver as they are (psycopg pipelines them). Both PostgreSQL and SQLite
    understand the statement.
    """
    if not players:
        return
    table = connection.ops.quote_name(MatchPlayer._meta.db_table)
    columns = ["match_id", "player_slot", *_PLAYER_COLUMNS]
    quoted = [connection.ops.quote_name(c) for c in columns]
    updates = ", ".join(
        f"{q} = COALESCE(EXCLUDED.{q}, {table}.{q})"
        if c in _KEPT_UNLESS_TOLD
        else f"{q} = EXCLUDED.{q}"
        for c, q in zip(columns[2:], quoted[2:], strict=True)
    )
    sql = (
        f"INSERT INTO {table} ({', '.join(quoted)}) VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({quoted[0]}, {quoted[1]}) DO UPDATE SET {updates}"
    )
    upgrades = MatchPlayer._meta.get_field("ability_upgrades")
    rows = [
        [
            match_id,
            *(
                upgrades.get_db_prep_save(player[c], connection)
                if c == "ability_upgrades"
                else player.get(c)
                if c in _KEPT_UNLESS_TOLD
                else player[c]
                for c in columns[1:]
            ),
        ]
        for match_id, player in players
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
