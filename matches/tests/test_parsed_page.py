"""A parsed match's page, section by section, through the Django test client, with OpenDota's
real parsed answer stored as a sync stores it: every number shown is computed here again from
the raw JSON file, never through matches.parsed_page; an unparsed match keeps today's page;
nobody reaches another user's match."""

import html
import json
import re
from collections import Counter, defaultdict

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from matches.models import ParsedMatch
from matches.parsed_page import SECTIONS
from matches.tests.match_builders import (
    OTHERS_ACCOUNT_ID,
    PARSED_MATCH_ID,
    complete_match,
    parsed_answer,
    parsed_match,
)
from matches.upstream.dota_constants import DATA_DIR

pytestmark = pytest.mark.django_db

# Dota's teams as OpenDota's objectives name them.
TEAM_NAMES = {2: "Radiant", 3: "Dire"}


@pytest.fixture
def raw() -> dict:
    return parsed_answer()


@pytest.fixture
def stored(account):
    return parsed_match(account)


@pytest.fixture
def heroes() -> dict[int, dict]:
    """dotaconstants' heroes as shipped: id -> {name, key}."""
    return {int(k): v for k, v in json.loads((DATA_DIR / "heroes.json").read_text()).items()}


def _page(client, section: str, match_id: int = PARSED_MATCH_ID, **headers) -> str:
    url = (
        reverse("match_detail", args=[match_id])
        if section == "overview"
        else reverse("match_section", args=[match_id, section])
    )
    response = client.get(url, **headers)
    assert response.status_code == 200, (section, response.status_code)
    return response.content.decode()


def _text(fragment: str) -> str:
    text = " ".join(re.sub(r"<[^>]+>", " ", fragment).split())
    return html.unescape(text.replace(" ,", ",").replace(" \N{EN DASH} ", "\N{EN DASH}"))


def _tables(page: str, css_class: str) -> list[list[list[str]]]:
    """The body rows of every table of `css_class`, each row as its cells' text."""
    found = []
    for table in re.findall(rf'<table class="[^"]*\b{css_class}\b.*?</table>', page, flags=re.S):
        body = table.split("<tbody", 1)[1]
        rows = re.findall(r"<tr.*?</tr>", body, flags=re.S)
        found.append(
            [
                [_text(cell) for cell in re.findall(r"<t[hd]\b.*?</t[hd]>", row, re.S)]
                for row in rows
            ]
        )
    return found


def _clock(seconds: int) -> str:
    sign = "-" if seconds < 0 else ""
    return f"{sign}{abs(seconds) // 60:02d}:{abs(seconds) % 60:02d}"


def _hero(raw_player: dict, heroes: dict) -> str:
    return heroes[raw_player["hero_id"]]["name"]


def test_every_section_renders_with_its_tab_marked_current(signed_in, stored):
    for slug, title in SECTIONS:
        page = _page(signed_in, slug)
        nav = page.split('aria-label="Match sections"', 1)[1].split("</nav>", 1)[0]
        current = re.findall(r'<a [^>]*aria-current="page"[^>]*>([^<]*)</a>', nav)
        assert current == [title], slug
        # Every tab is a real link: each section has its own URL, no script needed.
        assert len(re.findall(r'<a id="section-tab-[a-z]+" href="/matches/', nav)) == len(SECTIONS)
        assert "OpenDota's parse of this match has no" not in page, slug
    assert f"<title>Graphs · Match {PARSED_MATCH_ID} · DotaSync</title>" in _page(
        signed_in, "graphs"
    )


def test_overview_keeps_the_scoreboard_and_adds_the_gold_advantage(signed_in, stored, raw):
    page = _page(signed_in, "overview")

    assert 'class="card team-card"' in page
    assert "Skill builds" in page
    gold_rows = re.search(r"Radiant's gold advantage</th>.*?</tbody>", page, re.S).group(0)
    shown = [int(v) for v in re.findall(r'<td class="num">(-?\d+)</td>', gold_rows)]
    assert shown == raw["radiant_gold_adv"]
    assert 'role="img" aria-labelledby="overview-gold-adv-title-wide"' in page


