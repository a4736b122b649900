"""The stats from parsed matches (matches.parsed_summary's rows, matches.parsed_stats) through
the "Parsed matches" stats page and its API: several matches made from a real parsed answer,
varied, stored through phase 2's store, and every number worked out here from the raw answers.
"""

import json
import statistics
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from matches.models import ParsedPlayer, UserSettings
from matches.store import save_parsed
from matches.tests.match_builders import complete_match, store_parsed_answer, varied_parsed_answer
from matches.upstream.dota_constants import item_facts_by_key
from matches.upstream.parsed import parsed_data

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
ZONE = ZoneInfo("Europe/Berlin")
START = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
# (account's slot, hero, radiant won, game mode, days after START, change): the change is
# added to the account's last hits, its gold scaled by 1 + change / 10 (so lanes turn), its
# purchases delayed by 37 s per unit. Two matches on day 2; the game of day 5 is Turbo.
VARIED = [
    (0, 1, True, 22, 0, 0),
    (129, 8, True, 22, 1, 3),
    (2, 1, False, 22, 2, -2),
    (131, 1, True, 22, 2, 5),
    (4, 8, False, 23, 5, 1),
    (132, 44, False, 22, 6, -4),
]


def varied_answer(index: int, account_id: int) -> dict:
    slot, hero, radiant_win, mode, days, change = VARIED[index]
    raw = varied_parsed_answer(
        7_000_000_000 + index,
        account_id,
        slot=slot,
        hero_id=hero,
        radiant_win=radiant_win,
        start_time=START + timedelta(days=days, hours=index),
        game_mode=mode,
        change=change,
    )
    if index == 5:
        # A game whose gold series stops before 20:00 has no net worth there.
        own_player(raw, account_id)["gold_t"] = own_player(raw, account_id)["gold_t"][:18]
    return raw


def store(account, raw: dict) -> None:
    store_parsed_answer(account, raw, NOW)


@pytest.fixture
def parsed_history(user, account) -> list[dict]:
    """alice's six parsed matches (VARIED), one match with details but not parsed (hero 1,
    day 3), seen in Berlin time; returns the raw answers."""
    UserSettings.objects.create(user=user, time_zone="Europe/Berlin")
    raws = [varied_answer(index, account.account_id) for index in range(len(VARIED))]
    for raw in raws:
        store(account, raw)
    complete_match(6_000, account, won=True, hero_id=1, start_time=START + timedelta(days=3))
    return raws


# --- the expected numbers, worked out from the raw answers ---------------------------------


def own_player(raw: dict, account_id: int) -> dict:
    return next(p for p in raw["players"] if p["account_id"] == account_id)


def won(raw: dict, account_id: int) -> bool:
    return raw["radiant_win"] == (own_player(raw, account_id)["player_slot"] < 128)


def expected_lane(raw: dict, account_id: int) -> str | None:
    """The lane won when the account's side had at least 10% more of the lane's gold at 10:00
    (the larger side's), lost the other way round, else drawn."""
    me = own_player(raw, account_id)
    if me.get("is_roaming") or me.get("lane") not in (1, 2, 3):
        return None
    mine = me["player_slot"] < 128
    in_lane = [p for p in raw["players"] if p.get("lane") == me["lane"] and not p["is_roaming"]]
    ours = sum(p["gold_t"][10] for p in in_lane if (p["player_slot"] < 128) == mine)
    theirs = sum(p["gold_t"][10] for p in in_lane if (p["player_slot"] < 128) != mine)
    if not theirs:
        return None
    if abs(ours - theirs) < 0.1 * max(ours, theirs):
        return "drawn"
    return "won" if ours > theirs else "lost"


def expected_first_item(player: dict) -> tuple[int, int] | None:
    facts = item_facts_by_key()
    for purchase in player["purchase_log"]:
        item = facts.get(purchase["key"])
        if (
            item
            and item.cost >= 2000
            and item.qual != "consumable"
            and not purchase["key"].startswith("recipe_")
        ):
            return item.item_id, purchase["time"]
    return None


