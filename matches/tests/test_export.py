"""The export of an account's matches and player rows: parsed back and compared with what the
database holds, read here straight from the models (never through matches.export), through
the module, the match list's download, the API and `manage.py export_matches`."""

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from matches import export
from matches.management.commands.export_matches import Command as ExportCommand
from matches.models import AccountMatch, Match, MatchPlayer, SteamAccount
from matches.tests.match_builders import ACCOUNT_ID, OTHERS_ACCOUNT_ID, complete_match
from matches.upstream.dota_constants import hero_name

# The documented columns, in order: renaming or moving one breaks every user's scripts.
MATCH_HEADER = [
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
    "last_hits",
    "denies",
    "gold_per_min",
    "xp_per_min",
    "level",
    "net_worth",
    "hero_damage",
    "tower_damage",
    "hero_healing",
    "leaver_status",
    "abandons",
    "match_seq_num",
    "retry_count",
    "fetch_error",
    "details_source",
    "details_fetched_at",
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
]
# The match's own stored fields after the account's side of it: read from the match as they are.
MATCH_FIELDS_AS_STORED = MATCH_HEADER[MATCH_HEADER.index("match_seq_num") :]
PLAYER_HEADER = [
    "match_id",
    "player_slot",
    "side",
    "won",
    "account_id",
    "is_exported_account",
    "hero_id",
    "hero_name",
    "hero_variant",
    "kills",
    "deaths",
    "assists",
    "last_hits",
    "denies",
    "gold_per_min",
    "xp_per_min",
    "level",
    "net_worth",
    "hero_damage",
    "tower_damage",
    "hero_healing",
    "item_0",
    "item_1",
    "item_2",
    "item_3",
    "item_4",
    "item_5",
    "backpack_0",
    "backpack_1",
    "backpack_2",
    "item_neutral",
    "item_neutral2",
    "aghanims_scepter",
    "aghanims_shard",
    "moonshard",
    "gold",
    "gold_spent",
    "leaver_status",
    "party_size",
    "ability_upgrades",
    "imp",
    "position",
    "lane_outcome",
]
HERO_NAMES = {1: "Anti-Mage", 5: "Crystal Maiden", 8: "Juggernaut", 3: "Bane"}
HEROES_OF_OTHERS = range(11, 25)
OWN_NUMBERS = (
    "kills",
    "deaths",
    "assists",
    "last_hits",
    "denies",
    "gold_per_min",
    "xp_per_min",
    "level",
    "net_worth",
    "hero_damage",
    "tower_damage",
    "hero_healing",
    "leaver_status",
)


def _hero_name(hero_id: int | None) -> str:
    if hero_id is None:
        return ""
    return HERO_NAMES[hero_id] if hero_id in HERO_NAMES else _any_hero_name(hero_id)


def _any_hero_name(hero_id: int) -> str:
    # The builders give the other nine players heroes 11-14 and 20-24: the constants name them.
    assert hero_id in HEROES_OF_OTHERS
    return hero_name(hero_id)


def stored_match_rows(account: SteamAccount) -> list[dict[str, Any]]:
    """What the match export must say, worked out from the models row by row."""
    rows = []
    links = AccountMatch.objects.filter(account=account).select_related("match")
    for link in sorted(links, key=lambda link: link.match_id):
        match = link.match
        own = MatchPlayer.objects.filter(match=match, account_id=account.account_id).first()
        slot = own.player_slot if own else link.player_slot
        is_radiant = own.is_radiant if own else (None if slot is None else slot < 128)
        won = (
            None
            if match.radiant_win is None or is_radiant is None
            else match.radiant_win == is_radiant
        )
        hero_id = own.hero_id if own else link.hero_id
        complete = match.has_details is True
        rows.append(
            {
                "match_id": match.match_id,
                "start_time": match.start_time,
                "duration": match.duration,
                "game_mode": match.game_mode,
                "game_mode_name": "All Pick" if match.game_mode == 22 else "",
                "lobby_type": match.lobby_type,
                "lobby_type_name": "Ranked" if match.lobby_type == 7 else "",
                "radiant_win": match.radiant_win,
                "radiant_score": match.radiant_score,
                "dire_score": match.dire_score,
                "has_details": complete,
                "details_status": {None: "pending", True: "complete", False: "failed"}[
                    match.has_details
                ],
                "player_slot": slot,
                "side": {None: "", True: "radiant", False: "dire"}[is_radiant],
                "won": won,
                "hero_id": hero_id,
                "hero_name": _hero_name(hero_id),
                **{name: getattr(own, name) if own else None for name in OWN_NUMBERS},
                "abandons": match.abandons,
                **{name: getattr(match, name) for name in MATCH_FIELDS_AS_STORED},
            }
        )
    return rows


