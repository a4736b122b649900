"""10. Export: throughput and peak memory of `manage.py export_matches` at 10,000 and 50,000
matches, CSV and JSON Lines, matches and player rows.

Each export runs in a child process of its own (bench.export_worker), which times the command
(Django's start-up left out) and reads its own peak resident memory (VmHWM) before and after.
The web download and the API stream the same generator as the command.
"""

import json
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.db import connection

from bench.common import CHILD_TIMEOUT, Options, Section, Simulator, reset_data, verdict
from matches.export import FORMATS, KINDS
from matches.models import AccountMatch, Match, MatchPlayer, SteamAccount
from tests.processes import Child, child_env, stop

ACCOUNT_ID = 78_000_010
FIRST_MATCH_ID = 8_000_000_000
# Every 50th match is a stub (no details, no players): the export must carry them too.
STUB_EVERY = 50
BUILD_CHUNK = 2_000
# Flat: the larger export may not need more than this much over the smaller one.
FLAT_MARGIN_MB = 20
SLOTS = (*range(5), *range(128, 133))


def run(sim: Simulator, options: Options) -> Section:
    sizes = (1_000, 5_000) if options.quick else (10_000, 50_000)
    reset_data()
    account = SteamAccount.objects.create(account_id=ACCOUNT_ID, persona_name="Exporter")
    section = Section()
    exports = [(kind, file_format) for kind in KINDS for file_format in FORMATS]
    peaks: dict[tuple[str, str], list[float]] = {key: [] for key in exports}
    built = 0
    with tempfile.TemporaryDirectory(prefix="dotasync-bench-export-") as directory:
        output = Path(directory) / "export"
        for matches in sizes:
            _add_matches(account, first=built, count=matches - built)
            built = matches
            _analyze()
            for kind, file_format in exports:
                measured = _export(kind, file_format, output)
                rows = _rows_written(output, file_format)
                stored = _stored_rows(account, kind)
                if rows != stored:
                    raise RuntimeError(f"{kind} {file_format}: {rows} rows written of {stored}")
                peaks[(kind, file_format)].append(measured.peak_mb)
                section.add(
                    "10. Export",
                    f"{kind} {file_format}, {matches:,} matches ({rows:,} rows)",
                    f"{rows / measured.seconds:,.0f} rows/s, peak {measured.peak_mb:.0f} MB",
                    "flat memory",
                )
                written_mib = output.stat().st_size / 2**20
                section.notes.append(
                    f"Export {kind} {file_format} of {matches:,} matches: {rows:,} rows, "
                    f"{written_mib:.1f} MiB in {measured.seconds:.1f} s; peak "
                    f"{measured.peak_mb:.0f} MB, {measured.before_mb:.0f} MB before the export."
                )
    for (kind, file_format), (small, large) in peaks.items():
        growth = large - small
        section.add(
            "10. Export",
            f"{kind} {file_format}: peak growth {sizes[0]:,} → {sizes[1]:,}",
            f"{growth:+.1f} MB",
            f"flat (≤ {FLAT_MARGIN_MB} MB)",
            verdict(growth <= FLAT_MARGIN_MB),
        )
    return section


@dataclass(frozen=True)
class Measured:
    seconds: float  # the export alone, without Django's start-up
    before_mb: float  # the worker's VmHWM once Django is set up
    peak_mb: float  # its VmHWM after the export


def _export(kind: str, file_format: str, output: Path) -> Measured:
    args = [str(ACCOUNT_ID), file_format, kind, str(output)]
    child = Child(sys.executable, "-m", "bench.export_worker", *args, env=child_env())
    try:
        returncode = child.wait(timeout=CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        stop(child, signal.SIGKILL)
        raise
    if returncode != 0:
        output = child.output()[-3000:]
        raise RuntimeError(f"export {' '.join(args)} exited {returncode}:\n{output}")
    return Measured(**json.loads(child.output().strip().splitlines()[-1]))


def _analyze() -> None:
    """Fresh planner statistics, as autovacuum keeps them: bulk inserts leave them stale."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE matches_match, matches_accountmatch, matches_matchplayer")


def _rows_written(output: Path, file_format: str) -> int:
    with output.open("rb") as file:
        lines = sum(1 for _ in file)
    return lines - 1 if file_format == "csv" else lines


def _stored_rows(account: SteamAccount, kind: str) -> int:
    if kind == "matches":
        return AccountMatch.objects.filter(account=account).count()
    return MatchPlayer.objects.filter(match__account_links__account=account).count()


def _add_matches(account: SteamAccount, first: int, count: int) -> None:
    """Matches `first` to `first + count` of the account, ten players each but the stubs',
    inserted BUILD_CHUNK matches at a time so the bench process stays small too."""
    for start in range(first, first + count, BUILD_CHUNK):
        numbers = range(start, min(start + BUILD_CHUNK, first + count))
        Match.objects.bulk_create(_match(n) for n in numbers)
        AccountMatch.objects.bulk_create(
            AccountMatch(
                account=account, match_id=FIRST_MATCH_ID + n, player_slot=0, hero_id=1 + n % 120
            )
            for n in numbers
        )
        MatchPlayer.objects.bulk_create(
            (
                _player(n, index, slot, account)
                for n in numbers
                if n % STUB_EVERY
                for index, slot in enumerate(SLOTS)
            ),
            batch_size=5_000,
        )


def _match(n: int) -> Match:
    match_id = FIRST_MATCH_ID + n
    if n % STUB_EVERY == 0:
        return Match(match_id=match_id)
    return Match(
        match_id=match_id,
        match_seq_num=match_id - 1_000_000_000,
        has_details=True,
        details_source="opendota",
        start_time=datetime(2023, 1, 1, tzinfo=UTC) + timedelta(hours=n),
        duration=1500 + n % 2000,
        game_mode=22,
        lobby_type=7,
        radiant_win=n % 3 != 0,
        radiant_score=30 + n % 20,
        dire_score=25 + n % 17,
    )


def _player(n: int, index: int, slot: int, account: SteamAccount) -> MatchPlayer:
    return MatchPlayer(
        match_id=FIRST_MATCH_ID + n,
        player_slot=slot,
        is_radiant=slot < 128,
        account_id=account.account_id if slot == 0 else 100_000 + (n * 10 + index) % 50_000,
        hero_id=1 + (n + index) % 120,
        kills=index + n % 15,
        deaths=n % 11,
        assists=(n + index) % 25,
        last_hits=100 + n % 300,
        denies=n % 20,
        gold_per_min=300 + n % 500,
        xp_per_min=400 + n % 500,
        level=10 + n % 20,
        net_worth=10_000 + n % 20_000,
        hero_damage=5_000 + n % 40_000,
        tower_damage=n % 10_000,
        hero_healing=n % 3_000,
        item_0=1,
        item_1=36,
        item_2=116,
        item_neutral=1589,
        aghanims_scepter=n % 2 == 0,
        gold=n % 3_000,
        gold_spent=9_000 + n % 20_000,
        leaver_status=0,
    )