def expected(raws: list[dict], account_id: int) -> dict:
    """The API's answer for these raw answers (all in the view), from the raw dicts."""
    ordered = sorted(raws, key=lambda raw: (raw["start_time"], raw["match_id"]))
    points, seen = [], []
    for index, raw in enumerate(ordered):
        me = own_player(raw, account_id)
        seen.append(me)
        day = datetime.fromtimestamp(raw["start_time"], UTC).astimezone(ZONE).date()
        later = ordered[index + 1 : index + 2]
        if (
            later
            and datetime.fromtimestamp(later[0]["start_time"], UTC).astimezone(ZONE).date() == day
        ):
            continue
        window = seen[-20:]

        def mean(values):
            known = [v for v in values if v is not None]
            return sum(known) / len(known) if known else None

        points.append(
            {
                "day": day.isoformat(),
                "games": len(window),
                "lh_10": mean([p["lh_t"][10] for p in window]),
                "gold_10": mean([p["gold_t"][10] for p in window]),
                "gold_20": mean(
                    [p["gold_t"][20] if len(p["gold_t"]) > 20 else None for p in window]
                ),
            }
        )
    lanes = {}
    for raw in raws:
        outcome = expected_lane(raw, account_id)
        if outcome is not None:
            games, wins = lanes.get(outcome, (0, 0))
            lanes[outcome] = (games + 1, wins + won(raw, account_id))
    heroes: dict[int, list[tuple[int, int]]] = {}
    for raw in raws:
        me = own_player(raw, account_id)
        first = expected_first_item(me)
        if first is not None:
            heroes.setdefault(me["hero_id"], []).append(first)
    first_items = []
    for hero_id, items in heroes.items():
        times = [time for _item, time in items]
        counts = {item: sum(1 for other, _t in items if other == item) for item, _t in items}
        commonest = min(counts, key=lambda item: (-counts[item], item))
        first_items.append(
            {
                "hero_id": hero_id,
                "games": len(items),
                "median_time": float(statistics.median(times)),
                "average_time": sum(times) / len(times),
                "item_id": commonest,
                "item_games": counts[commonest],
            }
        )
    return {
        "parsed": len(raws),
        "points": points,
        "lanes": {
            outcome: lanes[outcome] for outcome in ("won", "drawn", "lost") if outcome in lanes
        },
        "first_items": sorted(first_items, key=lambda hero: (-hero["games"], hero["hero_id"])),
    }


def api_shape(body: dict) -> dict:
    return {
        "parsed": body["parsed"],
        "points": body["points"],
        "lanes": {lane["outcome"]: (lane["games"], lane["wins"]) for lane in body["lanes"]},
        "first_items": sorted(body["first_items"], key=lambda h: (-h["games"], h["hero_id"])),
    }


def approx(shape: dict) -> dict:
    return json.loads(json.dumps(shape), parse_float=lambda text: round(float(text), 6))


# --- the tests ------------------------------------------------------------------------------


def test_the_summary_rows_follow_the_stored_parse_and_are_replaced_when_parsed_again(account):
    raw = varied_answer(1, account.account_id)
    store(account, raw)
    assert ParsedPlayer.objects.filter(match_id=raw["match_id"]).count() == 10
    own = ParsedPlayer.objects.get(match_id=raw["match_id"], player_slot=129)
    assert (own.account_id, own.hero_id, own.is_radiant) == (account.account_id, 8, False)
    assert own.lh_10 == own_player(raw, account.account_id)["lh_t"][10]
    assert own.lane_outcome == expected_lane(raw, account.account_id)

    data = parsed_data(raw)
    data["players"][6]["lh_t"][10] = 99
    save_parsed([(raw["match_id"], data)], NOW)

    assert ParsedPlayer.objects.filter(match_id=raw["match_id"]).count() == 10
    assert ParsedPlayer.objects.get(match_id=raw["match_id"], player_slot=129).lh_10 == 99


