"""API views for matches, teammates, exports and stats: thin adapters over matches.models'
querysets, matches.teammates and matches.analysis (the accounts endpoint is the identity
wing's, matches.identity.api)."""

from django import forms
from django.db.models import Exists, F, OuterRef, QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dotasync.api import AUTH_ERRORS, error_response, invalid_response, validated_query
from matches import analysis, friends, parsed_stats, trends
from matches.api_account import user_account
from matches.filters import (
    HeroesForm,
    MatchFiltersForm,
    OverTimeForm,
    TrendsForm,
    includes_turbo,
)
from matches.models import AccountMatch, Match
from matches.players import is_known_account
from matches.serializers import (
    AccountMatchSerializer,
    AccountQuerySerializer,
    ActivitySerializer,
    BreakdownsSerializer,
    ExportQuerySerializer,
    HeroStatsSerializer,
    MatchDetailSerializer,
    MatchQuerySerializer,
    ParsedStatsSerializer,
    PeriodSerializer,
    RecordSerializer,
    SideBySideSerializer,
    StreaksSerializer,
    SummarySerializer,
    TeammateSerializer,
    TrendsSerializer,
    WithAgainstSerializer,
)
from matches.teammates import teammates
from matches.timezones import zone_for
from matches.upstream.dota_constants import TURBO_GAME_MODE
from matches.views import streamed_export

PAGE_NOT_FOUND = error_response("No such page of results, or no linked account with that id.")
ACCOUNT_REQUIRED = invalid_response(
    "Bad query parameters, no linked account, or several and none named (`account`)."
)


@extend_schema(
    summary="One account's matches, seen from its side",
    parameters=[MatchQuerySerializer],
    responses={200: AccountMatchSerializer(many=True), 400: ACCOUNT_REQUIRED, 404: PAGE_NOT_FOUND}
    | AUTH_ERRORS,
)
class MatchListView(generics.ListAPIView):
    serializer_class = AccountMatchSerializer

    def get_queryset(self) -> QuerySet[Match]:
        query = validated_query(MatchQuerySerializer, self.request)
        account = user_account(self.request.user, query.get("account"), field="account")
        matches = Match.objects.from_side_of(
            account,
            hero_id=query.get("hero_id"),
            result=None if "won" not in query else ("win" if query["won"] else "loss"),
            details_status=query.get("details_status"),
        )
        if not includes_turbo(self.request.user):
            matches = matches.exclude(game_mode=TURBO_GAME_MODE)
        if "start_after" in query:
            matches = matches.filter(start_time__gte=query["start_after"])
        if "start_before" in query:
            matches = matches.filter(start_time__lt=query["start_before"])
        return matches.order_by(*_match_order(query["ordering"]))


def _match_order(ordering: str) -> list:
    field = ordering.removeprefix("-")
    if field == "match_id":
        return [ordering]
    # Stubs can lack a start time or duration: they go last either way.
    column = F(field).desc(nulls_last=True) if ordering[0] == "-" else F(field).asc(nulls_last=True)
    return [column, "-match_id"]


@extend_schema(
    summary="A match with all its players",
    responses={
        200: MatchDetailSerializer,
        404: error_response("No match of your accounts has this id."),
    }
    | AUTH_ERRORS,
)
class MatchDetailView(generics.RetrieveAPIView):
    serializer_class = MatchDetailSerializer
    lookup_field = "match_id"

    def get_queryset(self) -> QuerySet[Match]:
        # Exists rather than a join: a match two of the user's accounts played is still one row.
        played_by_user = AccountMatch.objects.filter(
            match=OuterRef("pk"), account__owner=self.request.user
        )
        return (
            Match.objects.filter(Exists(played_by_user))
            .with_parse_state(self.request.user)
            .prefetch_related("players")
        )


@extend_schema(
    summary="Who played on the account's team, most games first",
    parameters=[AccountQuerySerializer],
    responses={
        200: TeammateSerializer(many=True),
        400: ACCOUNT_REQUIRED,
        404: PAGE_NOT_FOUND,
    }
    | AUTH_ERRORS,
)
class TeammateListView(generics.ListAPIView):
    serializer_class = TeammateSerializer

    def get_queryset(self) -> list:
        query = validated_query(AccountQuerySerializer, self.request)
        account = user_account(self.request.user, query.get("account"), "account")
        return teammates(account)


class ExportNegotiation(DefaultContentNegotiation):
    """`?format=` names the export's file format, not one of DRF's renderers; the export
    itself is not rendered by DRF, and its errors are always JSON."""

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        return renderers[0], renderers[0].media_type


