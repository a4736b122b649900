"""The filtered matches in the order they were played: win and loss streaks, moving averages
per day of play, and a histogram of one number with the win rate in each bin.

One query reads the matches in order (a few of the account's numbers each); the rest is plain
Python over those rows. The pages and the API ask through kept_streaks / kept_trends, which keep
the answer as AccountStats keeps every stats view.
"""

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from matches.analysis import AccountStats, GamesAndWins, results
from matches.filters import HISTOGRAM_NUMBERS, MatchFilters
from matches.models import SteamAccount

# OpenDota's trends average the last 20 games too.
TREND_WINDOW = 20
# (field of Played, label) of the averaged numbers; the win rate comes last.
TREND_NUMBERS = (
    ("kills", "Kills"),
    ("deaths", "Deaths"),
    ("assists", "Assists"),
    ("gold_per_min", "GPM"),
    ("xp_per_min", "XPM"),
    ("last_hits", "Last hits"),
    ("win_rate", "Win rate"),
)


@dataclass(frozen=True)
class Played:
    """One match of the account, with its own numbers; `duration` in minutes (whole)."""

    match_id: int
    start_time: datetime
    won: bool
    kills: int | None
    deaths: int | None
    assists: int | None
    gold_per_min: int | None
    xp_per_min: int | None
    last_hits: int | None
    duration: int | None


def played(account: SteamAccount, filters: MatchFilters) -> list[Played]:
    """The filtered matches with a start time, oldest first (ties by match id). One query."""
    rows = (
        results(account, filters)
        .filter(start_time__isnull=False)
        .order_by("start_time", "match_id")
        .values_list(
            "match_id",
            "start_time",
            "won",
            "kills",
            "deaths",
            "assists",
            "gold_per_min",
            "xp_per_min",
            "last_hits",
            "duration",
        )
    )
    return [Played(*row[:-1], duration=None if row[-1] is None else row[-1] // 60) for row in rows]


# --- streaks ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Streak:
    """Games in a row all won (or all lost), from the first to the last."""

    won: bool
    length: int
    first_match_id: int
    first_start: datetime
    last_match_id: int
    last_start: datetime


@dataclass(frozen=True)
class Streaks:
    """The longest win and loss streaks (the earliest of equal ones) and the current one (the
    newest game's); None without such games."""

    longest_win: Streak | None
    longest_loss: Streak | None
    current: Streak | None


def streaks_of(games: list[Played]) -> Streaks:
    runs: list[list[Played]] = []
    for game in games:
        if runs and runs[-1][0].won == game.won:
            runs[-1].append(game)
        else:
            runs.append([game])

    def streak(run: list[Played] | None) -> Streak | None:
        if not run:
            return None
        first, last = run[0], run[-1]
        return Streak(
            first.won, len(run), first.match_id, first.start_time, last.match_id, last.start_time
        )

    # max() keeps the first of equal lengths: the earliest streak.
    won = max((run for run in runs if run[0].won), key=len, default=None)
    lost = max((run for run in runs if not run[0].won), key=len, default=None)
    return Streaks(streak(won), streak(lost), streak(runs[-1] if runs else None))


def streaks(account: SteamAccount, filters: MatchFilters) -> Streaks:
    return streaks_of(played(account, filters))


def kept_streaks(stats: AccountStats) -> Streaks:
    return stats.kept("streaks", lambda: streaks(stats.account, stats.filters))


# --- moving averages and histograms -------------------------------------------------------------


@dataclass(frozen=True)
class TrendPoint:
    """The averages over the `games` (at most TREND_WINDOW) last games up to the end of `day`;
    a number no game of them has is None."""

    day: date
    games: int
    kills: float | None
    deaths: float | None
    assists: float | None
    gold_per_min: float | None
    xp_per_min: float | None
    last_hits: float | None
    win_rate: float


def _mean(values: list[int | None]) -> float | None:
    known = [value for value in values if value is not None]
    return sum(known) / len(known) if known else None


def trend_points(games: list[Played], zone: tzinfo, window: int = TREND_WINDOW) -> list[TrendPoint]:
    """One point per day of play (in `zone`), oldest first."""
    points = []
    days = [game.start_time.astimezone(zone).date() for game in games]
    for index, day in enumerate(days):
        if index + 1 < len(days) and days[index + 1] == day:
            continue
        recent = games[max(0, index + 1 - window) : index + 1]
        averages = {
            field: _mean([getattr(game, field) for game in recent])
            for field, _label in TREND_NUMBERS[:-1]
        }
        win_rate = sum(game.won for game in recent) / len(recent)
        points.append(TrendPoint(day, len(recent), **averages, win_rate=win_rate))
    return points


@dataclass(frozen=True)
class Bin(GamesAndWins):
    """The games whose number is from `low` to `high` (both included)."""

    low: int
    high: int
    games: int
    wins: int

    @property
    def name(self) -> str:
        return str(self.low) if self.low == self.high else f"{self.low} to {self.high}"


def histogram_of(games: list[Played], number: str) -> list[Bin]:
    """The games by `number` (a HISTOGRAM_NUMBERS key) in bins of its width, from the lowest
    value's bin to the highest's, empty bins included; games without the number are left out."""
    width = HISTOGRAM_NUMBERS[number][1]
    counts: dict[int, list[int]] = {}
    for game in games:
        value = getattr(game, number)
        if value is None:
            continue
        tally = counts.setdefault(value // width * width, [0, 0])
        tally[0] += 1
        tally[1] += game.won
    if not counts:
        return []
    return [
        Bin(low, low + width - 1, *counts.get(low, (0, 0)))
        for low in range(min(counts), max(counts) + 1, width)
    ]


@dataclass(frozen=True)
class Trends:
    points: list[TrendPoint]
    number: str
    bins: list[Bin]
    window: int = TREND_WINDOW

    @property
    def number_label(self) -> str:
        return HISTOGRAM_NUMBERS[self.number][0]


def trends(account: SteamAccount, filters: MatchFilters, number: str) -> Trends:
    """The moving averages per day of play and the histogram of `number`. One query."""
    if number not in HISTOGRAM_NUMBERS:
        raise ValueError(f"number must be one of {tuple(HISTOGRAM_NUMBERS)}, not {number!r}")
    games = played(account, filters)
    return Trends(trend_points(games, filters.zone), number, histogram_of(games, number))


def kept_trends(stats: AccountStats, number: str) -> Trends:
    return stats.kept("trends", lambda: trends(stats.account, stats.filters, number), number)
