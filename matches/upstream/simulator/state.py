"""The simulator's state: config, counters, request log, and the answer to each request."""

import hashlib
import json
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from matches.upstream.simulator.config import (
    DEFAULT_CONFIG,
    ENDPOINTS,
    STEAM_ENDPOINTS,
    WORLD_KEYS,
    endpoint_name,
    normalized_config,
)
from matches.upstream.simulator.parse_queue import ParseQueue
from matches.upstream.simulator.parsed import PARSER_VERSION
from matches.upstream.simulator.responses import (
    PRIVATE_HISTORY_DETAIL,
    STEAM_403,
    BadParameter,
    Response,
    html_page,
    int_param,
    json_response,
    server_error,
    steam_html,
    too_many,
    wrong_types,
)
from matches.upstream.simulator.stratz import StratzGateway
from matches.upstream.simulator.world import (
    SEQ_OFFSET,
    SEQUENCE_PAGE_MAX,
    STEAM_PAGE_DEFAULT,
    STEAM_PAGE_MAX,
    SUMMARIES_MAX,
    World,
    persona_name,
)
from matches.upstream.steam_ids import ANONYMOUS_ACCOUNT_ID, STEAM_ID64_OFFSET

OPENDOTA_FREE_DAILY_LIMIT = 3_000  # API_FREE_LIMIT since November 2025 (shared/NOTES.md)
PARSE_REQUEST_COST = 10  # odota/core svc/web.ts: `rateCost = 10` for POST /request/:match_id

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def _opendota_key_refusal(config: dict[str, Any], params: dict[str, str]) -> Response | None:
    """OpenDota's answer to a wrong key: HTTP 400, whatever the endpoint (svc/web.ts)."""
    given = params.get("api_key")
    if not config["opendota_api_key"] or given is None or given == config["opendota_api_key"]:
        return None
    if not _UUID.fullmatch(given):
        return json_response({"error": "Invalid API key format"}, 400)
    return json_response({"error": "API key invalid. Please check your key."}, 400)


@dataclass(frozen=True)
class OpenDotaCounters:
    """What OpenDota says is left after a keyless call; None for a limit that is off."""

    minute: int | None
    day: int | None

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.minute is not None:
            headers["X-Rate-Limit-Remaining-Minute"] = str(self.minute)
        if self.day is not None:
            headers["X-Rate-Limit-Remaining-Day"] = str(self.day)
        return headers


