"""The API's view of sync jobs: the same fields as SyncJob.as_dict(), the commands' --json."""

from rest_framework import serializers

from dotasync.api import WholeNumberField
from matches.models import ANONYMOUS_ACCOUNT_ID
from syncjobs.models import JobPhase, JobStatus, JobType, SyncJob

# Backfill has its own endpoint, so trigger offers only the two syncs.
TRIGGER_JOB_TYPES = [(kind.value, kind.label) for kind in (JobType.INCREMENTAL, JobType.FULL)]


class SyncJobSerializer(serializers.ModelSerializer):
    account_id = serializers.IntegerField(source="account.account_id", read_only=True)
    job_type = serializers.ChoiceField(choices=JobType.choices, read_only=True)
    status = serializers.ChoiceField(choices=JobStatus.choices, read_only=True)
    phase = serializers.ChoiceField(
        choices=[("", "Not started"), *JobPhase.choices], read_only=True
    )
    sources = serializers.DictField(
        child=serializers.IntegerField(), read_only=True, help_text="Matches completed per source."
    )
    cancel_requested = serializers.BooleanField(read_only=True)
    progress_text = serializers.CharField(read_only=True)
    percent = serializers.IntegerField(
        allow_null=True, read_only=True, help_text="Null while the number of matches is unknown."
    )
    eta_seconds = serializers.IntegerField(
        allow_null=True,
        read_only=True,
        help_text="Phase 2: the expected seconds left, from the sources' paces and quotas.",
    )
    eta_text = serializers.CharField(
        read_only=True, help_text='The same in words, e.g. "about 7 min; 1,500 matches wait …".'
    )
    waiting_for_quota = serializers.IntegerField(
        source="eta_waiting", read_only=True, help_text="Matches waiting for a daily limit's reset."
    )
    quota_resets_at = serializers.DateTimeField(
        source="eta_resets_at", allow_null=True, read_only=True
    )

    class Meta:
        model = SyncJob
        fields = [
            "id",
            "account_id",
            "job_type",
            "status",
            "phase",
            "ids_found",
            "ids_new",
            "details_total",
            "details_done",
            "details_ok",
            "details_failed",
            "details_deferred",
            "sources",
            "cancel_requested",
            "progress_text",
            "percent",
            "eta_seconds",
            "eta_text",
            "waiting_for_quota",
            "quota_resets_at",
            "message",
            "error_message",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class CancelledJobSerializer(SyncJobSerializer):
    detail = serializers.SerializerMethodField()

    class Meta(SyncJobSerializer.Meta):
        fields = [*SyncJobSerializer.Meta.fields, "detail"]
        read_only_fields = fields

    def get_detail(self, job: SyncJob) -> str:
        if job.status == JobStatus.CANCELLED:
            return "Job cancelled."
        return "Cancellation requested: the worker stops the job within a second or two."


class BusySerializer(serializers.Serializer):
    detail = serializers.CharField()
    job = SyncJobSerializer(help_text="The job that is already pending or running.")


class _AccountChoice(serializers.Serializer):
    account_id = WholeNumberField(
        required=False,
        min_value=1,
        max_value=ANONYMOUS_ACCOUNT_ID - 1,
        help_text="A linked Steam account id; may be left out by a user with exactly one.",
    )


class TriggerSerializer(_AccountChoice):
    job_type = serializers.ChoiceField(choices=TRIGGER_JOB_TYPES)


class BackfillSerializer(_AccountChoice):
    force = serializers.BooleanField(
        default=False, help_text="Retry every failed match now, ignoring the retry backoff."
    )
    reset_failed = serializers.BooleanField(
        default=False,
        help_text="First give matches that used up their attempts (SYNC_MAX_ATTEMPTS) their "
        "attempts back: for failures caused by a wrong key or URL, once fixed.",
    )


class ParseSerializer(_AccountChoice):
    """A parse job of one account (syncjobs.parsing): it takes only the account."""


class JobQuerySerializer(serializers.Serializer):
    account = WholeNumberField(
        required=False,
        min_value=1,
        max_value=ANONYMOUS_ACCOUNT_ID - 1,
        help_text="Only this linked account's jobs.",
    )