def stored_player_rows(account: SteamAccount) -> list[dict[str, Any]]:
    """What the player export must say, from the models."""
    match_ids = AccountMatch.objects.filter(account=account).values("match_id")
    players = MatchPlayer.objects.filter(match_id__in=match_ids).select_related("match")
    rows = []
    for player in sorted(players, key=lambda p: (p.match_id, p.player_slot)):
        radiant_win = player.match.radiant_win
        row = {
            name: getattr(player, name)
            for name in PLAYER_HEADER
            if name not in {"side", "won", "is_exported_account", "hero_name"}
        }
        row["side"] = "radiant" if player.is_radiant else "dire"
        row["won"] = None if radiant_win is None else radiant_win == player.is_radiant
        row["is_exported_account"] = player.account_id == account.account_id
        row["hero_name"] = _hero_name(player.hero_id)
        rows.append(row)
    return rows


def as_csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def as_json_value(value: Any) -> Any:
    return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value


def parse_csv(text: str, header: list[str]) -> list[dict[str, str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    assert next(reader) == header
    return [dict(zip(header, values, strict=True)) for values in reader]


def parse_jsonl(text: str, header: list[str]) -> list[dict[str, Any]]:
    assert text.endswith("\n")
    rows = [json.loads(line) for line in text.splitlines()]
    assert all(list(row) == header for row in rows)
    return rows


def expected(kind: str, file_format: str, account: SteamAccount) -> list[dict[str, Any]]:
    stored = stored_match_rows(account) if kind == "matches" else stored_player_rows(account)
    convert = as_csv_text if file_format == "csv" else as_json_value
    return [{name: convert(value) for name, value in row.items()} for row in stored]


def parsed(kind: str, file_format: str, text: str) -> list[dict[str, Any]]:
    header = MATCH_HEADER if kind == "matches" else PLAYER_HEADER
    return parse_csv(text, header) if file_format == "csv" else parse_jsonl(text, header)


def streamed_text(response: StreamingHttpResponse) -> str:
    return b"".join(response.streaming_content).decode()


EXPORTS = [(kind, file_format) for kind in export.KINDS for file_format in export.FORMATS]


@pytest.mark.parametrize(("kind", "file_format"), EXPORTS)
def test_export_round_trips_to_the_stored_rows(export_history, account, kind, file_format):
    text = "".join(export.export(account, kind, file_format))

    rows = parsed(kind, file_format, text)

    assert rows == expected(kind, file_format, account)
    assert len(rows) == (5 if kind == "matches" else 30)


def test_match_export_keeps_stubs_and_failed_matches_with_empty_details(export_history, account):
    rows = {
        int(row["match_id"]): row
        for row in parse_csv("".join(export.export(account, "matches", "csv")), MATCH_HEADER)
    }

    stub = rows[export_history["stub"].match_id]
    assert stub["has_details"] == "false"
    assert stub["details_status"] == "pending"
    # What Steam's history said: slot 130 is the Dire, hero 8 Juggernaut.
    assert (stub["player_slot"], stub["side"], stub["hero_name"]) == ("130", "dire", "Juggernaut")
    assert stub["start_time"] == stub["won"] == stub["kills"] == stub["gold_per_min"] == ""
    failed = rows[export_history["failed"].match_id]
    assert (failed["has_details"], failed["details_status"]) == ("false", "failed")
    assert failed["radiant_win"] == failed["duration"] == failed["game_mode_name"] == ""


def test_match_export_has_the_accounts_own_numbers(export_history, account):
    text = "".join(export.export(account, "matches", "jsonl"))
    rows = {row["match_id"]: row for row in parse_jsonl(text, MATCH_HEADER)}

    win = rows[export_history["radiant_win"].match_id]
    assert win["start_time"] == "2025-01-02T03:04:05+00:00"
    assert (win["side"], win["won"], win["hero_name"]) == ("radiant", True, "Anti-Mage")
    assert (win["kills"], win["deaths"], win["assists"]) == (12, 1, 7)
    assert (win["gold_per_min"], win["xp_per_min"], win["hero_damage"]) == (702, 815, 40_123)
    assert (win["game_mode_name"], win["lobby_type_name"]) == ("All Pick", "Ranked")
    loss = rows[export_history["dire_loss"].match_id]
    assert (loss["side"], loss["won"], loss["leaver_status"], loss["abandons"]) == (
        "dire",
        False,
        3,
        1,
    )
    # A private profile: the account's row is anonymous, so only Steam's history knows its hero.
    anonymous = rows[export_history["anonymous"].match_id]
    assert (anonymous["has_details"], anonymous["hero_id"], anonymous["side"]) == (
        True,
        1,
        "radiant",
    )
    assert anonymous["won"] is True
    assert anonymous["kills"] is None


def test_player_export_marks_the_exported_accounts_row(export_history, account):
    rows = parse_jsonl("".join(export.export(account, "players", "jsonl")), PLAYER_HEADER)

    own = [row for row in rows if row["is_exported_account"]]
    assert [row["match_id"] for row in own] == [
        export_history["dire_loss"].match_id,
        export_history["radiant_win"].match_id,
    ]
    assert own[1]["aghanims_scepter"] is True
    assert own[1]["item_neutral"] == 1589
    assert [row["account_id"] for row in rows].count(OTHERS_ACCOUNT_ID) == 1
    assert export_history["others"].match_id not in {row["match_id"] for row in rows}


def test_unknown_kind_or_format_is_refused(account):
    with pytest.raises(ValueError, match="file_format"):
        export.export(account, "matches", "xml")
    with pytest.raises(ValueError, match="kind"):
        export.export(account, "heroes", "csv")


def _many_matches(account: SteamAccount, count: int) -> None:
    for n in range(count):
        complete_match(7_200_000_000 + n, account, won=n % 2 == 0)


@pytest.mark.parametrize("rows", [export.match_rows, export.player_rows])
def test_rows_are_read_a_chunk_at_a_time(account, rows):
    _many_matches(account, 5)

    with CaptureQueriesContext(connection) as queries:
        generator = rows(account, chunk_size=2)
        assert len(queries) == 0
        next(generator)
        first_chunk = len(queries)
        everything = [next(generator), *generator]

    assert first_chunk == 2  # the chunk's match ids, then its rows
    # Three chunks of at most two matches: 2, 2, 1.
    assert len(queries) == 3 * first_chunk
    assert len(everything) + 1 == (5 if rows is export.match_rows else 50)


def test_encoders_hand_out_bounded_pieces(account):
    _many_matches(account, 120)

    pieces = list(export.export(account, "players", "csv"))

    assert len(pieces) > 1
    assert all(len(piece) < export.PIECE_SIZE + 1_000 for piece in pieces)
    assert len(parse_csv("".join(pieces), PLAYER_HEADER)) == 1_200


# The match list's download.


@pytest.mark.parametrize(("kind", "file_format"), EXPORTS)
def test_download_streams_the_export(signed_in, export_history, account, kind, file_format):
    response = signed_in.get(
        reverse("export_download"),
        {"account": ACCOUNT_ID, "rows": kind, "format": file_format},
    )

    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Disposition"] == (
        f'attachment; filename="dotasync-{ACCOUNT_ID}-{kind}.{file_format}"'
    )
    assert parsed(kind, file_format, streamed_text(response)) == expected(
        kind, file_format, account
    )


def test_match_list_offers_the_download(signed_in, export_history):
    page = signed_in.get(reverse("match_list"), {"account": ACCOUNT_ID}).content.decode()

    assert f'action="{reverse("export_download")}"' in page
    assert f'name="account" value="{ACCOUNT_ID}"' in page
    assert 'name="rows"' in page
    assert '<option value="jsonl">JSON Lines</option>' in page


def test_download_of_another_users_account_is_not_found(signed_in, export_history):
    response = signed_in.get(
        reverse("export_download"),
        {"account": OTHERS_ACCOUNT_ID, "rows": "matches", "format": "csv"},
    )

    assert response.status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        {"account": ACCOUNT_ID, "rows": "matches", "format": "xlsx"},
        {"account": ACCOUNT_ID, "rows": "heroes", "format": "csv"},
        {"account": "me", "rows": "matches", "format": "csv"},
    ],
)
def test_bad_download_request_is_refused(signed_in, account, query):
    response = signed_in.get(reverse("export_download"), query)

    assert response.status_code == 400


