"""What pages and the API show of today's match data and of players: real answers, rendered."""

import html as html_module
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from matches.models import AccountMatch, Match, Player, UserSettings
from matches.store import FetchOutcome, save_outcomes
from matches.tests.match_builders import complete_match, make_account
from matches.upstream.normalize import match_details

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"
LEAGUE_MATCH = 8591933650
CAPTAIN = 177062248  # plays slot 0 (Underlord) of the December 2025 league match
ABANDONED = 2455787494
ME = 1001
FRIEND = 2002
AVATAR = "https://avatars.steamstatic.com/abc_medium.jpg"


@pytest.fixture
def user():
    return get_user_model().objects.create_user("alice", password="pw-not-used")


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def store_linked(raw: dict, account, source: str = "steam_sequence") -> Match:
    details = match_details(raw)
    Match.objects.create(match_id=details.match_id)
    save_outcomes([FetchOutcome.completed(details, source)], None, datetime(2026, 1, 1, tzinfo=UTC))
    own = next((p for p in details.players if p["account_id"] == account.account_id), {})
    AccountMatch.objects.create(
        account=account,
        match_id=details.match_id,
        player_slot=own.get("player_slot"),
        hero_id=own.get("hero_id"),
    )
    return Match.objects.get(pk=details.match_id)


@pytest.fixture
def league_match(user) -> Match:
    captain = make_account(CAPTAIN, owner=user, persona_name="Captain")
    raw = json.loads((DATA / "GetMatchHistoryBySequenceNum.json").read_text())
    return store_linked(raw["result"]["matches"][0], captain)


def text_of(html: str) -> str:
    return html_module.unescape(" ".join(re.sub(r"<[^>]+>", " ", html).split()))


def section(html: str, heading_id: str) -> str:
    return html.split(f'id="{heading_id}"', 1)[1].split("</section>", 1)[0]


def test_the_match_page_shows_todays_fields_of_a_real_match(signed_in, league_match):
    html = signed_in.get(reverse("match_detail", args=[LEAGUE_MATCH])).content.decode()
    text = text_of(html)

    assert "Vitality Warriors" in text
    assert "Moonwalkers" in text
    assert "League: #16110" in text
    assert "Captains Mode" in text
    captain_row = next(
        row for row in re.findall(r"<tr.*?</tr>", html, flags=re.S) if "Captain<" in row
    )
    row = text_of(captain_row)
    assert "Underlord Demon's Reach" in row  # hero_variant 1: the hero's first facet
    assert "18,465" in row  # gold spent; 1,723 unspent in the cell's title
    assert 'title="1,723 unspent at the end"' in captain_row
    assert "Poor Man's Shield" in row  # item_neutral 71
    assert 'title="Neutral enchantment">Alert<' in captain_row  # item_neutral2 1584
    shard_row = text_of(
        next(r for r in re.findall(r"<tr.*?</tr>", html, flags=re.S) if "Hoodwink" in r)
    )
    assert "Aghanim's Shard" in shard_row  # slot 4 (Hoodwink) bought the shard
    assert "Aghanim's Scepter" not in shard_row


def test_a_drafted_match_shows_its_picks_and_bans_in_order(signed_in, league_match):
    html = signed_in.get(reverse("match_detail", args=[LEAGUE_MATCH])).content.decode()

    rows = [text_of(r) for r in re.findall(r"<tr.*?</tr>", section(html, "draft-title"), re.S)]
    steps = rows[1:]  # the header row first
    assert len(steps) == 24
    assert steps[0] == "1 Dire · Moonwalkers Ban Windranger"
    assert steps[1] == "2 Radiant · Vitality Warriors Ban Anti-Mage"
    assert steps[7] == "8 Dire · Moonwalkers Pick Death Prophet"
    assert steps[8] == "9 Radiant · Vitality Warriors Pick Mirana"
    assert steps[23] == "24 Radiant · Vitality Warriors Pick Hoodwink"
    draft = league_match.picks_bans
    assert [("Pick" in s) for s in steps] == [d["is_pick"] for d in draft]


def test_the_skill_build_lists_abilities_in_order_with_their_levels(signed_in, league_match):
    html = signed_in.get(reverse("match_detail", args=[LEAGUE_MATCH])).content.decode()

    builds = section(html, "skills-title")
    captain = builds.split("Captain", 1)[1].split("</details>", 1)[0]
    points = [text_of(li) for li in re.findall(r"<li>.*?</li>", captain, flags=re.S)]
    assert points[:6] == [
        "1 Atrophy Aura",
        "2 Firestorm",
        "3 Atrophy Aura",
        "4 Firestorm",
        "5 Pit of Malice",
        "6 Firestorm",
    ]
    assert points[7] == "8 Fiend's Gate"
    assert points[9].startswith("10 Talent: ")
    assert len(points) == 17
    # The own player's build is open; the nine others are folded.
    assert builds.count("<details") == 10
    assert builds.count(" open>") == 1


