"""Every stored field of a player row leaves DotaSync: the model's exported fields
(models.exported_fields) compared, value by value, with the API's player rows and with the
players export, both as a user downloads them."""

import csv
import io
import json
from typing import Any

import pytest
from django.db import models

from matches.models import MatchPlayer, SteamAccount, exported_fields
from matches.tests.match_builders import complete_match

pytestmark = pytest.mark.django_db

MATCH_ID = 7_300_000_001
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
        if file_format == "csv":  # a JSON column is one JSON text (jsonb keeps no key order)
            shown |= {n: json.loads(row[n]) for n, v in values.items() if isinstance(v, list)}
        expected = values if file_format == "jsonl" else as_csv(values)
        assert {name: shown.get(name, "missing") for name in values} == expected


def as_csv(values: dict[str, Any]) -> dict[str, Any]:
    """The values as the CSV writes them (the side and JSON columns as read back above)."""
    written = {}
    for name, value in values.items():
        if name == "is_radiant":
            written[name] = value
        elif value is None:
            written[name] = ""
        elif isinstance(value, bool):
            written[name] = "true" if value else "false"
        elif isinstance(value, list):
            written[name] = value
        else:
            written[name] = str(value)
    return written
