"""The players who played on an account's side, counted from its stored matches at read time.

Computed from stored rows (never from counters), so re-syncing a match cannot count it twice.
The Teammates page and the REST API both call `teammates`.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Max, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, NullIf

from matches.models import Match, MatchPlayer, Player, SteamAccount
from matches.players import PlayerLabel


@dataclass(frozen=True)
class Teammate:
    account_id: int
    games: int
    wins: int
    win_rate: float
    last_played: datetime | None
    persona_name: str
    avatar_url: str = ""

    @property
    def label(self) -> PlayerLabel:
        return PlayerLabel(self.account_id, self.persona_name, self.avatar_url)


def teammates(
    account: SteamAccount, limit: int | None = None, min_games: int = 1
) -> list[Teammate]:
    """The players who were on the account's team in its matches with details, most games first,
    those with at least `min_games` games together.

    One aggregate query over the account's own linked matches (Match.objects.for_account), as
    every other view counts: a match another user's sync stored, in which the account merely
    appears, is not the account's until its own sync links it. The account's player rows are
    joined, on the match, to the other known players of the same side.
    """
    player = Player.objects.filter(account_id=OuterRef("account_id"))
    linked = SteamAccount.objects.filter(account_id=OuterRef("account_id"))
    own_matches = Match.objects.for_account(account, details_status="complete").values("pk")
    rows = (
        MatchPlayer.objects.filter(
            match_id__in=own_matches,
            match__players__account_id=account.account_id,
            match__players__is_radiant=F("is_radiant"),
            account_id__isnull=False,
        )
        .exclude(account_id=account.account_id)
        .values("account_id")
        .annotate(
            games=Count("match_id", distinct=True),
            wins=Count("match_id", distinct=True, filter=Q(match__radiant_win=F("is_radiant"))),
            last_played=Max("match__start_time"),
            # The Player table's name, else a linked account's own (NULLIF: "" is no name).
            persona_name=Coalesce(
                NullIf(Subquery(player.values("persona_name")[:1]), Value("")),
                NullIf(Subquery(linked.values("persona_name")[:1]), Value("")),
                Value(""),
            ),
            avatar_url=Coalesce(
                NullIf(Subquery(player.values("avatar_medium_url")[:1]), Value("")),
                Subquery(linked.values("avatar_url")[:1]),
                Value(""),
            ),
        )
        .filter(games__gte=min_games)
        .order_by("-games", "-wins", "account_id")
    )
    if limit is not None:
        rows = rows[:limit]
    return [
        Teammate(
            account_id=row["account_id"],
            games=row["games"],
            wins=row["wins"],
            win_rate=row["wins"] / row["games"],
            last_played=row["last_played"],
            persona_name=row["persona_name"],
            avatar_url=row["avatar_url"],
        )
        for row in rows
    ]
