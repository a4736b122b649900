"""The two URLs of "Sign in through Steam": only while it is enabled, and only Steam's callbacks.

Thin wrappers round social-auth-app-django's views: the setting that hides the button
removes the routes too (404), and a callback that cannot be Steam's is turned away before
python-openid would fetch the URL it names (matches.identity.steam_openid).
"""

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from social_django import views as social_views

from matches.identity.steam_openid import AUTO_SUBMIT_POLICY, forged_callback_reason

# The name it had before the identity wing: log lines and filters keep meaning the same.
logger = logging.getLogger("matches.steam_views")

NOT_FROM_STEAM = "Steam sign-in failed: the answer did not come from Steam. Try again."


def _require_steam_sign_in(backend: str) -> None:
    if backend != "steam" or not settings.STEAM_SIGN_IN_ENABLED:
        raise Http404("Sign-in through Steam is not enabled")


@never_cache
@login_not_required
def begin(request: HttpRequest, backend: str) -> HttpResponse:
    _require_steam_sign_in(backend)
    response = social_views.auth(request, backend)
    if response.status_code == 200:  # the form that carries the browser on to Steam
        response.headers["Content-Security-Policy"] = AUTO_SUBMIT_POLICY
    return response


@never_cache
@login_not_required
@csrf_exempt  # Steam's signature proves the callback, which no CSRF token could
def complete(request: HttpRequest, backend: str) -> HttpResponse:
    _require_steam_sign_in(backend)
    reason = forged_callback_reason(request.GET, request.POST)
    if reason is not None:
        logger.warning("Refused a Steam sign-in callback: %s.", reason)
        messages.error(request, NOT_FROM_STEAM)
        return redirect(settings.SOCIAL_AUTH_LOGIN_ERROR_URL)
    return social_views.complete(request, backend)
