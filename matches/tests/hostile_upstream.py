"""A hostile upstream for tests: a real HTTP server on 127.0.0.1 in front of the simulator.

Each request is answered as the simulator answers it, unless a rule claims it. A rule's
behaviour can spoil the answer's JSON (a NUL in a name, NaN in a skill build), replace it
(JSON nested too deeply to read), trickle it a byte at a time, send an answer without end,
or redirect. A real socket is needed: a trickle or an endless answer is a matter of time and
of bytes on the wire, which a mock of `requests` cannot show. What it served is recorded.
"""

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from matches.upstream.simulator import SimulatorHandle

ENDLESS_PIECE = b" " * 65536


@dataclass
class Served:
    """One request a rule claimed: what the server managed to send before it ended."""

    path: str
    params: dict[str, str]
    behaviour: str
    bytes_sent: int = 0
    client_went_away: bool = False


class Answer:
    """The handler of one request, as behaviours see it."""

    def __init__(self, handler: "_Handler", served: Served) -> None:
        self.handler = handler
        self.served = served

    def genuine(self) -> tuple[int, dict[str, str], bytes]:
        """What the simulator answers to this request."""
        response = self.handler.server.simulator.state.handle("GET", self.handler.path, b"")
        headers = {"Content-Type": response.content_type, **response.headers}
        return response.status, headers, response.body

    def head(self, status: int, headers: dict[str, str]) -> None:
        self.handler.send_response(status)
        for name, value in headers.items():
            self.handler.send_header(name, value)
        self.handler.end_headers()

    def send(self, data: bytes) -> None:
        self.handler.wfile.write(data)
        self.handler.wfile.flush()
        self.served.bytes_sent += len(data)

    def whole(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.head(status, {**headers, "Content-Length": str(len(body))})
        self.send(body)


Behaviour = Callable[[Answer], None]


def spoiled(spoil: Callable[[Any], None]) -> Behaviour:
    """The simulator's answer with `spoil` applied to its JSON; NaN goes out as `NaN`, as
    Python's json module writes it (and reads it: json.loads accepts it)."""

    def behave(answer: Answer) -> None:
        status, headers, body = answer.genuine()
        data = json.loads(body)
        spoil(data)
        answer.whole(status, headers, json.dumps(data).encode())

    behave.__name__ = "spoiled"
    return behave


def replaced(body: bytes, status: int = 200) -> Behaviour:
    def behave(answer: Answer) -> None:
        answer.whole(status, {"Content-Type": "application/json"}, body)

    behave.__name__ = "replaced"
    return behave


def trickled(every: float) -> Behaviour:
    """The simulator's answer, one byte every `every` seconds (each byte well within any
    read timeout, so only a limit on the whole answer's time ends it)."""

    def behave(answer: Answer) -> None:
        status, headers, body = answer.genuine()
        answer.head(status, {**headers, "Content-Length": str(len(body))})
        for index in range(len(body)):
            answer.send(body[index : index + 1])
            time.sleep(every)

    behave.__name__ = "trickled"
    return behave


def endless(up_to: int) -> Behaviour:
    """An answer without Content-Length that goes on until the client goes away (or, so a
    client without a limit still ends, until `up_to` bytes)."""

    def behave(answer: Answer) -> None:
        answer.head(200, {"Content-Type": "application/json", "Connection": "close"})
        answer.handler.close_connection = True
        while answer.served.bytes_sent < up_to:
            answer.send(ENDLESS_PIECE)

    behave.__name__ = "endless"
    return behave


def redirected(location: str) -> Behaviour:
    def behave(answer: Answer) -> None:
        answer.whole(302, {"Location": location}, b"")

    behave.__name__ = "redirected"
    return behave


@dataclass
class Rule:
    path: re.Pattern[str]
    behaviour: Behaviour


class HostileServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, simulator: SimulatorHandle) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.simulator = simulator
        self.rules: list[Rule] = []
        self.served: list[Served] = []
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        """Steam's base URL (STEAM_API_BASE_URL) through this server."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def opendota_url(self) -> str:
        """OpenDota's base URL (OPENDOTA_API_BASE_URL) through this server."""
        return self.base_url + "/api"

    def on(self, path: str, behaviour: Behaviour) -> None:
        """Requests whose path matches the regex `path` (from its start) get `behaviour`."""
        self.rules.append(Rule(re.compile(path), behaviour))

    def claimed(self, behaviour: str) -> list[Served]:
        with self.lock:
            return [served for served in self.served if served.behaviour == behaviour]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: HostileServer

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        rule = next((r for r in self.server.rules if r.path.match(url.path)), None)
        if rule is None:
            relay = Answer(self, Served(url.path, {}, "relayed"))
            relay.whole(*relay.genuine())
            return
        params = {key: values[0] for key, values in parse_qs(url.query).items()}
        served = Served(url.path, params, rule.behaviour.__name__)
        with self.server.lock:
            self.server.served.append(served)
        try:
            rule.behaviour(Answer(self, served))
        except (BrokenPipeError, ConnectionResetError):
            served.client_went_away = True
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def hostile_server(simulator: SimulatorHandle) -> Iterator[HostileServer]:
    server = HostileServer(simulator)
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="hostile-upstream", daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
