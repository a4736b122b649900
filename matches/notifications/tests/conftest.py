"""Fixtures of the notification tests: a local HTTP receiver, a local SMTP server, channels.

Both servers listen on 127.0.0.1, so tests that deliver to them allow private addresses
(NOTIFY_ALLOW_PRIVATE_ADDRESSES); the tests of the address check switch it off again.
"""

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from matches.notifications.models import Channel, ChannelKind


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """What the receiver was sent, and how it answers: `statuses` in turn (then 200), or
    never while `blocked` is set."""

    url: str
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    blocked: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    """An HTTP server on a free port of 127.0.0.1, in a thread."""
    settings.NOTIFY_ALLOW_PRIVATE_ADDRESSES = True
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append(Received(self.path, dict(self.headers), body))
            if state.blocked.is_set():
                state.released.wait()
            status = state.statuses.pop(0) if state.statuses else 204
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    state.released.set()
    server.shutdown()
    server.server_close()


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def mailbox(settings) -> Iterator[_Mailbox]:
    """An SMTP server (aiosmtpd) on a free port of 127.0.0.1, and Django's SMTP backend on it."""
    handler = _Mailbox()
    with socket.socket() as probe:  # aiosmtpd checks it is up by connecting: it needs the port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    yield handler
    controller.stop()


@pytest.fixture
def make_channel(user) -> Callable[..., Channel]:
    """make_channel(kind, url_or_address, **fields): one of alice's channels."""

    def make(kind: str, target: str, **fields: object) -> Channel:
        where = {"email": target} if kind == ChannelKind.EMAIL else {"url": target}
        secret = "s3cret-for-tests" if kind == ChannelKind.WEBHOOK else ""
        return Channel.objects.create(user=user, kind=kind, secret=secret, **where, **fields)

    return make
