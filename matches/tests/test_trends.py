"""Streaks, moving averages and histograms (matches.trends), through the Overview, the Trends
page and the API, checked against values worked out here in plain Python from stored rows."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from matches import trends
from matches.filters import HISTOGRAM_NUMBERS
from matches.models import Match, MatchPlayer
from matches.tests.match_builders import complete_match
from matches.tests.test_analysis import (
    CASE_IDS,
    CASES,
    ZONE,
    _count_queries,
    filters_of,
    stored_games,
)

pytestmark = pytest.mark.django_db

AVERAGED = ("kills", "deaths", "assists", "gold_per_min", "xp_per_min", "last_hits")


@pytest.fixture
def long_history(stats_history):
    """stats_history and 30 more games in April 2025, two on some days, in runs of wins and
    losses (the longest: 6 losses), so the 20-game window slides."""
    results = "WWLWWWLLLLLLWWWWLWLLWWWWWLWLWW"
    start = datetime(2025, 4, 1, 15, 0, tzinfo=UTC)
    for index, result in enumerate(results):
        day = start + timedelta(days=index // 2 * 2 if index % 3 else index, hours=index % 2 * 3)
        match = complete_match(
            400 + index,
            stats_history,
            won=result == "W",
            hero_id=index % 4 + 1,
            start_time=day,
            kda=(index % 11, index % 7, index % 13),
            duration=900 + 97 * index,
        )
        MatchPlayer.objects.filter(match=match, account_id=stats_history.account_id).update(
            gold_per_min=None if index % 5 == 0 else 350 + 13 * index,
            last_hits=80 + 9 * index,
        )
    return stats_history


def in_order(games: list[dict]) -> list[dict]:
    return sorted(games, key=lambda game: (game["start"], game["match_id"]))


def expected_streaks(games: list[dict]) -> dict:
    """{"win"/"loss"/"current": (length, first id, last id)}, counting game by game."""
    best = {True: (0, None, None), False: (0, None, None)}
    length, first = 0, None
    previous = None
    current = None
    for game in in_order(games):
        if previous is not None and game["won"] == previous["won"]:
            length += 1
        else:
            length, first = 1, game
        if length > best[game["won"]][0]:
            best[game["won"]] = (length, first["match_id"], game["match_id"])
        current = (length, first["match_id"], game["match_id"])
        previous = game
    return {
        "win": best[True] if best[True][0] else None,
        "loss": best[False] if best[False][0] else None,
        "current": current,
    }


def streak_tuple(streak) -> tuple | None:
    if streak is None:
        return None
    if isinstance(streak, dict):
        return (streak["length"], streak["first_match_id"], streak["last_match_id"])
    return (streak.length, streak.first_match_id, streak.last_match_id)


def expected_trends(games: list[dict], window: int = 20) -> list[tuple]:
    ordered = in_order(games)
    days = sorted({game["local"].date() for game in ordered})
    points = []
    for day in days:
        recent = [g for g in ordered if g["local"].date() <= day][-window:]
        averages = []
        for field in AVERAGED:
            known = [g[field] for g in recent if g[field] is not None]
            averages.append(round(sum(known) / len(known), 6) if known else None)
        win_rate = round(sum(g["won"] for g in recent) / len(recent), 6)
        points.append((day.isoformat(), len(recent), *averages, win_rate))
    return points


def point_tuple(point) -> tuple:
    get = point.get if isinstance(point, dict) else lambda name: getattr(point, name)
    day = get("day")
    numbers = [get(field) for field in (*AVERAGED, "win_rate")]
    return (
        day if isinstance(day, str) else day.isoformat(),
        get("games"),
        *(None if v is None else round(float(v), 6) for v in numbers),
    )


def expected_bins(games: list[dict], number: str) -> list[tuple]:
    width = HISTOGRAM_NUMBERS[number][1]
    values = []
    for game in games:
        value = game["duration"] // 60 if number == "duration" else game[number]
        if value is not None:
            values.append((value, game["won"]))
    if not values:
        return []
    lowest = min(v for v, _won in values) // width * width
    highest = max(v for v, _won in values)
    found = []
    low = lowest
    while low <= highest:
        inside = [won for v, won in values if low <= v < low + width]
        found.append((low, low + width - 1, len(inside), sum(inside)))
        low += width
    return found


@pytest.mark.parametrize(("query", "keep"), CASES, ids=CASE_IDS)
def test_streaks(long_history, query, keep):
    games = [g for g in stored_games(long_history) if keep(g)]
    found = trends.streaks(long_history, filters_of(query))
    wanted = expected_streaks(games)
    assert streak_tuple(found.longest_win) == wanted["win"]
    assert streak_tuple(found.longest_loss) == wanted["loss"]
    assert streak_tuple(found.current) == wanted["current"]


def test_the_streaks_of_the_long_history(long_history):
    found = trends.streaks(long_history, filters_of({}))
    # The six losses from 406 to 411; five wins from 420 to 424; two wins at the end.
    assert streak_tuple(found.longest_loss) == (6, 406, 411)
    assert streak_tuple(found.longest_win) == (5, 420, 424)
    assert (found.current.won, found.current.length) == (True, 2)


@pytest.mark.parametrize(("query", "keep"), CASES, ids=CASE_IDS)
def test_moving_averages_and_histograms(long_history, query, keep):
    games = [g for g in stored_games(long_history) if keep(g)]
    for number in HISTOGRAM_NUMBERS:
        found = trends.trends(long_history, filters_of(query), number)
        assert [point_tuple(p) for p in found.points] == expected_trends(games)
        assert [(b.low, b.high, b.games, b.wins) for b in found.bins] == expected_bins(
            games, number
        )


def test_the_window_slides_over_the_last_20_games(long_history):
    points = trends.trends(long_history, filters_of({}), "kills").points
    assert max(p.games for p in points) == 20
    assert points[-1].games == 20
    assert [p.day for p in points] == sorted({p.day for p in points})


def test_the_overview_shows_the_streaks_with_links(signed_in, api, long_history):
    page = signed_in.get(reverse("stats"))
    html = page.content.decode()
    assert "<strong>6 losses</strong>" in html
    assert '<a href="/matches/406/">' in html
    assert '<a href="/matches/411/">' in html
    body = api.get(reverse("api-stats-streaks")).json()
    shown = page.context["streaks"]
    assert streak_tuple(body["longest_loss"]) == streak_tuple(shown.longest_loss) == (6, 406, 411)
    assert streak_tuple(body["longest_win"]) == streak_tuple(shown.longest_win)
    assert streak_tuple(body["current"]) == streak_tuple(shown.current)


@pytest.mark.parametrize("number", sorted(HISTOGRAM_NUMBERS))
def test_the_trends_page_and_the_api_agree(signed_in, api, long_history, number):
    games = stored_games(long_history)
    page = signed_in.get(reverse("stats_trends"), {"histogram": number})
    assert page.status_code == 200
    shown = page.context["trends"]
    body = api.get(reverse("api-stats-trends"), {"histogram": number}).json()
    assert [point_tuple(p) for p in body["points"]] == expected_trends(games)
    assert [point_tuple(p) for p in shown.points] == expected_trends(games)
    assert [(b["low"], b["high"], b["games"], b["wins"]) for b in body["bins"]] == (
        expected_bins(games, number)
    )
    assert (body["number"], body["window"]) == (number, 20)
    html = page.content.decode()
    assert html.count('<figure class="trend">') == 7
    assert 'aria-current="page">Trends</a>' in html


def test_a_bad_histogram_number_is_refused(signed_in, api, long_history):
    assert signed_in.get(reverse("stats_trends"), {"histogram": "gold"}).status_code == 400
    answered = api.get(reverse("api-stats-trends"), {"histogram": "gold"})
    assert answered.status_code == 400
    assert answered.json()["errors"] == {"histogram": ["No histogram counts gold."]}


def test_the_trends_leave_turbo_out_when_asked(signed_in, long_history):
    Match.objects.filter(match_id__in=[420, 421, 422]).update(game_mode=23)
    signed_in.post(reverse("turbo_choice"), {"include_turbo": "0", "next": "/stats/"})
    games = [g for g in stored_games(long_history) if g["game_mode"] != 23]
    page = signed_in.get(reverse("stats_trends"))
    assert [point_tuple(p) for p in page.context["trends"].points] == expected_trends(games)
    assert (
        streak_tuple(signed_in.get(reverse("stats")).context["streaks"].longest_win)
        == (expected_streaks(games)["win"])
    )


@pytest.mark.parametrize(
    ("page", "api_page"), [("stats_trends", "api-stats-trends"), ("stats", "api-stats-streaks")]
)
def test_query_count_does_not_grow_with_matches(signed_in, api, long_history, page, api_page):
    url, api_url = reverse(page), reverse(api_page)
    before = (_count_queries(signed_in, url), _count_queries(api, api_url))
    for match_id in range(600, 640):
        complete_match(match_id, long_history, won=match_id % 3 == 0, hero_id=match_id % 9 + 1)
    assert (_count_queries(signed_in, url), _count_queries(api, api_url)) == before


def test_the_zone_decides_the_day_of_play(long_history):
    points = trends.trend_points(trends.played(long_history, filters_of({})), ZONE)
    # 101 (23:30 UTC on the 3rd) and 102 (02:10 UTC on the 4th) are both the 3rd in New York.
    assert points[0].day.isoformat() == "2025-01-03"
    assert points[0].games == 2
