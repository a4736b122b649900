"""The simulator's STRATZ: POST /graphql, answered as STRATZ's gateway and server answer.

No real captured STRATZ answer exists in a licensed repository (shared/realdata/SOURCES.md,
"stratz_player_matches/ and stratz_match/ — EMPTY"), so the shape comes from the published
schema (shared/realdata/stratz_queries/d2a_stratz-graphql-schema_introspected_2026-03.graphqls):
the query is parsed, validated and executed by graphql-core against stratz_schema.graphqls,
the part of that schema DotaSync asks for (held against the whole by a fidelity test). So an
answer carries exactly the fields the query asked, typed as the schema types them, and a
query asking for a field STRATZ lacks is refused. Matching on the operation name would have
answered a fixed shape whatever the query asked.

What happens before the query is read is the gateway's, as observed on 2026-06-18 (SOURCES.md,
"STRATZ limits, headers and behaviour", from aneviaro/stratz-mcp's discovery evidence):
- a User-Agent other than STRATZ_API: 403, Cloudflare's challenge page (`cf-mitigated:
  challenge`);
- no Content-Type application/json: 400 CSRF_PROTECTION;
- no token, or a JWT-shaped one that is not the token: 403 JSON, `WWW-Authenticate: Key
  realm="kong"`; any other wrong token (malformed): 500 JSON;
- per-token limits (Kong's rate-limiting plugin, which runs after authentication): calls a
  second, minute, hour and UTC day (the default tier 20/250/2,000/10,000, from the only
  published mention, a pastebin helper), each answer carrying X-RateLimit-Limit-<Window> and
  X-RateLimit-Remaining-<Window>; past a limit 429 with Retry-After until the window ends;
- bad JSON: 400 JSON_INVALID; a syntax error: 400 SYNTAX_ERROR; an unknown field: 400
  GRAPHQL_VALIDATION_FAILED;
- an unknown match: 200, `data.match` null, no errors.

Which matches STRATZ has is decided in one place, `stratz_knows`.
"""

import json
import random
import re
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from graphql import GraphQLError, build_schema, execute, parse, validate

from matches.upstream.simulator.responses import Response, json_response
from matches.upstream.simulator.world import STRATZ_VIEW, World
from matches.upstream.steam_ids import ANONYMOUS_ACCOUNT_ID

SCHEMA = build_schema((Path(__file__).parent / "stratz_schema.graphqls").read_text("utf-8"))
USER_AGENT = "STRATZ_API"
# STRATZ's default tier (shared/NOTES.md); 0 turns a window's limit off.
DEFAULT_LIMITS = {"second": 20, "minute": 250, "hour": 2000, "day": 10_000}
WINDOW_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86_400}
# The most player.matches answers a request (its `take`).
PAGE_MAX = 100
_JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
CHALLENGE_PAGE = (
    "<!DOCTYPE html><html><head><title>Just a moment...</title></head>"
    "<body>Enable JavaScript and cookies to continue</body></html>"
)
# STRATZ's position for each of a team's five seats, by a seeded shuffle; a position's lane.
LANE_OF_POSITION = {1: "SAFE_LANE", 2: "MID_LANE", 3: "OFF_LANE", 4: "OFF_LANE", 5: "SAFE_LANE"}
LANE_OUTCOMES = ("TIE", "RADIANT_VICTORY", "RADIANT_STOMP", "DIRE_VICTORY", "DIRE_STOMP")
GAME_MODES = list(SCHEMA.get_type("GameModeEnumType").values)
LOBBY_TYPES = list(SCHEMA.get_type("LobbyTypeEnum").values)[:10]
LEAVER_STATUSES = list(SCHEMA.get_type("LeaverStatusEnum").values)


def stratz_knows(world: World, account_id: int, match_id: int) -> bool:
    """Whether STRATZ has `match_id`, one of `account_id`'s matches: the world's STRATZ view
    of the account (World.knows: nothing of a private account, none of a private period, and
    the matches only STRATZ has)."""
    return world.knows(STRATZ_VIEW, account_id, match_id)


