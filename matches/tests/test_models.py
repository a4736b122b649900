"""Model constraints (enforced by the database) and the query helpers the sync relies on
(the sync job's own are in syncjobs/tests/test_models.py)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction

from matches.models import AccountMatch, Match, MatchPlayer, SteamAccount

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def violates_constraint(create) -> bool:
    try:
        with transaction.atomic():
            create()
    except IntegrityError:
        return True
    return False


# --- SteamAccount ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("account_id", "allowed"),
    [(0, True), (4294967294, True), (-1, False), (4294967295, False), (76561198080534862, False)],
)
def test_account_id_must_be_32_bit_and_not_anonymous(account_id, allowed):
    assert violates_constraint(lambda: SteamAccount.objects.create(account_id=account_id)) != (
        allowed
    )


def test_account_steam_id64_and_name(account):
    assert account.steam_id64 == 76561198047011640
    assert str(account) == "Alice"
    assert str(SteamAccount(account_id=5)) == "5"


def test_account_id_is_unique(account):
    assert violates_constraint(lambda: SteamAccount.objects.create(account_id=account.account_id))


# --- Match ------------------------------------------------------------------------------------


def test_new_match_is_a_pending_stub():
    match = Match.objects.create(match_id=1)
    match.refresh_from_db()

    assert match.has_details is None
    assert match.details_status == "pending"


@pytest.mark.parametrize(
    ("has_details", "status"), [(None, "pending"), (True, "complete"), (False, "failed")]
)
def test_details_status_follows_the_tri_state(has_details, status):
    assert Match(match_id=1, has_details=has_details).details_status == status


def test_complete_match_has_no_fetch_error():
    assert violates_constraint(
        lambda: Match.objects.create(match_id=1, has_details=True, fetch_error="HTTP 500")
    )
    Match.objects.create(match_id=2, has_details=False, fetch_error="HTTP 500")
    Match.objects.create(match_id=3, has_details=None, fetch_error="HTTP 500")
    Match.objects.create(match_id=4, has_details=True)


def test_completing_a_failed_match_requires_clearing_its_error():
    Match.objects.create(match_id=1, has_details=False, fetch_error="HTTP 500")

    assert violates_constraint(lambda: Match.objects.filter(pk=1).update(has_details=True))
    Match.objects.filter(pk=1).update(has_details=True, fetch_error="")
    assert Match.objects.get(pk=1).details_status == "complete"


@pytest.mark.parametrize("match_id", [0, -7])
def test_match_id_must_be_positive(match_id):
    assert violates_constraint(lambda: Match.objects.create(match_id=match_id))


def test_an_account_links_a_match_once(account):
    match = Match.objects.create(match_id=1)
    AccountMatch.objects.create(account=account, match=match)

    assert violates_constraint(lambda: AccountMatch.objects.create(account=account, match=match))


# --- MatchPlayer ------------------------------------------------------------------------------


def test_one_player_per_slot():
    match = Match.objects.create(match_id=1)
    MatchPlayer.objects.create(match=match, player_slot=0, is_radiant=True)
    MatchPlayer.objects.create(match=match, player_slot=128, is_radiant=False)

    assert violates_constraint(
        lambda: MatchPlayer.objects.create(match=match, player_slot=0, is_radiant=True)
    )
    other = Match.objects.create(match_id=2)
    MatchPlayer.objects.create(match=other, player_slot=0, is_radiant=True)


@pytest.mark.parametrize(
    ("radiant_win", "is_radiant", "won"),
    [(True, True, True), (True, False, False), (False, False, True), (None, True, None)],
)
def test_player_won(radiant_win, is_radiant, won):
    match = Match(match_id=1, radiant_win=radiant_win)

    assert MatchPlayer(match=match, player_slot=0, is_radiant=is_radiant).won is won


def test_player_items_and_backpack_in_slot_order():
    player = MatchPlayer(item_0=1, item_3=4, item_5=6, backpack_1=8)

    assert player.items == [1, None, None, 4, None, 6]
    assert player.backpack == [None, 8, None]


# --- MatchQuerySet ----------------------------------------------------------------------------


def make_match(match_id: int, has_details: bool | None, retries: int = 0, ago: float = 0) -> Match:
    return Match.objects.create(
        match_id=match_id,
        has_details=has_details,
        retry_count=retries,
        last_fetch_attempt=NOW - timedelta(seconds=ago) if retries else None,
        fetch_error="HTTP 500" if has_details is False else "",
    )


def ids(queryset) -> set[int]:
    return set(queryset.values_list("match_id", flat=True))


def test_stubs_complete_failed():
    make_match(1, None)
    make_match(2, True)
    make_match(3, False, retries=1)

    assert ids(Match.objects.stubs()) == {1}
    assert ids(Match.objects.complete()) == {2}
    assert ids(Match.objects.failed()) == {3}


def test_pending_details_are_stubs_and_failures_with_attempts_left():
    make_match(1, None)
    make_match(2, True)
    make_match(3, False, retries=1)
    make_match(4, False, retries=2)
    make_match(5, False, retries=3)

    assert ids(Match.objects.pending_details(max_attempts=3)) == {1, 3, 4}
    assert ids(Match.objects.retryable(max_attempts=3)) == {3, 4}
    assert ids(Match.objects.pending_details(max_attempts=1)) == {1}


def test_due_for_retry_follows_the_backoff_ladder():
    # A match that failed n times waits 60 s * 2**n: 120 s, then 240 s; 3 failures are the limit.
    make_match(1, None)
    make_match(2, True)
    make_match(10, False, retries=1, ago=119)
    make_match(11, False, retries=1, ago=121)
    make_match(20, False, retries=2, ago=239)
    make_match(21, False, retries=2, ago=241)
    make_match(30, False, retries=3, ago=10**6)

    due = Match.objects.due_for_retry(max_attempts=3, backoff_base=60, now=NOW)

    assert ids(due) == {1, 11, 21}


def test_due_for_retry_with_a_longer_ladder():
    make_match(30, False, retries=3, ago=479)
    make_match(31, False, retries=3, ago=481)
    make_match(40, False, retries=4, ago=10**6)

    due = Match.objects.due_for_retry(max_attempts=4, backoff_base=60, now=NOW)

    assert ids(due) == {31}


def test_for_account_lists_only_its_matches(account):
    other = SteamAccount.objects.create(account_id=1)
    mine, theirs, shared = (Match.objects.create(match_id=i) for i in (1, 2, 3))
    for acc, match in [(account, mine), (other, theirs), (account, shared), (other, shared)]:
        AccountMatch.objects.create(account=acc, match=match)

    assert ids(Match.objects.for_account(account)) == {1, 3}