def _export_schema(kind: str, summary: str, columns: str) -> dict:
    return {
        "summary": summary,
        "description": (
            f"Streamed as it is read, oldest match first; {columns} The columns are listed in "
            "the README's Export section. Sent as a download (`Content-Disposition: attachment`)."
        ),
        "parameters": [ExportQuerySerializer],
        "responses": {
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description=f"`format=csv`: the {kind}, a header row first."
            ),
            (200, "application/x-ndjson"): OpenApiResponse(
                OpenApiTypes.STR, description=f"`format=jsonl`: the {kind}, one object a line."
            ),
            400: ACCOUNT_REQUIRED,
            404: error_response("No linked account of yours with that id."),
            **AUTH_ERRORS,
        },
    }


class ExportView(APIView):
    kind: str
    renderer_classes = [JSONRenderer]
    content_negotiation_class = ExportNegotiation

    def get(self, request: Request) -> StreamingHttpResponse:
        query = validated_query(ExportQuerySerializer, request)
        account = user_account(request.user, query.get("account"), field="account")
        return streamed_export(account, self.kind, query["format"])


@extend_schema(
    **_export_schema(
        "matches",
        "Export all of one account's matches, seen from its side",
        "one row per match, stubs included (`has_details` false, their detail columns empty).",
    )
)
class MatchExportView(ExportView):
    kind = "matches"


@extend_schema(
    **_export_schema(
        "player rows",
        "Export every player row of one account's matches",
        "one row per player (ten per match with details; stubs have none).",
    )
)
class PlayerExportView(ExportView):
    kind = "players"


# --- stats --------------------------------------------------------------------------------------


def _filter_parameters(form_class: type[MatchFiltersForm]) -> list:
    """The query parameters of a stats endpoint, read from the form that validates them: ids
    are integers, `side`, `sort` and `by` list their values."""
    parameters: list = [AccountQuerySerializer]
    for name, field in form_class.base_fields.items():
        description = FILTER_DESCRIPTIONS[name]
        if isinstance(field, forms.DateField):
            parameter = OpenApiParameter(name, OpenApiTypes.DATE, description=description)
        elif isinstance(field, forms.IntegerField | forms.TypedChoiceField):
            parameter = OpenApiParameter(name, OpenApiTypes.INT, description=description)
        else:
            values = [value for value, _label in field.choices if value]
            parameter = OpenApiParameter(
                name, OpenApiTypes.STR, enum=values, description=description
            )
        parameters.append(parameter)
    return parameters


EMPTY_PARAMETER = "Give a value, or leave the parameter out."
FILTER_DESCRIPTIONS = {
    "start": "First day (YYYY-MM-DD, in your time zone) of the matches counted.",
    "end": "Last day (YYYY-MM-DD, in your time zone, included).",
    "hero": "Only the matches you played this hero in (a hero id).",
    "game_mode": (
        "Only this game mode (Valve's id, e.g. 22 All Pick, 23 Turbo). Without it, Turbo "
        "matches count unless you chose to leave them out (the pages' Turbo switch)."
    ),
    "lobby_type": "Only this lobby type (Valve's id, e.g. 0 normal, 7 ranked).",
    "side": "Only the matches you played on this side.",
    "teammate": "Only the matches this account id played on your side.",
    "sort": "Column of the heroes table to sort by; a leading - sorts from the highest.",
    "by": "Length of a period (default month).",
    "histogram": "The number the histogram counts (default kills).",
}
FILTERS_REFUSED = invalid_response(
    "A filter is invalid (an unknown hero, a bad date, a start after the end...), there is "
    "no linked account, or several and none named (`account`)."
)


class StatsView(APIView):
    """A stats endpoint: the user's account and the filters of the query, checked by the same
    form as the web page's, then one function of matches.analysis."""

    form_class: type[MatchFiltersForm] = MatchFiltersForm

    def get(self, request: Request, **path: int) -> Response:
        query = validated_query(AccountQuerySerializer, request)
        account = user_account(request.user, query.get("account"), "account")
        # A page's form sends its empty fields as `end=`; a client of the API leaves them out.
        empty = [
            name for name in self.form_class.base_fields if request.query_params.get(name) == ""
        ]
        if empty:
            raise ValidationError({name: [EMPTY_PARAMETER] for name in empty})
        form = self.form_class(request.query_params)
        if not form.is_valid():
            raise ValidationError(form.error_messages())
        # The user's own time zone, as on the pages: a day or an hour means the same in both.
        zone = zone_for(request.user)
        filters = form.filters(zone, includes_turbo(request.user))
        # Each endpoint's `numbers(stats, form)` is its serialized answer.
        return Response(self.numbers(analysis.AccountStats(account, filters), form))


