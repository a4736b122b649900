"""HTTP answers in the shapes Steam and OpenDota give them, faults included."""

import json
from dataclasses import dataclass, field
from typing import Any

PRIVATE_HISTORY_DETAIL = "Cannot get match history for a user that hasn't allowed it"
STEAM_403 = (
    "<html><head><title>Forbidden</title></head><body><h1>Forbidden</h1>Access is denied. "
    "Retrying will not help. Please verify your <pre>key=</pre> parameter.</body></html>"
)


def html_page(title: str) -> str:
    return f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def json_response(data: Any, status: int = 200, **headers: str) -> Response:
    return Response(status, json.dumps(data).encode(), headers=headers)


def steam_html(status: int, text: str, **headers: str) -> Response:
    return Response(status, text.encode(), "text/html; charset=utf-8", headers)


class BadParameter(ValueError):
    pass


def int_param(params: dict[str, str], name: str, default: int | None = None) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadParameter(f"{name} must be an integer") from None


def too_many(opendota: bool, retry_after: float) -> Response:
    header = {"Retry-After": f"{retry_after:g}"}
    if opendota:
        return json_response({"error": "minute rate limit exceeded"}, 429, **header)
    return steam_html(429, html_page("Too Many Requests"), **header)


def server_error(opendota: bool, status: int) -> Response:
    if opendota:
        return json_response({"error": "Internal Server Error"}, status)
    if status == 500:
        return json_response({}, 500)  # Valve's broken GetMatchDetails answers exactly this
    return steam_html(status, html_page("Service Unavailable"))


def wrong_types(match: dict[str, Any]) -> dict[str, Any]:
    """Numbers as strings and players as an object, as a misbehaving upstream might send."""
    bent = {
        key: str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        for key, value in match.items()
    }
    if isinstance(match.get("players"), list):
        bent["players"] = {str(i): player for i, player in enumerate(match["players"])}
    return bent
