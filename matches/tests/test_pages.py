import re
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from matches.analysis import Activity, ActivityCell, Bucket, Period
from matches.models import Match, MatchPlayer
from matches.templatetags.charts import heatmap_geometry, hero_bars_geometry, winrate_geometry
from matches.tests.match_builders import (
    ACCOUNT_ID,
    complete_match,
    failed_match,
    make_account,
    stub_match,
)
from syncjobs.models import JobType, SyncJob

pytestmark = pytest.mark.django_db

FRIEND = 2002
FOE = 4004
ONCE = 3003
PAGE_URLS = ["match_list", "teammates", "stats"]


def _rows(response) -> list[str]:
    """The body rows of the page's first table, as text without tags."""
    body = re.split(r"<tbody[^>]*>", response.content.decode(), maxsplit=1)[1]
    body = body.split("</tbody>", 1)[0]
    rows = re.findall(r"<tr.*?</tr>", body, flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]


@pytest.mark.parametrize("name", PAGE_URLS)
def test_pages_require_sign_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response.url.startswith(reverse(settings.LOGIN_URL) + "?next=")


def test_match_detail_requires_sign_in(client, account):
    complete_match(5, account, won=True)
    response = client.get(reverse("match_detail", args=[5]))
    assert response.status_code == 302
    assert response.url.startswith(reverse(settings.LOGIN_URL))


@pytest.mark.parametrize("name", PAGE_URLS)
def test_without_a_linked_account_pages_point_to_linking(signed_in, name):
    response = signed_in.get(reverse(name))
    assert response.status_code == 200
    assert b"No Steam account linked yet" in response.content
    assert f'href="{reverse("accounts")}"'.encode() in response.content


@pytest.mark.parametrize("name", PAGE_URLS)
def test_another_users_account_is_not_found(signed_in, account, other_user, name):
    make_account(FOE, owner=other_user)
    assert signed_in.get(reverse(name), {"account": FOE}).status_code == 404
    assert signed_in.get(reverse(name), {"account": "nonsense"}).status_code == 404


def test_another_users_match_is_not_found(signed_in, account, other_user):
    theirs = make_account(FOE, owner=other_user)
    complete_match(77, theirs, won=True)
    assert signed_in.get(reverse("match_detail", args=[77])).status_code == 404
    assert signed_in.get(reverse("match_detail", args=[78])).status_code == 404


def test_match_list_shows_each_kind_of_match(signed_in, account):
    complete_match(103, account, won=True, hero_id=1, kda=(12, 1, 9), duration=2409)
    complete_match(102, account, won=True, dire=True, hero_id=2, kda=(0, 7, 3))
    stub_match(101, account, hero_id=14)
    failed_match(100, account, error="Steam answered 500 three times", attempts=2)

    response = signed_in.get(reverse("match_list"))

    rows = _rows(response)
    assert rows[0] == "103 Anti-Mage Win 12/1/9 40:09 All Pick · Ranked 2025-03-14 18:00 UTC"
    assert rows[1].startswith("102 Axe Win 0/7/3")
    assert rows[2] == "101 Pudge pending No data available yet 2025-03-14 18:00 UTC"
    assert rows[3] == (
        f"100 Bane failed Details unavailable — Steam answered 500 three times "
        f"(2/{settings.SYNC_MAX_ATTEMPTS} attempts) 2025-03-14 18:00 UTC"
    )
    assert f'href="{reverse("match_detail", args=[103])}"' in response.content.decode()


def test_match_list_result_is_from_the_players_side(signed_in, account):
    complete_match(201, account, won=False, dire=True)
    assert _rows(signed_in.get(reverse("match_list")))[0].startswith("201 Anti-Mage Loss")


def five_matches_to_filter(account) -> None:
    """Heroes 1 and 2, won and lost, complete, a stub and a failed one: 301 to 305."""
    complete_match(301, account, won=True, hero_id=1)
    complete_match(302, account, won=False, hero_id=1)
    complete_match(303, account, won=True, hero_id=2)
    stub_match(304, account, hero_id=1)
    failed_match(305, account, error="gone", attempts=3, hero_id=2)


def test_match_list_filters(signed_in, account):
    five_matches_to_filter(account)

    def listed(**params):
        response = signed_in.get(reverse("match_list"), params)
        return [int(row.split()[0]) for row in _rows(response)]

    assert listed() == [305, 304, 303, 302, 301]
    assert listed(hero=1) == [304, 302, 301]
    assert listed(result="win") == [303, 301]
    assert listed(result="loss", hero=1) == [302]
    assert listed(status="pending") == [304]
    assert listed(status="failed") == [305]
    assert listed(status="complete", result="win", hero=2) == [303]
    bogus = signed_in.get(reverse("match_list"), {"result": "bogus"})
    assert bogus.status_code == 400
    assert "Select a valid choice. bogus is not one of the available choices." in (
        bogus.content.decode()
    )


