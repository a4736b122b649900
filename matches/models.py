"""Steam accounts, matches (stubs until their details arrive) and the players in them.

MatchQuerySet holds the base querysets every read starts from (an account's matches, from its
side, and those a sync fetches); exported_fields says which stored fields leave DotaSync.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from dotasync import dbclock
from matches.parsed_facts import LaneOutcome
from matches.upstream.dota_constants import ABANDONED_FROM

# The upstream wing's table, a model of this app: imported here so that Django registers it.
from matches.upstream.slots import RateLimitSlot  # noqa: F401
from matches.upstream.steam_ids import ANONYMOUS_ACCOUNT_ID, STEAM_ID64_OFFSET

# Steam numbers the Radiant slots 0-4 and the Dire slots 128-132.
DIRE_SLOT_FLAG = 128
RESULTS = ("win", "loss")
DETAILS_STATUSES = ("pending", "complete", "failed")
_DETAILS_STATUS_FILTERS = {
    "pending": Q(has_details__isnull=True),
    "complete": Q(has_details=True),
    "failed": Q(has_details=False),
}


class SteamAccount(models.Model):
    """A Steam account whose match history DotaSync keeps."""

    account_id = models.BigIntegerField(unique=True, help_text="32-bit Steam account id")
    persona_name = models.CharField(max_length=200, blank=True)
    avatar_url = models.URLField(max_length=500, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="steam_accounts",
    )
    verified = models.BooleanField(
        default=False,
        help_text="its owner proved it through Steam sign-in; a typed id links it unverified",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    parse_new_matches = models.BooleanField(
        default=True,
        help_text="ask OpenDota to parse each new match while its replay exists (syncjobs.parsing)",
    )

    class Meta:
        ordering = ["account_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(account_id__gte=0) & Q(account_id__lt=ANONYMOUS_ACCOUNT_ID),
                name="steam_account_id_is_32_bit",
            )
        ]

    def __str__(self) -> str:
        return self.persona_name or str(self.account_id)

    @property
    def steam_id64(self) -> int:
        return self.account_id + STEAM_ID64_OFFSET


class AccountNotice(models.Model):
    """Something that happened to a user's accounts while they were away (another user took
    over one they had only typed in), shown once on their Accounts page."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account_notices"
    )
    text = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"notice for {self.user_id}: {self.text[:40]}"


