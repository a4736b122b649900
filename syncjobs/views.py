"""The sync dashboard (start, watch and cancel syncs of the signed-in user's accounts) and the
health check for monitors."""

from contextlib import suppress

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST, require_safe
from django_htmx.http import HttpResponseStopPolling

from matches.models import SteamAccount
from syncjobs.dashboard import (
    SyncPanel,
    build_panel,
    choose_account,
    job_for_user,
    user_accounts,
)
from syncjobs.engine import (
    AlreadyRunning,
    EnqueueFailed,
    NotCancellable,
    request_cancel,
    start_sync,
)
from syncjobs.forms import StartSyncForm
from syncjobs.health import check_health
from syncjobs.models import JobType

PANEL_TEMPLATE = "syncjobs/_panel.html"


def _render(request: HttpRequest, panel: SyncPanel | None) -> HttpResponse:
    """The whole page, or for htmx only the panel partial, which the page includes too."""
    if not request.htmx or panel is None:
        return render(request, "syncjobs/dashboard.html", {"panel": panel})
    response = render(request, PANEL_TEMPLATE, {"panel": panel})
    if not panel.polling:
        return HttpResponseStopPolling(response.content)
    return response


def _dashboard_url(account: SteamAccount) -> str:
    return f"{reverse('dashboard')}?account={account.account_id}"


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    accounts = user_accounts(request.user)
    account = choose_account(accounts, request.GET.get("account"))
    return _render(request, build_panel(accounts, account) if account else None)


@require_GET
def progress(request: HttpRequest, job_id: int) -> HttpResponse:
    job = job_for_user(request.user, job_id)
    return _render(request, build_panel(user_accounts(request.user), job.account, job))


@require_POST
def start(request: HttpRequest) -> HttpResponse:
    form = StartSyncForm(request.user, request.POST)
    if not form.is_valid():
        if "account" in form.errors:
            raise Http404("No such account")
        return HttpResponseBadRequest("Unknown sync type")
    account = form.cleaned_data["account"]
    job_type = form.cleaned_data["job_type"]
    try:
        # A person who asks to retry failed matches means now: skip the automatic retry
        # backoff (the engine still stops at SYNC_MAX_ATTEMPTS).
        start_sync(account, job_type, request.user, force=job_type == JobType.BACKFILL)
    except AlreadyRunning:
        messages.warning(
            request, f"A sync of {account} is already under way: wait for it or cancel it."
        )
    except EnqueueFailed as exc:
        messages.error(request, f"The sync could not start. {exc}")
    return redirect(_dashboard_url(account))


@require_POST
def cancel(request: HttpRequest, job_id: int) -> HttpResponse:
    job = job_for_user(request.user, job_id)
    # A job that ended before the click arrived is simply shown as it ended.
    with suppress(NotCancellable):
        job = request_cancel(job)
    if request.htmx:
        return _render(request, build_panel(user_accounts(request.user), job.account, job))
    return redirect(_dashboard_url(job.account))


@login_not_required
@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """For monitors: the health report (syncjobs.health), 200 when healthy and 503 when not."""
    report = check_health()
    return JsonResponse(report, status=200 if report["healthy"] else 503)
