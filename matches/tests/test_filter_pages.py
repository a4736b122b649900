"""The filter forms and the match page's items as the pages render them: a select shows the
default the numbers use, the filters' disclosure opens when a filter is set or refused, and
each player's items come in their groups (the browser tests check how they look)."""

import re

import pytest
from django.urls import reverse

from matches.models import MatchPlayer
from matches.tests.match_builders import complete_match

pytestmark = pytest.mark.django_db


def _disclosure(html: str) -> str:
    """The filters' <details> opening tag and its summary."""
    return re.search(r'<details class="filters-disclosure"[^>]*>\s*<summary>.*?</summary>', html)[0]


def _select(html: str, name: str) -> str:
    return re.search(rf'<select name="{name}".*?</select>', html, flags=re.S)[0]


@pytest.mark.parametrize(("query", "unit"), [("", "month"), ("?by=week", "week")])
def test_the_per_select_shows_the_unit_the_chart_is_drawn_by(signed_in, account, query, unit):
    complete_match(801, account, won=True)
    html = signed_in.get(reverse("stats") + query).content.decode()
    per = _select(html, "by")
    assert re.findall(r'<option value="(\w+)" selected>', per) == [unit]
    assert f'<title id="winrate-chart-title-wide">Win rate and games per {unit}</title>' in html


def test_the_sort_select_shows_the_order_the_heroes_table_is_in(signed_in, account):
    complete_match(801, account, won=True)
    html = signed_in.get(reverse("stats_heroes")).content.decode()
    sort = _select(html, "sort")
    assert re.findall(r'<option value="([-\w]+)" selected>', sort) == ["-games"]
    assert 'aria-sort="descending"><a href="?sort=games">Games ▼' in html


@pytest.mark.parametrize("name", ["match_list", "stats", "stats_heroes"])
def test_the_filters_are_folded_until_one_is_set(signed_in, account, name):
    complete_match(801, account, won=True, hero_id=1)
    url = reverse(name)

    assert _disclosure(signed_in.get(url).content.decode()) == (
        '<details class="filters-disclosure">\n<summary>Filters</summary>'
    )
    # Neither an account nor how the numbers are shown is a filter.
    shown = signed_in.get(url, {"account": account.account_id, "by": "week", "sort": "hero"})
    assert " open" not in _disclosure(shown.content.decode())

    filtered = signed_in.get(url, {"hero": 1, "side": "radiant", "end": ""})
    assert _disclosure(filtered.content.decode()) == (
        '<details class="filters-disclosure" open>\n'
        '<summary>Filters <span class="muted">· 2 set</span></summary>'
    )


def test_a_refused_filter_opens_the_filters(signed_in, account):
    response = signed_in.get(reverse("stats"), {"by": "year"})
    assert response.status_code == 400
    assert _disclosure(response.content.decode()).startswith(
        '<details class="filters-disclosure" open>'
    )


def test_a_players_items_come_in_groups(signed_in, account):
    match = complete_match(501, account, won=True, hero_id=1)
    MatchPlayer.objects.filter(match=match, player_slot=0).update(
        item_0=1,
        item_3=116,
        backpack_1=188,
        item_neutral=357,
        item_neutral2=1595,
        aghanims_shard=True,
    )
    html = signed_in.get(reverse("match_detail", args=[501])).content.decode()
    groups = dict(re.findall(r'<ul class="items[^"]*" aria-label="([^"]+)">(.*?)</ul>', html))
    assert groups == {
        "Inventory": "<li>Blink Dagger</li><li>Black King Bar</li>",
        "Backpack": "<li>Smoke of Deceit</li>",
        "Neutral item": '<li>Nether Shawl</li><li title="Neutral enchantment">Keen-eyed</li>',
        "Upgrades": "<li>Aghanim's Shard</li>",
    }
