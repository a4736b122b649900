"""The read-only match pages: thin adapters over matches.models' querysets, matches.scoreboard,
matches.teammates and matches.analysis."""

from collections.abc import Callable
from functools import cached_property

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from matches import (
    analysis,
    choice,
    export,
    friends,
    parsed_page,
    parsed_stats,
    scoreboard,
    trends,
)
from matches.filters import (
    HeroesForm,
    MatchFiltersForm,
    OverTimeForm,
    TrendsForm,
    includes_turbo,
    presets,
)
from matches.forms import ExportForm
from matches.missing import fetch_waiting_label, waiting_count, why_details_missing
from matches.models import Match, ParsedMatch, SteamAccount, UserSettings
from matches.players import is_known_account
from matches.teammates import teammates as teammates_of

MATCHES_PER_PAGE = 50
TEAMMATES_SHOWN = 100
# One game together is chance (a random in matchmaking); two make a teammate worth a row.
MIN_GAMES_TOGETHER = 2
# A teammate's bar is full at this many games together (or the most anyone has, if more):
# a single game won is a sliver, never a full bar.
FULL_BAR_GAMES = 10
TOP_HEROES_SHOWN = 10
# The query's fields that choose how the numbers are shown, not which matches count.
PRESENTATION_FIELDS = ("by", "sort")


class MatchListForm(MatchFiltersForm):
    """The match list's query: the shared filters, a result and the state of the details."""

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


def _chosen_account(request: HttpRequest) -> tuple[list[SteamAccount], SteamAccount | None]:
    """The user's accounts and the one the page shows: `?account=`, else their choice."""
    chosen = choice.choose(request, request.GET.get("account"))
    return chosen.accounts, chosen.account


def shows_outside_images(request: HttpRequest) -> bool:
    """Whether the user lets pages load images from other sites (Steam's avatars)."""
    return UserSettings.of(request.user).allow_outside_images


def filters_set(form: forms.Form) -> int:
    """How many of the form's filters the query gives a value: a phone shows the filters
    folded unless one is set (or the form has errors to show)."""
    return sum(1 for name in form.fields if name not in PRESENTATION_FIELDS and form.data.get(name))


def _no_account(request: HttpRequest, title: str) -> HttpResponse:
    return render(request, "matches/no_account.html", {"title": title})


@login_required
def match_list(request: HttpRequest) -> HttpResponse:
    accounts, account = _chosen_account(request)
    if account is None:
        return _no_account(request, "Matches")
    form = MatchListForm(request.GET)
    context = {
        "accounts": accounts,
        "account": account,
        "form": form,
        "filters_set": filters_set(form),
        "presets": presets(timezone.localdate()),
        "max_attempts": settings.SYNC_MAX_ATTEMPTS,
        "include_turbo": includes_turbo(request.user),
    }
    if not form.is_valid():
        return render(request, "matches/match_list.html", context, status=400)
    # The middleware made the user's time zone the current one.
    filters = form.filters(timezone.get_current_timezone(), context["include_turbo"])
    result = form.cleaned_data["result"] or None
    details_status = form.cleaned_data["status"] or None
    rows = filters.apply(
        Match.objects.from_side_of(account, result=result, details_status=details_status)
    )
    counted = rows
    if result is None and not filters.read_own_row:
        counted = filters.apply(Match.objects.for_account(account, details_status=details_status))
    paginator = CountedPaginator(rows, MATCHES_PER_PAGE, counted)
    context["page"] = paginator.get_page(request.GET.get("page"))
    return render(request, "matches/match_list.html", context)


class CountedPaginator(Paginator):
    """Pages `rows`, counted by `counted`: the same matches without what only shown rows need."""

    def __init__(self, rows: QuerySet[Match], per_page: int, counted: QuerySet[Match]) -> None:
        super().__init__(rows, per_page)
        self.counted = counted

    @cached_property
    def count(self) -> int:
        return self.counted.count()