class MatchQuerySet(models.QuerySet):
    def stubs(self) -> "MatchQuerySet":
        return self.filter(has_details__isnull=True)

    def complete(self) -> "MatchQuerySet":
        return self.filter(has_details=True)

    def failed(self) -> "MatchQuerySet":
        return self.filter(has_details=False)

    def for_account(
        self, account: SteamAccount, *, details_status: str | None = None
    ) -> "MatchQuerySet":
        """The account's linked matches, without the account's side of them (from_side_of
        adds it): what counting them needs when nothing reads the player's row (that join
        makes a count of 10,000 twice as slow). `details_status` is "pending", "complete" or
        "failed"."""
        if details_status is not None and details_status not in DETAILS_STATUSES:
            raise ValueError(
                f"details_status must be one of {DETAILS_STATUSES}, not {details_status!r}"
            )
        matches = self.filter(account_links__account=account)
        if details_status is not None:
            matches = matches.filter(_DETAILS_STATUS_FILTERS[details_status])
        return matches

    def from_side_of(
        self,
        account: SteamAccount,
        *,
        hero_id: int | None = None,
        result: str | None = None,
        details_status: str | None = None,
    ) -> "MatchQuerySet":
        """The account's matches, newest first, each annotated with the account's own side.

        Annotations: hero_id (the player row's, else the one Steam's history gave the stub),
        kills, deaths, assists, leaver_status, player_slot, is_radiant and won (None while
        unknown); `own_player` is the account's player row, for more of its numbers. They
        come from joins, not per-row queries, so a page of any size costs the same queries.
        `result` is "win" or "loss"; `details_status` as for for_account.
        """
        if result is not None and result not in RESULTS:
            raise ValueError(f"result must be one of {RESULTS}, not {result!r}")

        matches = (
            self.for_account(account, details_status=details_status)
            .annotate(
                own_player=FilteredRelation(
                    "players", condition=Q(players__account_id=account.account_id)
                ),
            )
            .annotate(
                hero_id=Coalesce("own_player__hero_id", "account_links__hero_id"),
                kills=F("own_player__kills"),
                deaths=F("own_player__deaths"),
                assists=F("own_player__assists"),
                leaver_status=F("own_player__leaver_status"),
                player_slot=Coalesce("own_player__player_slot", "account_links__player_slot"),
            )
            .annotate(
                is_radiant=Case(
                    When(own_player__is_radiant__isnull=False, then=F("own_player__is_radiant")),
                    When(player_slot__lt=DIRE_SLOT_FLAG, then=Value(True)),
                    When(player_slot__isnull=False, then=Value(False)),
                    default=None,
                    output_field=BooleanField(null=True),
                )
            )
            .annotate(
                won=Case(
                    When(Q(radiant_win__isnull=True) | Q(is_radiant__isnull=True), then=None),
                    When(radiant_win=F("is_radiant"), then=Value(True)),
                    default=Value(False),
                    output_field=BooleanField(null=True),
                )
            )
            .order_by("-match_id")
        )
        if hero_id is not None:
            matches = matches.filter(hero_id=hero_id)
        if result is not None:
            matches = matches.filter(won=result == "win")
        return matches

    def wanted_details(
        self, *, ignore_backoff: bool = False, refetch_complete_before: datetime | None = None
    ) -> "MatchQuerySet":
        """Those of these matches a sync fetches details for.

        A failed match is retried only once its backoff has passed, unless `ignore_backoff`
        (a forced backfill); nothing goes past SYNC_MAX_ATTEMPTS. What was complete before
        `refetch_complete_before` (a full sync's start) is fetched again.
        """
        max_attempts = settings.SYNC_MAX_ATTEMPTS
        if ignore_backoff:
            return self.pending_details(max_attempts)
        wanted = due_for_retry(max_attempts, settings.SYNC_RETRY_BACKOFF_BASE, dbclock.now())
        if refetch_complete_before is not None:
            wanted |= Q(has_details=True, details_fetched_at__lt=refetch_complete_before)
        return self.filter(wanted)

    def retryable(self, max_attempts: int) -> "MatchQuerySet":
        """Failed matches that have attempts left."""
        return self.filter(has_details=False, retry_count__lt=max_attempts)

    def pending_details(self, max_attempts: int) -> "MatchQuerySet":
        """Stubs, plus failed matches with attempts left: what a sync fetches."""
        return self.filter(
            Q(has_details__isnull=True) | Q(has_details=False, retry_count__lt=max_attempts)
        )

    def parse_wanted(self, replay_since: datetime) -> "MatchQuerySet":
        """Matches played since `replay_since` (their replay still exists) that are neither
        parsed nor asked for: what a parse step asks OpenDota to parse, newest first."""
        return self.filter(
            start_time__gte=replay_since, parse_request__isnull=True, parsed__isnull=True
        ).order_by("-start_time", "-match_id")

    def with_parse_state(self, owner) -> "MatchQuerySet":
        """Each match with its parse request, whether it is parsed and whether an account of
        `owner`'s that played it has parsing on: matches.parse_status without a query a
        match (the parsed data itself stays unread)."""
        parsed = ParsedMatch.objects.filter(pk=OuterRef("pk"))
        switched_on = AccountMatch.objects.filter(
            match=OuterRef("pk"), account__owner=owner, account__parse_new_matches=True
        )
        return self.select_related("parse_request").annotate(
            is_parsed=Exists(parsed), parse_switched_on=Exists(switched_on)
        )

    def give_attempts_back(self, max_attempts: int) -> int:
        """Failed matches that used up their attempts become stubs again; returns how many.

        For failures that were our own fault (a wrong key, a wrong URL), once fixed.
        """
        exhausted = self.filter(has_details=False, retry_count__gte=max_attempts)
        return Match.objects.filter(pk__in=list(exhausted.values_list("pk", flat=True))).update(
            has_details=None, retry_count=0
        )

    def details_summary(self) -> dict[str, int]:
        """How many of these matches are complete, pending (stubs) and failed, in one query.

        `retryable` counts the failed ones that still have attempts left.
        """
        counts = self.aggregate(
            matches=models.Count("pk"),
            complete=models.Count("pk", filter=Q(has_details=True)),
            pending=models.Count("pk", filter=Q(has_details__isnull=True)),
            failed=models.Count("pk", filter=Q(has_details=False)),
            retryable=models.Count(
                "pk", filter=Q(has_details=False, retry_count__lt=settings.SYNC_MAX_ATTEMPTS)
            ),
        )
        return {key: value or 0 for key, value in counts.items()}

    def due_for_retry(
        self, max_attempts: int, backoff_base: float, now: datetime
    ) -> "MatchQuerySet":
        """Stubs, plus failed matches whose exponential backoff has passed."""
        return self.filter(due_for_retry(max_attempts, backoff_base, now))


