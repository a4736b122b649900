"""One player side by side with the account (matches.friends), through the page and the API,
checked against values computed here in plain Python from the stored rows."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from matches import friends
from matches.models import Match, Player
from matches.tests.conftest import STATS_TEAMMATE
from matches.tests.match_builders import complete_match
from matches.tests.test_analysis import CASE_IDS, CASES, _count_queries, filters_of, stored_games

pytestmark = pytest.mark.django_db

STRANGER = 777_777


@pytest.fixture
def friend_history(stats_history, others_account):
    """stats_history, and two matches where STATS_TEAMMATE played against alice (one Turbo);
    bob's account played with STATS_TEAMMATE too, in a match alice's account did not play."""
    complete_match(
        120,
        stats_history,
        won=False,
        hero_id=3,
        opponents=[STATS_TEAMMATE],
        start_time=datetime(2025, 4, 2, 18, 0, tzinfo=UTC),
        kda=(4, 8, 6),
    )
    turbo = complete_match(
        121,
        stats_history,
        won=True,
        hero_id=1,
        dire=True,
        opponents=[4004, STATS_TEAMMATE],
        start_time=datetime(2025, 4, 3, 18, 0, tzinfo=UTC),
        kda=(12, 1, 4),
    )
    Match.objects.filter(pk=turbo.pk).update(game_mode=23)
    complete_match(130, others_account, won=True, teammates=[STATS_TEAMMATE])
    return stats_history


def expected(games: list[dict], player_id: int) -> dict:
    """The side-by-side numbers of `games` (stored_games rows), worked out here."""

    def where(game) -> str:
        if player_id in [p.account_id for p in game["mates"]]:
            return "with"
        if player_id in [p.account_id for p in game["foes"]]:
            return "against"
        return "without"

    def numbers(group: list[dict]) -> tuple:
        def average(field):
            values = [g[field] for g in group if g[field] is not None]
            return round(sum(values) / len(values), 6) if values else None

        fields = ("kills", "deaths", "assists", "gold_per_min", "xp_per_min", "last_hits")
        return (len(group), sum(g["won"] for g in group), *(average(f) for f in fields))

    groups = {
        name: [g for g in games if where(g) == name] for name in ("with", "against", "without")
    }
    pairs: dict = {}
    for game in games:
        if where(game) == "without":
            continue
        theirs = next(p for p in game["mates"] + game["foes"] if p.account_id == player_id)
        key = (game["hero"], theirs.hero_id, where(game) == "with")
        games_won = pairs.get(key, (0, 0))
        pairs[key] = (games_won[0] + 1, games_won[1] + game["won"])
    met = sorted(
        (g for g in games if where(g) != "without"), key=lambda g: (g["start"], g["match_id"])
    )
    return {
        "groups": {name: numbers(group) for name, group in groups.items()},
        "pairs": pairs,
        "last": [(g["match_id"], g["won"], where(g) == "with") for g in reversed(met)][:10],
    }


def found_numbers(found: friends.SideBySide) -> dict:
    def numbers(own: friends.OwnNumbers) -> tuple:
        fields = (own.kills, own.deaths, own.assists, own.gold_per_min, own.xp_per_min)
        rounded = [None if v is None else round(float(v), 6) for v in (*fields, own.last_hits)]
        return (own.games, own.wins, *rounded)

    return {
        "groups": {
            "with": numbers(found.with_them),
            "against": numbers(found.against_them),
            "without": numbers(found.without_them),
        },
        "pairs": {
            (p.own_hero_id, p.their_hero_id, p.as_teammates): (p.games, p.wins)
            for p in found.hero_pairs
        },
        "last": [(g.match_id, g.won, g.as_teammates) for g in found.last_games],
    }


@pytest.mark.parametrize(("query", "keep"), CASES, ids=CASE_IDS)
def test_side_by_side_numbers(friend_history, query, keep):
    games = [g for g in stored_games(friend_history) if keep(g)]
    found = friends.side_by_side(friend_history, filters_of(query), STATS_TEAMMATE)
    assert found_numbers(found) == expected(games, STATS_TEAMMATE)


def test_the_page_and_the_api_show_the_same_numbers(signed_in, api, friend_history):
    Player.objects.create(account_id=STATS_TEAMMATE, persona_name="Friend")
    games = stored_games(friend_history)
    wanted = expected(games, STATS_TEAMMATE)
    # Bob's match with the player is not alice's: 5 with her (not 6), 2 against.
    assert wanted["groups"]["with"][:2] == (5, 3)
    assert wanted["groups"]["against"][:2] == (2, 1)

    page = signed_in.get(reverse("stats_player", args=[STATS_TEAMMATE]))
    assert page.status_code == 200
    assert found_numbers(page.context["friend"]) == wanted
    html = page.content.decode()
    assert "<h1>Friend</h1>" in html
    assert '<a class="mono" href="/matches/121/">121</a>' in html
    assert 'aria-current="page">With and against</a>' in html

    body = api.get(reverse("api-stats-player", args=[STATS_TEAMMATE])).json()
    assert body["persona_name"] == "Friend"
    for name in ("with", "against", "without"):
        numbers = body[f"{name}_them"]
        rounded = [
            None if numbers[f] is None else round(numbers[f], 6)
            for f in ("kills", "deaths", "assists", "gold_per_min", "xp_per_min", "last_hits")
        ]
        assert (numbers["games"], numbers["wins"], *rounded) == wanted["groups"][name]
        assert numbers["losses"] == numbers["games"] - numbers["wins"]
    assert {
        (p["own_hero_id"], p["their_hero_id"], p["as_teammates"]): (p["games"], p["wins"])
        for p in body["hero_pairs"]
    } == wanted["pairs"]
    assert [(g["match_id"], g["won"], g["as_teammates"]) for g in body["last_games"]] == (
        wanted["last"]
    )


def test_a_stranger_has_no_games_and_no_name(signed_in, api, friend_history):
    Player.objects.create(account_id=STRANGER, persona_name="Someone else's friend")
    page = signed_in.get(reverse("stats_player", args=[STRANGER]))
    assert page.status_code == 200
    assert "No game together" in page.content.decode()
    assert "Someone else" not in page.content.decode()
    body = api.get(reverse("api-stats-player", args=[STRANGER])).json()
    assert (body["with_them"]["games"], body["against_them"]["games"]) == (0, 0)
    assert body["persona_name"] == ""


@pytest.mark.parametrize("player_id", ["own", 4294967295])
def test_the_account_itself_or_no_account_is_not_found(signed_in, api, friend_history, player_id):
    player_id = friend_history.account_id if player_id == "own" else player_id
    assert signed_in.get(reverse("stats_player", args=[player_id])).status_code == 404
    assert api.get(reverse("api-stats-player", args=[player_id])).status_code == 404


def test_the_with_and_against_teammates_and_match_pages_link_to_it(signed_in, friend_history):
    link = f'href="/stats/with-against/{STATS_TEAMMATE}/'
    assert link in signed_in.get(reverse("stats_with_against")).content.decode()
    assert link in signed_in.get(reverse("teammates")).content.decode()
    assert link in signed_in.get(reverse("match_detail", args=[120])).content.decode()


def test_query_count_does_not_grow_with_games_together(signed_in, api, friend_history):

    url = reverse("stats_player", args=[STATS_TEAMMATE])
    api_url = reverse("api-stats-player", args=[STATS_TEAMMATE])
    before = (_count_queries(signed_in, url), _count_queries(api, api_url))
    for match_id in range(200, 230):
        complete_match(
            match_id,
            friend_history,
            won=match_id % 3 == 0,
            hero_id=match_id % 9 + 1,
            teammates=[STATS_TEAMMATE] if match_id % 2 else [],
            opponents=[] if match_id % 2 else [STATS_TEAMMATE],
        )
    assert (_count_queries(signed_in, url), _count_queries(api, api_url)) == before