@login_required
def match_detail(
    request: HttpRequest, match_id: int, section: str = parsed_page.DEFAULT_SECTION
) -> HttpResponse:
    """A match's page; a parsed match's in sections (parsed_page.SECTIONS), one a URL. An htmx
    request from the section tabs gets the tabs and the section alone."""
    if section not in parsed_page.SECTION_TITLES:
        raise Http404("No such section of a match page.")
    match = get_object_or_404(
        Match.objects.filter(account_links__account__owner=request.user).distinct(),
        match_id=match_id,
    )
    # The parse's JSON is read only when a section is built afresh (parsed_page keeps them).
    parsed = (
        ParsedMatch.objects.defer("data").filter(match=match).first() if match.has_details else None
    )
    if parsed is None and section != parsed_page.DEFAULT_SECTION:
        # An unparsed match has one page: today's, at the match's own URL.
        return redirect("match_detail", match_id=match_id)
    own_accounts = choice.accounts_of(request.user, match_links__match=match)
    teams = scoreboard.scoreboard(match)
    own_account_ids = {account.account_id for account in own_accounts}
    context = {
        "match": match,
        "teams": teams,
        "own_account_ids": own_account_ids,
        # The other players' names lead to them side by side with this account of the user's.
        "side_by_side_account_id": next(
            (a for a in own_accounts if a.is_chosen), own_accounts[0]
        ).account_id,
        "max_attempts": settings.SYNC_MAX_ATTEMPTS,
        "show_avatars": shows_outside_images(request),
        "parsed": parsed,
        "section": section,
        "section_title": parsed_page.SECTION_TITLES[section],
        "sections": parsed_page.SECTIONS,
    }
    if section == parsed_page.DEFAULT_SECTION:
        context["draft"] = scoreboard.draft(match)
        context["skill_builds"] = [
            (row, scoreboard.skill_build(row.player))
            for team in teams
            for row in team.players
            if row.player.ability_upgrades
        ]
    if parsed is not None:
        context.update(parsed_page.section_context(section, parsed, teams, own_account_ids))
    if not match.has_details:
        context.update(_missing_details_context(match, own_accounts))
    template = "matches/match_detail.html"
    if parsed is not None and request.htmx and not request.htmx.history_restore_request:
        template = "matches/parsed/_sections.html"
        context["partial"] = True
    response = render(request, template, context)
    # The same URL answers the page or its sections alone: a cache keeps them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


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
    mates = teammates_of(account, limit=TEAMMATES_SHOWN, min_games=min_games)
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


# (ordering key, heading, numeric) of the heroes table's columns.
HERO_TABLE_COLUMNS = (
    ("hero", "Hero", False),
    ("games", "Games", True),
    ("wins", "Wins", True),
    ("win_rate", "Win %", True),
    ("kills", "K", True),
    ("deaths", "D", True),
    ("assists", "A", True),
    ("kda", "KDA", True),
    ("gpm", "GPM", True),
    ("xpm", "XPM", True),
    ("last_played", "Last played", False),
)
# (URL name, title) of each stats view, in the order the stats menu lists them.
STATS_PAGES = (
    ("stats", "Overview"),
    ("stats_heroes", "Heroes"),
    ("stats_breakdowns", "Breakdowns"),
    ("stats_records", "Records"),
    ("stats_activity", "Activity"),
    ("stats_with_against", "With and against"),
    ("stats_trends", "Trends"),
    ("stats_parsed", "Parsed matches"),
)


def _stats_title(url_name: str) -> str:
    return "Stats" if url_name == "stats" else dict(STATS_PAGES)[url_name]


def _stats_page(
    request: HttpRequest,
    template: str,
    build: Callable[[analysis.AccountStats, MatchFiltersForm], dict],
    form_class: type[MatchFiltersForm] = MatchFiltersForm,
    title: str | None = None,
) -> HttpResponse:
    """A stats view: the chosen account and the filters of the URL, then what `build` takes
    from the account's stats; bad filters answer 400 with the form's errors and no numbers.
    `title` names a view that is not one of STATS_PAGES."""
    accounts, account = _chosen_account(request)
    if account is None:
        return _no_account(request, "Stats")
    form = form_class(request.GET)
    context = {
        "accounts": accounts,
        "account": account,
        "form": form,
        "filters_set": filters_set(form),
        "stats_pages": STATS_PAGES,
        "page_title": title or _stats_title(request.resolver_match.url_name),
        "presets": presets(timezone.localdate()),
        "include_turbo": includes_turbo(request.user),
    }
    if not form.is_valid():
        return render(request, template, context, status=400)
    # The middleware made the user's time zone the current one: dates are days there.
    filters = form.filters(timezone.get_current_timezone(), context["include_turbo"])
    numbers = analysis.AccountStats(account, filters)
    context["summary"] = numbers.summary()
    context.update(build(numbers, form))
    return render(request, template, context)


