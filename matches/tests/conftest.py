"""Fixtures of the matches app's tests; those every app shares are in the root conftest.py."""

from datetime import UTC, datetime

import pytest

from matches.models import AccountMatch, Match, MatchPlayer
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
