"""Details the database refuses: that match fails, saying why, and the rest of its batch is stored.

matches.upstream.normalize lets no such value through; these outcomes are built by hand, as a value
it does not know of yet would arrive.
"""

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from matches.models import Match
from matches.store import FetchOutcome, FetchOutcomeKind, save_outcomes
from matches.upstream.normalize import match_details

pytestmark = [pytest.mark.sqlite, pytest.mark.django_db]

DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def good_details(match_id: int):
    raw = json.loads((DATA / "GetMatchHistoryBySequenceNum.json").read_text())
    details = match_details(raw["result"]["matches"][0])
    details.match_id = match_id
    return details


def nan_in_a_skill_build(details) -> None:
    details.players[0]["ability_upgrades"] = [{"ability": 5001, "time": math.nan, "level": 1}]


def lone_surrogate_in_a_team_name(details) -> None:
    details.fields["radiant_name"] = "\ud800"


def nul_in_a_team_name(details) -> None:
    details.fields["radiant_name"] = "Team\x00Secret"


@pytest.mark.parametrize(
    "spoil",
    [
        nan_in_a_skill_build,
        lone_surrogate_in_a_team_name,
        pytest.param(
            nul_in_a_team_name,
            marks=pytest.mark.postgresql_only(reason="SQLite stores NUL in text"),
        ),
    ],
)
def test_refused_details_fail_their_match_and_the_rest_of_the_batch_is_stored(spoil):
    ids = [101, 102, 103]
    Match.objects.bulk_create([Match(match_id=match_id) for match_id in ids])
    batch = [good_details(match_id) for match_id in ids]
    spoil(batch[1])

    stored = save_outcomes([FetchOutcome.completed(d, "opendota") for d in batch], None, NOW)

    assert [(o.match_id, o.kind) for o in stored] == [
        (101, FetchOutcomeKind.COMPLETED),
        (102, FetchOutcomeKind.FAILED),
        (103, FetchOutcomeKind.COMPLETED),
    ]
    assert set(Match.objects.filter(pk__in=[101, 103]).values_list("has_details", flat=True)) == {
        True
    }
    refused = Match.objects.get(pk=102)
    assert (refused.has_details, refused.retry_count, refused.players.count()) == (False, 1, 0)
    assert refused.fetch_error.startswith("opendota: the database refused its details (")
    assert "\x00" not in refused.fetch_error
    assert stored[1].reason == refused.fetch_error