@login_required
def stats_page(request: HttpRequest) -> HttpResponse:
    def build(numbers: analysis.AccountStats, form: OverTimeForm) -> dict:
        return {
            "unit": form.unit(),
            "periods": numbers.over_time(form.unit()),
            "heroes": numbers.heroes()[:TOP_HEROES_SHOWN],
            "streaks": trends.kept_streaks(numbers),
            "details": Match.objects.for_account(numbers.account).details_summary(),
        }

    return _stats_page(request, "matches/stats.html", build, OverTimeForm)


@login_required
def stats_heroes(request: HttpRequest) -> HttpResponse:
    def build(numbers: analysis.AccountStats, form: HeroesForm) -> dict:
        return {
            "ordering": form.ordering(),
            "columns": HERO_TABLE_COLUMNS,
            "heroes": numbers.heroes(form.ordering()),
        }

    return _stats_page(request, "matches/stats_heroes.html", build, HeroesForm)


@login_required
def stats_breakdowns(request: HttpRequest) -> HttpResponse:
    return _stats_page(
        request,
        "matches/stats_breakdowns.html",
        lambda numbers, form: {"breakdowns": numbers.breakdowns()},
    )


@login_required
def stats_records(request: HttpRequest) -> HttpResponse:
    return _stats_page(
        request, "matches/stats_records.html", lambda numbers, form: {"records": numbers.records()}
    )


@login_required
def stats_activity(request: HttpRequest) -> HttpResponse:
    return _stats_page(
        request,
        "matches/stats_activity.html",
        lambda numbers, form: {"activity": numbers.activity(), "weekdays": analysis.WEEKDAYS},
    )


@login_required
def stats_with_against(request: HttpRequest) -> HttpResponse:
    return _stats_page(
        request,
        "matches/stats_with_against.html",
        lambda numbers, form: {
            "together": numbers.with_against(),
            "shown": analysis.WITH_AGAINST_SHOWN,
            "show_avatars": shows_outside_images(request),
        },
    )


@login_required
def stats_trends(request: HttpRequest) -> HttpResponse:
    def build(numbers: analysis.AccountStats, form: TrendsForm) -> dict:
        return {
            "trends": trends.kept_trends(numbers, form.histogram_number()),
            "trend_numbers": trends.TREND_NUMBERS,
        }

    return _stats_page(request, "matches/stats_trends.html", build, TrendsForm)


@login_required
def stats_parsed(request: HttpRequest) -> HttpResponse:
    """The stats of the filtered matches OpenDota parsed (matches.parsed_stats)."""

    def build(numbers: analysis.AccountStats, form: MatchFiltersForm) -> dict:
        return {
            "parsed": parsed_stats.kept_parsed_stats(numbers),
            "parsed_numbers": parsed_stats.PARSED_TREND_NUMBERS,
            "replay_window_days": f"{settings.PARSE_REPLAY_WINDOW_DAYS:g}",
        }

    return _stats_page(request, "matches/stats_parsed.html", build)


@login_required
def stats_player(request: HttpRequest, player_id: int) -> HttpResponse:
    """Another player side by side with the chosen account (matches.friends)."""
    if not is_known_account(player_id):
        raise Http404("No Steam account has this id.")

    def build(numbers: analysis.AccountStats, form: MatchFiltersForm) -> dict:
        if player_id == numbers.account.account_id:
            raise Http404("This is the account the page shows.")
        found = friends.kept_side_by_side(numbers, player_id)
        return {
            "friend": found,
            "page_title": found.name,
            # A page under the with-and-against tab.
            "stats_tab": "stats_with_against",
            "show_avatars": shows_outside_images(request),
        }

    return _stats_page(request, "matches/stats_player.html", build, title=f"Player {player_id}")


@login_required
@require_POST
def turbo_choice(request: HttpRequest) -> HttpResponse:
    """Store whether Turbo matches count (`include_turbo` "1" or "0"), then go back to the
    page the choice was made on (`next`, a path of this site) or the match list."""
    include = request.POST.get("include_turbo")
    if include not in ("0", "1"):
        return HttpResponseBadRequest("include_turbo is 1 (count Turbo) or 0 (leave it out).")
    UserSettings.objects.update_or_create(
        user=request.user, defaults={"include_turbo": include == "1"}
    )
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("match_list")
    return redirect(back)


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
