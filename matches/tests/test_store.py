"""Storing real details: today's fields, the draft, teams, abandons and OpenDota's names."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from matches.models import Match, MatchPlayer, Player
from matches.store import FetchOutcome, save_outcomes
from matches.upstream.normalize import match_details

DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def load(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def store(raw: dict, source: str = "steam_sequence") -> Match:
    details = match_details(raw)
    Match.objects.create(match_id=details.match_id)
    save_outcomes([FetchOutcome.completed(details, source)], None, NOW)
    return Match.objects.get(pk=details.match_id)


@pytest.fixture
def league_match(db) -> Match:
    """The December 2025 sequence answer: a Captains Mode league match in today's shape."""
    return store(load("GetMatchHistoryBySequenceNum.json")["result"]["matches"][0])


def test_todays_player_fields_are_stored(league_match):
    first = MatchPlayer.objects.get(match=league_match, player_slot=0)
    support = MatchPlayer.objects.get(match=league_match, player_slot=4)

    assert (first.hero_variant, first.item_neutral, first.item_neutral2) == (1, 71, 1584)
    assert (first.gold, first.gold_spent) == (1723, 18465)
    assert (first.aghanims_scepter, first.aghanims_shard, first.moonshard) == (False, False, False)
    assert support.aghanims_shard is True
    assert [u["ability"] for u in first.ability_upgrades[:3]] == [5615, 5613, 5615]


def test_the_draft_teams_and_league_are_stored(league_match):
    assert (league_match.radiant_name, league_match.dire_name) == (
        "Vitality Warriors",
        "Moonwalkers",
    )
    assert (league_match.radiant_team_id, league_match.dire_team_id) == (9048057, 8970060)
    assert league_match.leagueid == 16110
    assert [d["order"] for d in league_match.picks_bans] == list(range(24))
    assert league_match.picks_bans[-1] == {"order": 23, "is_pick": True, "hero_id": 123, "team": 0}
    assert league_match.abandons == 0


def test_an_abandoned_match_counts_its_abandons(db):
    match = store(load("lp_2016_abandoned_6s_2455787494.json")["result"], "steam_details")

    statuses = list(MatchPlayer.objects.filter(match=match).values_list("leaver_status", flat=True))
    assert match.abandons == sum(status >= 2 for status in statuses) > 0
    assert match.has_abandon


def test_opendota_names_are_kept_for_the_players_table(db):
    match = store(load("opendota_match_3130397663_trimmed.json"), "opendota")

    names = dict(Player.objects.values_list("account_id", "persona_name"))
    assert names[49697106] == "Big Fancy Ben"
    assert len(names) == MatchPlayer.objects.filter(match=match, account_id__isnull=False).count()
    assert all(player.refreshed_at is None for player in Player.objects.all())


def test_an_opendota_name_never_overrides_what_steam_said(db):
    Player.objects.create(account_id=49697106, persona_name="Ben (Steam)", refreshed_at=NOW)
    Player.objects.create(account_id=83983687, persona_name="old OpenDota name")

    store(load("opendota_match_3130397663_trimmed.json"), "opendota")

    assert Player.objects.get(pk=49697106).persona_name == "Ben (Steam)"
    assert Player.objects.get(pk=83983687).persona_name == "DamnDirtyApes"


def test_storing_the_same_match_twice_changes_nothing(league_match):
    before = list(MatchPlayer.objects.filter(match=league_match).values())
    raw = load("GetMatchHistoryBySequenceNum.json")["result"]["matches"][0]

    save_outcomes([FetchOutcome.completed(match_details(raw), "steam_sequence")], None, NOW)

    assert list(MatchPlayer.objects.filter(match=league_match).values()) == before
    assert Match.objects.get(pk=league_match.pk).picks_bans == league_match.picks_bans