def test_download_needs_a_signed_in_user(client, export_history):
    url = reverse("export_download")
    response = client.get(url, {"account": ACCOUNT_ID, "rows": "matches", "format": "csv"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# The API.


@pytest.mark.parametrize(("kind", "file_format"), EXPORTS)
def test_api_streams_the_export(api, export_history, account, kind, file_format):
    response = api.get(f"/api/export/{kind}/", {"account": ACCOUNT_ID, "format": file_format})

    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == export.FORMATS[file_format].content_type
    assert parsed(kind, file_format, streamed_text(response)) == expected(
        kind, file_format, account
    )


def test_api_reads_no_match_before_the_stream_is_read(api, export_history):
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/api/export/players/", {"format": "csv"})
    assert not any("matches_match" in query["sql"] for query in queries)

    with CaptureQueriesContext(connection) as queries:
        streamed_text(response)
    assert any("matches_matchplayer" in query["sql"] for query in queries)


def test_api_export_of_another_users_account_is_not_found(api, export_history):
    response = api.get("/api/export/matches/", {"account": OTHERS_ACCOUNT_ID, "format": "csv"})

    assert response.status_code == 404
    assert response.json() == {"detail": f"You have no linked Steam account {OTHERS_ACCOUNT_ID}."}


@pytest.mark.parametrize("query", [{"format": "xlsx"}, {}])
def test_api_export_needs_a_known_format(api, account, query):
    response = api.get("/api/export/matches/", query)

    assert response.status_code == 400
    assert response.json()["detail"].startswith("format: ")


def test_api_export_needs_authentication(export_history):
    response = APIClient().get("/api/export/matches/", {"format": "csv"})

    assert response.status_code == 401


def test_api_schema_documents_the_exports(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()

    for kind in export.KINDS:
        operation = schema["paths"][f"/api/export/{kind}/"]["get"]
        assert set(operation["responses"]["200"]["content"]) == {
            "text/csv",
            "application/x-ndjson",
        }
        assert {"200", "400", "401", "404"} <= set(operation["responses"])
        formats = next(p for p in operation["parameters"] if p["name"] == "format")
        assert formats["required"] is True
        assert formats["schema"]["enum"] == ["csv", "jsonl"]


# The command.


@pytest.mark.parametrize(("kind", "file_format"), EXPORTS)
def test_command_writes_the_export_to_stdout(export_history, account, kind, file_format):
    out = io.StringIO()
    flags = ["--players"] if kind == "players" else []

    call_command("export_matches", str(ACCOUNT_ID), "--format", file_format, *flags, stdout=out)

    assert parsed(kind, file_format, out.getvalue()) == expected(kind, file_format, account)


def test_command_writes_a_file_and_accepts_a_username(export_history, account, tmp_path):
    target = tmp_path / "alice.csv"
    err = io.StringIO()

    call_command("export_matches", "alice", "--format", "csv", "--output", target, stderr=err)

    text = target.read_bytes().decode()
    assert "\r\n" in text
    assert parse_csv(text, MATCH_HEADER) == expected("matches", "csv", account)
    assert str(target) in err.getvalue()


def test_command_refuses_an_unknown_account_without_adding_it(db):
    with pytest.raises(CommandError, match="no account 123456 in the database") as refused:
        call_command("export_matches", "123456", "--format", "csv")

    assert refused.value.returncode == 2
    assert not SteamAccount.objects.filter(account_id=123456).exists()


def test_command_refuses_an_unknown_format(account):
    with pytest.raises(CommandError, match="invalid choice: 'xml'"):
        call_command("export_matches", str(ACCOUNT_ID), "--format", "xml")


def test_command_help_names_its_options():
    help_text = ExportCommand().create_parser("manage.py", "export_matches").format_help()

    assert "{csv,jsonl}" in help_text
    assert "--players" in help_text
    assert "--output OUTPUT" in help_text


def test_match_with_details_but_no_result_has_no_winner(account):
    match = complete_match(7_300_000_001, account, won=True)
    Match.objects.filter(pk=match.pk).update(radiant_win=None)

    (row,) = parse_csv("".join(export.export(account, "matches", "csv")), MATCH_HEADER)

    assert (row["radiant_win"], row["won"], row["has_details"]) == ("", "", "true")