def test_match_list_counts_without_the_player_rows_unless_a_filter_reads_them(signed_in, account):
    five_matches_to_filter(account)

    def counted(**params) -> tuple[int, bool]:
        with CaptureQueriesContext(connection) as queries:
            html = signed_in.get(reverse("match_list"), params).content.decode()
        (count,) = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"]]
        shown = int(re.search(r"· (\d+) match", html).group(1))
        return shown, "matches_matchplayer" in count

    assert counted() == (5, False)
    assert counted(status="failed") == (1, False)
    assert counted(status="complete", game_mode=22) == (3, False)
    assert counted(hero=1) == (3, True)
    assert counted(result="win") == (2, True)


def test_match_list_pages_by_fifty_newest_first(signed_in, account):
    base = datetime(2025, 1, 1, tzinfo=UTC)
    for match_id in range(1, 56):
        stub_match(match_id, account, start_time=base + timedelta(hours=match_id))

    first = signed_in.get(reverse("match_list"), {"status": "pending"})
    second = signed_in.get(reverse("match_list"), {"status": "pending", "page": 2})

    first_ids = [int(row.split()[0]) for row in _rows(first)]
    second_ids = [int(row.split()[0]) for row in _rows(second)]
    assert first_ids == list(range(55, 5, -1))
    assert second_ids == [5, 4, 3, 2, 1]
    assert b"Page 1 of 2" in first.content
    assert b'href="?status=pending&amp;page=2"' in first.content


def test_match_list_picks_the_requested_account(signed_in, user, account):
    second = make_account(ACCOUNT_ID + 1, owner=user, persona_name="Smurf")
    complete_match(401, account, won=True)
    complete_match(402, second, won=True)

    default = [row.split()[0] for row in _rows(signed_in.get(reverse("match_list")))]
    chosen = signed_in.get(reverse("match_list"), {"account": ACCOUNT_ID + 1})

    assert default == ["401"]
    assert [row.split()[0] for row in _rows(chosen)] == ["402"]
    assert b"Smurf" in chosen.content


@pytest.mark.parametrize("match_count", [5, 50])
def test_match_list_query_count_does_not_grow_with_the_page(
    signed_in, account, match_count, django_assert_num_queries
):
    for match_id in range(1, match_count + 1):
        if match_id % 3 == 0:
            stub_match(match_id, account)
        elif match_id % 3 == 1:
            complete_match(match_id, account, won=match_id % 2 == 0, teammates=[FRIEND])
        else:
            failed_match(match_id, account, error="timeout", attempts=1)

    # session, user, the user's time zone, the user's accounts, their Turbo choice, the page
    # count, the page itself
    with django_assert_num_queries(7):
        response = signed_in.get(reverse("match_list"))
    assert len(_rows(response)) == match_count


def test_match_detail_shows_both_teams(signed_in, account):
    make_account(FRIEND, persona_name="<script>alert(1)</script>")
    match = complete_match(
        501, account, won=True, hero_id=1, kda=(10, 2, 8), teammates=[FRIEND], opponents=[FOE]
    )
    MatchPlayer.objects.filter(match=match, player_slot=0).update(
        last_hits=321,
        denies=12,
        gold_per_min=654,
        xp_per_min=789,
        net_worth=23456,
        hero_damage=34567,
        hero_healing=1234,
        item_0=1,
        item_1=0,
        item_neutral=None,
    )

    response = signed_in.get(reverse("match_detail", args=[501]))
    html = response.content.decode()

    assert response.status_code == 200
    assert "Radiant" in html
    assert "Dire" in html
    assert re.search(r'class="score">30<.*class="score">20<', html, flags=re.S)
    assert "Victory" in html
    assert "Defeat" in html
    own_row = next(row for row in _rows(response) if "Anti-Mage" in row)
    assert own_row == "Alice Anti-Mage 10/2/8 321/12 654/789 23,456 — 34,567 1,234 Blink Dagger"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" not in html
    assert html.count(">Anonymous<") == 7
    assert str(FOE) in html
    for site in (
        "https://www.opendota.com/matches/501",
        "https://www.dotabuff.com/matches/501",
        "https://stratz.com/matches/501",
    ):
        assert f'href="{site}"' in html


def test_match_detail_of_a_stub_and_of_a_failed_match(signed_in, account):
    stub_match(601, account)
    failed_match(602, account, error="not found upstream", attempts=3)

    stub = signed_in.get(reverse("match_detail", args=[601])).content.decode()
    failed = signed_in.get(reverse("match_detail", args=[602])).content.decode()

    assert "No data available yet" in stub
    assert (
        f"Details unavailable — not found upstream (3/{settings.SYNC_MAX_ATTEMPTS} attempts)"
        in failed
    )
    assert "https://www.opendota.com/matches/602" in failed


