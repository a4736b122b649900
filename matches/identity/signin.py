"""Sign-in throttling: failed attempts counted per username, and per client address when known.

The username's count caps the guesses at anyone's password, however many addresses they
come from. So that such a cap does not let anyone lock the real user out, a browser that
signed in as the user before shows it with a signed cookie (OWASP's "device cookie") and
is counted on its own instead. The address's count (across usernames) stops one client
trying many users; it is kept only when the deployment says where a client's real address is
(TRUSTED_PROXY_COUNT): behind a proxy that nobody configured, every client has the proxy's
address, and counting it would let one guesser lock everybody out. The counts live in the
database (SignInFailures), in fixed windows of SIGNIN_FAILURE_WINDOW seconds that start at a
window's first failure.
"""

import math
import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.http import HttpRequest

from dotasync import dbclock
from matches.models import SignInFailures

Scope = SignInFailures.Scope
# Django's username field is at most this long; a longer guess cannot be anyone's.
SUBJECT_LENGTH = SignInFailures._meta.get_field("subject").max_length
DEVICE_COOKIE = "dotasync_signin_device"
DEVICE_COOKIE_MAX_AGE = 365 * 24 * 3600
_DEVICE_SALT = "dotasync.signin.device"


def client_address(request: HttpRequest) -> str | None:
    """The real client's address, or None when the deployment has not said where it is.

    With TRUSTED_PROXY_COUNT proxies in front, each appended the address it saw to the
    forwarded header; what stands left of theirs the client wrote itself, so it is skipped.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    peer = request.META.get("REMOTE_ADDR", "")
    if proxies is None:
        return None
    if proxies == 0:
        return peer
    header = "HTTP_" + settings.TRUSTED_PROXY_HEADER.upper().replace("-", "_")
    hops = [hop.strip() for hop in request.META.get(header, "").split(",") if hop.strip()]
    if not hops:
        return peer  # the request came past the proxies
    return hops[-proxies] if len(hops) >= proxies else hops[0]


def _username_subject(username: str) -> str:
    return username.strip().lower()[:SUBJECT_LENGTH]


def known_device(request: HttpRequest, username: str) -> str | None:
    """This browser's id if it signed in as `username` before (its signed cookie), else None."""
    try:
        value = signing.loads(
            request.COOKIES.get(DEVICE_COOKIE, ""), salt=_DEVICE_SALT, max_age=DEVICE_COOKIE_MAX_AGE
        )
    except signing.BadSignature:
        return None
    if not isinstance(value, dict) or value.get("user") != _username_subject(username):
        return None
    return str(value.get("device", "")) or None


def device_cookie(username: str) -> str:
    """The cookie a browser gets when it signs in as `username`: a new id, signed."""
    return signing.dumps(
        {"user": _username_subject(username), "device": secrets.token_hex(16)}, salt=_DEVICE_SALT
    )


def _subjects(username: str, address: str | None, device: str | None) -> list[tuple[str, str]]:
    # A known browser's failures are its own: a guesser elsewhere does not lock it out.
    if device:
        subjects = [(Scope.DEVICE, device)]
    else:
        subjects = [(Scope.USERNAME, _username_subject(username))]
    if address:
        subjects.append((Scope.ADDRESS, address[:SUBJECT_LENGTH]))
    return subjects


def _limit(scope: str) -> int:
    if scope == Scope.ADDRESS:
        return settings.SIGNIN_ADDRESS_MAX_FAILURES
    return settings.SIGNIN_MAX_FAILURES


def lockout_message(username: str, address: str | None, device: str | None = None) -> str | None:
    """Why this sign-in is refused without checking its password, or None when it may try."""
    now = dbclock.now()
    window = timedelta(seconds=settings.SIGNIN_FAILURE_WINDOW)
    matching = Q()
    for scope, subject in _subjects(username, address, device):
        matching |= Q(scope=scope, subject=subject, failures__gte=_limit(scope))
    locked = SignInFailures.objects.filter(matching, window_started_at__gt=now - window)
    ends = None
    scope = None
    for row in locked:
        row_ends = row.window_started_at + window
        if ends is None or row_ends > ends:
            ends, scope = row_ends, row.scope
    if ends is None:
        return None
    minutes = max(1, math.ceil((ends - now).total_seconds() / 60))
    who = "from your address" if scope == Scope.ADDRESS else "for this user"
    return f"Too many failed sign-ins {who}; try again in {minutes} minute{'s' * (minutes > 1)}."


def record_failure(username: str, address: str | None, device: str | None = None) -> None:
    """Count one failed attempt for the username (or the known browser), and for the address
    when it is known."""
    now = dbclock.now()
    # A window that ended counts no more: its row goes, and this failure opens a new one.
    expired = now - timedelta(seconds=settings.SIGNIN_FAILURE_WINDOW)
    SignInFailures.objects.filter(window_started_at__lte=expired).delete()
    for scope, subject in _subjects(username, address, device):
        counted = SignInFailures.objects.filter(scope=scope, subject=subject)
        if counted.update(failures=F("failures") + 1):
            continue
        try:
            with transaction.atomic():
                SignInFailures.objects.create(
                    scope=scope, subject=subject, failures=1, window_started_at=now
                )
        except IntegrityError:  # another worker opened the window first
            counted.update(failures=F("failures") + 1)


def clear_failures(username: str, device: str | None = None) -> None:
    """Forget the username's (and the browser's) failures after its right password. An
    address's count stays: one account of one's own must not buy more guesses at others'."""
    forgotten = Q(scope=Scope.USERNAME, subject=_username_subject(username))
    if device:
        forgotten |= Q(scope=Scope.DEVICE, subject=device)
    SignInFailures.objects.filter(forgotten).delete()