def due_for_retry(max_attempts: int, backoff_base: float, now: datetime) -> Q:
    """Stubs, plus failed matches whose exponential backoff has passed, as a condition.

    A failed match with retry_count n waits backoff_base * 2**n seconds after its
    last attempt. The ladder is short (max_attempts is small), so it is spelt
    out as one OR-ed condition per rung, which any database can index and plan.
    """
    due = Q(has_details__isnull=True)
    for attempts in range(1, max_attempts):
        wait = timedelta(seconds=backoff_base * 2**attempts)
        due |= Q(has_details=False, retry_count=attempts, last_fetch_attempt__lte=now - wait)
    return due


class Match(models.Model):
    """One Dota 2 match, stored once however many linked accounts played it.

    `has_details` is the seeds' tri-state: NULL is a stub waiting for details,
    TRUE is complete, FALSE is a failed fetch (see retry_count and fetch_error).
    """

    # Every stored field leaves DotaSync (the API's match; see exported_fields) but the
    # engine's bookkeeping: when it last tried, who holds the match now, which job tried it
    # last, when it was first listed.
    NOT_EXPORTED = (
        "last_fetch_attempt",
        "claimed_by",
        "claimed_until",
        "last_attempt_job",
        "discovered_at",
    )

    match_id = models.BigIntegerField(primary_key=True)
    match_seq_num = models.BigIntegerField(null=True, blank=True)
    has_details = models.BooleanField(null=True, default=None)
    retry_count = models.PositiveSmallIntegerField(default=0)
    last_fetch_attempt = models.DateTimeField(null=True, blank=True)
    fetch_error = models.CharField(max_length=300, blank=True)
    details_source = models.CharField(max_length=32, blank=True)
    # Phase-2 work claims: the job fetching this match now, until when (see syncjobs.claims).
    claimed_by = models.ForeignKey(
        "syncjobs.SyncJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claimed_until = models.DateTimeField(null=True, blank=True)
    # The last job that attempted the details: a job tries each match at most once.
    last_attempt_job = models.ForeignKey(
        "syncjobs.SyncJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    discovered_at = models.DateTimeField(auto_now_add=True)
    details_fetched_at = models.DateTimeField(null=True, blank=True)

    start_time = models.DateTimeField(null=True, blank=True)
    duration = models.PositiveIntegerField(null=True, blank=True, help_text="seconds")
    game_mode = models.PositiveSmallIntegerField(null=True, blank=True)
    lobby_type = models.SmallIntegerField(null=True, blank=True)
    radiant_win = models.BooleanField(null=True, blank=True)
    radiant_score = models.PositiveSmallIntegerField(null=True, blank=True)
    dire_score = models.PositiveSmallIntegerField(null=True, blank=True)
    leagueid = models.PositiveIntegerField(null=True, blank=True)
    cluster = models.PositiveIntegerField(null=True, blank=True)
    first_blood_time = models.PositiveIntegerField(null=True, blank=True)
    human_players = models.PositiveSmallIntegerField(null=True, blank=True)
    # League matches: the teams as the match names them, the league as OpenDota names it.
    radiant_team_id = models.PositiveIntegerField(null=True, blank=True)
    dire_team_id = models.PositiveIntegerField(null=True, blank=True)
    radiant_name = models.CharField(max_length=200, blank=True)
    dire_name = models.CharField(max_length=200, blank=True)
    league_name = models.CharField(max_length=200, blank=True)
    picks_bans = models.JSONField(
        null=True, blank=True, help_text="the draft in order: [{order, is_pick, hero_id, team}]"
    )
    abandons = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="players who abandoned (leaver_status 2 or more)"
    )

    objects = MatchQuerySet.as_manager()

    class Meta:
        ordering = ["-match_id"]
        verbose_name_plural = "matches"
        indexes = [
            models.Index(fields=["has_details", "retry_count"], name="match_details_state"),
            models.Index(fields=["start_time"], name="match_start_time"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(match_id__gt=0), name="match_id_positive"),
            models.CheckConstraint(
                condition=~Q(has_details=True) | Q(fetch_error=""),
                name="complete_match_has_no_fetch_error",
            ),
        ]

    def __str__(self) -> str:
        return str(self.match_id)

    @property
    def details_status(self) -> str:
        if self.has_details is None:
            return "pending"
        return "complete" if self.has_details else "failed"

    @property
    def has_abandon(self) -> bool:
        return bool(self.abandons)


class AccountMatch(models.Model):
    """The link between a synced account and a match it played."""

    account = models.ForeignKey(SteamAccount, on_delete=models.CASCADE, related_name="match_links")
    match = models.ForeignKey(Match, on_delete=models.CASCADE, related_name="account_links")
    discovered_at = models.DateTimeField(auto_now_add=True)
    player_slot = models.PositiveSmallIntegerField(null=True, blank=True)
    hero_id = models.PositiveSmallIntegerField(null=True, blank=True)
    # Which ID sources listed this match for the account: one bit per source
    # (syncjobs.sources.LISTED_BY_BITS). 0: listed before sources were recorded.
    listed_by = models.PositiveIntegerField(
        default=0, help_text="bitmask of the ID sources whose pages listed this match"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "match"], name="one_link_per_account_match")
        ]
        indexes = [models.Index(fields=["account", "-match"], name="account_match_newest")]

    def __str__(self) -> str:
        return f"{self.account_id} in {self.match_id}"


