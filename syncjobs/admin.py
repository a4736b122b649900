from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from syncjobs import engine
from syncjobs.models import ParseSpend, SyncJob


@admin.register(SyncJob)
class SyncJobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "account",
        "job_type",
        "status",
        "phase",
        "ids_found",
        "details_done",
        "details_total",
        "details_ok",
        "details_failed",
        "details_deferred",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "job_type", "phase"]
    search_fields = ["=id", "=account__account_id", "account__persona_name"]
    list_select_related = ["account"]
    readonly_fields = [f.name for f in SyncJob._meta.fields]
    actions = ["cancel_jobs"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs start through start_sync (dashboard, API, commands), never by hand

    @admin.action(description="Cancel selected jobs", permissions=["change"])
    def cancel_jobs(self, request: HttpRequest, queryset: QuerySet) -> None:
        cancelled, refused = 0, 0
        for job in queryset.select_related("account"):
            try:
                engine.request_cancel(job)
                cancelled += 1
            except engine.NotCancellable:
                refused += 1
        if cancelled:
            self.message_user(request, f"Asked {cancelled} job(s) to cancel.")
        if refused:
            self.message_user(
                request, f"{refused} job(s) had already ended.", level=messages.WARNING
            )


@admin.register(ParseSpend)
class ParseSpendAdmin(admin.ModelAdmin):
    list_display = ["day", "calls"]
    ordering = ["-day"]
