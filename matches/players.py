"""Players' public names and avatars: what pages show for an account id, and keeping it fresh.

Names come from two places. Steam's ISteamUser/GetPlayerSummaries describes an account (name,
avatars, profile URL; it needs a key, takes at most 100 accounts a call and is paced by the
Steam bucket). OpenDota's match answers carry a `personaname` for public profiles. Steam's
answer is the reference: an OpenDota name only fills in for an account Steam has not described
(yet). A description older than PLAYER_NAME_MAX_AGE_DAYS is asked for again. Anonymous players
have no account id and are never looked up.
"""

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from matches.models import ANONYMOUS_ACCOUNT_ID, MatchPlayer, Player, SteamAccount
from matches.upstream import ratelimit
from matches.upstream.client import STEAM, SUMMARIES_PER_CALL, PlayerSummary, UpstreamClient
from matches.upstream.errors import RateLimited, UpstreamError

logger = logging.getLogger(__name__)

ANONYMOUS_NAME = "Anonymous"
AVATAR_HUES = 8


@dataclass(frozen=True)
class PlayerLabel:
    """How a page shows one player: a name, and an avatar URL or an initial badge."""

    account_id: int | None
    persona_name: str = ""
    avatar_url: str = ""

    @property
    def is_anonymous(self) -> bool:
        return self.account_id is None

    @property
    def name(self) -> str:
        """The public name; "Anonymous"; or the account id when the account has no public name."""
        if self.account_id is None:
            return ANONYMOUS_NAME
        return self.persona_name or str(self.account_id)

    @property
    def initial(self) -> str:
        """The badge letter: the name's first letter or digit, "#" for a bare id."""
        if self.account_id is None:
            return "?"
        return next((c.upper() for c in self.persona_name if c.isalnum()), "#")

    @property
    def hue(self) -> int:
        """One of AVATAR_HUES badge colours, fixed per account."""
        return 0 if self.account_id is None else self.account_id % AVATAR_HUES


def is_known_account(account_id: int | None) -> bool:
    return account_id is not None and 0 < account_id < ANONYMOUS_ACCOUNT_ID


def labels_for(account_ids: Iterable[int | None]) -> dict[int, PlayerLabel]:
    """Labels of the known accounts among `account_ids`, in two queries whatever their number.

    A linked account's own persona name is the fallback for a player not in the Player table.
    """
    wanted = {a for a in account_ids if is_known_account(a)}
    if not wanted:
        return {}
    rows = Player.objects.filter(account_id__in=wanted).values_list(
        "account_id", "persona_name", "avatar_medium_url"
    )
    labels = {
        account_id: PlayerLabel(account_id, name, avatar) for account_id, name, avatar in rows
    }
    unnamed = [a for a in wanted if not (a in labels and labels[a].persona_name)]
    if unnamed:
        for account_id, name, avatar in SteamAccount.objects.filter(
            account_id__in=unnamed
        ).values_list("account_id", "persona_name", "avatar_url"):
            known = labels.get(account_id)
            labels[account_id] = PlayerLabel(
                account_id, name, (known.avatar_url if known else "") or avatar
            )
    return labels


def label_of(account_id: int | None, labels: dict[int, PlayerLabel]) -> PlayerLabel:
    if not is_known_account(account_id):
        return PlayerLabel(None)
    return labels.get(account_id) or PlayerLabel(account_id)


# --- names from OpenDota's match answers --------------------------------------------------------


def remember_names(names: Iterable[tuple[int | None, str]]) -> None:
    """Keep the names OpenDota gave players, for accounts Steam has not described.

    One INSERT ... ON CONFLICT statement a call (the sync stores matches in batches); a row
    Steam refreshed keeps Steam's name.
    """
    rows = {
        account_id: name[:200]
        for account_id, name in names
        if is_known_account(account_id) and name
    }
    if not rows:
        return
    table = connection.ops.quote_name(Player._meta.db_table)
    refreshed = connection.ops.quote_name("refreshed_at")
    sql = (
        f"INSERT INTO {table} (account_id, persona_name, avatar_url, avatar_medium_url, "
        f"avatar_full_url, profile_url, {refreshed}) VALUES (%s, %s, '', '', '', '', NULL) "
        f"ON CONFLICT (account_id) DO UPDATE SET persona_name = EXCLUDED.persona_name "
        f"WHERE {table}.{refreshed} IS NULL"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, sorted(rows.items()))


# --- names from Steam ---------------------------------------------------------------------------


def max_age() -> timedelta:
    return timedelta(days=settings.PLAYER_NAME_MAX_AGE_DAYS)


