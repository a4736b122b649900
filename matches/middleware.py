"""Every page in the signed-in user's time zone, every API answer in UTC; every answer with
the site's Content-Security-Policy and Permissions-Policy."""

import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from rest_framework.views import APIView

from matches.timezones import zone_for

UTC = zoneinfo.ZoneInfo("UTC")


class TimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    def process_view(self, request: HttpRequest, view_func: Callable, *args: object) -> None:
        # DRF renders and parses datetimes in the active zone. API clients get one stable
        # zone, whichever way they sign in (a token is only checked inside the view).
        if issubclass(getattr(view_func, "cls", type(None)), APIView):
            timezone.activate(UTC)
        elif request.user.is_authenticated:
            timezone.activate(zone_for(request.user))


class SecurityHeadersMiddleware:
    """Content-Security-Policy and Permissions-Policy (settings) on every answer.

    Django 5.2 has no CSP of its own. An answer that already carries a policy keeps it: a
    view that needs a narrower exception (matches.identity.steam_views) sets its own.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