def test_an_abandon_is_flagged_in_the_list_and_on_the_match_page(signed_in, user):
    account = make_account(ME, owner=user, persona_name="Alice")
    raw = json.loads((DATA / "lp_2016_abandoned_6s_2455787494.json").read_text())["result"]
    match = store_linked(raw, account, "steam_details")
    complete_match(10, account, won=True)

    listed = signed_in.get(reverse("match_list")).content.decode()
    page = signed_in.get(reverse("match_detail", args=[ABANDONED])).content.decode()

    abandoned_row = next(r for r in re.findall(r"<tr.*?</tr>", listed, re.S) if "24557" in r)
    clean_row = next(r for r in re.findall(r"<tr.*?</tr>", listed, re.S) if ">10<" in r)
    assert ">Abandon<" in abandoned_row
    assert "Abandon" not in clean_row
    assert re.search(rf"· {match.abandons} abandons? ·?", text_of(page))
    assert page.count(">Abandoned<") == match.abandons
    assert ">Disconnected<" in page  # leaver_status 1: a disconnect, not an abandon


def test_the_own_abandon_is_named_in_the_list(signed_in, user):
    account = make_account(ME, owner=user)
    complete_match(11, account, won=False)
    Match.objects.filter(pk=11).update(abandons=1)
    Match.objects.get(pk=11).players.filter(account_id=ME).update(leaver_status=3)

    listed = signed_in.get(reverse("match_list")).content.decode()

    assert ">You abandoned<" in listed


def player_cells(html: str) -> list[str]:
    return re.findall(r'<span class="player">.*?</span></span>', html, flags=re.S)


@pytest.mark.parametrize("allowed", [False, True])
def test_avatars_come_from_steam_only_when_the_user_allows_outside_images(signed_in, user, allowed):
    account = make_account(ME, owner=user)
    complete_match(20, account, won=True, teammates=[FRIEND])
    Player.objects.create(account_id=FRIEND, persona_name="Friendly", avatar_medium_url=AVATAR)
    Player.objects.create(account_id=ME, persona_name="Me myself")
    UserSettings.objects.create(user=user, allow_outside_images=allowed)

    pages = [
        signed_in.get(reverse(name, args=args), query).content.decode()
        for name, args, query in (
            ("match_detail", [20], {}),
            ("teammates", [], {"all": "1"}),  # one game together: shown when all are asked for
            ("accounts", [], {}),
        )
    ]

    match_page, teammates_page, accounts_page = pages
    for html in (match_page, teammates_page):
        assert "Friendly" in html  # the name is always written
        assert (f'<img class="avatar" src="{AVATAR}"' in html) is allowed
        assert ('data-initial="F"' in html) is not allowed
    assert "Me myself" in accounts_page  # the linked account, named by the Player table
    assert 'data-initial="M"' in accounts_page  # no avatar known: an initial badge
    assert match_page.count('data-initial="?"') == 8  # the anonymous seats
    if not allowed:
        assert '<img class="avatar"' not in "".join(pages)
        assert "steamstatic" not in "".join(pages)


def test_players_without_a_public_name_show_their_id(signed_in, user):
    account = make_account(ME, owner=user)
    complete_match(21, account, won=True, teammates=[FRIEND])
    Player.objects.create(account_id=FRIEND)  # Steam described it: no public name

    html = signed_in.get(reverse("match_detail", args=[21])).content.decode()

    assert f">{FRIEND}</a>" in html
    assert 'data-initial="#"' in html


def test_the_api_names_players_and_gives_their_avatar(client, user, league_match):
    client.force_login(user)
    Player.objects.create(account_id=154357932, persona_name="Mira", avatar_medium_url=AVATAR)

    body = client.get(f"/api/matches/{LEAGUE_MATCH}/").json()

    players = {p["player_slot"]: p for p in body["players"]}
    assert (players[1]["persona_name"], players[1]["avatar"]) == ("Mira", AVATAR)
    assert (players[0]["persona_name"], players[0]["avatar"]) == ("Captain", None)
    assert players[2]["persona_name"] == ""
    assert players[0]["hero_facet"] == "Demon's Reach"
    assert (players[0]["item_neutral2"], players[4]["aghanims_shard"]) == (1584, True)
    assert (players[0]["gold"], players[0]["gold_spent"]) == (1723, 18465)
    assert (body["radiant_name"], body["dire_name"]) == ("Vitality Warriors", "Moonwalkers")
    assert body["picks_bans"][0] == {"order": 0, "is_pick": False, "hero_id": 21, "team": 1}
    assert body["abandons"] == 0

    mates = client.get("/api/teammates/").json()["results"]
    assert {m["account_id"]: m["avatar"] for m in mates}[154357932] == AVATAR