class SimulatorState:
    """Config, counters and request log of one simulator; safe to use from any thread."""

    def __init__(self, **config: Any) -> None:
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self.config: dict[str, Any] = {}
        self.world: World
        self.log: list[dict[str, Any]] = []
        self._calls: dict[str, int] = dict.fromkeys(ENDPOINTS, 0)
        # The simulator's clock (Unix seconds); OpenDota's counters reset with its minute and
        # its UTC day. Tests may replace it.
        self.clock: Callable[[], float] = time.time
        self._opendota_day = self._opendota_minute = -1
        self._opendota_today = 0  # keyless OpenDota calls of the UTC day
        self._opendota_this_minute = 0
        self._spent_elsewhere_today = 0  # the "daily" call fault's share of the day
        self.parse_queue = ParseQueue()
        self.stratz = StratzGateway()
        self._apply(dict(DEFAULT_CONFIG) | normalized_config(config), rebuild=True)

    def _apply(self, config: dict[str, Any], rebuild: bool) -> None:
        if rebuild:
            self.world = World(**{key: config[key] for key in WORLD_KEYS})
        if rebuild or config["seed"] != self.config.get("seed"):
            self._error_rng = random.Random(config["seed"])
        self.config = config

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Merge `changes` into the config (top-level keys are replaced whole)."""
        normalized = normalized_config(changes)
        with self._lock:
            config = self.config | normalized
            rebuild = any(config[key] != self.config[key] for key in WORLD_KEYS)
            self._apply(config, rebuild)
            return config

    def reset(self, config: bool = False) -> None:
        """Clear counters and log; with `config`, go back to the default config too."""
        with self._lock:
            self.log = []
            self._calls = dict.fromkeys(ENDPOINTS, 0)
            # A reset is a new day.
            self._opendota_today = self._opendota_this_minute = self._spent_elsewhere_today = 0
            self.parse_queue.clear()
            self.stratz.reset()
            if config:
                self._apply(dict(DEFAULT_CONFIG), rebuild=True)

    def calls(self, endpoint: str | None = None) -> int | dict[str, int]:
        """Calls to `endpoint` so far, or every endpoint's count as a dict."""
        with self._lock:
            return self._calls[endpoint_name(endpoint)] if endpoint else dict(self._calls)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"calls": dict(self._calls), "log": list(self.log)}

    # --- answering ----------------------------------------------------------------------

    def handle(self, method: str, target: str, body: bytes = b"", headers: Any = None) -> Response:
        """The answer to one HTTP request (the server only moves bytes); `headers` the
        request's (any mapping with a case-insensitive .get, e.g. http.server's)."""
        url = urlsplit(target)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        path = url.path.rstrip("/")
        if path.startswith("/_sim/"):
            return self._control(method, path, body)
        if path == "/graphql" and method == "POST":
            return self._stratz(body, headers)
        route = route_of(path, method)
        if route is None:
            if path.startswith("/api/"):
                return json_response({"error": "Not Found"}, 404)
            return steam_html(404, html_page("Not Found"))
        endpoint, path_params = route
        arrived = time.time()
        with self._lock:
            self._calls[endpoint] += 1
            call_number = self._calls[endpoint]
            logged = {k: v for k, v in params.items() if k not in ("key", "api_key")}
            self.log.append({"endpoint": endpoint, "t": arrived, "params": logged | path_params})
            config = self.config
            world = self.world
        scripted = config["call_faults"].get(endpoint, {}).get(call_number)
        opendota = endpoint.startswith("opendota")
        # OpenDota refuses a wrong key before its rate limiter counts the call (svc/web.ts).
        refused = _opendota_key_refusal(config, params) if opendota else None
        counters = None
        if opendota and refused is None:
            counters = self._count_opendota_call(
                config,
                params,
                spend_the_day=scripted == "daily",
                cost=PARSE_REQUEST_COST if endpoint == "opendota_request_parse" else 1,
            )
            scripted = None if scripted == "daily" else scripted
        if refused is not None:
            response = refused
        elif counters is not None and counters.minute is not None and counters.minute < 0:
            response = json_response({"error": "minute rate limit exceeded"}, 429)
        elif counters is not None and counters.day is not None and counters.day < 0:
            response = json_response({"error": "daily api limit exceeded"}, 429)
        elif scripted is None:
            response = self._answer(endpoint, config, world, params | path_params)
        elif scripted == "429":
            response = too_many(opendota, config["fault_retry_after"])
        else:
            response = server_error(opendota, int(scripted))
        if counters is not None:
            response.headers.update(counters.headers())
        response.delay += config["latency_ms"] / 1000
        return response

    def _stratz(self, body: bytes, headers: Any) -> Response:
        arrived = time.time()
        with self._lock:
            self._calls["stratz"] += 1
            call_number = self._calls["stratz"]
            try:
                variables = json.loads(body).get("variables") or {}
            except (ValueError, AttributeError):
                variables = {}
            self.log.append({"endpoint": "stratz", "t": arrived, "params": variables})
            config = self.config
            world = self.world
        scripted = config["call_faults"].get("stratz", {}).get(call_number)
        if scripted == "daily":  # the token's day is spent from this call on
            self.stratz.spend_day(config["stratz_limits"], self.clock())
            scripted = None
        if scripted == "429":
            response = too_many(True, config["fault_retry_after"])
        elif scripted is not None:
            response = server_error(True, int(scripted))
        else:
            response = self.stratz.handle(config, world, headers, body, self.clock())
        response.delay += config["latency_ms"] / 1000
        return response

    def _count_opendota_call(
        self,
        config: dict[str, Any],
        params: dict[str, str],
        *,
        spend_the_day: bool,
        cost: int = 1,
    ) -> "OpenDotaCounters | None":
        """OpenDota's rate limiter (odota/core svc/web.ts): every keyless call is counted in
        the minute and in the UTC day before anything is checked, 429s included, and the
        answer says `limit - count`: 0 after the last free call, negative beyond it. The
        minute is checked first, then the day. None: no limit applies to this call.
        `spend_the_day`: another client on the address spends the rest of the day first.
        `cost`: a parse request counts 10 (`rateCost = 10` for POST /request/:match_id), so
        it is refused when fewer than 10 are left, and still counted."""
        if "api_key" in params:
            return None
        now = self.clock()
        day, minute = int(now // 86_400), int(now // 60)
        with self._lock:
            if day != self._opendota_day:
                self._opendota_day = day
                self._opendota_today = self._spent_elsewhere_today = 0
            if minute != self._opendota_minute:
                self._opendota_minute, self._opendota_this_minute = minute, 0
            spent_elsewhere = config["opendota_daily_limit"] or spend_the_day
            daily = config["opendota_daily_allowance"] or (
                OPENDOTA_FREE_DAILY_LIMIT if spent_elsewhere or self._spent_elsewhere_today else 0
            )
            if spent_elsewhere:
                self._spent_elsewhere_today = max(self._spent_elsewhere_today, daily)
            per_minute = config["opendota_minute_limit"]
            if not (daily or per_minute):
                return None
            self._opendota_today += cost
            self._opendota_this_minute += cost
            spent = self._opendota_today + self._spent_elsewhere_today
            spent += config["opendota_spent_today"]
            return OpenDotaCounters(
                minute=per_minute - self._opendota_this_minute if per_minute else None,
                day=daily - spent if daily else None,
            )

    def _answer(
        self, endpoint: str, config: dict[str, Any], world: World, params: dict[str, str]
    ) -> Response:
        steam = endpoint in STEAM_ENDPOINTS
        if steam and params.get("key") != config["api_key"]:
            return steam_html(403, STEAM_403)
        refused = self._refusal(endpoint, config)
        if refused is not None:
            return refused
        try:
            match endpoint:
                case "history":
                    return self._history(world, params)
                case "details":
                    return self._details(config, world, params)
                case "sequence":
                    return self._sequence(config, world, params)
                case "vanity":
                    return self._vanity(config, params)
                case "summaries":
                    return self._summaries(world, params)
                case "opendota_player_matches":
                    return self._opendota_player_matches(config, world, params)
                case "opendota_refresh":
                    # odota/core svc/api/spec.ts, POST /players/{account_id}/refresh: queues
                    # the rescan of the newest 500 matches (fhQueue), rank and name, and
                    # answers `{}`; it is one call against the rate limits (shared/NOTES.md).
                    return json_response({})
                case "opendota_request_parse":
                    job_id = self.parse_queue.request(
                        int(params["match_id"]), self.clock(), with_key="api_key" in params
                    )
                    return json_response({"job": {"jobId": job_id}})
                case "opendota_parse_job":
                    self.parse_queue.settle(world, self.clock(), config)
                    return json_response(self.parse_queue.job(int(params["job_id"])))
                case _:
                    return self._opendota_match(config, world, params)
        except BadParameter as exc:
            if steam:
                return steam_html(400, html_page(f"Bad Request: {exc}"))
            return json_response({"error": str(exc)}, 400)

    def _refusal(self, endpoint: str, config: dict[str, Any]) -> Response | None:
        """Endpoint-wide faults: rate limits, broken endpoints, random errors."""
        opendota = endpoint.startswith("opendota")
        with self._lock:
            limit = config["rate_limit"].get(endpoint)
            if limit and limit["burst"] > 0:
                limit["burst"] -= 1
                return too_many(opendota, limit["retry_after"])
            error_rate = config["error_rate"].get(endpoint, 0.0)
            failing = error_rate > 0 and self._error_rng.random() < error_rate
        broken = {
            "details": config["details_broken"],
            "sequence": config["sequence_broken"],
            "opendota_player_matches": config["opendota_broken"],
            "opendota_match": config["opendota_broken"],
        }.get(endpoint, False)
        if broken or failing:
            return server_error(opendota, 500)
        return None

    def _fault(self, config: dict[str, Any], match_id: int, endpoint: str) -> str | None:
        faults = config["match_faults"].get(match_id, {})
        return faults.get(endpoint) or faults.get("*")

    def _history(self, world: World, params: dict[str, str]) -> Response:
        account_id = int_param(params, "account_id")
        if account_id is None:
            raise BadParameter("account_id is required")
        if account_id >= STEAM_ID64_OFFSET:
            account_id -= STEAM_ID64_OFFSET
        if world.is_private(account_id):
            return json_response(
                {
                    "result": {
                        "status": 15,
                        "statusDetail": PRIVATE_HISTORY_DETAIL,
                    }
                }
            )
        requested = int_param(params, "matches_requested", STEAM_PAGE_DEFAULT)
        requested = min(max(requested, 1), STEAM_PAGE_MAX)
        start = int_param(params, "start_at_match_id")
        return json_response({"result": world.steam_history(account_id, start, requested)})

    def _details(self, config: dict[str, Any], world: World, params: dict[str, str]) -> Response:
        match_id = int_param(params, "match_id")
        if match_id is None:
            raise BadParameter("match_id is required")
        return self._with_fault(
            self._fault(config, match_id, "details"),
            config,
            "details",
            lambda: world.steam_details(match_id),
            lambda match: {"result": match},
        )

    def _sequence(self, config: dict[str, Any], world: World, params: dict[str, str]) -> Response:
        start = int_param(params, "start_at_match_seq_num")
        if start is None:
            raise BadParameter("start_at_match_seq_num is required")
        requested = int_param(params, "matches_requested", SEQUENCE_PAGE_MAX)
        requested = min(max(requested, 1), SEQUENCE_PAGE_MAX)

        found: list[dict[str, Any]] = []

        def missing(match_id: int) -> bool:
            return self._fault(config, match_id, "sequence") == "missing_from_sequence"

        def first_match() -> dict[str, Any] | None:
            found.extend(world.sequence(start, requested, missing))
            return found[0] if found else None

        def wrap(first: dict[str, Any] | None) -> dict[str, Any]:
            matches = [first, *found[1:]] if first is not None else []
            return {"result": {"status": 1, "matches": matches}}

        return self._with_fault(
            self._fault(config, start + SEQ_OFFSET, "sequence"),
            config,
            "sequence",
            first_match,
            wrap,
        )

    def _opendota_match(
        self, config: dict[str, Any], world: World, params: dict[str, str]
    ) -> Response:
        match_id = int(params["match_id"])
        self.parse_queue.settle(world, self.clock(), config)
        parsed = match_id in self.parse_queue.parsed
        return self._with_fault(
            self._fault(config, match_id, "opendota_match"),
            config,
            "opendota_match",
            lambda: world.opendota_match(match_id, parsed=parsed),
            lambda match: match,
        )

    def _with_fault(
        self,
        fault: str | None,
        config: dict[str, Any],
        endpoint: str,
        build: Callable[[], dict[str, Any] | None],
        wrap: Callable[[dict[str, Any]], Any],
    ) -> Response:
        """One match endpoint's answer, bent by the match's fault if it has one."""
        opendota = endpoint == "opendota_match"
        if fault in ("500", "503"):
            return server_error(opendota, int(fault))
        if fault == "429":
            return too_many(opendota, config["fault_retry_after"])
        match = None if fault == "not_found" else build()
        if match is None:
            if endpoint == "details":
                return json_response({"result": {"error": "Match ID not found"}})
            if endpoint == "sequence":
                return json_response(wrap(None))
            return json_response({"error": "Not Found"}, 404)
        if fault == "wrong_types":
            match = wrong_types(match)
        response = json_response(wrap(match))
        if fault == "malformed":
            response.body = response.body[: len(response.body) // 2]
        elif fault == "hang":
            response.delay = config["hang_seconds"]
        elif fault == "slow":
            response.delay = config["slow_seconds"]
        return response

    def _vanity(self, config: dict[str, Any], params: dict[str, str]) -> Response:
        name = params.get("vanityurl", "")
        account_id = config["vanity"].get(name)
        digits = re.fullmatch(r"player(\d+)", name)
        if account_id is None and digits and int(digits[1]) < ANONYMOUS_ACCOUNT_ID:
            account_id = int(digits[1])
        if account_id is None:
            return json_response({"response": {"success": 42, "message": "No match"}})
        steamid = str(account_id + STEAM_ID64_OFFSET)
        return json_response({"response": {"steamid": steamid, "success": 1}})

    def _summaries(self, world: World, params: dict[str, str]) -> Response:
        """Steam leaves out the accounts it does not know (a few of the fillers)."""
        players = []
        for raw in params.get("steamids", "").split(",")[:SUMMARIES_MAX]:
            if not raw.strip().isdigit():
                continue
            account_id = int(raw) - STEAM_ID64_OFFSET
            if not world.has_profile(account_id):
                continue
            avatar = hashlib.sha1(str(account_id).encode()).hexdigest()
            base = f"https://avatars.steamstatic.com/{avatar}"
            players.append(
                {
                    "steamid": raw.strip(),
                    "communityvisibilitystate": 3,
                    "profilestate": 1,
                    "personaname": persona_name(account_id),
                    "profileurl": f"https://steamcommunity.com/profiles/{raw.strip()}/",
                    "avatar": f"{base}.jpg",
                    "avatarmedium": f"{base}_medium.jpg",
                    "avatarfull": f"{base}_full.jpg",
                    "personastate": 0,
                }
            )
        return json_response({"response": {"players": players}})

    def _opendota_player_matches(
        self, config: dict[str, Any], world: World, params: dict[str, str]
    ) -> Response:
        limit = int_param(params, "limit")
        offset = int_param(params, "offset", 0)
        entries = world.opendota_player_matches(
            int(params["account_id"]),
            significant=params.get("significant") != "0",
            limit=max(limit, 0) if limit is not None else None,
            offset=max(offset, 0),
        )
        # A match parsed on request lists its parser's version too.
        self.parse_queue.settle(world, self.clock(), config)
        for entry in entries:
            if entry["match_id"] in self.parse_queue.parsed:
                entry["version"] = PARSER_VERSION
        return json_response(entries)

    # --- control endpoints ----------------------------------------------------------------

    def _control(self, method: str, path: str, body: bytes) -> Response:
        try:
            payload = json.loads(body or b"{}")
        except json.JSONDecodeError:
            return json_response({"error": "the body is not JSON"}, 400)
        if method == "GET" and path == "/_sim/stats":
            return json_response(self.stats())
        if path == "/_sim/config" and method in ("GET", "POST"):
            if method == "GET":
                return json_response(jsonable(self.config))
            if not isinstance(payload, dict):
                return json_response({"error": "the config must be a JSON object"}, 400)
            try:
                return json_response(jsonable(self.configure(**payload)))
            except (ValueError, TypeError, AttributeError) as exc:
                return json_response({"error": str(exc)}, 400)
        if method == "POST" and path == "/_sim/reset":
            self.reset(config=isinstance(payload, dict) and bool(payload.get("config")))
            return json_response({"reset": True})
        return json_response({"error": "Not Found"}, 404)


# Endpoints asked with POST (every other one answers GET only).
def jsonable(config: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(config))


def route_of(path: str, method: str = "GET") -> tuple[str, dict[str, str]] | None:
    if method == "POST":
        if found := re.fullmatch(r"/api/request/(\d+)", path):
            return "opendota_request_parse", {"match_id": found[1]}
        if found := re.fullmatch(r"/api/players/(\d+)/refresh", path):
            return "opendota_refresh", {"account_id": found[1]}
        return None
    if method != "GET":
        return None
    if found := re.fullmatch(r"/api/request/(\d+)", path):
        return "opendota_parse_job", {"job_id": found[1]}
    steam = {
        "/idota2match_570/getmatchhistory/v1": "history",
        "/idota2match_570/getmatchdetails/v1": "details",
        "/idota2match_570/getmatchhistorybysequencenum/v1": "sequence",
        "/isteamuser/resolvevanityurl/v1": "vanity",
        "/isteamuser/getplayersummaries/v2": "summaries",
    }.get(path.lower())
    if steam:
        return steam, {}
    if found := re.fullmatch(r"/api/players/(\d+)/matches", path):
        return "opendota_player_matches", {"account_id": found[1]}
    if found := re.fullmatch(r"/api/matches/(\d+)", path):
        return "opendota_match", {"match_id": found[1]}
    return None
