"""Fixtures of the matches app's tests; those every app shares are in the root conftest.py."""

from datetime import UTC, datetime

import pytest

from matches.models import AccountMatch, Match, MatchPlayer, UserSettings
from matches.tests.match_builders import (
    ACCOUNT_ID,
    OTHERS_ACCOUNT_ID,
    complete_match,
    failed_match,
    stub_match,
)


@pytest.fixture
def sleeps() -> list[float]:
    """The seconds an UpstreamClient built with `sleep=sleeps.append` was told to wait."""
    return []


@pytest.fixture
def export_history(account, others_account) -> dict[str, Match]:
    """alice's matches in every state an export must keep, and one of bob's that it must not.

    Two complete matches (a radiant win, a dire loss) with the account's own numbers filled
    in, one whose own row is anonymous (a private profile), a stub, a failed fetch; bob
    played the radiant win too, and one match alone.
    """
    history = {
        "radiant_win": complete_match(
            7_100_000_003,
            account,
            won=True,
            hero_id=1,
            kda=(12, 1, 7),
            teammates=[OTHERS_ACCOUNT_ID],
            start_time=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        ),
        "dire_loss": complete_match(
            7_100_000_001, account, won=False, hero_id=5, dire=True, kda=(2, 9, 4), duration=1805
        ),
        "anonymous": complete_match(7_100_000_005, account, won=True, show_account=False),
        "stub": stub_match(7_100_000_004, account, hero_id=8, player_slot=130, start_time=None),
        "failed": failed_match(7_100_000_002, account, error="HTTP 500", attempts=2),
        "others": complete_match(7_100_000_006, others_account, won=True),
    }
    AccountMatch.objects.create(account=others_account, match=history["radiant_win"])
    MatchPlayer.objects.filter(match=history["radiant_win"], account_id=ACCOUNT_ID).update(
        last_hits=301,
        denies=12,
        gold_per_min=702,
        xp_per_min=815,
        level=25,
        net_worth=31_000,
        hero_damage=40_123,
        tower_damage=9_000,
        hero_healing=0,
        item_0=1,
        item_5=116,
        backpack_1=36,
        item_neutral=1589,
        aghanims_scepter=True,
        moonshard=False,
        gold=1_234,
        gold_spent=29_000,
        leaver_status=0,
    )
    Match.objects.filter(pk=history["dire_loss"].pk).update(abandons=1)
    MatchPlayer.objects.filter(match=history["dire_loss"], account_id=ACCOUNT_ID).update(
        leaver_status=3
    )
    return history


# The hand-built history the stats tests check every number against: (match id, won, hero,
# dire, teammates, opponents, start, (k, d, a), duration, game mode, lobby type, party size).
STATS_TEAMMATE = 2002
STATS_OPPONENT = 4004
STATS_ZONE = "America/New_York"
STATS_HISTORY = [
    (101, True, 1, False, [2002, 2003], [4004], (2025, 1, 3, 23, 30), (10, 2, 5), 1500, 22, 7, 1),
    (102, False, 1, True, [2002], [4004, 4005], (2025, 1, 4, 2, 10), (3, 9, 4), 3100, 22, 7, 2),
    (103, True, 2, False, [2003], [4005], (2025, 1, 20, 15, 0), (25, 0, 12), 2450, 23, 0, None),
    (104, True, 5, True, [2002, None], [], (2025, 2, 1, 12, 0), (7, 7, 21), 3700, 22, 0, 3),
    (105, False, 2, False, [], [4004], (2025, 2, 14, 4, 45), (0, 12, 3), 1190, 22, 7, 1),
    (106, True, 1, True, [2004], [4006], (2025, 3, 2, 20, 15), (14, 3, 9), 2000, 23, 7, 2),
    (107, False, 5, False, [2002, 2004], [4004], (2025, 3, 3, 9, 0), (5, 6, 10), 2999, 22, 7, 1),
    (108, True, 2, False, [2002], [4005, 4006], (2025, 3, 30, 22, 5), (9, 1, 30), 4100, 1, 0, 2),
]


@pytest.fixture
def stats_history(user, account):
    """alice's account with STATS_HISTORY (every own number set, teammates and opponents), a
    match with no result yet, a stub and a failed match; alice sees times in STATS_ZONE."""
    UserSettings.objects.create(user=user, time_zone=STATS_ZONE)
    for index, row in enumerate(STATS_HISTORY):
        match_id, won, hero, dire, mates, foes, start, kda, duration, mode, lobby, party = row
        match = complete_match(
            match_id,
            account,
            won=won,
            hero_id=hero,
            dire=dire,
            teammates=mates,
            opponents=foes,
            start_time=datetime(*start, tzinfo=UTC),
            kda=kda,
            duration=duration,
        )
        Match.objects.filter(pk=match.pk).update(game_mode=mode, lobby_type=lobby)
        MatchPlayer.objects.filter(match=match, account_id=account.account_id).update(
            gold_per_min=300 + 37 * index,
            xp_per_min=700 - 41 * index,
            hero_damage=9_000 + 4_321 * (index % 5),
            hero_healing=500 * (index % 3),
            last_hits=40 + 23 * ((index * 5) % 8),
            party_size=party,
        )
    undecided = complete_match(109, account, won=True, hero_id=7)
    Match.objects.filter(pk=undecided.pk).update(radiant_win=None)
    stub_match(110, account, hero_id=1)
    failed_match(111, account, error="gone", attempts=3, hero_id=1)
    return account