class Position(models.IntegerChoices):
    """STRATZ's MatchPlayerPositionType POSITION_1 … POSITION_5: carry to hard support."""

    POSITION_1 = 1, "Position 1 (carry)"
    POSITION_2 = 2, "Position 2 (mid)"
    POSITION_3 = 3, "Position 3 (offlane)"
    POSITION_4 = 4, "Position 4 (soft support)"
    POSITION_5 = 5, "Position 5 (hard support)"


class MatchPlayer(models.Model):
    """One of the (usually ten) players of a match with details."""

    # Every stored field leaves DotaSync (the API's player rows, the players export; see
    # exported_fields) but these: the row's own id, and its match, which the row sits under
    # in the API and names by match_id in the export.
    NOT_EXPORTED = ("id", "match")
    ITEM_FIELDS = ("item_0", "item_1", "item_2", "item_3", "item_4", "item_5")
    BACKPACK_FIELDS = ("backpack_0", "backpack_1", "backpack_2")

    match = models.ForeignKey(Match, on_delete=models.CASCADE, related_name="players")
    player_slot = models.PositiveSmallIntegerField()
    is_radiant = models.BooleanField()
    account_id = models.BigIntegerField(null=True, blank=True, help_text="NULL when anonymous")
    hero_id = models.PositiveSmallIntegerField(null=True, blank=True)
    hero_variant = models.PositiveSmallIntegerField(null=True, blank=True)
    kills = models.PositiveSmallIntegerField(null=True, blank=True)
    deaths = models.PositiveSmallIntegerField(null=True, blank=True)
    assists = models.PositiveSmallIntegerField(null=True, blank=True)
    last_hits = models.PositiveIntegerField(null=True, blank=True)
    denies = models.PositiveIntegerField(null=True, blank=True)
    gold_per_min = models.PositiveIntegerField(null=True, blank=True)
    xp_per_min = models.PositiveIntegerField(null=True, blank=True)
    level = models.PositiveSmallIntegerField(null=True, blank=True)
    net_worth = models.PositiveIntegerField(null=True, blank=True)
    hero_damage = models.PositiveIntegerField(null=True, blank=True)
    tower_damage = models.PositiveIntegerField(null=True, blank=True)
    hero_healing = models.PositiveIntegerField(null=True, blank=True)
    item_0 = models.PositiveIntegerField(null=True, blank=True)
    item_1 = models.PositiveIntegerField(null=True, blank=True)
    item_2 = models.PositiveIntegerField(null=True, blank=True)
    item_3 = models.PositiveIntegerField(null=True, blank=True)
    item_4 = models.PositiveIntegerField(null=True, blank=True)
    item_5 = models.PositiveIntegerField(null=True, blank=True)
    backpack_0 = models.PositiveIntegerField(null=True, blank=True)
    backpack_1 = models.PositiveIntegerField(null=True, blank=True)
    backpack_2 = models.PositiveIntegerField(null=True, blank=True)
    item_neutral = models.PositiveIntegerField(null=True, blank=True)
    item_neutral2 = models.PositiveIntegerField(
        null=True, blank=True, help_text="the neutral enchantment (since patch 7.39)"
    )
    aghanims_scepter = models.BooleanField(null=True, blank=True)
    aghanims_shard = models.BooleanField(null=True, blank=True)
    moonshard = models.BooleanField(null=True, blank=True, help_text="a Moon Shard consumed")
    gold = models.PositiveIntegerField(null=True, blank=True, help_text="unspent, at the end")
    gold_spent = models.PositiveIntegerField(null=True, blank=True)
    leaver_status = models.PositiveSmallIntegerField(null=True, blank=True)
    party_size = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="players queued together, this one included (OpenDota)"
    )
    ability_upgrades = models.JSONField(null=True, blank=True)
    # What only STRATZ tells (its detail source): null until STRATZ fetched the match, and
    # never set back to null by another source's later fetch (matches.store).
    imp = models.SmallIntegerField(
        null=True, blank=True, help_text="STRATZ's Individual Match Performance (about -100 to 100)"
    )
    position = models.PositiveSmallIntegerField(
        choices=Position.choices, null=True, blank=True, help_text="the role played (STRATZ)"
    )
    lane_outcome = models.CharField(
        max_length=5,
        choices=LaneOutcome.choices,
        blank=True,
        null=True,
        help_text="how this player's lane went for their side (STRATZ)",
    )

    class Meta:
        ordering = ["match", "player_slot"]
        constraints = [
            models.UniqueConstraint(fields=["match", "player_slot"], name="one_player_per_slot")
        ]
        indexes = [
            # The teammates aggregate starts from one account's rows and joins on match.
            models.Index(fields=["account_id", "match"], name="player_account_match"),
        ]

    def __str__(self) -> str:
        return f"{self.match_id} slot {self.player_slot}"

    @property
    def won(self) -> bool | None:
        radiant_win = self.match.radiant_win
        return None if radiant_win is None else radiant_win == self.is_radiant

    @property
    def items(self) -> list[int | None]:
        return [getattr(self, name) for name in self.ITEM_FIELDS]

    @property
    def backpack(self) -> list[int | None]:
        return [getattr(self, name) for name in self.BACKPACK_FIELDS]

    @property
    def abandoned(self) -> bool:
        return (self.leaver_status or 0) >= ABANDONED_FROM


