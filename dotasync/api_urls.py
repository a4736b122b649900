"""The REST API under /api/, its OpenAPI 3 schema and Swagger UI."""

from django.urls import path, re_path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from matches import api as matches_api
from matches.identity import api as identity_api
from syncjobs import api as syncjobs_api


@extend_schema(exclude=True)
class UnknownEndpointView(APIView):
    """Answers URLs under /api/ that name no endpoint, in JSON like every other API error."""

    def get(self, request: Request, path: str) -> Response:
        raise NotFound("No API endpoint at this URL.")

    post = put = patch = delete = get


urlpatterns = [
    path("sync/trigger", syncjobs_api.TriggerSyncView.as_view(), name="api-sync-trigger"),
    path("sync/backfill", syncjobs_api.BackfillView.as_view(), name="api-sync-backfill"),
    path("sync/parse", syncjobs_api.ParseView.as_view(), name="api-sync-parse"),
    path("sync/cancel/<int:job_id>", syncjobs_api.CancelSyncView.as_view(), name="api-sync-cancel"),
    path("sync/jobs/", syncjobs_api.SyncJobListView.as_view(), name="api-job-list"),
    path("sync/jobs/<int:pk>/", syncjobs_api.SyncJobDetailView.as_view(), name="api-job-detail"),
    path("completeness/", syncjobs_api.CompletenessView.as_view(), name="api-completeness"),
    path(
        "completeness/refresh",
        syncjobs_api.OpenDotaRefreshView.as_view(),
        name="api-opendota-refresh",
    ),
    path("accounts/", identity_api.AccountListView.as_view(), name="api-account-list"),
    path(
        "accounts/<int:account_id>/",
        identity_api.AccountDetailView.as_view(),
        name="api-account-detail",
    ),
    path("matches/", matches_api.MatchListView.as_view(), name="api-match-list"),
    path("matches/<int:match_id>/", matches_api.MatchDetailView.as_view(), name="api-match-detail"),
    path("teammates/", matches_api.TeammateListView.as_view(), name="api-teammate-list"),
    path("stats/summary/", matches_api.StatsSummaryView.as_view(), name="api-stats-summary"),
    path("stats/over-time/", matches_api.StatsOverTimeView.as_view(), name="api-stats-over-time"),
    path("stats/heroes/", matches_api.StatsHeroesView.as_view(), name="api-stats-heroes"),
    path(
        "stats/breakdowns/", matches_api.StatsBreakdownsView.as_view(), name="api-stats-breakdowns"
    ),
    path("stats/records/", matches_api.StatsRecordsView.as_view(), name="api-stats-records"),
    path("stats/activity/", matches_api.StatsActivityView.as_view(), name="api-stats-activity"),
    path(
        "stats/with-against/",
        matches_api.StatsWithAgainstView.as_view(),
        name="api-stats-with-against",
    ),
    path("stats/streaks/", matches_api.StatsStreaksView.as_view(), name="api-stats-streaks"),
    path("stats/trends/", matches_api.StatsTrendsView.as_view(), name="api-stats-trends"),
    path("stats/parsed/", matches_api.StatsParsedView.as_view(), name="api-stats-parsed"),
    path(
        "stats/players/<int:player_id>/",
        matches_api.StatsPlayerView.as_view(),
        name="api-stats-player",
    ),
    path("export/matches/", matches_api.MatchExportView.as_view(), name="api-export-matches"),
    path("export/players/", matches_api.PlayerExportView.as_view(), name="api-export-players"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: the CSP allows no inline one.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="api/swagger_ui.html"
        ),
        name="api-docs",
    ),
    # Last: anything else under /api/ (e.g. /api/matches/abc/) is a JSON 404, not an HTML page.
    re_path(r"^(?P<path>[\s\S]*)\Z", UnknownEndpointView.as_view()),
]