class StratzGateway:
    """The counters of STRATZ's per-token windows, and the answer to each POST /graphql."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # window -> (the window's number, calls counted in it)
        self._counts: dict[str, tuple[int, int]] = {}

    def reset(self) -> None:
        with self._lock:
            self._counts = {}

    def spend_day(self, limits: dict[str, int], now: float) -> None:
        """Another client of the token spent the rest of its UTC day."""
        with self._lock:
            if limits.get("day"):
                self._counts["day"] = (int(now // WINDOW_SECONDS["day"]), limits["day"])

    def handle(
        self,
        config: dict[str, Any],
        world: World,
        headers: Any,
        body: bytes,
        now: float,
    ) -> Response:
        agent = headers.get("User-Agent", "") if headers is not None else ""
        if agent != USER_AGENT:
            return Response(
                403,
                CHALLENGE_PAGE.encode(),
                "text/html; charset=UTF-8",
                {"cf-mitigated": "challenge"},
            )
        if "application/json" not in (headers.get("Content-Type") or "").lower():
            return _error(400, "CSRF_PROTECTION", "requests need Content-Type application/json")
        refused = _token_refusal(config, headers.get("Authorization") or "")
        if refused is not None:
            return refused
        counted, over = self._count(config["stratz_limits"], now)
        if over is not None:
            response = _error(429, "RATE_LIMITED", "API rate limit exceeded")
            response.headers["Retry-After"] = str(over)
        else:
            response = _answer(world, body)
        response.headers.update(counted)
        return response

    def _count(self, limits: dict[str, int], now: float) -> tuple[dict[str, str], int | None]:
        """Kong's count of this call in each window: the headers, and the seconds until the
        longest exceeded window ends (None: within every limit; the call is then counted)."""
        headers: dict[str, str] = {}
        over: int | None = None
        with self._lock:
            current = {}
            for window, limit in limits.items():
                if not limit:
                    continue
                number = int(now // WINDOW_SECONDS[window])
                seen_number, used = self._counts.get(window, (number, 0))
                used = used if seen_number == number else 0
                current[window] = (number, used)
                if used >= limit:
                    ends = WINDOW_SECONDS[window] - int(now % WINDOW_SECONDS[window])
                    over = max(over or 0, max(1, ends))
            for window, (number, used) in current.items():
                used += 0 if over is not None else 1
                self._counts[window] = (number, used)
                name = window.capitalize()
                headers[f"X-RateLimit-Limit-{name}"] = str(limits[window])
                headers[f"X-RateLimit-Remaining-{name}"] = str(max(0, limits[window] - used))
        return headers, over


def _error(status: int, code: str, message: str) -> Response:
    return json_response({"errors": [{"message": message, "extensions": {"code": code}}]}, status)


def _token_refusal(config: dict[str, Any], authorization: str) -> Response | None:
    token = authorization.removeprefix("Bearer ").strip()
    if token and token == config["stratz_token"]:
        return None
    if not token or _JWT.match(token):
        response = json_response({"message": "Unauthorized"}, 403)
        response.headers["WWW-Authenticate"] = 'Key realm="kong"'
        return response
    return json_response({"message": "An unexpected error occurred"}, 500)


def _answer(world: World, body: bytes) -> Response:
    try:
        request = json.loads(body)
        if not isinstance(request, dict) or not isinstance(request.get("query"), str):
            raise ValueError("the body is no GraphQL request")
    except ValueError:  # json.JSONDecodeError included
        return _error(400, "JSON_INVALID", "the body is not a GraphQL request in JSON")
    try:
        document = parse(request["query"])
    except GraphQLError as exc:
        return _error(400, "SYNTAX_ERROR", exc.message)
    invalid = validate(SCHEMA, document)
    if invalid:
        return _error(400, "GRAPHQL_VALIDATION_FAILED", invalid[0].message)
    variables = request.get("variables") or {}
    result = execute(
        SCHEMA,
        document,
        root_value=_root(world),
        variable_values=variables if isinstance(variables, dict) else {},
        operation_name=request.get("operationName"),
    )
    answer: dict[str, Any] = {"data": result.data}
    if result.errors:
        answer["errors"] = [error.formatted for error in result.errors]
    response = json_response(answer)
    response.content_type = "application/graphql-response+json; charset=utf-8"
    return response


def _root(world: World) -> dict[str, Callable[..., Any]]:
    """DotaQuery's fields; graphql-core calls a callable value with (info, **arguments)."""

    def match(info: Any, id: int) -> dict[str, Any] | None:
        lineup = world.lineup(int(id))
        if lineup is None or not any(
            stratz_knows(world, seat.account_id, lineup.match_id) for seat in lineup.seats
        ):
            return None
        return stratz_match(world, lineup.match_id)

    def player(info: Any, steamAccountId: int) -> dict[str, Any]:
        account_id = int(steamAccountId)
        return {
            "steamAccountId": account_id,
            "matchCount": lambda info: len(known_matches(world, account_id)),
            "matches": lambda info, request: _page(world, account_id, request),
        }

    return {"match": match, "player": player}


def known_matches(world: World, account_id: int) -> list[int]:
    """The account's matches STRATZ has, newest first."""
    return list(world.listed_by(STRATZ_VIEW, account_id))


