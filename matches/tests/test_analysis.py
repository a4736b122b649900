"""Every number of every stats view, for the hand-built history of conftest.py and with each
filter, checked against values computed here from the stored rows in plain Python."""

import zoneinfo
from collections import defaultdict
from datetime import date, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from matches import analysis
from matches.filters import MatchFilters, MatchFiltersForm
from matches.models import Match, MatchPlayer, Player
from matches.tests.conftest import STATS_ZONE
from matches.tests.match_builders import complete_match

pytestmark = pytest.mark.django_db

ZONE = zoneinfo.ZoneInfo(STATS_ZONE)

# (query string, which stored games it keeps)
CASES = [
    ({}, lambda game: True),
    (
        # In New York, 101 and 102 were played on the 3rd of January, 105 on the 13th of February.
        {"start": "2025-01-04", "end": "2025-02-14"},
        lambda game: date(2025, 1, 4) <= game["local"].date() <= date(2025, 2, 14),
    ),
    ({"hero": "1"}, lambda game: game["hero"] == 1),
    ({"game_mode": "23"}, lambda game: game["game_mode"] == 23),
    ({"lobby_type": "0"}, lambda game: game["lobby_type"] == 0),
    ({"side": "dire"}, lambda game: not game["radiant"]),
    ({"side": "radiant"}, lambda game: game["radiant"]),
    ({"teammate": "2002"}, lambda game: 2002 in [p.account_id for p in game["mates"]]),
    (
        {"hero": "2", "lobby_type": "7", "start": "2025-02-01"},
        lambda game: (
            game["hero"] == 2
            and game["lobby_type"] == 7
            and game["local"].date() >= date(2025, 2, 1)
        ),
    ),
]
CASE_IDS = ["all", "dates", "hero", "mode", "lobby", "dire", "radiant", "teammate", "combined"]


def stored_games(account) -> list[dict]:
    """The account's matches with details and a result, read back from the stored rows."""
    games = []
    matches = Match.objects.filter(
        account_links__account=account, has_details=True, radiant_win__isnull=False
    )
    for match in matches:
        players = list(MatchPlayer.objects.filter(match=match))
        own = next(p for p in players if p.account_id == account.account_id)
        games.append(
            {
                "match_id": match.match_id,
                "start": match.start_time,
                "local": match.start_time.astimezone(ZONE),
                "duration": match.duration,
                "game_mode": match.game_mode,
                "lobby_type": match.lobby_type,
                "radiant": own.is_radiant,
                "won": match.radiant_win == own.is_radiant,
                "hero": own.hero_id,
                "kills": own.kills,
                "deaths": own.deaths,
                "assists": own.assists,
                "gold_per_min": own.gold_per_min,
                "xp_per_min": own.xp_per_min,
                "hero_damage": own.hero_damage,
                "hero_healing": own.hero_healing,
                "last_hits": own.last_hits,
                "party_size": own.party_size,
                "mates": [p for p in players if p.is_radiant == own.is_radiant and p != own],
                "foes": [p for p in players if p.is_radiant != own.is_radiant],
            }
        )
    return games


def tally(games, key) -> dict:
    """{key(game): (games, wins)} over the games whose key is known."""
    counts = defaultdict(lambda: [0, 0])
    for game in games:
        value = key(game)
        if value is not None:
            counts[value][0] += 1
            counts[value][1] += game["won"]
    return {value: tuple(pair) for value, pair in counts.items()}


def mean(values):
    return sum(values) / len(values)


def filters_of(query: dict) -> MatchFilters:
    form = MatchFiltersForm(query)
    assert form.is_valid(), form.errors
    return form.filters(ZONE)


@pytest.fixture(params=CASES, ids=CASE_IDS)
def case(request, stats_history):
    query, keep = request.param
    games = [game for game in stored_games(stats_history) if keep(game)]
    assert games, "every case keeps some games"
    return stats_history, filters_of(query), games


def test_summary(case):
    account, filters, games = case
    summary = analysis.summary(account, filters)
    assert (summary.games, summary.wins) == (len(games), sum(g["won"] for g in games))


