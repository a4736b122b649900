"""Bad input, generated: account references, upstream JSON, ids and filters in URLs, injection.

Hypothesis drives the parsers and the normalisers with arbitrary text and JSON, and the web
pages and the REST API with huge, negative and hostile values; nothing may answer 500 or
raise anything but the one documented error.
"""

import contextlib
import copy
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.utils.html import escape
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from matches.models import ANONYMOUS_ACCOUNT_ID, STEAM_ID64_OFFSET, MatchPlayer, SteamAccount
from matches.tests.match_builders import ACCOUNT_ID, complete_match, make_account
from matches.upstream.errors import BadResponse, NotFound
from matches.upstream.normalize import (
    MATCH_FIELDS,
    PLAYER_FIELDS,
    match_details,
    opendota_history_entry,
    steam_history_page,
)
from matches.upstream.simulator import World
from matches.upstream.steam_ids import InvalidAccountReference, parse_account_reference
from syncjobs.models import JobType, SyncJob

TEAMMATE = ACCOUNT_ID + 1
EXAMPLES = 300
WEB_EXAMPLES = 60

INJECTIONS = (
    "' OR '1'='1",
    "1; DROP TABLE matches_match; --",
    "1 UNION SELECT username, password FROM auth_user --",
    "1' AND pg_sleep(5) --",
    "<script>alert('xss')</script>",
    '"><img src=x onerror=alert(1)>',
    "{{ settings.SECRET_KEY }}",
    "%00",
    "\x00",
    "../../etc/passwd",
    "١٢٣",  # Arabic-Indic digits: isdigit() but not an account id
    "²",
)
HUGE_AND_NEGATIVE = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.sampled_from(
        [0, -1, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64, -(2**63) - 1]
    ),
)
HOSTILE_TEXT = st.one_of(
    st.sampled_from(INJECTIONS), st.text(max_size=40), HUGE_AND_NEGATIVE.map(str)
)


# --- account references ---------------------------------------------------------------------


def _vanity(name: str) -> int:
    """A resolver standing in for Steam's ResolveVanityURL: some names resolve, some do not."""
    if name.startswith("gone"):
        raise NotFound("no such profile")
    return len(name) * 1000 + 7


@settings(max_examples=EXAMPLES)
@given(text=st.one_of(st.text(), st.sampled_from(INJECTIONS)), with_resolver=st.booleans())
def test_account_references_parse_or_are_refused(text, with_resolver):
    try:
        account_id = parse_account_reference(text, _vanity if with_resolver else None)
    except InvalidAccountReference:
        return
    assert 0 < account_id < ANONYMOUS_ACCOUNT_ID


@settings(max_examples=EXAMPLES)
@given(
    account_id=st.integers(min_value=1, max_value=ANONYMOUS_ACCOUNT_ID - 1),
    spelling=st.sampled_from(
        [
            "{id}",
            "  {id}\n",
            "{id64}",
            "https://steamcommunity.com/profiles/{id64}",
            "http://www.steamcommunity.com/profiles/{id64}/",
            "steamcommunity.com/profiles/{id64}/?l=english",
        ]
    ),
)
def test_valid_account_ids_round_trip(account_id, spelling):
    text = spelling.format(id=account_id, id64=account_id + STEAM_ID64_OFFSET)

    assert parse_account_reference(text) == account_id


@settings(max_examples=EXAMPLES)
@given(number=st.one_of(st.integers(max_value=0), st.integers(min_value=ANONYMOUS_ACCOUNT_ID)))
def test_ids_out_of_range_are_refused(number):
    if STEAM_ID64_OFFSET < number < STEAM_ID64_OFFSET + ANONYMOUS_ACCOUNT_ID:
        return  # a SteamID64: valid
    with pytest.raises(InvalidAccountReference):
        parse_account_reference(str(number))


# --- upstream JSON --------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
WORLD = World(seed=0, default_matches=40, accounts={}, hidden_fraction=0.0)
REAL_MATCH = WORLD.steam_details(WORLD.match_id(ACCOUNT_ID, 3))
REAL_OPENDOTA_MATCH = WORLD.opendota_match(WORLD.match_id(ACCOUNT_ID, 3))
REAL_HISTORY = WORLD.steam_history(ACCOUNT_ID, None, 5)
REAL_OPENDOTA_ENTRY = WORLD.opendota_player_matches(
    ACCOUNT_ID, significant=False, limit=1, offset=0
)[0]
MATCH_KEYS = sorted(
    {*MATCH_FIELDS, "match_id", "radiant_win", "start_time", "players", "picks_bans", "league"}
)
PLAYER_KEYS = sorted(
    {*PLAYER_FIELDS, "player_slot", "account_id", "ability_upgrades", "personaname", "moonshard"}
)


