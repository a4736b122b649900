"""Sign-in throttling: a fixed window of failed attempts per username and client address.

The counters live in Django's cache. With the default per-process cache each web
worker counts on its own, which still caps guessing at a small multiple of the limit.
"""

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

_KEY_PREFIX = "signin-failures"


def client_address(request: HttpRequest) -> str:
    # REMOTE_ADDR, not X-Forwarded-For: a client can write any forwarded header it likes.
    return request.META.get("REMOTE_ADDR", "")


def _key(username: str, address: str) -> str:
    # Hashed so any username, however long or odd, makes a valid cache key.
    digest = hashlib.sha256(f"{username.strip().lower()}\0{address}".encode()).hexdigest()
    return f"{_KEY_PREFIX}:{digest}"


def is_locked_out(username: str, address: str) -> bool:
    return cache.get(_key(username, address), 0) >= settings.SIGNIN_MAX_FAILURES


def record_failure(username: str, address: str) -> int:
    """Count one failed attempt; the window starts at the first failure."""
    key = _key(username, address)
    cache.add(key, 0, timeout=settings.SIGNIN_FAILURE_WINDOW)
    try:
        return cache.incr(key)
    except ValueError:
        # The entry expired between add() and incr(): this failure opens a new window.
        cache.set(key, 1, timeout=settings.SIGNIN_FAILURE_WINDOW)
        return 1


def clear_failures(username: str, address: str) -> None:
    cache.delete(_key(username, address))