def _stats_schema(summary: str, serializer, form_class=MatchFiltersForm):
    return extend_schema(
        summary=summary,
        parameters=_filter_parameters(form_class),
        responses={200: serializer, 400: FILTERS_REFUSED, 404: PAGE_NOT_FOUND} | AUTH_ERRORS,
    )


@_stats_schema("Games, wins and win rate over the filtered matches", SummarySerializer)
class StatsSummaryView(StatsView):
    def numbers(self, stats: analysis.AccountStats, form: MatchFiltersForm) -> dict:
        return SummarySerializer(stats.summary()).data


@_stats_schema("Games and wins per day, week or month", PeriodSerializer(many=True), OverTimeForm)
class StatsOverTimeView(StatsView):
    form_class = OverTimeForm

    def numbers(self, stats: analysis.AccountStats, form: OverTimeForm) -> list:
        return PeriodSerializer(stats.over_time(form.unit()), many=True).data


@_stats_schema("Every hero played, with averages", HeroStatsSerializer(many=True), HeroesForm)
class StatsHeroesView(StatsView):
    form_class = HeroesForm

    def numbers(self, stats: analysis.AccountStats, form: HeroesForm) -> list:
        return HeroStatsSerializer(stats.heroes(form.ordering()), many=True).data


@_stats_schema(
    "Games and wins by game mode, lobby type, side, party size and duration",
    BreakdownsSerializer,
)
class StatsBreakdownsView(StatsView):
    def numbers(self, stats: analysis.AccountStats, form: MatchFiltersForm) -> dict:
        return BreakdownsSerializer(stats.breakdowns()).data


@_stats_schema("The best of each number, and the match it came in", RecordSerializer(many=True))
class StatsRecordsView(StatsView):
    def numbers(self, stats: analysis.AccountStats, form: MatchFiltersForm) -> list:
        return RecordSerializer(stats.records(), many=True).data


@_stats_schema("Games by weekday and hour, in your time zone", ActivitySerializer)
class StatsActivityView(StatsView):
    def numbers(self, stats: analysis.AccountStats, form: MatchFiltersForm) -> dict:
        return ActivitySerializer(stats.activity()).data


@_stats_schema("Players and heroes met most, with you and against you", WithAgainstSerializer)
class StatsWithAgainstView(StatsView):
    def numbers(self, stats: analysis.AccountStats, form: MatchFiltersForm) -> dict:
        return WithAgainstSerializer(stats.with_against()).data


@extend_schema(
    summary="You and another player side by side: together, against, without them",
    description=(
        "Counted over your account's own matches (filtered), so any account id may be asked: "
        "one you never met has no games together and no name."
    ),
    parameters=_filter_parameters(MatchFiltersForm),
    responses={
        200: SideBySideSerializer,
        400: FILTERS_REFUSED,
        404: error_response(
            "No linked account with that id, or the player is that account itself or no "
            "Steam account."
        ),
    }
    | AUTH_ERRORS,
)
class StatsPlayerView(StatsView):
    def numbers(self, stats: analysis.AccountStats, form: MatchFiltersForm) -> dict:
        player_id = self.kwargs["player_id"]
        if not is_known_account(player_id) or player_id == stats.account.account_id:
            raise NotFound("The player is the account itself, or no Steam account.")
        return SideBySideSerializer(friends.kept_side_by_side(stats, player_id)).data


@_stats_schema("The longest win and loss streaks, and the current one", StreaksSerializer)
class StatsStreaksView(StatsView):
    def numbers(self, stats: analysis.AccountStats, form: MatchFiltersForm) -> dict:
        return StreaksSerializer(trends.kept_streaks(stats)).data


@_stats_schema(
    "Moving averages of the last 20 games per day of play, and a histogram of one number",
    TrendsSerializer,
    TrendsForm,
)
class StatsTrendsView(StatsView):
    form_class = TrendsForm

    def numbers(self, stats: analysis.AccountStats, form: TrendsForm) -> dict:
        return TrendsSerializer(trends.kept_trends(stats, form.histogram_number())).data


@_stats_schema(
    "Over the parsed matches only: last hits and net worth at 10 and 20 minutes over time, "
    "lane outcomes and match results, first core item per hero; and how many are parsed",
    ParsedStatsSerializer,
)
class StatsParsedView(StatsView):
    def numbers(self, stats: analysis.AccountStats, form: MatchFiltersForm) -> dict:
        return ParsedStatsSerializer(parsed_stats.kept_parsed_stats(stats)).data
