"""The simulator's settings: defaults, validation, and the faults it can inject."""

from typing import Any

from matches.models import ANONYMOUS_ACCOUNT_ID

ENDPOINTS = (
    "history",
    "details",
    "sequence",
    "vanity",
    "summaries",
    "opendota_player_matches",
    "opendota_match",
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
    "opendota_daily_limit": False,
    # The n-th call (since the last reset) of an endpoint answers a fault: {"history": {2: "503"}}.
    "call_faults": {},
    # When set, an OpenDota request carrying another api_key is refused with HTTP 400, as
    # OpenDota does; requests without a key are the free tier and always served.
    "opendota_api_key": "",
    # OpenDota's free tier: calls without a key a day (0: no limit). Answers then carry
    # X-Rate-Limit-Remaining-Day, and once it is spent a 429 "daily api limit exceeded".
    "opendota_daily_allowance": 0,
    "hang_seconds": 30.0,
    "slow_seconds": 2.0,
    "fault_retry_after": 1.0,
    # The simulator's present (Unix seconds): the newest matches were played the evening
    # before. None: the clock when the world is built.
    "now": None,
}
# Config keys the synthetic data depends on; changing one rebuilds the World.
WORLD_KEYS = ("seed", "default_matches", "accounts", "hidden_fraction", "now")


def normalized_config(changes: dict[str, Any]) -> dict[str, Any]:
    """Validate and coerce a config change (JSON gives string keys and loose types)."""
    unknown = set(changes) - set(DEFAULT_CONFIG)
    if unknown:
        raise ValueError(f"unknown simulator settings: {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if key in ("api_key", "opendota_api_key"):
            out[key] = str(value)
        elif key in (
            "latency_ms",
            "hidden_fraction",
            "hang_seconds",
            "slow_seconds",
            "fault_retry_after",
        ):
            out[key] = float(value)
        elif key in ("seed", "default_matches", "opendota_daily_allowance"):
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
                }
                for account, s in value.items()
            }
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


CALL_FAULTS = ("500", "503", "429")


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
