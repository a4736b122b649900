"""The read-only match pages: thin adapters over matches.stats."""

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from matches import stats
from matches.dota_constants import heroes_by_name
from matches.models import Match, SteamAccount, UserSettings

MATCHES_PER_PAGE = 50
TEAMMATES_SHOWN = 100
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
    """The user's accounts and the one `?account=` names (default: the first).

    An account the user does not own answers 404, exactly like one that does not exist.
    """
    accounts = list(SteamAccount.objects.filter(owner=request.user))
    wanted = request.GET.get("account", "").strip()
    if not wanted:
        return accounts, accounts[0] if accounts else None
    for account in accounts:
        if str(account.account_id) == wanted:
            return accounts, account
    raise Http404("No such account among yours.")


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
    own_account_ids = set(
        SteamAccount.objects.filter(owner=request.user, match_links__match=match).values_list(
            "account_id", flat=True
        )
    )
    teams = stats.scoreboard(match)
    return render(
        request,
        "matches/match_detail.html",
        {
            "match": match,
            "teams": teams,
            "draft": stats.draft(match),
            "skill_builds": [
                (row, stats.skill_build(row.player))
                for team in teams
                for row in team.players
                if row.player.ability_upgrades
            ],
            "own_account_ids": own_account_ids,
            "max_attempts": settings.SYNC_MAX_ATTEMPTS,
            "show_avatars": shows_outside_images(request),
        },
    )


@login_required
def teammates(request: HttpRequest) -> HttpResponse:
    accounts, account = _chosen_account(request)
    if account is None:
        return _no_account(request, "Teammates")
    return render(
        request,
        "matches/teammates.html",
        {
            "accounts": accounts,
            "account": account,
            "teammates": stats.teammates(account, limit=TEAMMATES_SHOWN),
            "teammates_shown": TEAMMATES_SHOWN,
            "show_avatars": shows_outside_images(request),
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
