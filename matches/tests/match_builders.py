"""Build accounts and matches with the ORM, as the sync would have stored them.

The shared fixtures (conftest.py at the root) build alice, her account ACCOUNT_ID and her
password PASSWORD, and bob with OTHERS_ACCOUNT_ID; tests that name them use these constants.
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from matches.models import AccountMatch, Match, MatchPlayer, SteamAccount
from matches.store import FetchOutcome, save_outcomes
from matches.upstream.normalize import match_details
from matches.upstream.parsed import parsed_data

ACCOUNT_ID = 86745912
OTHERS_ACCOUNT_ID = 5555
PASSWORD = "correct-horse-battery-1"
DEFAULT_START = datetime(2025, 3, 14, 18, 0, tzinfo=UTC)


def make_account(account_id: int, owner=None, persona_name: str = "") -> SteamAccount:
    return SteamAccount.objects.create(
        account_id=account_id, owner=owner, persona_name=persona_name
    )


def complete_match(
    match_id: int,
    account: SteamAccount,
    *,
    won: bool,
    hero_id: int = 1,
    dire: bool = False,
    teammates: Sequence[int | None] = (),
    opponents: Sequence[int | None] = (),
    start_time: datetime = DEFAULT_START,
    kda: tuple[int, int, int] = (5, 3, 9),
    duration: int = 2400,
    show_account: bool = True,
) -> Match:
    """A match with details and ten players; the account plays slot 0 of its side.

    `teammates`/`opponents` name the other players' account ids (None = anonymous); missing
    seats are filled with anonymous players. `show_account=False` stores the account's own row
    anonymously, as for a private profile.
    """
    radiant_win = won != dire
    match = Match.objects.create(
        match_id=match_id,
        has_details=True,
        start_time=start_time,
        duration=duration,
        game_mode=22,
        lobby_type=7,
        radiant_win=radiant_win,
        radiant_score=30 if radiant_win else 20,
        dire_score=20 if radiant_win else 30,
    )
    own_base, other_base = (128, 0) if dire else (0, 128)
    AccountMatch.objects.create(account=account, match=match, player_slot=own_base, hero_id=hero_id)
    kills, deaths, assists = kda
    players = [
        MatchPlayer(
            match=match,
            player_slot=own_base,
            is_radiant=not dire,
            account_id=account.account_id if show_account else None,
            hero_id=hero_id,
            kills=kills,
            deaths=deaths,
            assists=assists,
        )
    ]
    own_side = [*teammates, *[None] * (4 - len(teammates))]
    other_side = [*opponents, *[None] * (5 - len(opponents))]
    for offset, other_id in enumerate(own_side, start=1):
        players.append(_player(match, own_base + offset, other_id, hero_id=10 + offset))
    for offset, other_id in enumerate(other_side):
        players.append(_player(match, other_base + offset, other_id, hero_id=20 + offset))
    MatchPlayer.objects.bulk_create(players)
    return match


def _player(match: Match, slot: int, account_id: int | None, hero_id: int) -> MatchPlayer:
    return MatchPlayer(
        match=match,
        player_slot=slot,
        is_radiant=slot < 128,
        account_id=account_id,
        hero_id=hero_id,
        kills=1,
        deaths=1,
        assists=1,
    )


def stub_match(
    match_id: int,
    account: SteamAccount,
    *,
    hero_id: int | None = 2,
    player_slot: int | None = 0,
    start_time: datetime | None = DEFAULT_START,
) -> Match:
    match = Match.objects.create(match_id=match_id, start_time=start_time)
    AccountMatch.objects.create(
        account=account, match=match, player_slot=player_slot, hero_id=hero_id
    )
    return match


def failed_match(
    match_id: int, account: SteamAccount, *, error: str, attempts: int, hero_id: int = 3
) -> Match:
    match = Match.objects.create(
        match_id=match_id,
        has_details=False,
        fetch_error=error,
        retry_count=attempts,
        start_time=DEFAULT_START,
    )
    AccountMatch.objects.create(account=account, match=match, player_slot=0, hero_id=hero_id)
    return match


PARSED_MATCH_ID = 4080856812
PARSED_ANSWER = Path(__file__).parent / "data" / "opendota_parsed_match_4080856812.json"


def parsed_answer() -> dict:
    """OpenDota's real answer for a parsed match (parser v21; see data/SOURCES.md)."""
    return json.loads(PARSED_ANSWER.read_text())


def parsed_match(account: SteamAccount, *, player_slot: int = 0, answer: dict | None = None):
    """The real parsed match stored as a sync stores it (phase 2's save_outcomes with the
    parsed parts), played by `account` from `player_slot` so its owner sees the page."""
    answer = parsed_answer() if answer is None else answer
    match = Match.objects.create(match_id=answer["match_id"])
    hero_id = next(p["hero_id"] for p in answer["players"] if p["player_slot"] == player_slot)
    AccountMatch.objects.create(
        account=account, match=match, player_slot=player_slot, hero_id=hero_id
    )
    details = match_details(answer)
    details.parsed = parsed_data(answer)
    save_outcomes([FetchOutcome.completed(details, "opendota")], None, datetime.now(UTC))
    return Match.objects.get(pk=match.pk)


def varied_parsed_answer(
    match_id: int,
    account_id: int,
    *,
    slot: int,
    hero_id: int,
    radiant_win: bool,
    start_time: datetime,
    game_mode: int = 22,
    change: int = 0,
) -> dict:
    """The real parsed answer as another match of `account_id`: played in `slot` on `hero_id`;
    `change` is added to its last hits after 0:00, scales its gold by 1 + change / 10 (so its
    lane's outcome turns) and delays its purchases by 37 s a unit."""
    raw = parsed_answer()
    raw.update(
        match_id=match_id,
        start_time=int(start_time.timestamp()),
        radiant_win=radiant_win,
        game_mode=game_mode,
        lobby_type=7,
    )
    for player in raw["players"]:
        if player["account_id"] == account_id:
            player["account_id"] = None
    own = next(p for p in raw["players"] if p["player_slot"] == slot)
    own.update(account_id=account_id, hero_id=hero_id)
    own["lh_t"] = [value + change * (minute > 0) for minute, value in enumerate(own["lh_t"])]
    own["gold_t"] = [round(value * (1 + change / 10)) for value in own["gold_t"]]
    for purchase in own["purchase_log"]:
        purchase["time"] += 37 * change
    return raw


def store_parsed_answer(account: SteamAccount, raw: dict, now: datetime) -> None:
    """Store `raw` as phase 2 would a fetched parsed OpenDota answer of a match of `account`."""
    match_id = raw["match_id"]
    slot = next(p["player_slot"] for p in raw["players"] if p["account_id"] == account.account_id)
    Match.objects.create(match_id=match_id)
    AccountMatch.objects.create(account=account, match_id=match_id, player_slot=slot)
    details = match_details(raw)
    details.parsed = parsed_data(raw)
    save_outcomes([FetchOutcome.completed(details, "opendota")], None, now)