@st.composite
def bent(draw: st.DrawFn, original: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """`original` with some fields missing, null, of another type, and extra fields added."""
    data = copy.deepcopy(original)
    for key in draw(st.lists(st.sampled_from(keys), max_size=6, unique=True)):
        action = draw(st.sampled_from(["drop", "null", "other"]))
        if action == "drop":
            data.pop(key, None)
        elif action == "null":
            data[key] = None
        else:
            data[key] = draw(JSON_VALUES)
    data.update(draw(st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=3)))
    return data


@st.composite
def bent_match(draw: st.DrawFn, original: dict[str, Any]) -> dict[str, Any]:
    match = draw(bent(original, MATCH_KEYS))
    if isinstance(match.get("players"), list):
        match["players"] = [
            draw(bent(p, PLAYER_KEYS)) if isinstance(p, dict) and draw(st.booleans()) else p
            for p in match["players"]
        ]
    return match


def _normalises_or_refuses(normalise, raw) -> object | None:
    try:
        return normalise(raw)
    except BadResponse:
        return None


@settings(max_examples=EXAMPLES)
@given(raw=st.one_of(JSON_VALUES, bent_match(REAL_MATCH), bent_match(REAL_OPENDOTA_MATCH)))
def test_match_details_normalise_or_raise_bad_response(raw):
    details = _normalises_or_refuses(match_details, raw)
    if details is None:
        return
    # What does come out fits the columns it is written to.
    assert details.match_id > 0
    for key, top in MATCH_FIELDS.items():
        value = details.fields[key]
        assert value is None or 0 <= value <= top, key
    slots = [player["player_slot"] for player in details.players]
    assert slots == sorted(set(slots))
    for player in details.players:
        assert 0 <= player["player_slot"] <= 255
        assert player["account_id"] is None or 0 <= player["account_id"] < ANONYMOUS_ACCOUNT_ID
        # Every key is a column, but the name, which the store keeps in the Player table.
        name = player.pop("persona_name")
        assert isinstance(name, str)
        assert len(name) <= 200
        assert not name or player["account_id"] is not None
        MatchPlayer(**player)
        json.dumps(player["ability_upgrades"])
    for key in ("radiant_name", "dire_name", "league_name"):
        assert isinstance(details.fields[key], str)
        assert len(details.fields[key]) <= 200
    json.dumps(details.fields["picks_bans"])


@settings(max_examples=EXAMPLES)
@given(
    result=st.one_of(
        st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=4),
        bent(REAL_HISTORY, ["matches", "results_remaining", "total_results", "status"]),
        st.builds(
            lambda entries: {**REAL_HISTORY, "matches": entries},
            st.lists(
                st.one_of(
                    JSON_VALUES,
                    bent(REAL_HISTORY["matches"][0], ["match_id", "match_seq_num", "players"]),
                ),
                max_size=4,
            ),
        ),
    ),
    account_id=HUGE_AND_NEGATIVE,
)
def test_steam_history_pages_normalise_or_raise_bad_response(result, account_id):
    page = _normalises_or_refuses(lambda raw: steam_history_page(raw, account_id), result)
    if page is not None:
        assert page.results_remaining >= 0
        assert all(entry.match_id > 0 for entry in page.entries)


@settings(max_examples=EXAMPLES)
@given(
    raw=st.one_of(
        JSON_VALUES,
        bent(REAL_OPENDOTA_ENTRY, ["match_id", "start_time", "player_slot", "hero_id"]),
    )
)
def test_opendota_history_entries_normalise_or_raise_bad_response(raw):
    entry = _normalises_or_refuses(opendota_history_entry, raw)
    if entry is not None:
        assert entry.match_id > 0
        assert entry.player_slot is None or 0 <= entry.player_slot <= 255


# --- ids and filters in URLs ------------------------------------------------------------------

FUZZ_HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


MY_MATCHES = range(7_000_000_000, 7_000_000_003)


@pytest.fixture
def markup_in_names(account, others_account) -> None:
    """alice's account and her team mate's have markup for names and share three matches;
    bob's account has a job."""
    SteamAccount.objects.filter(pk=account.pk).update(persona_name="<b>Alice</b>")
    make_account(TEAMMATE, persona_name="<script>alert('mate')</script>")
    for match_id in MY_MATCHES:
        complete_match(match_id, account, won=match_id % 2 == 0, teammates=[TEAMMATE])
    SyncJob.objects.create(account=others_account, job_type=JobType.FULL)


@contextlib.contextmanager
def example_rolled_back() -> Iterator[None]:
    """Every example starts from the fixture's data: hypothesis runs them all in one test, so
    an account one example linked would otherwise be alice's in the next."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def names_alices_account(value: str) -> bool:
    """Whether the API reads `value` as alice's account id: then it is no hostile input."""
    return bool(re.fullmatch(r"-?[0-9]+", value.strip())) and int(value) == ACCOUNT_ID


