"""The simulator's settings: defaults, validation, and the faults it can inject."""

from typing import Any

from matches.upstream.simulator.world import SPLIT_KEYS
from matches.upstream.steam_ids import ANONYMOUS_ACCOUNT_ID

ENDPOINTS = (
    "history",
    "details",
    "sequence",
    "vanity",
    "summaries",
    "opendota_player_matches",
    "opendota_match",
    "opendota_request_parse",
    "opendota_parse_job",
    "opendota_refresh",
    # STRATZ's POST /graphql (matches.upstream.simulator.stratz), every query.
    "stratz",
)
MATCH_ENDPOINTS = ("details", "sequence", "opendota_match")
FAULTS = (
    "500",
    "503",
    "429",
    "not_found",
    "malformed",
    "wrong_types",
    "hang",
    "slow",
    "missing_from_sequence",
)
STEAM_ENDPOINTS = {"history", "details", "sequence", "vanity", "summaries"}

DEFAULT_CONFIG: dict[str, Any] = {
    "api_key": "sim-key",
    "latency_ms": 0.0,
    "seed": 0,
    "default_matches": 150,
    "accounts": {},
    "vanity": {},
    "hidden_fraction": 0.0,
    "details_broken": False,
    "sequence_broken": False,
    "opendota_broken": False,
    "match_faults": {},
    "error_rate": {},
    "rate_limit": {},
    # The day's free OpenDota calls are spent already (another client on the same address):
    # every keyless call answers the daily 429, its day counter negative.
    "opendota_daily_limit": False,
    # The n-th call (since the last reset) of an endpoint answers a fault: {"history": {2: "503"}}.
    "call_faults": {},
    # When set, an OpenDota request carrying another api_key is refused with HTTP 400, as
    # OpenDota does; requests without a key are the free tier and always served.
    "opendota_api_key": "",
    # OpenDota's free tier, as odota/core svc/web.ts enforces it on every keyless call:
    # calls a UTC day (API_FREE_LIMIT, 3,000 since November 2025; 0: no limit) and calls a
    # minute (NO_API_KEY_PER_MIN_LIMIT, 60; 0: no limit). Every keyless answer then carries
    # X-Rate-Limit-Remaining-Day / -Minute = the limit minus the calls counted so far, this
    # one included, so the counters go negative on the 429s.
    "opendota_daily_allowance": 0,
    "opendota_minute_limit": 0,
    # Keyless calls another client on the same address made today before ours.
    "opendota_spent_today": 0,
    # STRATZ's token (Authorization: Bearer …) and its per-token limits a window (0: off).
    "stratz_token": "sim-token",
    "stratz_limits": {"second": 20, "minute": 250, "hour": 2000, "day": 10_000},
    # The share of ranked matches that are Immortal Draft: Steam's match sequence leaves
    # them out (the next match answers instead), other sources have them.
    "immortal_draft_fraction": 0.0,
    "hang_seconds": 30.0,
    "slow_seconds": 2.0,
    "fault_retry_after": 1.0,
    # Parse requests (matches.upstream.simulator.parse_queue): a job runs this long after it
    # was requested; a replay older than the lifetime is gone (about 10 days, NOTES.md); this
    # share of the other requested matches fails to parse. OpenDota parses this share of the
    # public matches (and every league match) by itself.
    "parse_delay_seconds": 20.0,
    "replay_lifetime_days": 10.0,
    "parse_failure_share": 0.1,
    "opendota_parsed_share": 0.05,
    # The simulator's present (Unix seconds): the newest matches were played the evening
    # before. None: the clock when the world is built.
    "now": None,
}
# Config keys the synthetic data depends on; changing one rebuilds the World.
WORLD_KEYS = (
    "seed",
    "default_matches",
    "accounts",
    "hidden_fraction",
    "immortal_draft_fraction",
    "now",
    "opendota_parsed_share",
)


def normalized_config(changes: dict[str, Any]) -> dict[str, Any]:
    """Validate and coerce a config change (JSON gives string keys and loose types)."""
    unknown = set(changes) - set(DEFAULT_CONFIG)
    if unknown:
        raise ValueError(f"unknown simulator settings: {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if key in ("api_key", "opendota_api_key", "stratz_token"):
            out[key] = str(value)
        elif key in (
            "latency_ms",
            "hidden_fraction",
            "immortal_draft_fraction",
            "hang_seconds",
            "slow_seconds",
            "fault_retry_after",
            "parse_delay_seconds",
            "replay_lifetime_days",
            "parse_failure_share",
            "opendota_parsed_share",
        ):
            out[key] = float(value)
        elif key in (
            "seed",
            "default_matches",
            "opendota_daily_allowance",
            "opendota_minute_limit",
            "opendota_spent_today",
        ):
            out[key] = int(value)
        elif key == "now":
            out[key] = None if value is None else float(value)
        elif key in (
            "details_broken",
            "sequence_broken",
            "opendota_broken",
            "opendota_daily_limit",
        ):
            out[key] = bool(value)
        elif key == "accounts":
            if any(not 0 <= int(account) < ANONYMOUS_ACCOUNT_ID for account in value):
                raise ValueError("accounts must be 32-bit account ids")
            out[key] = {
                int(account): {
                    **({"matches": int(s["matches"])} if "matches" in s else {}),
                    "private": bool(s.get("private", False)),
                    # How the sources' views of the history differ (World.knows).
                    **{key: float(s[key]) for key in SPLIT_KEYS if key in s},
                    **(
                        {"private_positions": [int(k) for k in s["private_positions"]]}
                        if s.get("private_positions")
                        else {}
                    ),
                }
                for account, s in value.items()
            }
        elif key == "stratz_limits":
            windows = {"second", "minute", "hour", "day"}
            if set(value) - windows:
                raise ValueError(f"stratz_limits windows are {', '.join(sorted(windows))}")
            out[key] = {window: max(0, int(limit)) for window, limit in value.items()}
        elif key == "vanity":
            out[key] = {str(name): int(account) for name, account in value.items()}
        elif key == "match_faults":
            out[key] = {int(match_id): _match_faults(f) for match_id, f in value.items()}
        elif key == "error_rate":
            out[key] = {endpoint_name(name): float(p) for name, p in value.items()}
        elif key == "call_faults":
            out[key] = {
                endpoint_name(name): {int(n): _call_fault(fault) for n, fault in faults.items()}
                for name, faults in value.items()
            }
        elif key == "rate_limit":
            out[key] = {
                endpoint_name(name): {
                    "burst": int(limit.get("burst", 0)),
                    "retry_after": float(limit.get("retry_after", 1)),
                }
                for name, limit in value.items()
            }
    return out


def endpoint_name(name: str) -> str:
    if name not in ENDPOINTS:
        raise ValueError(f"unknown endpoint {name!r}; one of {', '.join(ENDPOINTS)}")
    return name


# "daily": from this OpenDota (or STRATZ) call on, the day's calls are spent (by another client on
# the same address), so it and the rest of the day answer the daily 429.
CALL_FAULTS = ("500", "503", "429", "daily")


def _call_fault(fault: str) -> str:
    if fault not in CALL_FAULTS:
        raise ValueError(f"unknown call fault {fault!r}; one of {', '.join(CALL_FAULTS)}")
    return fault


def _match_faults(faults: dict[str, str]) -> dict[str, str]:
    for endpoint, fault in faults.items():
        if endpoint != "*" and endpoint not in MATCH_ENDPOINTS:
            raise ValueError(f"match faults apply to {', '.join(MATCH_ENDPOINTS)} or '*'")
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULTS)}")
    return dict(faults)