def test_graphs_show_both_advantages_and_every_players_gold_per_minute(signed_in, stored, raw):
    page = _page(signed_in, "graphs")

    [advantage] = _tables(page, "advantage-table")
    assert [(int(gold), int(xp)) for _minute, gold, xp in advantage] == list(
        zip(raw["radiant_gold_adv"], raw["radiant_xp_adv"], strict=True)
    )
    [golds] = _tables(page, "minute-table")
    by_slot = sorted(raw["players"], key=lambda p: p["player_slot"])
    for minute, row in enumerate(golds):
        assert row[0] == f"{minute}:00"
        assert [int(v) for v in row[1:]] == [p["gold_t"][minute] for p in by_slot]
    # One line a player in the chart, each with its accessible name.
    assert page.count('class="line line-player') == 2 * len(by_slot)
    assert 'aria-describedby="graphs-xp-adv-desc-wide"' in page


def test_laning_shows_last_hits_denies_and_gold_at_ten_and_each_lanes_outcome(
    signed_in, stored, raw, heroes
):
    page = _page(signed_in, "laning")

    [rows] = _tables(page, "lane-table")
    players = sorted(raw["players"], key=lambda p: p["player_slot"])
    for row, player in zip(rows, players, strict=True):
        assert row[0].startswith(_hero(player, heroes))
        assert row[3:6] == [
            str(player["lh_t"][10]),
            str(player["dn_t"][10]),
            f"{player['gold_t'][10]:,}",
        ]
    # The lanes' outcomes by the rule of matches.parsed_facts, reckoned here from the file.
    lane_names = {1: "Bottom", 2: "Middle", 3: "Top"}
    for lane, name in lane_names.items():
        gold = defaultdict(int)
        for p in players:
            if p["lane"] == lane and not p["is_roaming"]:
                gold[p["player_slot"] < 128] += p["gold_t"][10]
        radiant, dire = gold[True], gold[False]
        if abs(radiant - dire) < 0.1 * max(radiant, dire):
            verdict = "Drawn"
        else:
            verdict = "Radiant won" if radiant > dire else "Dire won"
        assert f"{name}: {verdict}" in page
        assert f"{radiant:,} gold" in page
        assert f"{dire:,} gold" in page
        for p in players:
            if p["lane"] == lane and not p["is_roaming"]:
                row = rows[players.index(p)]
                mine = radiant if p["player_slot"] < 128 else dire
                theirs = dire if p["player_slot"] < 128 else radiant
                expected = "Drawn" if verdict == "Drawn" else "Won" if mine > theirs else "Lost"
                assert row[6] == expected, (name, row)
    assert "Safe lane" in page
    assert "Off lane" in page
    assert "Roaming" in page


def test_items_show_each_purchase_with_its_time_and_the_first_core_item(
    signed_in, stored, raw, heroes
):
    page = _page(signed_in, "items")
    item_facts = json.loads((DATA_DIR / "item_facts.json").read_text())
    facts = {f["key"]: f for f in item_facts.values()}
    ids = {f["key"]: item_id for item_id, f in item_facts.items()}
    names = json.loads((DATA_DIR / "items.json").read_text())

    blocks = page.split('<div class="purchase-player')[1:]
    players = sorted(raw["players"], key=lambda p: p["player_slot"])
    for block, player in zip(blocks, players, strict=True):
        assert _hero(player, heroes) in _text(block.split("</h4>", 1)[0])
        times = re.findall(r"<li><time>([^<]+)</time>", block)
        assert times == [_clock(entry["time"]) for entry in player["purchase_log"]]
        core = next(
            (
                entry
                for entry in player["purchase_log"]
                if entry["key"] in facts
                and facts[entry["key"]]["cost"] >= 2000
                and facts[entry["key"]]["qual"] != "consumable"
                and not entry["key"].startswith("recipe_")
            ),
            None,
        )
        line = _text(re.search(r'<p class="first-core">.*?</p>', block, re.S).group(0))
        if core is None:
            assert line == "First core item: none"
        else:
            name = names[ids[core["key"]]]
            assert line == f"First core item: {name} at {_clock(core['time'])}"