def due_in_matches_of(account: SteamAccount, now: datetime | None = None) -> list[int]:
    """The accounts of `account`'s stored matches (and itself) that Steam should describe:
    never described, or longer ago than PLAYER_NAME_MAX_AGE_DAYS. Players of the newest
    matches come first, so an interrupted refresh has named what pages show first."""
    now = now or timezone.now()
    fresh = Player.objects.fresh(now, max_age()).filter(account_id=OuterRef("account_id"))
    others = (
        MatchPlayer.objects.filter(match__account_links__account=account, account_id__gt=0)
        .exclude(account_id__gte=ANONYMOUS_ACCOUNT_ID)
        .exclude(account_id=account.account_id)
        .exclude(Exists(fresh))
        .values("account_id")
        .annotate(newest=Max("match_id"))
        .order_by("-newest", "account_id")
        .values_list("account_id", flat=True)
    )
    own_is_fresh = Player.objects.fresh(now, max_age()).filter(pk=account.account_id).exists()
    return [*([] if own_is_fresh else [account.account_id]), *others]


@dataclass(frozen=True)
class Refreshed:
    """What one refresh did: accounts Steam described, calls made, and why it stopped early."""

    asked: int
    named: int
    calls: int
    left: int
    error: str = ""


def refresh(client: UpstreamClient, account_ids: Sequence[int]) -> Refreshed:
    """Ask Steam about `account_ids`, at most SUMMARIES_PER_CALL a call, storing each answer
    at once. An upstream error ends the refresh (what was stored stays); whatever the client's
    checkpoint raises (a cancelled job) propagates.
    """
    ids = list(dict.fromkeys(a for a in account_ids if is_known_account(a)))
    asked = named = calls = 0
    for start in range(0, len(ids), SUMMARIES_PER_CALL):
        batch = ids[start : start + SUMMARIES_PER_CALL]
        try:
            summaries = client.player_summaries(batch)
        except RateLimited as exc:
            # Back off for every caller of the bucket; what is left waits for the next sync.
            ratelimit.push_back(STEAM, exc.retry_after or 60)
            return Refreshed(asked, named, calls + 1, len(ids) - asked, exc.message)
        except UpstreamError as exc:
            return Refreshed(asked, named, calls + 1, len(ids) - asked, exc.message)
        calls += 1
        store_summaries(batch, summaries, timezone.now())
        asked += len(batch)
        named += sum(1 for s in summaries.values() if s.persona_name)
    return Refreshed(asked, named, calls, 0)


def store_summaries(
    asked: Sequence[int], summaries: dict[int, PlayerSummary], now: datetime
) -> None:
    """Store Steam's answer about `asked`: an account Steam did not describe (deleted, or never
    existed) keeps the name it had, and is not asked about again before it is due."""
    described = [
        Player(
            account_id=s.account_id,
            persona_name=s.persona_name,
            avatar_url=s.avatar_small_url,
            avatar_medium_url=s.avatar_url,
            avatar_full_url=s.avatar_full_url,
            profile_url=s.profile_url,
            refreshed_at=now,
        )
        for s in summaries.values()
    ]
    Player.objects.bulk_create(
        described,
        update_conflicts=True,
        unique_fields=["account_id"],
        update_fields=[
            "persona_name",
            "avatar_url",
            "avatar_medium_url",
            "avatar_full_url",
            "profile_url",
            "refreshed_at",
        ],
    )
    silent = [a for a in asked if a not in summaries]
    Player.objects.bulk_create(
        [Player(account_id=a, refreshed_at=now) for a in silent],
        update_conflicts=True,
        unique_fields=["account_id"],
        update_fields=["refreshed_at"],
    )
    copy_to_linked(asked)


def copy_to_linked(account_ids: Iterable[int]) -> int:
    """Give linked accounts (SteamAccount) the name and avatar their Player row knows, so every
    page that shows an account by itself names it too. Returns how many changed."""
    linked = list(SteamAccount.objects.filter(account_id__in=list(account_ids)))
    if not linked:
        return 0
    known = {
        p.account_id: p
        for p in Player.objects.filter(account_id__in=[a.account_id for a in linked]).exclude(
            persona_name=""
        )
    }
    changed = []
    for account in linked:
        player = known.get(account.account_id)
        if player is None:
            continue
        avatar = player.avatar_medium_url or account.avatar_url
        if (account.persona_name, account.avatar_url) != (player.persona_name, avatar):
            account.persona_name, account.avatar_url = player.persona_name, avatar
            changed.append(account)
    SteamAccount.objects.bulk_update(changed, ["persona_name", "avatar_url"])
    return len(changed)
