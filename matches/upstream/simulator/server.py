"""Serving the simulator over HTTP: a thread in tests, a process for the demo."""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from dotasync.logconfig import redact
from matches.upstream.simulator.state import SimulatorState

logger = logging.getLogger("matches.simulator")


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: SimulatorState) -> None:
        self.state = state
        super().__init__(address, _Handler)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm and the
    # client's delayed ACK every keep-alive request would stall ~40 ms.
    disable_nagle_algorithm = True
    server: SimulatorServer

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        state = self.server.state
        response = state.handle(method, self.path, body, self.headers)
        if response.delay > 0 and state.stopping.wait(response.delay):
            self.close_connection = True
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("simulator: %s", redact(format % args))


@dataclass(frozen=True)
class SimulatorHandle:
    server: SimulatorServer
    state: SimulatorState

    @property
    def base_url(self) -> str:
        """Steam's base URL (STEAM_API_BASE_URL)."""
        return self.server.base_url

    @property
    def opendota_url(self) -> str:
        """OpenDota's base URL (OPENDOTA_API_BASE_URL)."""
        return self.server.base_url + "/api"

    @property
    def stratz_url(self) -> str:
        """STRATZ's GraphQL endpoint (STRATZ_API_BASE_URL)."""
        return self.server.base_url + "/graphql"


def build_server(state: SimulatorState, host: str = "127.0.0.1", port: int = 0) -> SimulatorServer:
    """A server bound to host:port (0 picks a free port); the caller runs serve_forever()."""
    return SimulatorServer((host, port), state)


@contextmanager
def run_simulator(**config: Any) -> Iterator[SimulatorHandle]:
    """Serve a simulator on 127.0.0.1 and a free port in a daemon thread while in the block."""
    state = SimulatorState(**config)
    server = build_server(state)
    # A short poll interval keeps shutdown (and so every test's teardown) quick.
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="simulator", daemon=True
    )
    thread.start()
    try:
        yield SimulatorHandle(server, state)
    finally:
        state.stopping.set()  # wakes "hang" and "slow" answers so nothing outlives the block
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
