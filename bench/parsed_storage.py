"""15. Parsed matches: what one takes in PostgreSQL, and the stats from parsed matches' time.

N matches (1,000; 200 with --quick) are made from a real parsed OpenDota answer (match
4080856812, parser v21, 2018), each varied (its id, start, result, the account's slot and
hero, its last hits, gold and purchase times), and stored through phase 2's own write path
(matches.store.save_outcomes, 50 a batch), so ParsedMatch, its summary rows (ParsedPlayer),
the match and its ten player rows are what a sync leaves. Then, from PostgreSQL's own sizes:
the ParsedMatch table with its TOAST table and indexes (pg_total_relation_size) per match, the
average pg_column_size(data) (the stored, compressed document), ParsedPlayer's table and
indexes per match, against the raw answer's JSON size and parsed_data's uncompressed size.
Last, matches.parsed_stats over the N matches, computed afresh (nothing kept), median of 20
runs, unfiltered and filtered by a hero, with its query count.

Run it alone (it does not rewrite results.md): `python -m bench.parsed_storage [--quick]`.
SQLite is not measured: its page-level sizes need the dbstat virtual table, which Python's
sqlite3 is not always built with.
"""

import argparse
import json
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import Options, Section, analyze, reset_data, setup_django

ANSWER = Path(__file__).resolve().parent.parent / "matches/tests/data"
ANSWER_FILE = ANSWER / "opendota_parsed_match_4080856812.json"
ACCOUNT = 78_000_012
FIRST_MATCH_ID = 7_900_000_000
BATCH = 50
RUNS = 20
SLOTS = (0, 1, 2, 4, 129, 131, 132)
HEROES = (1, 8, 44, 74, 106)


def varied(answer: dict, index: int) -> dict:
    """The answer as match `index` of ACCOUNT (json round trip: a fresh copy)."""
    raw = json.loads(json.dumps(answer))
    change = index % 7 - 3
    raw.update(
        match_id=FIRST_MATCH_ID + index,
        start_time=int((datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=7 * index)).timestamp()),
        radiant_win=index % 5 < 3,
    )
    for player in raw["players"]:
        player["account_id"] = 90_000_000 + player["player_slot"] + index % 40
    own = next(p for p in raw["players"] if p["player_slot"] == SLOTS[index % len(SLOTS)])
    own.update(account_id=ACCOUNT, hero_id=HEROES[index % len(HEROES)])
    own["lh_t"] = [value + change * (minute > 0) for minute, value in enumerate(own["lh_t"])]
    own["gold_t"] = [round(value * (1 + change / 10)) for value in own["gold_t"]]
    for purchase in own["purchase_log"]:
        purchase["time"] += 37 * change
    return raw


def store_all(count: int) -> tuple[float, float, float]:
    """Store `count` varied answers; (seconds, average raw JSON bytes, average parsed_data
    JSON bytes)."""
    from matches.models import AccountMatch, Match, SteamAccount
    from matches.store import FetchOutcome, save_outcomes
    from matches.upstream.normalize import match_details
    from matches.upstream.parsed import parsed_data

    answer = json.loads(ANSWER_FILE.read_text())
    account = SteamAccount.objects.create(account_id=ACCOUNT)
    raw_bytes, parsed_bytes, spent = [], [], 0.0
    for start in range(0, count, BATCH):
        raws = [varied(answer, index) for index in range(start, min(count, start + BATCH))]
        Match.objects.bulk_create([Match(match_id=raw["match_id"]) for raw in raws])
        AccountMatch.objects.bulk_create(
            [
                AccountMatch(
                    account=account,
                    match_id=raw["match_id"],
                    player_slot=SLOTS[(raw["match_id"] - FIRST_MATCH_ID) % len(SLOTS)],
                )
                for raw in raws
            ]
        )
        outcomes = []
        for raw in raws:
            details = match_details(raw)
            details.parsed = parsed_data(raw)
            raw_bytes.append(len(json.dumps(raw)))
            parsed_bytes.append(len(json.dumps(details.parsed)))
            outcomes.append(FetchOutcome.completed(details, "opendota"))
        started = time.perf_counter()
        save_outcomes(outcomes, None, datetime.now(UTC))
        spent += time.perf_counter() - started
    return spent, statistics.mean(raw_bytes), statistics.mean(parsed_bytes)


