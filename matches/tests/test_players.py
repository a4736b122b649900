"""Players' names and avatars: Steam's summaries in batches, freshness, and what pages show."""

from datetime import timedelta

import pytest
from django.utils import timezone

from matches import players
from matches.models import ANONYMOUS_ACCOUNT_ID, STEAM_ID64_OFFSET, Player, SteamAccount
from matches.tests.match_builders import complete_match, make_account
from matches.upstream.client import UpstreamClient
from matches.upstream.simulator import persona_name

ME = 86745912


@pytest.fixture
def client(simulator):
    upstream = UpstreamClient.from_settings(sleep=lambda seconds: None)
    yield upstream
    upstream.close()


def summaries_calls(simulator) -> list[list[int]]:
    """The account ids of every GetPlayerSummaries call the simulator answered, in order."""
    return [
        [int(steam_id) - STEAM_ID64_OFFSET for steam_id in entry["params"]["steamids"].split(",")]
        for entry in simulator.state.log
        if entry["endpoint"] == "summaries"
    ]


def many_matches(account, count: int, others_each: int = 9, first_other: int = 1_000_000):
    """`count` matches, each with `others_each` other known players, some seats anonymous."""
    other = first_other
    for index in range(count):
        teammates = [other, other + 1, None, other + 2]
        opponents = [other + 3, other + 4, other + 5, None, other + 6]
        known = [a for a in (*teammates, *opponents) if a is not None][:others_each]
        complete_match(
            10_000 + index,
            account,
            won=index % 2 == 0,
            teammates=[a if a in known else None for a in teammates],
            opponents=[a if a in known else None for a in opponents],
        )
        other += 7


def test_names_are_asked_in_batches_of_at_most_100_and_never_for_anonymous(db, simulator, client):
    me = make_account(ME)
    many_matches(me, 40)  # 40 matches x 7 known others = 280 accounts, plus the account itself

    due = players.due_in_matches_of(me)
    result = players.refresh(client, due)

    calls = summaries_calls(simulator)
    asked = [account_id for call in calls for account_id in call]
    assert [len(call) for call in calls] == [100, 100, 81]
    assert sorted(asked) == sorted(set(asked)) == sorted(due)
    assert ANONYMOUS_ACCOUNT_ID not in asked
    assert 0 not in asked
    assert asked[0] == ME  # the account itself first, then the newest matches' players
    assert (result.asked, result.calls, result.left, result.error) == (281, 3, 0, "")
    assert Player.objects.get(pk=1_000_000).persona_name == persona_name(1_000_000)
    assert Player.objects.filter(refreshed_at__isnull=False).count() == 281


def test_a_second_refresh_asks_nothing_until_names_are_stale(db, simulator, client, settings):
    me = make_account(ME)
    many_matches(me, 3)
    players.refresh(client, players.due_in_matches_of(me))
    simulator.state.reset()

    assert players.due_in_matches_of(me) == []

    settings.PLAYER_NAME_MAX_AGE_DAYS = 7
    week_old = timezone.now() - timedelta(days=7, minutes=1)
    Player.objects.filter(pk=ME).update(persona_name="old name", refreshed_at=week_old)
    Player.objects.filter(pk=1_000_003).update(refreshed_at=week_old + timedelta(minutes=2))
    assert players.due_in_matches_of(me) == [ME]
    players.refresh(client, players.due_in_matches_of(me))

    assert summaries_calls(simulator) == [[ME]]
    refreshed = Player.objects.get(pk=ME)
    assert refreshed.persona_name == persona_name(ME)
    assert refreshed.refreshed_at > week_old
    me.refresh_from_db()
    assert me.persona_name == persona_name(ME)


def test_a_steam_refresh_stores_avatars_and_the_profile_and_names_the_linked_account(
    db, simulator, client
):
    me = make_account(ME, persona_name="")

    players.refresh(client, [ME])

    player = Player.objects.get(pk=ME)
    assert player.avatar_medium_url.endswith("_medium.jpg")
    assert player.avatar_full_url.endswith("_full.jpg")
    assert player.profile_url == f"https://steamcommunity.com/profiles/{ME + STEAM_ID64_OFFSET}/"
    me.refresh_from_db()
    assert (me.persona_name, me.avatar_url) == (player.persona_name, player.avatar_medium_url)


def test_an_account_steam_does_not_know_keeps_its_name_and_waits(db, simulator, client):
    """Steam leaves unknown accounts (deleted ones) out of its answer."""
    unknown = next(
        a for a in range(10_000_000, 10_010_000) if not simulator.state.world.has_profile(a)
    )
    Player.objects.create(account_id=unknown, persona_name="from OpenDota")

    result = players.refresh(client, [unknown, ME])

    assert (result.asked, result.named) == (2, 1)
    player = Player.objects.get(pk=unknown)
    assert player.persona_name == "from OpenDota"
    assert player.refreshed_at is not None
    assert players.due_in_matches_of(make_account(ME)) == []


def test_an_upstream_error_ends_the_refresh_and_says_how_much_is_left(db, simulator, client):
    simulator.state.configure(error_rate={"summaries": 1.0})

    result = players.refresh(client, list(range(1, 251)))

    assert (result.asked, result.calls, result.left) == (0, 1, 250)
    assert "HTTP 500" in result.error
    assert not Player.objects.exists()


def test_a_429_pushes_the_steam_bucket_back(db, simulator, client):
    simulator.state.configure(rate_limit={"summaries": {"burst": 1, "retry_after": 30}})

    result = players.refresh(client, [ME])

    assert "rate limit" in result.error
    from matches.upstream.slots import RateLimitSlot

    assert RateLimitSlot.objects.get(bucket="steam").next_at > timezone.now().timestamp() + 25


def test_labels_name_players_or_show_their_id_or_anonymous(db):
    Player.objects.create(account_id=5, persona_name="Named", avatar_medium_url="https://a/m.jpg")
    Player.objects.create(account_id=6)  # Steam described it: no public name
    make_account(7, persona_name="Linked only")

    labels = players.labels_for([5, 6, 7, 8, None, 0, ANONYMOUS_ACCOUNT_ID])

    assert sorted(labels) == [5, 6, 7]
    assert (labels[5].name, labels[5].avatar_url, labels[5].initial) == (
        "Named",
        "https://a/m.jpg",
        "N",
    )
    assert (labels[6].name, labels[6].initial) == ("6", "#")
    assert labels[7].name == "Linked only"
    assert players.label_of(8, labels).name == "8"
    for anonymous in (None, 0, ANONYMOUS_ACCOUNT_ID):
        label = players.label_of(anonymous, labels)
        assert (label.name, label.is_anonymous, label.initial) == ("Anonymous", True, "?")


def test_label_initials_skip_symbols_and_hues_are_stable(db):
    assert players.PlayerLabel(3, "~~xX_Sven_Xx~~").initial == "X"
    assert players.PlayerLabel(3, "流浪的二毛").initial == "流"
    assert players.PlayerLabel(11).hue == players.PlayerLabel(11, "any").hue == 3


def test_remember_names_ignores_anonymous_and_empty_names(db):
    players.remember_names([(None, "ghost"), (0, "zero"), (5, ""), (6, "Six"), (6, "Six again")])

    assert list(Player.objects.values_list("account_id", "persona_name")) == [(6, "Six again")]
    assert not SteamAccount.objects.exists()
