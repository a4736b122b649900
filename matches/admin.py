from django.conf import settings
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from matches.models import (
    AccountMatch,
    ApiToken,
    Match,
    MatchPlayer,
    ParseRequest,
    SteamAccount,
)


@admin.register(SteamAccount)
class SteamAccountAdmin(admin.ModelAdmin):
    list_display = [
        "account_id",
        "persona_name",
        "owner",
        "steam_id64",
        "parse_new_matches",
        "created_at",
    ]
    search_fields = ["=account_id", "persona_name", "owner__username"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]
    actions = ["give_attempts_back"]

    @admin.action(
        description="Give failed matches their attempts back (after fixing a key)",
        permissions=["change"],
    )
    def give_attempts_back(self, request: HttpRequest, queryset: QuerySet) -> None:
        matches = Match.objects.filter(account_links__account__in=queryset)
        given = matches.give_attempts_back(settings.SYNC_MAX_ATTEMPTS)
        self.message_user(
            request, f"{given} failed match(es) are waiting for details again; a sync fetches them."
        )


class DetailsStatusFilter(admin.SimpleListFilter):
    """The seeds' tri-state, named: NULL is pending, TRUE complete, FALSE failed."""

    title = "details status"
    parameter_name = "details"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        return [("pending", "Pending (stub)"), ("complete", "Complete"), ("failed", "Failed")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return {
            "pending": queryset.stubs,
            "complete": queryset.complete,
            "failed": queryset.failed,
        }.get(self.value(), queryset.all)()


class MatchPlayerInline(admin.TabularInline):
    model = MatchPlayer
    extra = 0
    can_delete = False
    fields = [
        "player_slot",
        "account_id",
        "hero_id",
        "kills",
        "deaths",
        "assists",
        "last_hits",
        "gold_per_min",
        "xp_per_min",
        "net_worth",
    ]
    readonly_fields = fields


class AccountLinkInline(admin.TabularInline):
    model = AccountMatch
    extra = 0
    fields = ["account", "player_slot", "hero_id", "discovered_at"]
    readonly_fields = fields
    can_delete = False


@admin.register(Match)
class MatchAdmin(admin.ModelAdmin):
    list_display = [
        "match_id",
        "details_status",
        "start_time",
        "duration",
        "radiant_win",
        "retry_count",
        "details_source",
        "fetch_error",
    ]
    list_filter = [DetailsStatusFilter, "details_source", "game_mode", "lobby_type"]
    search_fields = ["=match_id"]
    readonly_fields = ["discovered_at", "details_fetched_at", "claimed_by", "claimed_until"]
    inlines = [AccountLinkInline, MatchPlayerInline]
    date_hierarchy = "start_time"
    show_full_result_count = False

    @admin.display(description="details")
    def details_status(self, match: Match) -> str:
        return match.details_status


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Who has a token, told apart by its first characters; deleting one revokes it. Made on
    the Accounts page or with `manage.py create_api_token`, the only places its key is shown."""

    list_display = ["prefix", "user", "created"]
    search_fields = ["user__username", "prefix"]
    fields = ["user", "prefix", "created"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False


@admin.register(ParseRequest)
class ParseRequestAdmin(admin.ModelAdmin):
    list_display = ["match", "state", "job_id", "requested_at", "checked_at", "next_check_at"]
    list_filter = ["state"]
    search_fields = ["=match__match_id"]
    raw_id_fields = ["match"]
    readonly_fields = ["job_id", "requested_at", "checked_at"]