def _fetch_waiting_button(html: str) -> str | None:
    found = re.search(
        r'name="account" value="(\d+)">\s*<input type="hidden" name="job_type" value="backfill">'
        r"\s*<button [^>]*>([^<]+)</button>",
        html,
    )
    return f"{found.group(1)}: {found.group(2)}" if found else None


def test_a_match_waiting_for_details_says_why_and_offers_to_fetch(signed_in, account):
    stub_match(601, account)
    stub_match(603, account)
    failed_match(602, account, error="not found upstream", attempts=1)

    html = signed_in.get(reverse("match_detail", args=[601])).content.decode()

    assert "Details not fetched yet" in html
    assert "no sync has fetched its details yet" in html
    assert _fetch_waiting_button(html) == f"{ACCOUNT_ID}: Fetch the 3 waiting matches"


def test_a_match_whose_last_try_got_no_answer_says_so(signed_in, account):
    match = stub_match(601, account)
    Match.objects.filter(pk=match.pk).update(
        fetch_error="OpenDota answered HTTP 503",
        last_fetch_attempt=datetime(2025, 5, 1, 12, 0, tzinfo=UTC),
    )

    html = signed_in.get(reverse("match_detail", args=[601])).content.decode()

    assert "The last try (2025-05-01 12:00 UTC) got no answer: OpenDota answered HTTP 503." in html
    assert "the next sync tries again" in html


def test_a_failed_match_says_when_syncs_retry_it_and_offers_to_fetch_now(signed_in, account):
    match = failed_match(602, account, error="not found on OpenDota", attempts=1)
    Match.objects.filter(pk=match.pk).update(last_fetch_attempt=timezone.now())

    html = signed_in.get(reverse("match_detail", args=[602])).content.decode()

    max_attempts = settings.SYNC_MAX_ATTEMPTS
    assert f"could not be fetched: not found on OpenDota (1 of {max_attempts} attempts)" in html
    assert "Syncs try again after " in html
    assert "fetching the waiting matches now tries it at once" in html
    assert _fetch_waiting_button(html) == f"{ACCOUNT_ID}: Fetch the waiting match"


def test_a_match_given_up_on_says_so_and_how_to_reset_it(signed_in, account):
    failed_match(602, account, error="not found on OpenDota", attempts=settings.SYNC_MAX_ATTEMPTS)

    html = signed_in.get(reverse("match_detail", args=[602])).content.decode()

    assert "DotaSync stopped trying" in html
    assert f"backfill_matches {ACCOUNT_ID} --reset-failed" in html
    assert _fetch_waiting_button(html) is None  # nothing waits


def test_a_match_page_points_to_the_sync_under_way_instead(signed_in, account):
    stub_match(601, account)
    SyncJob.objects.create(account=account, job_type=JobType.INCREMENTAL)

    html = signed_in.get(reverse("match_detail", args=[601])).content.decode()

    assert _fetch_waiting_button(html) is None
    assert f'href="{reverse("dashboard")}?account={ACCOUNT_ID}">watch it on the dashboard' in html


def test_teammates_page(signed_in, account):
    make_account(FRIEND, persona_name="<script>alert(1)</script>")
    complete_match(
        701,
        account,
        won=True,
        teammates=[FRIEND],
        opponents=[FOE],
        start_time=datetime(2025, 4, 1, tzinfo=UTC),
    )
    complete_match(
        702, account, won=False, teammates=[FRIEND], start_time=datetime(2025, 4, 2, tzinfo=UTC)
    )

    response = signed_in.get(reverse("teammates"))

    assert _rows(response) == [f"&lt;script&gt;alert(1)&lt;/script&gt; {FRIEND} 2 1 50% 2025-04-02"]
    assert b"<script>alert(1)</script>" not in response.content


def test_teammates_of_one_game_are_shown_only_on_request(signed_in, account):
    complete_match(701, account, won=True, teammates=[FRIEND, ONCE])
    complete_match(702, account, won=False, teammates=[FRIEND])

    regular = signed_in.get(reverse("teammates"))
    everyone = signed_in.get(reverse("teammates"), {"account": ACCOUNT_ID, "all": "1"})

    assert [row.split()[0] for row in _rows(regular)] == [str(FRIEND)]
    assert f'href="?account={ACCOUNT_ID}&amp;all=1">Show all teammates' in regular.content.decode()
    assert [row.split()[0] for row in _rows(everyone)] == [str(FRIEND), str(ONCE)]
    assert "Show only players with 2 or more games together" in everyone.content.decode()