class ParsedMatch(models.Model):
    """What OpenDota's replay parser adds to a match, kept for good once it is known.

    Replays are deleted after about ten days, so a parse that is not asked for in time
    never happens (shared/NOTES.md). `data` is matches.upstream.parsed's shape: the
    minute-by-minute series, logs, teamfights, objectives and chat under OpenDota's own key
    names, one JSON document a match because a match page reads all of it at once and
    nothing else reads into it.
    """

    match = models.OneToOneField(
        Match, primary_key=True, on_delete=models.CASCADE, related_name="parsed"
    )
    version = models.PositiveSmallIntegerField(help_text="OpenDota's parser version")
    stored_at = models.DateTimeField()
    data = models.JSONField()

    def __str__(self) -> str:
        return f"{self.match_id} parsed (v{self.version})"


class ParsedPlayer(models.Model):
    """One player's laning, farm and first core item in a parsed match: the few numbers the
    stats from parsed matches count, read once off ParsedMatch.data by
    matches.parsed_summary in the transaction that stores it (reading the whole document of
    every match for a stats page would be slow). The rules are matches.parsed_facts'."""

    # The unique (match, player_slot) index serves every lookup by match: no index of its own.
    match = models.ForeignKey(
        Match, on_delete=models.CASCADE, related_name="parsed_players", db_index=False
    )
    player_slot = models.PositiveSmallIntegerField()
    account_id = models.BigIntegerField(null=True, help_text="None when the parse names none")
    hero_id = models.PositiveSmallIntegerField(null=True)
    is_radiant = models.BooleanField()
    lh_10 = models.PositiveIntegerField(null=True, help_text="Last hits at 10:00")
    dn_10 = models.PositiveIntegerField(null=True, help_text="Denies at 10:00")
    gold_10 = models.PositiveIntegerField(null=True, help_text="Total gold (gold_t) at 10:00")
    gold_20 = models.PositiveIntegerField(null=True, help_text="Total gold (gold_t) at 20:00")
    lane = models.PositiveSmallIntegerField(null=True, help_text="OpenDota's lane, 1 to 5")
    lane_role = models.PositiveSmallIntegerField(null=True, help_text="OpenDota's role, 1 to 4")
    lane_outcome = models.CharField(max_length=5, choices=LaneOutcome.choices, null=True)
    first_core_item_id = models.PositiveIntegerField(null=True)
    first_core_item_time = models.IntegerField(null=True, help_text="Game seconds")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["match", "player_slot"], name="parsed_player_slot")
        ]
        indexes = [models.Index(fields=["account_id", "match"], name="parsed_player_account")]

    def __str__(self) -> str:
        return f"{self.match_id} slot {self.player_slot} parsed"


