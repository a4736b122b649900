"""The read-only match pages: thin adapters over matches.stats."""

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render

from matches import choice, export, stats
from matches.dota_constants import heroes_by_name
from matches.forms import ExportForm
from matches.missing import fetch_waiting_label, waiting_count, why_details_missing
from matches.models import Match, SteamAccount, UserSettings

MATCHES_PER_PAGE = 50
TEAMMATES_SHOWN = 100
# One game together is chance (a random in matchmaking); two make a teammate worth a row.
MIN_GAMES_TOGETHER = 2
# A teammate's bar is full at this many games together (or the most anyone has, if more):
# a single game won is a sliver, never a full bar.
FULL_BAR_GAMES = 10
TOP_HEROES_SHOWN = 10


def _hero_choices() -> list[tuple[str | int, str]]:
    return [("", "Any hero"), *heroes_by_name()]


class MatchFilterForm(forms.Form):
    hero = forms.TypedChoiceField(
        choices=_hero_choices, coerce=int, required=False, empty_value=None
    )
    result = forms.ChoiceField(
        choices=[("", "Any result"), ("win", "Wins"), ("loss", "Losses")], required=False
    )
    status = forms.ChoiceField(
        label="Details",
        choices=[
            ("", "Any status"),
            ("complete", "Complete"),
            ("pending", "Pending"),
            ("failed", "Failed"),
        ],
        required=False,
    )

    def account_match_filters(self) -> dict:
        """The valid, non-empty filters as stats.account_matches' keyword arguments.

        An invalid field (a hand-edited URL) is dropped rather than failing the page.
        """
        self.is_valid()
        cleaned = self.cleaned_data
        filters = {
            "hero_id": cleaned.get("hero"),
            "result": cleaned.get("result") or None,
            "details_status": cleaned.get("status") or None,
        }
        return {name: value for name, value in filters.items() if value is not None}


def _chosen_account(request: HttpRequest) -> tuple[list[SteamAccount], SteamAccount | None]:
    """The user's accounts and the one the page shows: `?account=`, else their choice."""
    chosen = choice.choose(request, request.GET.get("account"))
    return chosen.accounts, chosen.account


def shows_outside_images(request: HttpRequest) -> bool:
    """Whether the user lets pages load images from other sites (Steam's avatars)."""
    return UserSettings.of(request.user).allow_outside_images


def _no_account(request: HttpRequest, title: str) -> HttpResponse:
    return render(request, "matches/no_account.html", {"title": title})


@login_required
def match_list(request: HttpRequest) -> HttpResponse:
    accounts, account = _chosen_account(request)
    if account is None:
        return _no_account(request, "Matches")
    form = MatchFilterForm(request.GET)
    matches = stats.account_matches(account, **form.account_match_filters())
    page = Paginator(matches, MATCHES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "matches/match_list.html",
        {
            "accounts": accounts,
            "account": account,
            "form": form,
            "page": page,
            "max_attempts": settings.SYNC_MAX_ATTEMPTS,
        },
    )


@login_required
def match_detail(request: HttpRequest, match_id: int) -> HttpResponse:
    match = get_object_or_404(
        Match.objects.filter(account_links__account__owner=request.user).distinct(),
        match_id=match_id,
    )
    own_accounts = choice.accounts_of(request.user, match_links__match=match)
    teams = stats.scoreboard(match)
    context = {
        "match": match,
        "teams": teams,
        "draft": stats.draft(match),
        "skill_builds": [
            (row, stats.skill_build(row.player))
            for team in teams
            for row in team.players
            if row.player.ability_upgrades
        ],
        "own_account_ids": {account.account_id for account in own_accounts},
        "max_attempts": settings.SYNC_MAX_ATTEMPTS,
        "show_avatars": shows_outside_images(request),
    }
    if not match.has_details:
        context.update(_missing_details_context(match, own_accounts))
    return render(request, "matches/match_detail.html", context)


def _missing_details_context(match: Match, own_accounts: list[SteamAccount]) -> dict:
    """Why the details are missing, and the account whose waiting matches a click fetches:
    the chosen one if it played the match, else the first of the user's that did."""
    account = next((a for a in own_accounts if a.is_chosen), own_accounts[0])
    waiting = waiting_count(Match.objects.for_account(account).details_summary())
    return {
        "missing": why_details_missing(match),
        "missing_account": account,
        "account_busy": account.sync_jobs.active().exists(),
        "waiting": waiting,
        "fetch_waiting_label": fetch_waiting_label(waiting),
    }


@login_required
def teammates(request: HttpRequest) -> HttpResponse:
    accounts, account = _chosen_account(request)
    if account is None:
        return _no_account(request, "Teammates")
    show_all = request.GET.get("all") == "1"
    min_games = 1 if show_all else MIN_GAMES_TOGETHER
    mates = stats.teammates(account, limit=TEAMMATES_SHOWN, min_games=min_games)
    full_bar = max([FULL_BAR_GAMES, *(mate.games for mate in mates)])
    return render(
        request,
        "matches/teammates.html",
        {
            "accounts": accounts,
            "account": account,
            "teammates": [(mate, round(100 * mate.games / full_bar)) for mate in mates],
            "teammates_shown": TEAMMATES_SHOWN,
            "show_avatars": shows_outside_images(request),
            "show_all": show_all,
            "min_games": MIN_GAMES_TOGETHER,
            "full_bar_games": full_bar,
        },
    )


@login_required
def stats_page(request: HttpRequest) -> HttpResponse:
    accounts, account = _chosen_account(request)
    if account is None:
        return _no_account(request, "Stats")
    months = stats.winrate_by_month(account)
    games = sum(month.games for month in months)
    wins = sum(month.wins for month in months)
    return render(
        request,
        "matches/stats.html",
        {
            "accounts": accounts,
            "account": account,
            "months": months,
            "heroes": stats.top_heroes(account, limit=TOP_HEROES_SHOWN),
            "games": games,
            "wins": wins,
            "win_rate": wins / games if games else None,
            "summary": Match.objects.for_account(account).details_summary(),
        },
    )


@login_required
def export_download(request: HttpRequest) -> HttpResponse:
    """The match list's download: one of the user's accounts, every match, streamed."""
    form = ExportForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(f"Bad export request: {form.errors.as_text()}")
    account = get_object_or_404(
        SteamAccount, owner=request.user, account_id=form.cleaned_data["account"]
    )
    return streamed_export(account, form.cleaned_data["rows"], form.cleaned_data["format"])


def streamed_export(account: SteamAccount, kind: str, file_format: str) -> StreamingHttpResponse:
    """An export as a download, encoded while it is sent (the page's and the API's)."""
    response = StreamingHttpResponse(
        export.export(account, kind, file_format),
        content_type=export.FORMATS[file_format].content_type,
    )
    file_name = export.file_name(account, kind, file_format)
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response