def _page(world: World, account_id: int, request: dict[str, Any]) -> list[dict[str, Any]]:
    take = min(max(request.get("take") or PAGE_MAX, 0), PAGE_MAX)
    skip = max(request.get("skip") or 0, 0)
    ids = known_matches(world, account_id)
    if request.get("orderBy") == "ASC":
        ids.reverse()
    return [stratz_match(world, match_id) for match_id in ids[skip : skip + take]]


# MatchPlayerType's end-of-game numbers, by the Steam field (World.steam_details) they come from.
PERFORMANCE = {
    "numLastHits": "last_hits",
    "numDenies": "denies",
    "goldPerMinute": "gold_per_min",
    "experiencePerMinute": "xp_per_min",
    "level": "level",
    "networth": "net_worth",
    "heroDamage": "hero_damage",
    "towerDamage": "tower_damage",
    "heroHealing": "hero_healing",
    "gold": "gold",
    "goldSpent": "gold_spent",
    **{f"item{n}Id": f"item_{n}" for n in range(6)},
    **{f"backpack{n}Id": f"backpack_{n}" for n in range(3)},
    "neutral0Id": "item_neutral",
}


def stratz_match(world: World, match_id: int) -> dict[str, Any]:
    """A match of the world as MatchType: the world's lineup and Steam's numbers
    (World.steam_details) under STRATZ's names, with STRATZ's own positions, lanes, IMP and
    lane outcomes (seeded). The numbers are worked out only when a query asks for one (a
    listing page asks for none), as graphql-core calls a callable field."""
    lineup = world.lineup(match_id)
    details = cache(lambda: {p["player_slot"]: p for p in world.steam_details(match_id)["players"]})
    rng = random.Random(f"{world.seed}:{match_id}:stratz")
    players = []
    for is_radiant in (True, False):
        team = [seat for seat in lineup.seats if seat.is_radiant == is_radiant]
        positions = rng.sample(range(1, 6), k=5)
        for seat, position in zip(team, positions, strict=False):
            players.append(_player(lineup, seat, position, rng.randint(-60, 60), details))
    lanes = {f"{lane}LaneOutcome": rng.choice(LANE_OUTCOMES) for lane in ("bottom", "mid", "top")}

    def players_of(info: Any, steamAccountId: int | None = None) -> list[_Player]:
        if steamAccountId is None:
            return players
        return [p for p in players if p["steamAccountId"] == int(steamAccountId)]

    return {
        "id": lineup.match_id,
        "didRadiantWin": lineup.radiant_win,
        "durationSeconds": lineup.duration,
        "startDateTime": lineup.start_time,
        "endDateTime": lineup.start_time + lineup.duration,
        "sequenceNum": lineup.match_seq_num,
        "gameMode": GAME_MODES[lineup.game_mode]
        if lineup.game_mode < len(GAME_MODES)
        else "UNKNOWN",
        "lobbyType": LOBBY_TYPES[lineup.lobby_type]
        if lineup.lobby_type < len(LOBBY_TYPES)
        else None,
        "leagueId": lineup.leagueid,
        "clusterId": lineup.cluster,
        "firstBloodTime": lineup.first_blood_time,
        **lanes,
        "players": players_of,
    }


class _Player(dict):
    """A MatchPlayerType: its fields, with the end-of-game numbers (PERFORMANCE) looked up in
    Steam's details only when graphql-core's default resolver asks for one (`get`). One object
    per player rather than a lambda per number: a 100-match page made 22,000 closures, and the
    garbage collector's passes over the world's caches they set off took 0.2-0.4 s a page."""

    def __init__(self, fields: dict[str, Any], slot: int, details: Callable[[], dict]) -> None:
        super().__init__(fields)
        self.slot = slot
        self.details = details

    def get(self, key: str, default: Any = None) -> Any:
        if key in PERFORMANCE:
            return self.details()[self.slot][PERFORMANCE[key]]
        return super().get(key, default)


def _player(
    lineup: Any, seat: Any, position: int, imp: int, details: Callable[[], dict[int, dict]]
) -> _Player:
    shown = seat.shown_account_id
    leaver = seat.leaver_status
    fields = {
        "matchId": lineup.match_id,
        # An anonymous player has no account on STRATZ either.
        "steamAccountId": None if shown == ANONYMOUS_ACCOUNT_ID else shown,
        "playerSlot": seat.slot,
        "isRadiant": seat.is_radiant,
        "isVictory": lineup.radiant_win == seat.is_radiant,
        "heroId": seat.hero_id,
        "variant": seat.hero_variant,
        "kills": seat.kills,
        "deaths": seat.deaths,
        "assists": seat.assists,
        "leaverStatus": LEAVER_STATUSES[leaver] if leaver < len(LEAVER_STATUSES) else None,
        "lane": LANE_OF_POSITION[position],
        "position": f"POSITION_{position}",
        "imp": imp,
        "award": "NONE",
    }
    return _Player(fields, seat.slot, details)
