"""Every stored field of a match and of its player rows leaves DotaSync: the models' exported
fields (models.exported_fields) compared, value by value, with the API's answers and with the
export's files, as a user downloads them."""

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import models

from matches.models import Match, MatchPlayer, SteamAccount, exported_fields
from matches.tests.match_builders import complete_match, failed_match

pytestmark = pytest.mark.django_db

MATCH_ID = 7_300_000_001
FAILED_MATCH_ID = 7_300_000_002
# The builders set who played where; every other field gets a value of its own here.
SEATING = ("player_slot", "is_radiant", "account_id", "hero_id")
SKILL_BUILD = [{"ability": 5003, "time": 187, "level": 1}, {"ability": 5004, "time": 302}]


def fill_every_field(player: MatchPlayer, number: int) -> dict[str, Any]:
    """Give each exported field of `player` a value no other field has (no None, no False:
    a field left out of an answer must not pass for an empty one); returns them all."""
    for index, name in enumerate(exported_fields(MatchPlayer)):
        if name in SEATING:
            continue
        field = MatchPlayer._meta.get_field(name)
        if isinstance(field, models.BooleanField):
            value: Any = True
        elif isinstance(field, models.JSONField):
            value = SKILL_BUILD
        elif isinstance(field, models.IntegerField):
            value = 100 * number + index
        elif isinstance(field, models.CharField) and field.choices:
            value = field.choices[number % len(field.choices)][0]
        else:
            pytest.fail(f"MatchPlayer.{name} is a {type(field).__name__}: give it a value here")
        setattr(player, name, value)
    player.save()
    return {name: getattr(player, name) for name in exported_fields(MatchPlayer)}


@pytest.fixture
def stored(account: SteamAccount) -> dict[int, dict[str, Any]]:
    """A match of the account whose ten player rows have every field filled, by slot."""
    match = complete_match(MATCH_ID, account, won=True, teammates=[4001], opponents=[4002])
    players = MatchPlayer.objects.filter(match=match).order_by("player_slot")
    return {p.player_slot: fill_every_field(p, number) for number, p in enumerate(players, 1)}


def test_nothing_stored_is_held_back_but_the_rows_id_and_match():
    stored_fields = {field.name for field in MatchPlayer._meta.concrete_fields}

    assert stored_fields - set(exported_fields(MatchPlayer)) == {"id", "match"}
    assert "party_size" in exported_fields(MatchPlayer)


def test_every_exported_field_reaches_the_apis_player_rows(api, stored):
    response = api.get(f"/api/matches/{MATCH_ID}/")

    assert response.status_code == 200
    rows = {row["player_slot"]: row for row in response.json()["players"]}
    assert set(rows) == set(stored)
    for slot, values in stored.items():
        shown = {
            **rows[slot],
            # The API shows the item slots as two lists.
            **dict(zip(MatchPlayer.ITEM_FIELDS, rows[slot]["items"], strict=True)),
            **dict(zip(MatchPlayer.BACKPACK_FIELDS, rows[slot]["backpack"], strict=True)),
        }
        assert {name: shown.get(name, "missing") for name in values} == values


@pytest.mark.parametrize("file_format", ["jsonl", "csv"])
def test_every_exported_field_reaches_the_players_export(api, account, stored, file_format):
    response = api.get(
        "/api/export/players/", {"account": account.account_id, "format": file_format}
    )

    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    if file_format == "jsonl":
        rows = [json.loads(line) for line in text.splitlines()]
    else:
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [int(row["match_id"]) for row in rows] == [MATCH_ID] * len(stored)
    for row in rows:
        values = stored[int(row["player_slot"])]
        # The export shows the side as a word instead of is_radiant.
        shown = {**row, "is_radiant": row["side"] == "radiant"}
        expected = values if file_format == "jsonl" else as_csv(values)
        assert {
            name: as_read(shown.get(name, "missing"), value) for name, value in values.items()
        } == expected


def as_csv(values: dict[str, Any]) -> dict[str, Any]:
    """The values as a CSV field holds them; the side, times and JSON as they are read back."""
    written = {}
    for name, value in values.items():
        if name == "is_radiant":
            written[name] = value
        elif value is None:
            written[name] = ""
        elif isinstance(value, bool):
            written[name] = "true" if value else "false"
        elif isinstance(value, list | datetime):  # read back by as_read
            written[name] = value
        else:
            written[name] = str(value)
    return written


def fill_every_match_field(match: Match) -> dict[str, Any]:
    """Give each exported field of a failed `match` a value of its own (its error text too:
    only a complete match must have none); returns them all."""
    for index, name in enumerate(exported_fields(Match)):
        if name in ("match_id", "has_details"):
            continue
        field = Match._meta.get_field(name)
        if isinstance(field, models.BooleanField):
            value: Any = True
        elif isinstance(field, models.JSONField):
            value = [{"order": 0, "is_pick": False, "hero_id": 8, "team": 1}]
        elif isinstance(field, models.DateTimeField):
            value = datetime(2025, 3, 4, 5, index, tzinfo=UTC)
        elif isinstance(field, models.CharField):
            value = f"{name} text"
        elif isinstance(field, models.IntegerField):
            value = 1_000 + index
        else:
            pytest.fail(f"Match.{name} is a {type(field).__name__}: give it a value here")
        setattr(match, name, value)
    match.save()
    return {name: getattr(match, name) for name in exported_fields(Match)}


@pytest.fixture
def stored_match(account: SteamAccount) -> dict[str, Any]:
    return fill_every_match_field(failed_match(FAILED_MATCH_ID, account, error="x", attempts=1))


def as_read(value: Any, like: Any) -> Any:
    """A value of an answer or a file, read back as the stored value `like` is (a time
    from its ISO text; a JSON column's from its JSON text in a CSV field, as jsonb keeps no
    key order)."""
    if isinstance(like, datetime) and isinstance(value, str):
        return datetime.fromisoformat(value)
    if isinstance(like, list) and isinstance(value, str):
        return json.loads(value)
    return value


def test_nothing_stored_of_a_match_is_held_back_but_the_engines_bookkeeping():
    stored_fields = {field.name for field in Match._meta.concrete_fields}

    assert stored_fields - set(exported_fields(Match)) == set(Match.NOT_EXPORTED)
    assert set(Match.NOT_EXPORTED) == {
        "last_fetch_attempt",
        "claimed_by",
        "claimed_until",
        "last_attempt_job",
        "discovered_at",
    }


def test_every_exported_match_field_reaches_the_apis_match(api, stored_match):
    response = api.get(f"/api/matches/{FAILED_MATCH_ID}/")

    assert response.status_code == 200
    answer = response.json()
    # The API says a match's state of details as a word.
    shown = {**answer, "has_details": {"failed": False}.get(answer["details_status"])}
    assert {
        name: as_read(shown.get(name, "missing"), value) for name, value in stored_match.items()
    } == stored_match


@pytest.mark.parametrize("file_format", ["jsonl", "csv"])
def test_every_exported_match_field_reaches_the_matches_export(
    api, account, stored_match, file_format
):
    response = api.get(
        "/api/export/matches/", {"account": account.account_id, "format": file_format}
    )

    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    if file_format == "jsonl":
        (row,) = [json.loads(line) for line in text.splitlines()]
    else:
        (row,) = csv.DictReader(io.StringIO(text, newline=""))
    expected = stored_match if file_format == "jsonl" else as_csv(stored_match)
    assert {
        name: as_read(row.get(name, "missing"), value) for name, value in stored_match.items()
    } == expected
    assert row["details_status"] == "failed"
