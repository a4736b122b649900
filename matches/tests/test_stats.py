from datetime import UTC, datetime

import pytest

from matches.models import Match, MatchPlayer
from matches.teammates import teammates
from matches.tests.match_builders import (
    complete_match,
    failed_match,
    make_account,
    stub_match,
)

pytestmark = pytest.mark.django_db

ME = 1001
FRIEND = 2002
STRANGER = 3003
FOE = 4004


@pytest.fixture
def me():
    return make_account(ME, persona_name="Me")


def _by_id(teammates):
    return {mate.account_id: mate for mate in teammates}


def test_teammate_counted_once_per_shared_match_with_wins_on_our_side(me):
    complete_match(
        11,
        me,
        won=True,
        teammates=[FRIEND],
        opponents=[FOE],
        start_time=datetime(2025, 1, 5, tzinfo=UTC),
    )
    complete_match(
        12,
        me,
        won=False,
        teammates=[FRIEND, None],
        opponents=[FOE],
        start_time=datetime(2025, 2, 7, tzinfo=UTC),
    )

    mates = teammates(me)

    assert [mate.account_id for mate in mates] == [FRIEND]
    friend = mates[0]
    assert (friend.games, friend.wins, friend.win_rate) == (2, 1, 0.5)
    assert friend.last_played == datetime(2025, 2, 7, tzinfo=UTC)
    assert friend.persona_name == ""


def test_teammates_on_the_dire_side_and_ordering_by_games(me):
    complete_match(21, me, won=True, dire=True, teammates=[FRIEND, STRANGER], opponents=[FOE])
    complete_match(22, me, won=True, dire=True, teammates=[FRIEND], opponents=[STRANGER])

    mates = teammates(me)

    assert [(m.account_id, m.games, m.wins) for m in mates] == [(FRIEND, 2, 2), (STRANGER, 1, 1)]
    assert teammates(me, limit=1) == mates[:1]


def test_known_teammate_carries_their_persona_name(me):
    make_account(FRIEND, persona_name="Friendly")
    complete_match(31, me, won=True, teammates=[FRIEND])

    assert teammates(me)[0].persona_name == "Friendly"


def test_other_accounts_matches_and_matches_without_details_do_not_count(me):
    other = make_account(FOE)
    complete_match(41, other, won=True, teammates=[FRIEND])
    stub_match(42, me)
    failed_match(43, me, error="timeout", attempts=3)

    assert teammates(me) == []


def test_resaving_the_same_player_rows_changes_nothing(me):
    complete_match(51, me, won=True, teammates=[FRIEND])
    complete_match(52, me, won=False, teammates=[FRIEND])
    before = teammates(me)

    for player in MatchPlayer.objects.all():
        player.save()
    rows = list(MatchPlayer.objects.all())
    MatchPlayer.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["match", "player_slot"],
        update_fields=["account_id", "is_radiant", "hero_id"],
    )

    assert teammates(me) == before
    assert (before[0].games, before[0].wins) == (2, 1)


def test_teammates_is_one_query(me, django_assert_num_queries):
    complete_match(61, me, won=True, teammates=[FRIEND, STRANGER])
    with django_assert_num_queries(1):
        teammates(me)


def test_account_matches_annotates_the_accounts_own_row(me):
    complete_match(71, me, won=True, hero_id=8, kda=(12, 0, 7))
    complete_match(72, me, won=True, dire=True, hero_id=9)
    stub_match(73, me, hero_id=14, player_slot=130)

    rows = {m.match_id: m for m in Match.objects.from_side_of(me)}

    assert [m.match_id for m in Match.objects.from_side_of(me)] == [73, 72, 71]
    assert (rows[71].hero_id, rows[71].kills, rows[71].deaths, rows[71].assists) == (8, 12, 0, 7)
    assert (rows[71].is_radiant, rows[71].won) == (True, True)
    assert (rows[72].is_radiant, rows[72].won, rows[72].player_slot) == (False, True, 128)
    assert (rows[73].hero_id, rows[73].is_radiant, rows[73].won, rows[73].kills) == (
        14,
        False,
        None,
        None,
    )


def test_private_profile_result_comes_from_the_slot_steam_gave(me):
    complete_match(81, me, won=False, dire=True, hero_id=5, show_account=False)

    row = Match.objects.from_side_of(me).get()

    assert (row.hero_id, row.is_radiant, row.won, row.kills) == (5, False, False, None)


def test_account_matches_filters(me):
    complete_match(91, me, won=True, hero_id=1)
    complete_match(92, me, won=False, hero_id=1)
    complete_match(93, me, won=True, hero_id=2)
    stub_match(94, me, hero_id=1)
    failed_match(95, me, error="gone", attempts=1, hero_id=2)

    def ids(**filters):
        return [m.match_id for m in Match.objects.from_side_of(me, **filters)]

    assert ids(hero_id=1) == [94, 92, 91]
    assert ids(result="win") == [93, 91]
    assert ids(result="loss") == [92]
    assert ids(hero_id=1, result="win") == [91]
    assert ids(details_status="pending") == [94]
    assert ids(details_status="failed") == [95]
    assert ids(details_status="complete") == [93, 92, 91]


def test_account_matches_only_holds_the_accounts_own_matches(me):
    other = make_account(FOE)
    complete_match(101, other, won=True, teammates=[ME])
    complete_match(102, me, won=True)

    assert [m.match_id for m in Match.objects.from_side_of(me)] == [102]


@pytest.mark.parametrize(("name", "value"), [("result", "draw"), ("details_status", "done")])
def test_account_matches_rejects_unknown_filter_values(me, name, value):
    with pytest.raises(ValueError, match=name):
        Match.objects.from_side_of(me, **{name: value})
