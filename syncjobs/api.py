"""API views that start, cancel and report sync jobs: thin adapters over syncjobs.engine."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from dotasync.api import AUTH_ERRORS, NOT_JSON, error_response, invalid_response, validated_query
from matches.api_account import user_account
from matches.models import SteamAccount
from matches.serializers import AccountQuerySerializer
from syncjobs import completeness, liveness, refresh, start_throttle
from syncjobs.engine import (
    AlreadyRunning,
    EnqueueFailed,
    NotCancellable,
    TooManyJobs,
    request_cancel,
    start_sync,
)
from syncjobs.models import JobStatus, JobType, SyncJob
from syncjobs.serializers import (
    BackfillSerializer,
    BusySerializer,
    CancelledJobSerializer,
    JobQuerySerializer,
    ParseSerializer,
    SyncJobSerializer,
    TriggerSerializer,
)

START_ERRORS = {
    400: invalid_response("Bad input, no linked account, or several and no account_id."),
    404: error_response("You have no linked account with that account_id."),
    409: OpenApiResponse(BusySerializer, description="A job is already pending or running."),
    429: error_response(
        "Too many syncs started (wait and try again), or MAX_ACTIVE_JOBS_PER_USER of yours "
        "are already waiting or running."
    ),
    503: error_response(
        "The task queue did not take the job (its broker is down); no job is left."
    ),
    **NOT_JSON,
    **AUTH_ERRORS,
}


class StartSyncView(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = start_throttle.SCOPE  # one allowance with the web pages' starts

    def start(
        self,
        request: Request,
        account: SteamAccount,
        job_type: str,
        *,
        force: bool = False,
        reset_failed: bool = False,
    ) -> Response:
        try:
            job = start_sync(
                account, job_type, request.user, force=force, reset_failed=reset_failed
            )
        except AlreadyRunning as exc:
            body = {"detail": str(exc), "job": SyncJobSerializer(exc.job).data}
            return Response(body, status=status.HTTP_409_CONFLICT)
        except TooManyJobs as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_429_TOO_MANY_REQUESTS)
        except EnqueueFailed as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        job.refresh_from_db()
        return Response(SyncJobSerializer(job).data, status=status.HTTP_201_CREATED)


class TriggerSyncView(StartSyncView):
    @extend_schema(
        summary="Start a sync of new matches only, or of the whole history",
        request=TriggerSerializer,
        responses={201: SyncJobSerializer, **START_ERRORS},
    )
    def post(self, request: Request) -> Response:
        params = TriggerSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        account = user_account(request.user, params.validated_data.get("account_id"))
        return self.start(request, account, params.validated_data["job_type"])


class BackfillView(StartSyncView):
    @extend_schema(
        summary="Retry fetching the details of failed matches",
        request=BackfillSerializer,
        responses={201: SyncJobSerializer, **START_ERRORS},
    )
    def post(self, request: Request) -> Response:
        params = BackfillSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        account = user_account(request.user, params.validated_data.get("account_id"))
        return self.start(
            request,
            account,
            JobType.BACKFILL,
            force=params.validated_data["force"],
            reset_failed=params.validated_data["reset_failed"],
        )


class ParseView(StartSyncView):
    @extend_schema(
        summary="Ask OpenDota to parse what can still be parsed of an account's matches",
        description="A parse job (syncjobs.parsing): matches played within "
        "PARSE_REPLAY_WINDOW_DAYS that are neither parsed nor asked for are asked for once "
        "each (with the account's parse_new_matches switch on), and requests sent are checked, "
        "within PARSE_DAILY_BUDGET and after every account's matches without details.",
        request=ParseSerializer,
        responses={201: SyncJobSerializer, **START_ERRORS},
    )
    def post(self, request: Request) -> Response:
        params = ParseSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        account = user_account(request.user, params.validated_data.get("account_id"))
        return self.start(request, account, JobType.PARSE)


class CancelSyncView(APIView):
    @extend_schema(
        summary="Cancel a pending job, or ask a running one to stop",
        request=None,
        responses={
            200: CancelledJobSerializer,
            400: error_response("The job has already completed, failed or been cancelled."),
            404: error_response("You have no job with this id."),
            **AUTH_ERRORS,
        },
    )
    def post(self, request: Request, job_id: int) -> Response:
        job = get_object_or_404(SyncJob.objects.for_user(request.user), pk=job_id)
        try:
            job = request_cancel(job)
        except NotCancellable as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(CancelledJobSerializer(job).data)


@extend_schema(
    summary="Your sync jobs, newest first",
    parameters=[JobQuerySerializer],
    responses={
        200: SyncJobSerializer(many=True),
        400: invalid_response("Bad query parameters."),
        404: error_response("No such page of results, or no linked account with that id."),
        **AUTH_ERRORS,
    },
)
class SyncJobListView(generics.ListAPIView):
    serializer_class = SyncJobSerializer

    def get_queryset(self) -> QuerySet[SyncJob]:
        query = validated_query(JobQuerySerializer, self.request)
        jobs = SyncJob.objects.for_user(self.request.user).select_related("account")
        if "account" in query:
            account = user_account(self.request.user, query["account"], "account")
            jobs = jobs.filter(account=account)
        liveness.refresh(jobs.filter(status=JobStatus.RUNNING))
        return jobs


@extend_schema(
    summary="One sync job and its progress",
    responses={
        200: SyncJobSerializer,
        404: error_response("You have no job with this id."),
        **AUTH_ERRORS,
    },
)
class SyncJobDetailView(generics.RetrieveAPIView):
    serializer_class = SyncJobSerializer

    def get_queryset(self) -> QuerySet[SyncJob]:
        return SyncJob.objects.for_user(self.request.user).select_related("account")

    def get_object(self) -> SyncJob:
        job = super().get_object()
        liveness.end_if_dead(job)
        return job


ACCOUNT_ERRORS = {
    400: invalid_response("Bad input, no linked account, or several and no account."),
    404: error_response("You have no linked account with that id."),
    **AUTH_ERRORS,
}


class CompletenessView(APIView):
    """What each ID source says of an account (syncjobs.completeness)."""

    @extend_schema(
        summary="What each ID source says of an account, and what is stored",
        parameters=[AccountQuerySerializer],
        responses={200: OpenApiTypes.OBJECT, **ACCOUNT_ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = validated_query(AccountQuerySerializer, request)
        account = user_account(request.user, query.get("account"), "account")
        return Response(completeness.report(account).as_dict())


class OpenDotaRefreshView(APIView):
    """Ask OpenDota to rescan an account: only when its count is behind, once a day."""

    @extend_schema(
        summary="Ask OpenDota to refresh an account whose count is behind (once a day)",
        parameters=[AccountQuerySerializer],
        request=None,
        responses={
            202: OpenApiTypes.OBJECT,
            409: error_response("OpenDota is not behind, or was asked within the last day."),
            **ACCOUNT_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        query = validated_query(AccountQuerySerializer, request)
        account = user_account(request.user, query.get("account"), "account")
        if not completeness.report(account).refresh_offered:
            return Response(
                {"detail": "OpenDota is not behind the other sources."},
                status=status.HTTP_409_CONFLICT,
            )
        if not refresh.ask(account):
            return Response(
                {"detail": "OpenDota was asked within the last day already."},
                status=status.HTTP_409_CONFLICT,
            )
        return Response({"detail": "OpenDota was asked to refresh."}, status=202)
