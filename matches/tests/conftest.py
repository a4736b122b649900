"""Fixtures of the matches app's tests; those every app shares are in the root conftest.py."""

from datetime import UTC, datetime

import pytest

from matches.models import Match, MatchPlayer, UserSettings
from matches.tests.match_builders import complete_match, failed_match, stub_match


@pytest.fixture
def sleeps() -> list[float]:
    """The seconds an UpstreamClient built with `sleep=sleeps.append` was told to wait."""
    return []


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
