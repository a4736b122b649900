"""The API's view of accounts, matches, players and teammates."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dotasync.api import WholeNumberField
from matches import parse_status
from matches.export import FORMATS
from matches.models import (
    ANONYMOUS_ACCOUNT_ID,
    DETAILS_STATUSES,
    Match,
    MatchPlayer,
    ParseState,
    SteamAccount,
    exported_fields,
    shown_as,
)
from matches.parsed_facts import LaneOutcome
from matches.players import label_of, labels_for
from matches.upstream.dota_constants import hero_facet_name

MAX_HERO_ID = 32767
MATCH_ORDERINGS = ("match_id", "start_time", "duration")


class DetailsSummarySerializer(serializers.Serializer):
    matches = serializers.IntegerField()
    complete = serializers.IntegerField()
    pending = serializers.IntegerField(help_text="Stubs waiting for their details.")
    failed = serializers.IntegerField()
    retryable = serializers.IntegerField(
        help_text="Failed matches with attempts left (SYNC_MAX_ATTEMPTS); a sync retries them."
    )


class SteamAccountSerializer(serializers.ModelSerializer):
    details = serializers.SerializerMethodField(help_text="Matches by state of their details.")

    class Meta:
        model = SteamAccount
        fields = [
            "account_id",
            "steam_id64",
            "persona_name",
            "avatar_url",
            "verified",
            "created_at",
            "parse_new_matches",
            "details",
        ]
        extra_kwargs = {
            "verified": {
                "help_text": "Proven through Steam sign-in; false for an account linked by "
                "typing its id, which its owner's Steam sign-in takes over."
            }
        }

    @extend_schema_field(DetailsSummarySerializer)
    def get_details(self, account: SteamAccount) -> dict[str, int]:
        return Match.objects.for_account(account).details_summary()


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "integer"}]})
class AccountReferenceField(serializers.CharField):
    """Text, though a bare account id may come as a JSON number."""


class AccountSwitchesSerializer(serializers.ModelSerializer):
    class Meta:
        model = SteamAccount
        fields = ["parse_new_matches"]


class LinkAccountSerializer(serializers.Serializer):
    account = AccountReferenceField(
        max_length=300,
        trim_whitespace=True,
        help_text="A 32-bit account id, a SteamID64 or a steamcommunity.com profile URL "
        "(custom /id/ URLs only when the server has a Steam API key).",
    )


class AccountMatchSerializer(serializers.ModelSerializer):
    """A match in a list, seen from the side of the account the list is for."""

    details_status = serializers.ChoiceField(choices=DETAILS_STATUSES, read_only=True)
    hero_id = serializers.IntegerField(allow_null=True, read_only=True)
    player_slot = serializers.IntegerField(allow_null=True, read_only=True)
    is_radiant = serializers.BooleanField(allow_null=True, read_only=True)
    won = serializers.BooleanField(
        allow_null=True,
        read_only=True,
        help_text="Null while the result or the account's side is unknown.",
    )
    kills = serializers.IntegerField(allow_null=True, read_only=True)
    deaths = serializers.IntegerField(allow_null=True, read_only=True)
    assists = serializers.IntegerField(allow_null=True, read_only=True)
    leaver_status = serializers.IntegerField(
        allow_null=True,
        read_only=True,
        help_text="The account's own (Valve's DOTALeaverStatus_t); 2 or more is an abandon.",
    )

    class Meta:
        model = Match
        fields = [
            "match_id",
            "start_time",
            "duration",
            "game_mode",
            "lobby_type",
            "radiant_win",
            "radiant_score",
            "dire_score",
            "details_status",
            "details_source",
            "hero_id",
            "player_slot",
            "is_radiant",
            "won",
            "kills",
            "deaths",
            "assists",
            "leaver_status",
            "abandons",
        ]


# How a player row shows the stored fields that are not one field of their own name: its
# result next to its side, the item slots as two lists.
_PLAYER_FIELDS_SHOWN_AS = {
    "is_radiant": ("is_radiant", "won"),
    **dict.fromkeys((*MatchPlayer.ITEM_FIELDS, *MatchPlayer.BACKPACK_FIELDS), ()),
    MatchPlayer.ITEM_FIELDS[0]: ("items",),
    MatchPlayer.BACKPACK_FIELDS[0]: ("backpack",),
}


class MatchPlayerSerializer(serializers.ModelSerializer):
    """A player of a match; `context["labels"]` (players.labels_for) names them in bulk."""

    won = serializers.BooleanField(allow_null=True, read_only=True)
    persona_name = serializers.SerializerMethodField(
        help_text="The public Steam name; empty for anonymous players and accounts without one."
    )
    avatar = serializers.SerializerMethodField(
        help_text="Steam's 64 px avatar URL (on Steam's servers); null when unknown."
    )
    hero_facet = serializers.SerializerMethodField(
        help_text="The name of the facet `hero_variant` stands for; empty when unknown."
    )
    items = serializers.ListField(child=serializers.IntegerField(allow_null=True), read_only=True)
    backpack = serializers.ListField(
        child=serializers.IntegerField(allow_null=True), read_only=True
    )

    class Meta:
        model = MatchPlayer
        # Every stored field (models.exported_fields), then what the row is named and shown by.
        fields = [
            *shown_as(exported_fields(MatchPlayer), _PLAYER_FIELDS_SHOWN_AS),
            "persona_name",
            "avatar",
            "hero_facet",
        ]

    def _label(self, player: MatchPlayer):
        labels = self.context.get("labels")
        if labels is None:
            labels = labels_for([player.account_id])
        return label_of(player.account_id, labels)

    def get_persona_name(self, player: MatchPlayer) -> str:
        return self._label(player).persona_name

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_avatar(self, player: MatchPlayer) -> str | None:
        return self._label(player).avatar_url or None

    def get_hero_facet(self, player: MatchPlayer) -> str:
        return hero_facet_name(player.hero_id, player.hero_variant)


class DraftStepSerializer(serializers.Serializer):
    order = serializers.IntegerField()
    is_pick = serializers.BooleanField()
    hero_id = serializers.IntegerField()
    team = serializers.IntegerField(help_text="0 Radiant, 1 Dire.")


class ParseStatusSerializer(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=[
            parse_status.NOT_REQUESTED,
            parse_status.WAITING_TO_SEND,
            parse_status.PARSING_OFF,
            ParseState.REQUESTED.value,
            ParseState.EXPIRED.value,
            ParseState.REFUSED.value,
        ]
    )
    text = serializers.CharField(help_text="Why the match is not parsed, in words.")
    since = serializers.DateTimeField(allow_null=True)


class MatchDetailSerializer(serializers.ModelSerializer):
    details_status = serializers.ChoiceField(choices=DETAILS_STATUSES, read_only=True)
    players = serializers.SerializerMethodField()
    parse = serializers.SerializerMethodField(
        help_text="Why OpenDota's replay parse is missing; null once the match is parsed."
    )
    picks_bans = DraftStepSerializer(
        many=True,
        allow_null=True,
        read_only=True,
        help_text="The draft in order (Captains Mode, ranked All Pick, ...); null without one.",
    )

    class Meta:
        model = Match
        # Every stored field (models.exported_fields), its state of details as a word, and
        # its players.
        fields = [
            *shown_as(exported_fields(Match), {"has_details": ("details_status",)}),
            "players",
            "parse",
        ]

    @extend_schema_field(ParseStatusSerializer(allow_null=True))
    def get_parse(self, match: Match) -> dict | None:
        request = self.context.get("request")
        status = parse_status.parse_status(match, getattr(request, "user", None))
        return ParseStatusSerializer(status.as_dict()).data if status else None

    @extend_schema_field(MatchPlayerSerializer(many=True))
    def get_players(self, match: Match) -> list:
        players = list(match.players.all())
        labels = labels_for(player.account_id for player in players)
        return MatchPlayerSerializer(
            players, many=True, context={**self.context, "labels": labels}
        ).data


class AccountQuerySerializer(serializers.Serializer):
    account = WholeNumberField(
        required=False,
        min_value=1,
        max_value=ANONYMOUS_ACCOUNT_ID - 1,
        help_text="A linked Steam account id; may be left out by a user with exactly one.",
    )


class MatchQuerySerializer(AccountQuerySerializer):
    hero_id = WholeNumberField(
        required=False, min_value=0, max_value=MAX_HERO_ID, help_text="The account's own hero."
    )
    won = serializers.BooleanField(required=False, help_text="From the account's side.")
    details_status = serializers.ChoiceField(choices=DETAILS_STATUSES, required=False)
    start_after = serializers.DateTimeField(required=False, help_text="Started at or after.")
    start_before = serializers.DateTimeField(required=False, help_text="Started before.")
    ordering = serializers.ChoiceField(
        choices=[*MATCH_ORDERINGS, *(f"-{field}" for field in MATCH_ORDERINGS)],
        default="-match_id",
    )


class ExportQuerySerializer(AccountQuerySerializer):
    format = serializers.ChoiceField(
        choices=sorted(FORMATS),
        help_text="csv: RFC 4180 with a header row; jsonl: JSON Lines, one object per line.",
    )


class TeammateSerializer(serializers.Serializer):
    account_id = serializers.IntegerField()
    persona_name = serializers.CharField(
        allow_blank=True, help_text="The public Steam name; empty while unknown."
    )
    avatar = serializers.SerializerMethodField(
        help_text="Steam's 64 px avatar URL (on Steam's servers); null when unknown."
    )
    games = serializers.IntegerField(help_text="Matches played on the same side.")
    wins = serializers.IntegerField()
    win_rate = serializers.FloatField(help_text="wins / games, from 0 to 1.")
    last_played = serializers.DateTimeField(allow_null=True)

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_avatar(self, teammate) -> str | None:
        return teammate.avatar_url or None


# --- stats (matches.analysis) -------------------------------------------------------------------


class SummarySerializer(serializers.Serializer):
    games = serializers.IntegerField(help_text="Matches with details and a result.")
    wins = serializers.IntegerField()
    win_rate = serializers.FloatField(allow_null=True, help_text="0 to 1; null without games.")


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateField(help_text="First day of the day, week (Monday) or month.")
    games = serializers.IntegerField()
    wins = serializers.IntegerField()
    win_rate = serializers.FloatField()


class HeroStatsSerializer(serializers.Serializer):
    hero_id = serializers.IntegerField()
    name = serializers.CharField()
    games = serializers.IntegerField()
    wins = serializers.IntegerField()
    win_rate = serializers.FloatField()
    avg_kills = serializers.FloatField(allow_null=True)
    avg_deaths = serializers.FloatField(allow_null=True)
    avg_assists = serializers.FloatField(allow_null=True)
    kda_ratio = serializers.FloatField(
        allow_null=True, help_text="(kills + assists) / deaths, deaths counted as at least 1."
    )
    avg_gpm = serializers.FloatField(allow_null=True)
    avg_xpm = serializers.FloatField(allow_null=True)
    last_played = serializers.DateTimeField(allow_null=True)


class BucketSerializer(serializers.Serializer):
    key = serializers.JSONField(
        help_text="The value: a game mode or lobby id, radiant/dire, a party size, or the "
        "bucket's first minute."
    )
    name = serializers.CharField()
    games = serializers.IntegerField()
    wins = serializers.IntegerField()
    win_rate = serializers.FloatField()


class BreakdownsSerializer(serializers.Serializer):
    game_modes = BucketSerializer(many=True)
    lobby_types = BucketSerializer(many=True)
    sides = BucketSerializer(many=True)
    party_sizes = BucketSerializer(many=True, help_text="Only matches OpenDota gave one for.")
    durations = BucketSerializer(many=True)


class RecordSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    value = serializers.IntegerField(help_text="Seconds for the longest and shortest match.")
    match_id = serializers.IntegerField(help_text="The first match (lowest id) with the value.")
    start_time = serializers.DateTimeField(allow_null=True)
    hero_id = serializers.IntegerField(allow_null=True)
    won = serializers.BooleanField()


class ActivityCellSerializer(serializers.Serializer):
    weekday = serializers.IntegerField(help_text="1 Monday ... 7 Sunday.")
    hour = serializers.IntegerField()
    games = serializers.IntegerField()
    wins = serializers.IntegerField()


class ActivitySerializer(serializers.Serializer):
    time_zone = serializers.CharField(source="zone_name")
    cells = serializers.SerializerMethodField(help_text="Every weekday and hour, 168 cells.")

    @extend_schema_field(ActivityCellSerializer(many=True))
    def get_cells(self, activity) -> list[dict]:
        cells = [cell for row in activity.rows for cell in row]
        return ActivityCellSerializer(cells, many=True).data


class PlayerTogetherSerializer(serializers.Serializer):
    account_id = serializers.IntegerField()
    persona_name = serializers.CharField()
    games = serializers.IntegerField()
    wins = serializers.IntegerField(help_text="Your wins.")
    win_rate = serializers.FloatField()
    last_played = serializers.DateTimeField(allow_null=True)


class HeroTogetherSerializer(serializers.Serializer):
    hero_id = serializers.IntegerField()
    name = serializers.CharField()
    games = serializers.IntegerField()
    wins = serializers.IntegerField(help_text="Your wins.")
    win_rate = serializers.FloatField()


class WithAgainstSerializer(serializers.Serializer):
    teammates = PlayerTogetherSerializer(many=True)
    opponents = PlayerTogetherSerializer(many=True)
    heroes_with = HeroTogetherSerializer(many=True)
    heroes_against = HeroTogetherSerializer(many=True)


# --- one player side by side (matches.friends) --------------------------------------------------


class OwnNumbersSerializer(serializers.Serializer):
    games = serializers.IntegerField()
    wins = serializers.IntegerField(help_text="Your wins.")
    losses = serializers.IntegerField()
    win_rate = serializers.FloatField(help_text="0 to 1; 0 without games.")
    kills = serializers.FloatField(allow_null=True, help_text="Your average; null without games.")
    deaths = serializers.FloatField(allow_null=True)
    assists = serializers.FloatField(allow_null=True)
    gold_per_min = serializers.FloatField(allow_null=True)
    xp_per_min = serializers.FloatField(allow_null=True)
    last_hits = serializers.FloatField(allow_null=True)


class HeroPairSerializer(serializers.Serializer):
    own_hero_id = serializers.IntegerField(allow_null=True)
    their_hero_id = serializers.IntegerField(allow_null=True)
    as_teammates = serializers.BooleanField(help_text="False: they were on the other side.")
    games = serializers.IntegerField()
    wins = serializers.IntegerField(help_text="Your wins.")


class GameTogetherSerializer(serializers.Serializer):
    match_id = serializers.IntegerField()
    start_time = serializers.DateTimeField(allow_null=True)
    as_teammates = serializers.BooleanField()
    won = serializers.BooleanField(help_text="Whether you won.")
    own_hero_id = serializers.IntegerField(allow_null=True)
    their_hero_id = serializers.IntegerField(allow_null=True)
    kills = serializers.IntegerField(allow_null=True, help_text="Yours.")
    deaths = serializers.IntegerField(allow_null=True)
    assists = serializers.IntegerField(allow_null=True)


class SideBySideSerializer(serializers.Serializer):
    player_id = serializers.IntegerField()
    persona_name = serializers.SerializerMethodField(
        help_text="Their public name; empty when unknown or when you never met."
    )
    with_them = OwnNumbersSerializer(help_text="The matches they played on your side.")
    against_them = OwnNumbersSerializer(help_text="The matches they played on the other side.")
    without_them = OwnNumbersSerializer(help_text="The filtered matches they did not play.")
    hero_pairs = HeroPairSerializer(many=True, help_text="Most games first, at most 20.")
    last_games = GameTogetherSerializer(many=True, help_text="Newest first, at most 10.")

    def get_persona_name(self, found) -> str:
        return found.label.persona_name if found.label else ""


# --- streaks and trends (matches.trends) --------------------------------------------------------


class StreakSerializer(serializers.Serializer):
    won = serializers.BooleanField(help_text="A win streak (true) or a loss streak.")
    length = serializers.IntegerField(help_text="Games in a row.")
    first_match_id = serializers.IntegerField()
    first_start = serializers.DateTimeField()
    last_match_id = serializers.IntegerField()
    last_start = serializers.DateTimeField()


class StreaksSerializer(serializers.Serializer):
    longest_win = StreakSerializer(allow_null=True, help_text="The first of the longest.")
    longest_loss = StreakSerializer(allow_null=True, help_text="The first of the longest.")
    current = StreakSerializer(allow_null=True, help_text="The newest game's streak.")


class TrendPointSerializer(serializers.Serializer):
    day = serializers.DateField(help_text="A day you played, in your time zone.")
    games = serializers.IntegerField(help_text="Games averaged: the last ones up to that day.")
    kills = serializers.FloatField(allow_null=True)
    deaths = serializers.FloatField(allow_null=True)
    assists = serializers.FloatField(allow_null=True)
    gold_per_min = serializers.FloatField(allow_null=True)
    xp_per_min = serializers.FloatField(allow_null=True)
    last_hits = serializers.FloatField(allow_null=True)
    win_rate = serializers.FloatField(help_text="0 to 1.")


class BinSerializer(serializers.Serializer):
    low = serializers.IntegerField(help_text="Lowest value of the bin.")
    high = serializers.IntegerField(help_text="Highest value of the bin (included).")
    games = serializers.IntegerField()
    wins = serializers.IntegerField()
    win_rate = serializers.FloatField(help_text="0 to 1; 0 for an empty bin.")


class TrendsSerializer(serializers.Serializer):
    window = serializers.IntegerField(help_text="How many last games each point averages.")
    points = TrendPointSerializer(many=True, help_text="One per day of play, oldest first.")
    number = serializers.CharField(help_text="The number the histogram counts.")
    bins = BinSerializer(many=True, help_text="Lowest first; empty bins between included.")


class ParsedPointSerializer(serializers.Serializer):
    day = serializers.DateField(help_text="A day you played a parsed match, in your time zone.")
    games = serializers.IntegerField(help_text="Parsed games averaged: the last up to that day.")
    lh_10 = serializers.FloatField(allow_null=True, help_text="Last hits at 10:00.")
    gold_10 = serializers.FloatField(allow_null=True, help_text="Total gold (gold_t) at 10:00.")
    gold_20 = serializers.FloatField(allow_null=True, help_text="Total gold (gold_t) at 20:00.")


class LaneResultSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=LaneOutcome.choices, help_text="Your lane's.")
    games = serializers.IntegerField()
    wins = serializers.IntegerField(help_text="Matches won of them.")
    win_rate = serializers.FloatField(help_text="0 to 1.")


class FirstCoreItemSerializer(serializers.Serializer):
    hero_id = serializers.IntegerField()
    games = serializers.IntegerField(help_text="Parsed games on the hero with a core item.")
    median_time = serializers.FloatField(help_text="Game seconds of the first core item.")
    average_time = serializers.FloatField(help_text="Game seconds of the first core item.")
    item_id = serializers.IntegerField(help_text="The item most often first.")
    item_games = serializers.IntegerField(help_text="Games it was first in.")


class ParsedStatsSerializer(serializers.Serializer):
    games = serializers.IntegerField(help_text="The filtered matches.")
    parsed = serializers.IntegerField(
        help_text="How many of them are parsed: the rest counts those."
    )
    window = serializers.IntegerField(help_text="How many last parsed games each point averages.")
    points = ParsedPointSerializer(many=True, help_text="One per day of play, oldest first.")
    lanes = LaneResultSerializer(many=True, help_text="Won, drawn, lost; outcomes seen only.")
    first_items = FirstCoreItemSerializer(many=True, help_text="Most games first.")
