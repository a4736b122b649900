"""The parse controls a player touches: the account's "parse new matches" switch (Accounts
page) and a match page's "Ask OpenDota to parse this match". Both only write rows and start
a parse job (syncjobs.engine.start_sync); no upstream call is made in the web request."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from matches.models import Match, SteamAccount
from matches.parse_status import parse_status
from syncjobs import parsing
from syncjobs.engine import AlreadyRunning, EnqueueFailed, TooManyJobs, start_sync
from syncjobs.models import JobType


@require_POST
def parse_switch(request: HttpRequest, account_id: int) -> HttpResponse:
    account = get_object_or_404(SteamAccount, account_id=account_id, owner=request.user)
    account.parse_new_matches = request.POST.get("parse_new_matches") == "on"
    account.save(update_fields=["parse_new_matches"])
    if account.parse_new_matches:
        messages.success(
            request, f"{account}: each new match is asked to be parsed while its replay exists."
        )
    else:
        messages.success(request, f"{account}: new matches are no longer asked to be parsed.")
    return redirect("accounts")


@require_POST
def parse_match(request: HttpRequest, match_id: int) -> HttpResponse:
    match = get_object_or_404(
        Match.objects.filter(account_links__account__owner=request.user).distinct(),
        match_id=match_id,
    )
    status = parse_status(match, request.user)
    if status is None or not status.can_ask or not parsing.claim_ask(match.match_id):
        messages.info(request, "This match is parsed, asked for already, or its replay is gone.")
        return redirect("match_detail", match_id=match_id)
    account = SteamAccount.objects.filter(owner=request.user, match_links__match=match).first()
    try:
        start_sync(account, JobType.PARSE, request.user)
    except (AlreadyRunning, TooManyJobs):
        messages.success(request, "Asked: OpenDota is asked with this account's next sync.")
    except EnqueueFailed:
        messages.warning(request, "Asked: the task queue is down, so it waits for the next sync.")
    else:
        messages.success(request, "Asked: OpenDota is asked to parse this match now.")
    return redirect("match_detail", match_id=match_id)