def test_heroes(case):
    account, filters, games = case
    expected = []
    for hero in sorted({g["hero"] for g in games}):
        mine = [g for g in games if g["hero"] == hero]
        kills, deaths, assists = (sum(g[k] for g in mine) for k in ("kills", "deaths", "assists"))
        expected.append(
            (
                hero,
                len(mine),
                sum(g["won"] for g in mine),
                pytest.approx(mean([g["kills"] for g in mine])),
                pytest.approx(mean([g["deaths"] for g in mine])),
                pytest.approx(mean([g["assists"] for g in mine])),
                pytest.approx((kills + assists) / max(deaths, 1)),
                pytest.approx(mean([g["gold_per_min"] for g in mine])),
                pytest.approx(mean([g["xp_per_min"] for g in mine])),
                max(g["start"] for g in mine),
            )
        )
    expected.sort(key=lambda row: (-row[1], row[0]))

    found = [
        (
            h.hero_id,
            h.games,
            h.wins,
            h.avg_kills,
            h.avg_deaths,
            h.avg_assists,
            h.kda_ratio,
            h.avg_gpm,
            h.avg_xpm,
            h.last_played,
        )
        for h in analysis.heroes(account, filters)
    ]
    assert found == expected


@pytest.mark.parametrize(
    ("ordering", "key", "descending"),
    [("-win_rate", lambda h: h.wins / h.games, True), ("kda", lambda h: h.kda_ratio, False)],
)
def test_heroes_sorted_by_a_column(stats_history, ordering, key, descending):
    heroes = analysis.heroes(stats_history, MatchFilters(zone=ZONE), ordering)
    values = [key(hero) for hero in heroes]
    assert values == sorted(values, reverse=descending)
    assert len(heroes) == 3


@pytest.mark.parametrize("unit", ["day", "week", "month"])
def test_over_time(case, unit):
    account, filters, games = case

    def period(game):
        day = game["local"].date()
        if unit == "week":
            return day - timedelta(days=day.weekday())
        return day.replace(day=1) if unit == "month" else day

    expected = sorted(tally(games, period).items())
    found = [(p.start, (p.games, p.wins)) for p in analysis.over_time(account, filters, unit)]
    assert found == expected


def test_breakdowns(case):
    account, filters, games = case

    def bucket(game):
        return max(b for b in analysis.DURATION_BUCKETS if game["duration"] >= b * 60)

    found = analysis.breakdowns(account, filters)

    def as_dict(buckets):
        return {b.key: (b.games, b.wins) for b in buckets}

    assert as_dict(found.game_modes) == tally(games, lambda g: g["game_mode"])
    assert as_dict(found.lobby_types) == tally(games, lambda g: g["lobby_type"])
    assert as_dict(found.sides) == tally(games, lambda g: "radiant" if g["radiant"] else "dire")
    assert as_dict(found.party_sizes) == tally(games, lambda g: g["party_size"])
    assert as_dict(found.durations) == tally(games, bucket)


def test_records(case):
    account, filters, games = case
    expected = []
    for key, _label, field, highest in analysis.RECORDS:
        field = "duration" if key in ("longest", "shortest") else field
        best = (max if highest else min)(g[field] for g in games)
        first = min(g["match_id"] for g in games if g[field] == best)
        expected.append((key, best, first))
    found = [(r.key, r.value, r.match_id) for r in analysis.records(account, filters)]
    assert found == expected


def test_activity_in_the_users_time_zone(case):
    account, filters, games = case
    expected = tally(games, lambda g: (g["local"].isoweekday(), g["local"].hour))
    activity = analysis.activity(account, filters)
    found = {
        (cell.weekday, cell.hour): (cell.games, cell.wins)
        for row in activity.rows
        for cell in row
        if cell.games
    }
    assert found == expected
    assert activity.zone_name == STATS_ZONE
    assert [len(row) for row in activity.rows] == [24] * 7


def test_with_and_against(case):
    account, filters, games = case

    def met(side: str, attribute: str) -> dict:
        counts = defaultdict(lambda: [0, 0])
        for game in games:
            for player in game[side]:
                value = getattr(player, attribute)
                if value is not None:
                    counts[value][0] += 1
                    counts[value][1] += game["won"]
        return {value: tuple(pair) for value, pair in counts.items()}

    found = analysis.with_against(account, filters)
    assert {p.account_id: (p.games, p.wins) for p in found.teammates} == met("mates", "account_id")
    assert {p.account_id: (p.games, p.wins) for p in found.opponents} == met("foes", "account_id")
    assert {h.hero_id: (h.games, h.wins) for h in found.heroes_with} == met("mates", "hero_id")
    assert {h.hero_id: (h.games, h.wins) for h in found.heroes_against} == met("foes", "hero_id")
    for players in (found.teammates, found.opponents):
        assert [p.games for p in players] == sorted((p.games for p in players), reverse=True)