def test_a_single_game_won_is_not_drawn_as_a_full_bar(signed_in, account):
    complete_match(701, account, won=True, teammates=[ONCE])

    html = signed_in.get(reverse("teammates"), {"all": "1"}).content.decode()

    assert "100%" in html  # its win rate, said in words
    assert '<span class="record-games" style="width: 10%">' in html
    assert '<span class="record-wins" style="width: 100%">' in html


def test_stats_page_charts(signed_in, account):
    complete_match(801, account, won=True, hero_id=1, start_time=datetime(2025, 1, 3, tzinfo=UTC))
    complete_match(802, account, won=False, hero_id=1, start_time=datetime(2025, 2, 3, tzinfo=UTC))
    complete_match(803, account, won=True, hero_id=2, start_time=datetime(2025, 2, 4, tzinfo=UTC))
    stub_match(804, account)

    html = signed_in.get(reverse("stats")).content.decode()

    # Each chart drawn wide and narrow; the stylesheet shows the one that fits.
    assert html.count('<svg class="chart chart-wide"') == 2
    assert html.count('<svg class="chart chart-narrow"') == 2
    assert "January 2025: 1 games, 1 won (100%)" in html
    assert "February 2025: 2 games, 1 won (50%)" in html
    assert "Anti-Mage: 2 games, 1 won (50%)" in html
    assert "Axe: 1 games, 1 won (100%)" in html
    assert re.search(r'Win rate</div><div class="value">67%', html)


def test_stats_page_without_results(signed_in, account):
    stub_match(901, account)
    html = signed_in.get(reverse("stats")).content.decode()
    assert "No results yet" in html
    assert "<svg" not in html


def test_winrate_geometry_scales_bars_to_the_busiest_month():
    months = [
        Period(datetime(2025, 1, 1).date(), "month", 4, 4),
        Period(datetime(2025, 2, 1).date(), "month", 2, 0),
    ]
    chart = winrate_geometry(months)
    full, half = chart["columns"]
    plot_height = chart["bottom"] - chart["top"]
    assert full.bar_height == pytest.approx(plot_height, abs=0.1)
    assert half.bar_height == pytest.approx(plot_height / 2, abs=0.1)
    assert full.point_y == pytest.approx(chart["top"])
    assert half.point_y == pytest.approx(chart["bottom"])
    assert full.point_x < half.point_x


def test_hero_bars_geometry_draws_wins_inside_games():
    chart = hero_bars_geometry([Bucket(1, "Anti-Mage", 10, 5), Bucket(2, "Axe", 5, 5)])
    first, second = chart["bars"]
    assert first.games_width == pytest.approx(2 * second.games_width, abs=0.1)
    assert first.wins_width == pytest.approx(first.games_width / 2, abs=0.1)
    assert second.wins_width == second.games_width
    assert first.name == "Anti-Mage"


def test_layout_nav_and_demo_banner(signed_in, account, settings):
    settings.DEMO_MODE = True
    html = signed_in.get(reverse("match_list")).content.decode()
    assert "Demo data." in html
    # The links to pages filtered by account carry the account the pages show.
    for name in ("dashboard", "match_list", "teammates", "stats"):
        assert f'href="{reverse(name)}?account={ACCOUNT_ID}"' in html
    assert f'href="{reverse("accounts")}"' in html
    assert f'action="{reverse("logout")}"' in html
    assert 'hx-headers=\'{"x-csrftoken": "' in html
    assert "htmx" in html

    settings.DEMO_MODE = False
    assert "Demo data." not in signed_in.get(reverse("match_list")).content.decode()


def test_heatmap_geometry_darkens_cells_by_their_share_of_the_busiest():
    cells = [[ActivityCell(weekday, hour, 0, 0) for hour in range(24)] for weekday in range(1, 8)]
    cells[0][20] = ActivityCell(1, 20, 4, 3)
    cells[6][9] = ActivityCell(7, 9, 2, 0)
    chart = heatmap_geometry(Activity(cells, "Europe/Paris"))
    by_title = {cell.title: cell for cell in chart["cells"]}
    busiest = by_title["Monday 20:00: 4 games, 3 won"]
    half = by_title["Sunday 09:00: 2 games, 0 won"]
    empty = by_title["Tuesday 00:00: 0 games, 0 won"]
    assert busiest.opacity == 1.0
    assert half.opacity == pytest.approx(0.08 + 0.92 / 2, abs=0.01)
    assert (empty.opacity, empty.css_class) == (0.0, "heat-empty")
    assert busiest.y < half.y
    assert str(chart["cells_svg"]).count("<rect") == 7 * 24