def test_combat_shows_who_killed_whom_and_the_damage_to_each_hero(signed_in, stored, raw, heroes):
    page = _page(signed_in, "combat")
    key_to_slot = {heroes[p["hero_id"]]["key"]: p["player_slot"] for p in raw["players"]}
    kills = Counter()
    damage = Counter()
    for player in raw["players"]:
        for entry in player["kills_log"]:
            kills[player["player_slot"], key_to_slot[entry["key"]]] += 1
        for by_target in player["damage_targets"].values():
            for key, amount in by_target.items():
                if key in key_to_slot:
                    damage[player["player_slot"], key_to_slot[key]] += amount

    radiant = [0, 1, 2, 3, 4]
    dire = [128, 129, 130, 131, 132]
    kill_tables, damage_tables = (
        _tables(part, "versus-table") for part in page.split('id="damage-title"', 1)
    )
    for tables, counted in ((kill_tables, kills), (damage_tables, damage)):
        for table, (rows_side, columns) in zip(
            tables, ((radiant, dire), (dire, radiant)), strict=True
        ):
            for row, killer in zip(table, rows_side, strict=True):
                expected = [counted[killer, victim] for victim in columns]
                assert [int(v.replace(",", "")) for v in row[1:-1]] == expected
                assert int(row[-1].replace(",", "")) == sum(expected)

    [extra] = _tables(page, "combat-table")
    for row, player in zip(
        extra, sorted(raw["players"], key=lambda p: p["player_slot"]), strict=True
    ):
        buybacks = player["buyback_log"]
        assert row[1] == (
            f"{len(buybacks)}: " + ", ".join(_clock(b["time"]) for b in buybacks)
            if buybacks
            else "0"
        )
        assert row[2:] == [
            str(len(player["runes_log"])),
            str(len(player["obs_log"])),
            str(len(player["sen_log"])),
        ]


def test_objectives_and_teamfights_are_listed_with_their_times(signed_in, stored, raw, heroes):
    page = _page(signed_in, "objectives")

    [objectives] = _tables(page, "log-table")
    assert [row[0] for row in objectives] == [_clock(o["time"]) for o in raw["objectives"]]
    first_blood = next(o for o in raw["objectives"] if o["type"] == "CHAT_MESSAGE_FIRSTBLOOD")
    killer = next(p for p in raw["players"] if p["player_slot"] == first_blood["player_slot"])
    row = objectives[raw["objectives"].index(first_blood)]
    assert row[1].startswith("First blood on ")
    assert row[2].startswith(_hero(killer, heroes))
    roshan = next(o for o in raw["objectives"] if o["type"] == "CHAT_MESSAGE_ROSHAN_KILL")
    assert objectives[raw["objectives"].index(roshan)][1:] == [
        "Roshan killed",
        TEAM_NAMES[roshan["team"]],
    ]
    towers = [o for o in raw["objectives"] if "tower" in str(o.get("key", ""))]
    assert sum("tower" in row[1] and "destroyed" in row[1] for row in objectives) == len(towers)
    barracks = [o for o in raw["objectives"] if "_rax_" in str(o.get("key", ""))]
    assert sum("barracks" in row[1] for row in objectives) == len(barracks)

    [fights] = _tables(page, "fight-table")
    assert len(fights) == len(raw["teamfights"])
    for row, fight in zip(fights, raw["teamfights"], strict=True):
        gold = [
            sum(p["gold_delta"] for p in fight["players"][side])
            for side in (slice(0, 5), slice(5, 10))
        ]
        xp = [
            sum(p["xp_delta"] for p in fight["players"][side])
            for side in (slice(0, 5), slice(5, 10))
        ]
        assert row == [
            f"{_clock(fight['start'])}\N{EN DASH}{_clock(fight['end'])}",
            str(fight["deaths"]),
            *map(str, gold),
            *map(str, xp),
        ]


def test_chat_shows_every_line_with_its_time_and_speaker(signed_in, stored, raw, heroes):
    page = _page(signed_in, "chat")

    [rows] = _tables(page, "chat-table")
    assert len(rows) == len(raw["chat"])
    by_slot = {p["player_slot"]: p for p in raw["players"]}
    for row, line in zip(rows, raw["chat"], strict=True):
        assert row[0] == _clock(line["time"])
        assert row[1].startswith(_hero(by_slot[line["player_slot"]], heroes))
        said = f"chat wheel #{line['key']}" if line["type"] == "chatwheel" else line["key"]
        assert row[2] == said


