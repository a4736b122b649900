"""The Teammates page and API count the account's own linked matches, never the matches another
user's sync stored in which the account merely appears."""

import re
from collections import Counter
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from matches.models import Match, MatchPlayer
from matches.tests.match_builders import ACCOUNT_ID, complete_match, stub_match

pytestmark = pytest.mark.django_db

FRIEND = 2002
STRANGER = 3003
BOBS_FRIEND = 6006
ROW = re.compile(
    r'/with-against/(?P<account_id>\d+)/.*?data-label="Games" class="num">(?P<games>\d+)<'
    r'.*?data-label="Wins" class="num">(?P<wins>\d+)<',
    re.DOTALL,
)


def _counted_over_own_matches(account) -> dict[int, tuple[int, int]]:
    """(games, wins) per teammate, counted here in Python over the account's linked matches."""
    games: Counter[int] = Counter()
    wins: Counter[int] = Counter()
    for match in Match.objects.for_account(account).filter(has_details=True):
        players = list(MatchPlayer.objects.filter(match=match))
        own = next(p for p in players if p.account_id == account.account_id)
        for mate in players:
            if mate.is_radiant == own.is_radiant and mate.account_id not in (
                None,
                account.account_id,
            ):
                games[mate.account_id] += 1
                wins[mate.account_id] += match.radiant_win == own.is_radiant
    return {account_id: (games[account_id], wins[account_id]) for account_id in games}


@pytest.fixture
def alice_and_bobs_matches(account, others_account):
    """alice's own two matches, and three bob's sync stored in which alice played too (with
    her friend, bob's friend and bob himself), later and more of them than her own."""
    complete_match(11, account, won=True, teammates=[FRIEND, STRANGER])
    complete_match(12, account, won=False, teammates=[FRIEND])
    stub_match(13, account)
    for match_id in (21, 22, 23):
        complete_match(
            match_id,
            others_account,
            won=True,
            teammates=[ACCOUNT_ID, FRIEND, BOBS_FRIEND],
            start_time=datetime(2026, 1, match_id - 20, tzinfo=UTC),
        )
    return account


def test_teammates_page_and_api_count_only_the_accounts_own_matches(
    signed_in, api, alice_and_bobs_matches
):
    expected = _counted_over_own_matches(alice_and_bobs_matches)
    assert expected == {FRIEND: (2, 1), STRANGER: (1, 1)}

    html = signed_in.get(reverse("teammates"), {"all": "1"}).content.decode()
    table = html[html.index("<tbody") :]
    shown = {int(m["account_id"]): (int(m["games"]), int(m["wins"])) for m in ROW.finditer(table)}
    body = api.get("/api/teammates/").json()
    listed = {mate["account_id"]: (mate["games"], mate["wins"]) for mate in body["results"]}
    last_played = {mate["account_id"]: mate["last_played"] for mate in body["results"]}

    assert shown == expected
    assert listed == expected
    assert last_played[FRIEND] == "2025-03-14T18:00:00Z"  # her own match's, not bob's 2026
    assert "2026-01" not in html
