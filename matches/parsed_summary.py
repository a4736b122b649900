"""The per-player summary rows of a parsed match (ParsedPlayer): the numbers the stats from
parsed matches count, read off ParsedMatch.data with matches.parsed_facts' rules when the
match is stored, so a stats page counts small rows instead of reading every match's document.

summary_fields is plain data so the migration that fills the rows for matches parsed before
them uses the same reading.
"""

from collections.abc import Sequence
from typing import Any

from matches.models import ParsedPlayer
from matches.parsed_facts import LANE_MINUTE, LATE_MINUTE, at_minute, first_core_item, is_radiant
from matches.parsed_facts import lane_outcomes as lane_outcomes_of
from matches.upstream.dota_constants import item_facts_by_key


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def summary_fields(data: dict) -> list[dict[str, Any]]:
    """One dict of ParsedPlayer's fields (without the match) per player of `data`."""
    outcomes = lane_outcomes_of(data)
    facts = item_facts_by_key()
    rows = []
    for player in data.get("players", []):
        first = first_core_item(player)
        outcome = outcomes.get(player["player_slot"])
        account_id = _int_or_none(player.get("account_id"))
        rows.append(
            {
                "player_slot": player["player_slot"],
                "account_id": account_id,
                "hero_id": _int_or_none(player.get("hero_id")),
                "is_radiant": is_radiant(player),
                "lh_10": at_minute(player.get("lh_t"), LANE_MINUTE),
                "dn_10": at_minute(player.get("dn_t"), LANE_MINUTE),
                "gold_10": at_minute(player.get("gold_t"), LANE_MINUTE),
                "gold_20": at_minute(player.get("gold_t"), LATE_MINUTE),
                "lane": _int_or_none(player.get("lane")),
                "lane_role": _int_or_none(player.get("lane_role")),
                "lane_outcome": None if outcome is None else outcome.value,
                "first_core_item_id": None if first is None else facts[first.key].item_id,
                "first_core_item_time": None if first is None else first.time,
            }
        )
    return rows


def summary_rows(match_id: int, data: dict) -> list[ParsedPlayer]:
    return [ParsedPlayer(match_id=match_id, **fields) for fields in summary_fields(data)]


def replace_summaries(parsed: Sequence[tuple[int, dict]]) -> None:
    """The summary rows of these matches, instead of any they had (a match parsed again).
    The caller holds the transaction that stores their ParsedMatch rows."""
    ParsedPlayer.objects.filter(match_id__in=[match_id for match_id, _data in parsed]).delete()
    ParsedPlayer.objects.bulk_create(
        [row for match_id, data in parsed for row in summary_rows(match_id, data)]
    )