class ParseState(models.TextChoices):
    REQUESTED = "requested", "Requested"
    PARSED = "parsed", "Parsed"
    EXPIRED = "expired", "Replay expired"
    REFUSED = "refused", "OpenDota refused"


class ParseRequestQuerySet(models.QuerySet):
    def for_account(self, account: SteamAccount) -> "ParseRequestQuerySet":
        return self.filter(match__account_links__account=account)

    def waiting_to_post(self) -> "ParseRequestQuerySet":
        """Asked for by a player, not yet sent to OpenDota (a claim sets requested_at)."""
        return self.filter(state=ParseState.REQUESTED, requested_at__isnull=True)

    def due_for_check(self, now: datetime) -> "ParseRequestQuerySet":
        """Sent (or claimed before a crash: requested_at without job_id) and due a look."""
        return self.filter(
            state=ParseState.REQUESTED, requested_at__isnull=False, next_check_at__lte=now
        )

    def open(self) -> "ParseRequestQuerySet":
        return self.filter(state=ParseState.REQUESTED)


class ParseRequest(models.Model):
    """What happened to DotaSync's ask that OpenDota parse one match's replay.

    A row is the claim: it is written (requested, requested_at set, job_id NULL) before the
    POST and job_id after it, so a match is asked for once, never twice, even across a crash
    between the two (such a row is only ever checked). requested_at NULL is a player's ask
    that the next parse step sends. Expired and refused are final unless a player asks again.
    """

    match = models.OneToOneField(
        Match, primary_key=True, on_delete=models.CASCADE, related_name="parse_request"
    )
    state = models.CharField(max_length=10, choices=ParseState.choices)
    reason = models.CharField(max_length=300, blank=True, help_text="why, in a player's words")
    job_id = models.BigIntegerField(null=True, blank=True, help_text="OpenDota's parse job")
    requested_at = models.DateTimeField(
        null=True, blank=True, help_text="when the request was claimed to be sent"
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)

    objects = ParseRequestQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(
                fields=["next_check_at"],
                condition=Q(state="requested"),
                name="parse_request_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.match_id} parse {self.state}"


def exported_fields(model: type[models.Model]) -> tuple[str, ...]:
    """The stored fields of `model` that leave DotaSync, in the order the model declares them:
    every column but the model's NOT_EXPORTED. The one list the API's serializers and the
    export build theirs from, so a field added to the model reaches both."""
    return tuple(
        field.name for field in model._meta.concrete_fields if field.name not in model.NOT_EXPORTED
    )


def shown_as(fields: tuple[str, ...], representations: dict[str, tuple[str, ...]]) -> list[str]:
    """`fields` in order, each replaced by the names `representations` shows it as (an empty
    tuple: shown as part of another's), the others by themselves."""
    return [shown for name in fields for shown in representations.get(name, (name,))]


class PlayerQuerySet(models.QuerySet):
    def fresh(self, now: datetime, max_age: timedelta) -> "PlayerQuerySet":
        """Players Steam described within `max_age`: they are not looked up again yet."""
        return self.filter(refreshed_at__gte=now - max_age)


class Player(models.Model):
    """A Steam account seen in matches: its public name and avatar, for display.

    Filled from Steam's GetPlayerSummaries (which sets `refreshed_at`) and, for accounts
    Steam has not described yet, from the names in OpenDota's match answers. Anonymous
    players never have a row.
    """

    account_id = models.BigIntegerField(primary_key=True, help_text="32-bit Steam account id")
    persona_name = models.CharField(max_length=200, blank=True)
    avatar_url = models.URLField(max_length=500, blank=True, help_text="32 px")
    avatar_medium_url = models.URLField(max_length=500, blank=True, help_text="64 px")
    avatar_full_url = models.URLField(max_length=500, blank=True, help_text="184 px")
    profile_url = models.URLField(max_length=500, blank=True)
    refreshed_at = models.DateTimeField(
        null=True, blank=True, help_text="when Steam last described it; empty: never"
    )

    objects = PlayerQuerySet.as_manager()

    class Meta:
        ordering = ["account_id"]
        indexes = [models.Index(fields=["refreshed_at"], name="player_refreshed_at")]
        constraints = [
            models.CheckConstraint(
                condition=Q(account_id__gt=0) & Q(account_id__lt=ANONYMOUS_ACCOUNT_ID),
                name="player_account_id_is_32_bit_and_known",
            )
        ]

    def __str__(self) -> str:
        return self.persona_name or str(self.account_id)


class UserSettings(models.Model):
    """A user's own preferences: the time zone pages show times in, what pages may load,
    whether Turbo matches count, and which of their accounts the pages show."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dotasync_settings"
    )
    time_zone = models.CharField(
        max_length=64, blank=True, help_text="IANA zone name; blank means the site's TIME_ZONE"
    )
    allow_outside_images = models.BooleanField(
        default=False, help_text="show players' avatars from Steam's servers"
    )
    include_turbo = models.BooleanField(
        default=True, help_text="count Turbo matches in the stats and the match list"
    )
    chosen_account = models.ForeignKey(
        SteamAccount,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="the account the pages show until the user picks another (matches.choice)",
    )

    class Meta:
        verbose_name_plural = "user settings"

    def __str__(self) -> str:
        return f"settings of {self.user}"

    @classmethod
    def of(cls, user) -> "UserSettings":
        """The user's settings, created with the defaults on first use."""
        found, _ = cls.objects.get_or_create(user=user)
        return found


class SignInFailures(models.Model):
    """Failed sign-ins in one fixed window, for one username, client address or known browser.

    Kept in the database, not the cache: no other entry can push a lockout out, and every
    web worker counts the same attempts (matches.identity.signin).
    """

    class Scope(models.TextChoices):
        USERNAME = "username"
        ADDRESS = "address"
        DEVICE = "device", "browser that signed in before"

    scope = models.CharField(max_length=16, choices=Scope.choices)
    # A username as typed, folded to lower case and cut to a username's longest; an address;
    # or the id in a browser's device cookie.
    subject = models.CharField(max_length=150)
    failures = models.PositiveIntegerField(default=0)
    window_started_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name_plural = "sign-in failures"
        constraints = [
            models.UniqueConstraint(fields=["scope", "subject"], name="signin_failures_once")
        ]

    def __str__(self) -> str:
        return f"{self.failures} failed sign-in(s) for {self.scope} {self.subject}"


class ApiToken(models.Model):
    """A user's API key, kept only as its SHA-256 and its first characters
    (matches.identity.api_tokens).

    The key itself is shown once, when it is made; a copy of the database, the admin or a
    backup holds nothing a request could be authenticated with.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_token"
    )
    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the key, hex")
    prefix = models.CharField(
        max_length=8, help_text="the key's first characters, to tell keys apart"
    )
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"API token {self.prefix}… of {self.user}"