def _never_500(response, what: str) -> None:
    assert response.status_code < 500, (what, response.status_code)


@settings(max_examples=WEB_EXAMPLES, deadline=None, suppress_health_check=FUZZ_HEALTH)
@given(number=HUGE_AND_NEGATIVE)
def test_huge_and_negative_ids_in_paths_are_404(signed_in, api, markup_in_names, number):
    assume(number not in MY_MATCHES)  # alice's own: they are found
    web = signed_in
    for path in (f"/matches/{number}/", f"/jobs/{number}/"):
        response = web.get(path)
        assert response.status_code == 404, (path, response.status_code)
    response = web.post(f"/jobs/{number}/cancel/")
    assert response.status_code == 404, number
    for path in (f"/api/matches/{number}/", f"/api/sync/jobs/{number}/"):
        response = api.get(path)
        assert response.status_code == 404, (path, response.status_code)
        assert response["Content-Type"].startswith("application/json")
    assert api.post(f"/api/sync/cancel/{number}").status_code == 404


@settings(max_examples=WEB_EXAMPLES, deadline=None, suppress_health_check=FUZZ_HEALTH)
@given(value=HOSTILE_TEXT)
def test_hostile_filters_are_refused_never_500(signed_in, api, markup_in_names, value):
    assume(not names_alices_account(value))
    cache.clear()  # the per-user start throttle would answer 429 after 30 examples
    with example_rolled_back():
        _hostile_filters_are_refused(signed_in, api, value)


def _hostile_filters_are_refused(web: Client, api: APIClient, value: str) -> None:
    quoted = quote(value, safe="")
    for path in ("/", "/matches/", "/teammates/", "/stats/"):
        response = web.get(f"{path}?account={quoted}")
        assert response.status_code in (200, 404), (path, response.status_code)
    filters = ("start", "end", "hero", "game_mode", "lobby_type", "side", "teammate")
    # The stats pages check their filters with the match list's form; their own options here.
    pages = [("/matches/", name) for name in (*filters, "result", "status", "page")]
    pages += [("/stats/", "by"), ("/stats/heroes/", "sort")]
    for path, name in pages:
        response = web.get(f"{path}?{name}={quoted}")
        # A filter that cannot be used is named in the form: 400, never a 500.
        assert response.status_code in (200, 400), (path, name, response.status_code)
        if "<" in value:  # echoed in the form's error, but escaped
            assert value not in response.content.decode()
    for name in (*filters, "account", "by"):
        response = api.get(f"/api/stats/over-time/?{name}={quoted}")
        assert response.status_code in (200, 400, 404), (name, response.status_code)
    for path, name in (
        ("/api/matches/", "account"),
        ("/api/matches/", "hero_id"),
        ("/api/matches/", "won"),
        ("/api/matches/", "details_status"),
        ("/api/matches/", "start_after"),
        ("/api/matches/", "ordering"),
        ("/api/matches/", "page"),
        ("/api/teammates/", "account"),
        ("/api/sync/jobs/", "account"),
    ):
        response = api.get(f"{path}?{name}={quoted}")
        assert response.status_code in (200, 400, 404), (path, name, response.status_code)
    for path in ("/api/sync/trigger", "/api/sync/backfill"):
        response = api.post(path, {"account_id": value}, format="json")
        assert response.status_code in (400, 404), (path, response.status_code)
    response = api.post("/api/accounts/", {"account": value}, format="json")
    _never_500(response, "link")


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_in_a_filter_leaks_nothing(signed_in, api, markup_in_names, payload):
    web = signed_in
    response = api.get("/api/matches/", {"hero_id": payload, "account": payload})
    assert response.status_code == 400
    response = web.get("/matches/", {"account": payload})
    assert response.status_code == 404
    response = web.get("/matches/", {"hero": payload, "status": payload})
    # The bogus filters are refused, named in the form (escaped), and nothing is listed.
    assert response.status_code == 400
    html = response.content.decode()
    assert html.count("/matches/7000000") == 0
    assert "Select a valid choice" in html
    assert payload not in html or payload == escape(payload)


def test_persona_names_render_escaped_on_every_page(signed_in, markup_in_names):
    web = signed_in
    pages = [
        "/",
        "/accounts/",
        "/matches/",
        "/matches/7000000000/",
        "/teammates/",
        "/stats/",
        "/stats/with-against/",
    ]
    shown = ""
    for path in pages:
        response = web.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert "<script>alert('mate')</script>" not in html, path
        assert "<b>Alice</b>" not in html, path
        shown += html
    # The names are on the pages - escaped, not dropped.
    assert "&lt;script&gt;alert(&#x27;mate&#x27;)&lt;/script&gt;" in shown
    assert "&lt;b&gt;Alice&lt;/b&gt;" in shown