def test_filters_that_keep_nothing_give_empty_views(stats_history):
    filters = filters_of({"hero": "99"})
    assert analysis.summary(stats_history, filters).games == 0
    assert analysis.heroes(stats_history, filters) == []
    assert analysis.records(stats_history, filters) == []
    assert analysis.activity(stats_history, filters).most_games == 0


# --- pages and the API --------------------------------------------------------------------------

PAGES = {
    "stats": "api-stats-over-time",
    "stats_heroes": "api-stats-heroes",
    "stats_breakdowns": "api-stats-breakdowns",
    "stats_records": "api-stats-records",
    "stats_activity": "api-stats-activity",
    "stats_with_against": "api-stats-with-against",
}


def _page_numbers(page: str, context) -> object:
    """The numbers a page showed, shaped like its API answer's."""
    if page == "stats":
        return [[p.start.isoformat(), p.games, p.wins] for p in context["periods"]]
    if page == "stats_heroes":
        return [[h.hero_id, h.games, h.wins, h.avg_kills, h.avg_gpm] for h in context["heroes"]]
    if page == "stats_breakdowns":
        found = context["breakdowns"]
        return {
            name: [[b.key, b.games, b.wins] for b in getattr(found, name)]
            for name in ("game_modes", "lobby_types", "sides", "party_sizes", "durations")
        }
    if page == "stats_records":
        return [[r.key, r.value, r.match_id] for r in context["records"]]
    if page == "stats_activity":
        return [
            [c.weekday, c.hour, c.games, c.wins] for row in context["activity"].rows for c in row
        ]
    together = context["together"]
    return {
        "teammates": [[p.account_id, p.games, p.wins] for p in together.teammates],
        "opponents": [[p.account_id, p.games, p.wins] for p in together.opponents],
        "heroes_with": [[h.hero_id, h.games, h.wins] for h in together.heroes_with],
        "heroes_against": [[h.hero_id, h.games, h.wins] for h in together.heroes_against],
    }


def _api_numbers(page: str, body) -> object:
    if page == "stats":
        return [[p["start"], p["games"], p["wins"]] for p in body]
    if page == "stats_heroes":
        return [[h["hero_id"], h["games"], h["wins"], h["avg_kills"], h["avg_gpm"]] for h in body]
    if page == "stats_breakdowns":
        return {
            name: [[b["key"], b["games"], b["wins"]] for b in rows] for name, rows in body.items()
        }
    if page == "stats_records":
        return [[r["key"], r["value"], r["match_id"]] for r in body]
    if page == "stats_activity":
        return [[c["weekday"], c["hour"], c["games"], c["wins"]] for c in body["cells"]]
    return {
        name: [
            [row.get("account_id", row.get("hero_id")), row["games"], row["wins"]] for row in rows
        ]
        for name, rows in body.items()
    }


@pytest.mark.parametrize("page", sorted(PAGES))
@pytest.mark.parametrize(("query", "_keep"), CASES, ids=CASE_IDS)
def test_the_api_gives_the_numbers_the_page_shows(
    signed_in, api, stats_history, page, query, _keep
):
    shown = signed_in.get(reverse(page), query)
    answered = api.get(reverse(PAGES[page]), query)
    assert shown.status_code == answered.status_code == 200
    assert _api_numbers(page, answered.json()) == _page_numbers(page, shown.context)


def test_the_summary_endpoint_matches_the_page_tiles(signed_in, api, stats_history):
    shown = signed_in.get(reverse("stats"), {"side": "dire"}).context["summary"]
    answered = api.get(reverse("api-stats-summary"), {"side": "dire"}).json()
    assert answered == {"games": shown.games, "wins": shown.wins, "win_rate": shown.win_rate}


def test_the_heroes_page_links_each_hero_to_its_matches(signed_in, stats_history):
    html = signed_in.get(reverse("stats_heroes"), {"side": "radiant"}).content.decode()
    assert '<a href="/matches/?side=radiant&amp;hero=1">Anti-Mage</a>' in html
    listed = signed_in.get(reverse("match_list"), {"side": "radiant", "hero": "1"})
    # The list has the stub and the failed match too: they have no result, not no hero.
    assert [m.match_id for m in listed.context["page"]] == [111, 110, 101]


def test_the_records_page_links_each_record_to_its_match(signed_in, stats_history):
    html = signed_in.get(reverse("stats_records")).content.decode()
    assert '<a class="mono" href="/matches/103/">103</a>' in html  # most kills: 25