def test_a_part_the_parse_lacks_is_said_missing(signed_in, account, raw):
    for key in ("chat", "teamfights", "radiant_gold_adv", "objectives"):
        raw.pop(key)
    for player in raw["players"]:
        for key in ("kills_log", "damage_targets", "purchase_log", "lane", "lh_t"):
            player.pop(key)
    parsed_match(account, answer=raw)

    said = {
        section: re.findall(
            r"OpenDota's parse of this match has no ([^.]+)\.", _page(signed_in, section)
        )
        for section, _title in SECTIONS
    }
    assert said == {
        "overview": ["gold advantage per minute"],
        "graphs": ["gold advantage per minute"],
        "laning": ["last hits per minute", "lanes"],
        "items": ["purchase log"],
        "combat": ["kills log", "damage by target"],
        "objectives": ["objectives", "teamfights"],
        "chat": ["chat"],
    }


def test_an_unparsed_match_shows_todays_page_without_section_tabs(signed_in, account):
    complete_match(501, account, won=True)

    page = _page(signed_in, "overview", 501)
    assert 'class="card team-card"' in page
    assert "Match sections" not in page
    response = signed_in.get(reverse("match_section", args=[501, "graphs"]))
    assert response.status_code == 302
    assert response.url == reverse("match_detail", args=[501])


def test_another_users_parsed_match_is_not_reachable(signed_in, others_account):
    parsed_match(others_account)

    for section, _title in SECTIONS:
        url = reverse("match_section", args=[PARSED_MATCH_ID, section])
        assert signed_in.get(url).status_code == 404
    assert signed_in.get(reverse("match_detail", args=[PARSED_MATCH_ID])).status_code == 404
    assert others_account.account_id == OTHERS_ACCOUNT_ID


def test_an_unknown_section_is_not_found(signed_in, stored):
    response = signed_in.get(reverse("match_section", args=[PARSED_MATCH_ID, "vision"]))
    assert response.status_code == 404


def test_htmx_gets_the_tabs_and_the_section_alone(signed_in, stored):
    url = reverse("match_section", args=[PARSED_MATCH_ID, "combat"])
    partial = signed_in.get(url, HTTP_HX_REQUEST="true")
    whole = signed_in.get(url)

    body = partial.content.decode()
    assert body.startswith("<title>Combat · Match")
    assert "<html" not in body
    assert 'id="match-sections"' in body
    assert 'id="kills-title"' in body
    assert "HX-Request" in partial["Vary"]
    assert "HX-Request" in whole["Vary"]
    # A history restore (htmx found no snapshot) gets the whole page.
    restored = signed_in.get(url, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in restored.content.decode()


def test_a_section_costs_one_query_for_the_parse_and_reads_its_json_once(
    signed_in, account, stored
):
    complete_match(501, account, won=True)
    with CaptureQueriesContext(connection) as unparsed:
        _page(signed_in, "overview", 501)
    counts = {}
    for section, _title in SECTIONS:
        with CaptureQueriesContext(connection) as first:
            _page(signed_in, section)
        with CaptureQueriesContext(connection) as again:
            _page(signed_in, section)
        parse_queries = [
            q["sql"] for q in first.captured_queries if "matches_parsedmatch" in q["sql"]
        ]
        # Built afresh: the parse's row without its JSON, then the JSON.
        assert len(parse_queries) == 2, section
        kept = [q["sql"] for q in again.captured_queries if "matches_parsedmatch" in q["sql"]]
        # Kept: the row's version and date only, never the JSON.
        assert len(kept) == 1, section
        assert '"data"' not in kept[0], section
        counts[section] = len(again)
    # Every section the same few queries, none more than a plain match page (which asks for
    # the parse too, and finds none).
    assert len(set(counts.values())) == 1, counts
    assert counts["combat"] <= len(unparsed)


def test_a_new_parse_of_the_match_is_shown_at_once(signed_in, stored):
    assert "a line of a newer parse" not in _page(signed_in, "chat")
    parsed = ParsedMatch.objects.get(match=stored)
    parsed.data["chat"].append(
        {"time": 2200, "type": "chat", "key": "a line of a newer parse", "player_slot": 0}
    )
    parsed.version = 22
    parsed.save()

    assert "a line of a newer parse" in _page(signed_in, "chat")