def sizes() -> dict[str, float]:
    from django.db import connection

    analyze()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), pg_total_relation_size('matches_parsedmatch'),"
            " pg_relation_size('matches_parsedmatch'),"
            " pg_table_size('matches_parsedmatch') - pg_relation_size('matches_parsedmatch'),"
            " pg_indexes_size('matches_parsedmatch'), avg(pg_column_size(data)),"
            " pg_total_relation_size('matches_parsedplayer'),"
            " (SELECT count(*) FROM matches_parsedplayer)"
            " FROM matches_parsedmatch"
        )
        count, total, main, toast, indexes, column, players, player_rows = cursor.fetchone()
    return {
        "count": count,
        "total": total / count,
        "main": main / count,
        "toast": toast / count,
        "indexes": indexes / count,
        "column": float(column),
        "players": players / count,
        "player_rows": player_rows,
    }


def stats_time(hero_id: int | None) -> tuple[float, int, int]:
    """(median ms, queries, parsed matches counted) of parsed_stats afresh."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from matches.analysis import summary
    from matches.filters import MatchFilters
    from matches.models import SteamAccount
    from matches.parsed_stats import parsed_stats

    account = SteamAccount.objects.get(account_id=ACCOUNT)
    filters = MatchFilters(hero_id=hero_id)
    games = summary(account, filters).games
    times = []
    for _run in range(RUNS):
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            found = parsed_stats(account, filters, games)
        times.append(1000 * (time.perf_counter() - started))
    return statistics.median(times), len(queries), found.parsed


def run(sim: object, options: Options) -> Section:
    count = 200 if options.quick else 1_000
    section = Section()
    reset_data()
    name = "15. Parsed matches"
    spent, raw_size, parsed_size = store_all(count)
    found = sizes()
    section.add(
        name,
        f"PostgreSQL per parsed match: ParsedMatch with TOAST and indexes ({count} matches)",
        f"{found['total'] / 1024:.1f} KB",
    )
    section.add(
        name,
        "  of it: table / TOAST / indexes",
        (
            f"{found['main'] / 1024:.1f} / {found['toast'] / 1024:.1f} / "
            f"{found['indexes'] / 1024:.1f} KB"
        ),
    )
    section.add(name, "pg_column_size(data), average", f"{found['column'] / 1024:.1f} KB")
    section.add(
        name,
        f"ParsedPlayer rows per match ({found['player_rows'] // found['count']} a match), "
        "with indexes",
        f"{found['players'] / 1024:.1f} KB",
    )
    section.add(name, "raw OpenDota answer (JSON), average", f"{raw_size / 1024:.1f} KB")
    section.add(
        name, "parsed_data kept (JSON, uncompressed), average", f"{parsed_size / 1024:.1f} KB"
    )
    section.add(
        name,
        "store time per parsed match (save_outcomes, 50 a batch)",
        f"{1000 * spent / count:.1f} ms",
    )
    for hero_id, label in ((None, "all"), (HEROES[0], f"hero {HEROES[0]}")):
        ms, queries, parsed = stats_time(hero_id)
        section.add(
            name,
            f"parsed_stats afresh, {label} ({parsed} parsed matches), median of {RUNS}",
            f"{ms:.1f} ms, {queries} queries",
        )
    section.notes.append(
        f"{count} varied copies of the real answer 4080856812 (parser v21): sizes from "
        "pg_total_relation_size / pg_relation_size / pg_table_size / pg_indexes_size over "
        "the row count, after ANALYZE."
    )
    return section


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.parsed_storage", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200 matches instead of 1,000")
    arguments = parser.parse_args()
    setup_django()
    result = run(None, Options(quick=arguments.quick, big=False))
    for row in result.rows:
        print(f"| {row.bench} | {row.measure} | {row.value} |")
    for note in result.notes:
        print(note)
