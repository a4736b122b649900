"""Where the server may send a user's webhook: https URLs of hosts with public addresses only.

A webhook URL makes the server send a request for a user, so it could aim at the machine
itself or its network (a database, a cloud's metadata service). The URL is checked when it is
saved and again at every delivery, and the delivery connects to the very address that was
checked (a name that resolves elsewhere a second later gains nothing); redirects are never
followed. NOTIFY_ALLOW_PRIVATE_ADDRESSES lets an instance's admin allow private and loopback
addresses, plain http to them included (a receiver on the LAN, the tests' local receiver).
"""

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

MAX_ANSWER_BYTES = 64 * 1024


class UnsafeAddress(Exception):
    """The URL is not one the server sends to; the message says why, without the URL's path."""


class DeliveryFailed(Exception):
    """The endpoint could not be reached or did not answer 2xx; never carries the URL."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str


def host_of(url: str) -> str:
    return urlsplit(url).hostname or ""


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str) -> Target:
    """The URL's host resolved and checked; raises UnsafeAddress saying what is wrong."""
    allow_private = settings.NOTIFY_ALLOW_PRIVATE_ADDRESSES
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise UnsafeAddress("This is not a valid URL.") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeAddress("Enter a full URL starting with https://.")
    if parts.scheme == "http" and not allow_private:
        raise UnsafeAddress(
            "Only https:// URLs are allowed: a plain http:// one would be read on the way."
        )
    if parts.username or parts.password:
        raise UnsafeAddress("A URL with a user name or password in it is not allowed.")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeAddress(f"The host {parts.hostname} does not resolve to an address.") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    private = [address for address in addresses if not _is_public(address)]
    if private and not allow_private:
        raise UnsafeAddress(
            f"The host {parts.hostname} resolves to a private or local address ({private[0]}): "
            "only hosts with public addresses are allowed."
        )
    if parts.scheme == "http" and len(private) != len(addresses):
        raise UnsafeAddress("Only https:// URLs are allowed for hosts with public addresses.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, parts.hostname, port, path, addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to the checked address, the certificate verified against the URL's host name."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> int:
    """POST `body` to the checked address of `url`; returns the 2xx status, raises
    UnsafeAddress or DeliveryFailed. A 3xx is a failure: redirects are not followed."""
    target = check_url(url)
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target, timeout)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        answer = connection.getresponse()
        answer.read(MAX_ANSWER_BYTES)
    except TimeoutError:
        raise DeliveryFailed(f"{target.host} did not answer within {timeout:.0f} s.") from None
    except ssl.SSLError as exc:
        raise DeliveryFailed(
            f"TLS with {target.host} failed ({exc.reason or 'SSL error'})."
        ) from None
    except (OSError, http.client.HTTPException) as exc:
        raise DeliveryFailed(f"Could not reach {target.host} ({type(exc).__name__}).") from None
    finally:
        connection.close()
    if not 200 <= answer.status < 300:
        raise DeliveryFailed(f"{target.host} answered HTTP {answer.status}.")
    return answer.status
