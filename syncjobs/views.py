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

from matches import choice
from matches.models import SteamAccount
from syncjobs import completeness, refresh, start_throttle
from syncjobs.dashboard import (
    LiveState,
    SyncPanel,
    build_panel,
    job_for_user,
    user_accounts,
)
from syncjobs.engine import (
    AlreadyRunning,
    EnqueueFailed,
    NotCancellable,
    TooManyJobs,
    request_cancel,
    start_sync,
)
from syncjobs.forms import StartSyncForm
from syncjobs.health import check_health
from syncjobs.models import JobType

LIVE_TEMPLATE = "syncjobs/_live.html"


def _render(
    request: HttpRequest, panel: SyncPanel | None, shown: LiveState | None = None
) -> HttpResponse:
    """The whole page; for htmx, only the parts of the panel that changed since `shown`.

    Those parts are out-of-band swaps into the page: the numbers and the bar every time,
    the live region's sentence only when the phase changed or the job ended, the controls
    only when they changed. The rest of the page, and the focus, stay as they are.
    """
    if not request.htmx or panel is None:
        return render(request, "syncjobs/dashboard.html", {"panel": panel})
    state = panel.state
    response = render(
        request,
        LIVE_TEMPLATE,
        {
            "panel": panel,
            "announce": shown is None or shown.announced != state.announced,
            "controls_changed": shown is None or shown.controls != state.controls,
        },
    )
    if not panel.polling:
        return HttpResponseStopPolling(response.content)
    return response


def _dashboard_url(account: SteamAccount) -> str:
    return f"{reverse('dashboard')}?account={account.account_id}"


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    chosen = choice.choose(request, request.GET.get("account"))
    panel = build_panel(chosen.accounts, chosen.account) if chosen.account else None
    return _render(request, panel)


@require_GET
def progress(request: HttpRequest, job_id: int) -> HttpResponse:
    """The job's page; for the dashboard's poll (`?shown=`), what changed in its panel."""
    job = job_for_user(request.user, job_id)
    panel = build_panel(user_accounts(request.user), job.account, job)
    return _render(request, panel, LiveState.parse(request.GET.get("shown")))


@require_POST
def start(request: HttpRequest) -> HttpResponse:
    form = StartSyncForm(request.user, request.POST)
    if not form.is_valid():
        if "account" in form.errors:
            raise Http404("No such account")
        return HttpResponseBadRequest("Unknown sync type")
    account = form.cleaned_data["account"]
    job_type = form.cleaned_data["job_type"]
    if (wait := start_throttle.seconds_to_wait(request)) is not None:
        messages.error(request, start_throttle.refusal(wait))
        return redirect(_dashboard_url(account))
    try:
        # A person who asks to retry failed matches means now: skip the automatic retry
        # backoff (the engine still stops at SYNC_MAX_ATTEMPTS).
        start_sync(account, job_type, request.user, force=job_type == JobType.BACKFILL)
    except AlreadyRunning:
        messages.warning(
            request, f"A sync of {account} is already under way: wait for it or cancel it."
        )
    except TooManyJobs as exc:
        messages.error(request, f"The sync of {account} did not start. {exc}")
    except EnqueueFailed as exc:
        messages.error(request, f"The sync could not start. {exc}")
    return redirect(_dashboard_url(account))


@require_POST
def cancel(request: HttpRequest, job_id: int) -> HttpResponse:
    job = job_for_user(request.user, job_id)
    # What the page showed when the click was made (its poller's state); else all is sent.
    shown = LiveState.parse(request.POST.get("shown"))
    # A job that ended before the click arrived is simply shown as it ended.
    with suppress(NotCancellable):
        job = request_cancel(job)
    if request.htmx:
        panel = build_panel(user_accounts(request.user), job.account, job)
        return _render(request, panel, shown)
    return redirect(_dashboard_url(job.account))


@require_GET
def completeness_report(request: HttpRequest) -> HttpResponse:
    """What each ID source says of the chosen account (syncjobs.completeness)."""
    chosen = choice.choose(request, request.GET.get("account"))
    report = completeness.report(chosen.account) if chosen.account else None
    return render(
        request,
        "syncjobs/completeness.html",
        {"report": report, "account": chosen.account, "accounts": chosen.accounts},
    )


@require_POST
def opendota_refresh(request: HttpRequest) -> HttpResponse:
    """Ask OpenDota to rescan the account, when the report offers it (once a day)."""
    chosen = choice.choose(request, request.POST.get("account"))
    if chosen.account is None:
        raise Http404("No such account")
    url = f"{reverse('completeness')}?account={chosen.account.account_id}"
    if not completeness.report(chosen.account).refresh_offered:
        messages.info(request, "OpenDota is not behind the other sources: nothing to refresh.")
    elif refresh.ask(chosen.account):
        messages.success(request, "OpenDota was asked to rescan this account: sync again later.")
    else:
        messages.info(request, "OpenDota was asked within the last day already.")
    return redirect(url)


@login_not_required
@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """For monitors: the health report (syncjobs.health), 200 when healthy and 503 when not."""
    report = check_health()
    return JsonResponse(report, status=200 if report["healthy"] else 503)