def test_the_page_and_the_api_show_the_numbers_of_the_raw_answers(
    signed_in, api, account, parsed_history
):
    want = expected(parsed_history, account.account_id)
    # The game of every lane outcome and several heroes: the test says something.
    assert len(want["lanes"]) == 3
    assert len(want["first_items"]) == 3

    body = api.get(reverse("api-stats-parsed")).json()
    assert body["games"] == 7
    assert approx(api_shape(body)) == approx(want)

    page = signed_in.get(reverse("stats_parsed"))
    assert page.status_code == 200
    assert "6 of 7 matches parsed" in page.content.decode()
    shown = page.context["parsed"]
    assert approx(
        api_shape(
            {
                "parsed": shown.parsed,
                "points": [
                    {
                        "day": p.day.isoformat(),
                        "games": p.games,
                        "lh_10": p.lh_10,
                        "gold_10": p.gold_10,
                        "gold_20": p.gold_20,
                    }
                    for p in shown.points
                ],
                "lanes": [
                    {"outcome": lane.outcome, "games": lane.games, "wins": lane.wins}
                    for lane in shown.lanes
                ],
                "first_items": [
                    {
                        "hero_id": h.hero_id,
                        "games": h.games,
                        "median_time": h.median_time,
                        "average_time": h.average_time,
                        "item_id": h.item_id,
                        "item_games": h.item_games,
                    }
                    for h in shown.first_items
                ],
            }
        )
    ) == approx(want)
    html = page.content.decode()
    for lane in shown.lanes:
        assert (
            f'class="stack-title">{lane.name}</th><td role="cell" data-label="Games" '
            f'class="num">{lane.games}</td>'
        ) in html
    assert 'role="img"' in html
    assert "Last hits at 10:00, average of the last 20 parsed games" in html


@pytest.mark.parametrize(
    ("query", "kept", "games"),
    [
        ({"hero": 1}, [0, 2, 3], 4),
        ({"game_mode": 23}, [4], 1),
        ({"side": "dire"}, [1, 3, 5], 3),
        ({"start": "2026-11-22", "end": "2026-11-26"}, [2, 3, 4], 4),
    ],
)
def test_filters_narrow_the_parsed_matches_and_the_matches_both(
    signed_in, api, account, parsed_history, query, kept, games
):
    raws = [parsed_history[index] for index in kept]
    want = expected(raws, account.account_id)

    body = api.get(reverse("api-stats-parsed"), query).json()
    assert (body["games"], body["parsed"]) == (games, len(kept))
    assert approx(api_shape(body)) == approx(want)
    page = signed_in.get(reverse("stats_parsed"), query)
    assert f"{len(kept)} of {games} match" in page.content.decode()


def test_turbo_left_out_by_the_users_choice_is_left_out_here_too(
    signed_in, api, user, account, parsed_history
):
    UserSettings.objects.filter(user=user).update(include_turbo=False)

    body = api.get(reverse("api-stats-parsed")).json()

    assert (body["games"], body["parsed"]) == (6, 5)


def test_filters_without_a_parsed_match_say_so_and_what_to_do(
    signed_in, api, account, parsed_history, settings
):
    settings.PARSE_REPLAY_WINDOW_DAYS = 7
    query = {"start": "2026-11-23", "end": "2026-11-23"}

    body = api.get(reverse("api-stats-parsed"), query).json()
    assert (body["games"], body["parsed"]) == (1, 0)
    assert body["points"] == body["lanes"] == body["first_items"] == []
    html = signed_in.get(reverse("stats_parsed"), query).content.decode()
    assert "0 of 1 match parsed" in html
    assert "within 7 days of being played" in html


def test_the_query_count_does_not_grow_with_parsed_matches(signed_in, api, account):
    def count(client, url) -> int:
        cache.clear()
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    store(account, varied_answer(0, account.account_id))
    url, api_url = reverse("stats_parsed"), reverse("api-stats-parsed")
    before = (count(signed_in, url), count(api, api_url))
    for index in range(1, len(VARIED)):
        store(account, varied_answer(index, account.account_id))
    assert (count(signed_in, url), count(api, api_url)) == before


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_the_summary_rows_of_matches_parsed_before_it():
    raw = varied_answer(1, 4242)
    executor = MigrationExecutor(connection)
    before, after = [("matches", "0016_stratz_player_facts")], [("matches", "0017_parsed_player")]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    old.get_model("matches", "Match").objects.create(match_id=raw["match_id"])
    old.get_model("matches", "ParsedMatch").objects.create(
        match_id=raw["match_id"], version=21, stored_at=NOW, data=parsed_data(raw)
    )

    executor.loader.build_graph()
    executor.migrate(after)
    # Every later migration back, as the rest of the session's tests expect.
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    own = ParsedPlayer.objects.get(match_id=raw["match_id"], player_slot=129)
    assert ParsedPlayer.objects.filter(match_id=raw["match_id"]).count() == 10
    assert (own.account_id, own.hero_id, own.lh_10) == (4242, 8, own_player(raw, 4242)["lh_t"][10])
    assert own.lane_outcome == expected_lane(raw, 4242)
    first = expected_first_item(own_player(raw, 4242))
    assert (own.first_core_item_id, own.first_core_item_time) == first