BAD_FILTERS = [
    ({"hero": "99999"}, "hero", "No hero has the id 99999."),
    ({"start": "2025-13-01"}, "start", "Enter a date as YYYY-MM-DD."),
    (
        {"start": "2025-03-01", "end": "2025-02-01"},
        "non_field_errors",
        "The start date (2025-03-01) is after the end date (2025-02-01).",
    ),
    ({"side": "up"}, "side", "The side is radiant or dire, not up."),
    ({"teammate": "abc"}, "teammate", "Enter a Steam account id (a whole number)."),
    ({"game_mode": "9999"}, "game_mode", "No game mode has the id 9999."),
]


@pytest.mark.parametrize(("query", "field", "message"), BAD_FILTERS)
@pytest.mark.parametrize("page", sorted(PAGES))
def test_bad_filters_are_refused_with_a_clear_error(
    signed_in, api, stats_history, page, query, field, message
):
    shown = signed_in.get(reverse(page), query)
    assert shown.status_code == 400
    assert message in shown.content.decode()
    assert "These filters cannot be used" in shown.content.decode()
    answered = api.get(reverse(PAGES[page]), query)
    assert answered.status_code == 400
    assert answered.json()["errors"] == {field: [message]}


@pytest.mark.parametrize(
    ("url", "query", "field"),
    [("stats_heroes", {"sort": "-bogus"}, "sort"), ("stats", {"by": "year"}, "by")],
)
def test_bad_view_options_are_refused(signed_in, api, stats_history, url, query, field):
    assert signed_in.get(reverse(url), query).status_code == 400
    answered = api.get(reverse(PAGES[url]), query)
    assert answered.status_code == 400
    assert list(answered.json()["errors"]) == [field]


def test_the_api_refuses_empty_parameters_the_pages_take_as_unset(signed_in, api, stats_history):
    # A page's filter form sends its empty fields; the API's schema has no empty values.
    assert signed_in.get(reverse("stats_heroes"), {"end": "", "sort": ""}).status_code == 200
    answered = api.get(reverse(PAGES["stats_heroes"]), {"end": "", "sort": ""})
    assert answered.status_code == 400
    assert answered.json()["errors"] == {
        "end": ["Give a value, or leave the parameter out."],
        "sort": ["Give a value, or leave the parameter out."],
    }


def test_the_match_list_takes_the_same_filters(signed_in, stats_history):
    listed = signed_in.get(reverse("match_list"), {"teammate": "2002", "side": "dire"})
    assert [m.match_id for m in listed.context["page"]] == [104, 102]
    refused = signed_in.get(reverse("match_list"), {"start": "2025-02-02", "end": "2025-02-01"})
    assert refused.status_code == 400


def _count_queries(client, url: str) -> int:
    """The queries of a request that computes its numbers (nothing kept from before)."""
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize("page", sorted(PAGES))
def test_query_count_does_not_grow_with_matches(signed_in, api, stats_history, page):
    url, api_url = reverse(page), reverse(PAGES[page])
    before = (_count_queries(signed_in, url), _count_queries(api, api_url))
    for match_id in range(200, 240):
        complete_match(
            match_id,
            stats_history,
            won=match_id % 3 == 0,
            hero_id=match_id % 9 + 1,
            teammates=[3000 + match_id % 7],
            opponents=[5000 + match_id],
        )
    after = (_count_queries(signed_in, url), _count_queries(api, api_url))
    assert after == before


def test_numbers_are_kept_until_the_accounts_data_changes(signed_in, stats_history):
    url = reverse("stats_breakdowns")
    computed = _count_queries(signed_in, url)
    with CaptureQueriesContext(connection) as kept:
        signed_in.get(url)
    # Five aggregates and the summary are not made again; the data's version is asked.
    assert len(kept) == computed - 6

    complete_match(300, stats_history, won=True, hero_id=9)
    answer = signed_in.get(url).context
    assert answer["summary"].games == len(stored_games(stats_history)) == 9


def test_teammates_and_opponents_are_named(stats_history):
    Player.objects.create(account_id=2002, persona_name="Friend")
    Player.objects.create(account_id=4004, persona_name="Foe")
    found = analysis.AccountStats(stats_history, MatchFilters(zone=ZONE)).with_against()
    names = {p.account_id: p.label.name for p in [*found.teammates, *found.opponents]}
    assert (names[2002], names[4004], names[2003]) == ("Friend", "Foe", "2003")
    # A new name is seen at once, though the numbers are kept.
    Player.objects.filter(account_id=2002).update(persona_name="Renamed")
    found = analysis.AccountStats(stats_history, MatchFilters(zone=ZONE)).with_against()
    assert found.teammates[0].label.name == "Renamed"
