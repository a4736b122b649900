"""The stored "include Turbo" choice: switched on the pages, honoured by every stats view, the
match list and the API, and part of the kept numbers' key."""

import pytest
from django.urls import reverse

from matches.models import UserSettings
from matches.tests.test_analysis import PAGES, stored_games
from matches.upstream.dota_constants import TURBO_GAME_MODE

pytestmark = pytest.mark.django_db


def leave_turbo_out(client, back: str = "/stats/") -> None:
    answer = client.post(reverse("turbo_choice"), {"include_turbo": "0", "next": back})
    assert answer.status_code == 302
    assert answer["Location"] == back


def test_turbo_counts_until_the_user_leaves_it_out(signed_in, api, user, stats_history):
    games = stored_games(stats_history)
    without_turbo = [g for g in games if g["game_mode"] != TURBO_GAME_MODE]
    assert len(without_turbo) < len(games)

    page = signed_in.get(reverse("stats"))
    assert page.context["summary"].games == len(games)
    assert "Turbo matches: <strong>counted</strong>" in page.content.decode()

    leave_turbo_out(signed_in)
    assert UserSettings.objects.get(user=user).include_turbo is False
    page = signed_in.get(reverse("stats"))
    # The numbers kept for the first answer are not the ones given now.
    assert page.context["summary"].games == len(without_turbo)
    assert page.context["summary"].wins == sum(g["won"] for g in without_turbo)
    assert "Turbo matches: <strong>left out</strong>" in page.content.decode()
    assert api.get(reverse("api-stats-summary")).json()["games"] == len(without_turbo)

    signed_in.post(reverse("turbo_choice"), {"include_turbo": "1", "next": "/stats/"})
    assert signed_in.get(reverse("stats")).context["summary"].games == len(games)


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_stats_view_honours_the_choice(signed_in, api, stats_history, page):
    games = stored_games(stats_history)
    turbo_ids = {g["match_id"] for g in games if g["game_mode"] == TURBO_GAME_MODE}
    leave_turbo_out(signed_in)
    assert signed_in.get(reverse(page)).context["summary"].games == len(games) - len(turbo_ids)
    if page == "stats_records":
        records = api.get(reverse(PAGES[page])).json()
        assert not {r["match_id"] for r in records} & turbo_ids


def test_a_chosen_game_mode_overrides_the_choice(signed_in, stats_history):
    leave_turbo_out(signed_in)
    turbo = [g for g in stored_games(stats_history) if g["game_mode"] == TURBO_GAME_MODE]
    page = signed_in.get(reverse("stats"), {"game_mode": TURBO_GAME_MODE})
    assert page.context["summary"].games == len(turbo)


def test_the_match_list_and_its_api_leave_turbo_out(signed_in, api, stats_history):
    leave_turbo_out(signed_in, "/matches/")
    listed = [m.match_id for m in signed_in.get(reverse("match_list")).context["page"]]
    # 103 and 106 are Turbo; the stub (110) and the failed match (111) have no known mode.
    assert listed == [111, 110, 109, 108, 107, 105, 104, 102, 101]
    answered = [m["match_id"] for m in api.get(reverse("api-match-list")).json()["results"]]
    assert answered == listed
    assert "Turbo matches: <strong>left out</strong>" in (
        signed_in.get(reverse("match_list")).content.decode()
    )


@pytest.mark.parametrize(
    ("data", "status", "location"),
    [
        ({"include_turbo": "maybe"}, 400, None),
        ({"include_turbo": "0", "next": "https://evil.example/"}, 302, "/matches/"),
    ],
)
def test_the_switch_refuses_bad_values_and_foreign_pages(
    signed_in, stats_history, data, status, location
):
    answer = signed_in.post(reverse("turbo_choice"), data)
    assert answer.status_code == status
    if location:
        assert answer["Location"] == location
    assert signed_in.get(reverse("turbo_choice")).status_code == 405
