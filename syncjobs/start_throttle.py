"""How often one user may start a sync: one count for the API and the web pages.

Both use DRF's ScopedRateThrottle with the scope "sync" (API_SYNC_THROTTLE_RATE), whose
counts live in the cache every process shares, so starts through the dashboard, the Accounts
page's "Link and sync" and the API all draw on the same allowance.
"""

from django.http import HttpRequest
from rest_framework.throttling import ScopedRateThrottle

SCOPE = "sync"


class _SyncStartScope:
    """What ScopedRateThrottle reads of the view it guards."""

    throttle_scope = SCOPE


def seconds_to_wait(request: HttpRequest) -> int | None:
    """None when the signed-in user may start a sync now (this start is counted); otherwise
    the whole seconds until they may."""
    throttle = ScopedRateThrottle()
    if throttle.allow_request(request, _SyncStartScope()):
        return None
    return max(1, round(throttle.wait() or 1))


def refusal(wait: int) -> str:
    return f"Too many syncs started: wait {wait} s, then try again."
