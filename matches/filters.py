"""The filters every stats view and the match list share, read from a URL and checked here.

A URL holds them, so a filtered view can be bookmarked: `start` and `end` (dates in the
user's time zone, both included), `hero`, `game_mode`, `lobby_type`, `side` (radiant or dire)
and `teammate` (the account id of a player on the account's side). The user's stored Turbo
choice (UserSettings.include_turbo) is not in the URL: it holds for every view until changed,
and a `game_mode` chosen in the URL overrides it. Presets (last 7 days, this
patch...) are links that fill in `start` and `end`, so a bookmark keeps the dates it was made
with.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from matches.models import ANONYMOUS_ACCOUNT_ID, Match, MatchPlayer, UserSettings
from matches.upstream.dota_constants import (
    TURBO_GAME_MODE,
    game_modes,
    heroes_by_name,
    lobby_types,
    patches,
)

# The heroes table's orderings: a column key, "-" first for the highest first.
HERO_COLUMN_NAMES = {
    "hero": "Hero",
    "games": "Games",
    "wins": "Wins",
    "win_rate": "Win %",
    "kills": "Kills",
    "deaths": "Deaths",
    "assists": "Assists",
    "kda": "KDA ratio",
    "gpm": "GPM",
    "xpm": "XPM",
    "last_played": "Last played",
}
HERO_COLUMNS = tuple(HERO_COLUMN_NAMES)
HERO_ORDERINGS = tuple(f"{sign}{column}" for column in HERO_COLUMNS for sign in ("", "-"))
DEFAULT_HERO_ORDERING = "-games"
# Names read from A to Z; numbers and dates are most useful from the highest.
ASCENDING_FIRST = ("hero",)
# (label, bin width) of each number a histogram can count.
HISTOGRAM_NUMBERS = {
    "kills": ("Kills", 2),
    "deaths": ("Deaths", 2),
    "assists": ("Assists", 4),
    "gold_per_min": ("GPM", 50),
    "xp_per_min": ("XPM", 50),
    "last_hits": ("Last hits", 25),
    "duration": ("Duration (minutes)", 5),
}
DEFAULT_HISTOGRAM_NUMBER = "kills"
UNITS = ("day", "week", "month")
DEFAULT_UNIT = "month"


@dataclass(frozen=True)
class MatchFilters:
    """What a view is narrowed to; `zone` is the time zone its dates are days of."""

    start: date | None = None
    end: date | None = None
    hero_id: int | None = None
    game_mode: int | None = None
    lobby_type: int | None = None
    side: str | None = None
    teammate: int | None = None
    zone: tzinfo = UTC
    include_turbo: bool = True

    @property
    def read_own_row(self) -> bool:
        """Whether a filter reads the account's own player row (its hero, side, teammates):
        only then does `apply` need Match.objects.from_side_of's annotations."""
        return self.hero_id is not None or self.side is not None or self.teammate is not None

    def apply(self, matches: QuerySet[Match]) -> QuerySet[Match]:
        """`matches`, from Match.objects.from_side_of (it annotates hero_id and is_radiant; without
        `read_own_row`, Match.objects.for_account does too), narrowed to these filters."""
        if self.start is not None:
            matches = matches.filter(start_time__gte=self._midnight(self.start))
        # The last day Python knows has no day after it; nothing was played after it either.
        if self.end is not None and self.end < date.max:
            matches = matches.filter(start_time__lt=self._midnight(self.end + timedelta(days=1)))
        if self.hero_id is not None:
            matches = matches.filter(hero_id=self.hero_id)
        if self.game_mode is not None:
            matches = matches.filter(game_mode=self.game_mode)
        elif not self.include_turbo:
            # exclude() keeps the matches whose mode is unknown (NULL): they may not be Turbo.
            matches = matches.exclude(game_mode=TURBO_GAME_MODE)
        if self.lobby_type is not None:
            matches = matches.filter(lobby_type=self.lobby_type)
        if self.side is not None:
            matches = matches.filter(is_radiant=self.side == "radiant")
        if self.teammate is not None:
            alongside = MatchPlayer.objects.filter(
                match=OuterRef("match_id"),
                account_id=self.teammate,
                is_radiant=OuterRef("is_radiant"),
            )
            matches = matches.filter(Exists(alongside))
        return matches

    def _midnight(self, day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=self.zone)


def includes_turbo(user) -> bool:
    """The user's stored Turbo choice (UserSettings.include_turbo): counted until they say
    otherwise. One query, and no settings row made for a user who never chose."""
    chosen = UserSettings.objects.filter(user=user).values_list("include_turbo", flat=True)
    return next(iter(chosen), True)


def next_ordering(column: str, current: str) -> str:
    """The ordering a click on `column`'s heading asks for: the reverse of the current one
    when the table is sorted by it, else the column's natural direction."""
    if current == column:
        return f"-{column}"
    if current == f"-{column}":
        return column
    return column if column in ASCENDING_FIRST else f"-{column}"


@dataclass(frozen=True)
class Preset:
    """A named date range, as the dates it means today."""

    label: str
    start: date
    end: date


def presets(today: date) -> list[Preset]:
    """The date ranges a user picks most, as of `today` (in their time zone); "this patch"
    starts on the day (UTC) the newest patch dotaconstants knows was released."""
    ranges = [
        Preset("Last 7 days", today - timedelta(days=6), today),
        Preset("Last 30 days", today - timedelta(days=29), today),
        Preset("Last 365 days", today - timedelta(days=364), today),
        Preset("This year", today.replace(month=1, day=1), today),
    ]
    released = [(day, name) for name, day in patches() if day <= today]
    if released:
        patch_day, patch = max(released)
        ranges.insert(2, Preset(f"This patch ({patch})", patch_day, today))
    return ranges


class PlainSelect(forms.Select):
    """A select whose options are written out here: Django's widget templates include one
    template per option, most of a stats page's time with the 120-odd heroes."""

    def render(self, name: str, value: object, attrs: dict | None = None, renderer=None) -> str:
        chosen = set(self.format_value(value))
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (key, mark_safe(" selected") if str(key) in chosen else "", label)
                for key, label in self.choices
            ),
        )
        final_attrs = self.build_attrs(self.attrs, attrs)
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(final_attrs), options)


class DefaultedChoiceField(forms.ChoiceField):
    """A choice that a query leaving it out means its `initial`: the select shows that choice
    (a bound form otherwise shows none, and the browser its first), and it cleans to it."""

    def bound_data(self, data: object, initial: object) -> object:
        return data or initial

    def clean(self, value: object) -> str:
        return super().clean(value) or self.initial


def _with_any(choices: list[tuple[int, str]], any_label: str) -> list[tuple[str | int, str]]:
    return [("", any_label), *choices]


class MatchFiltersForm(forms.Form):
    """The shared filters of a request's query string; `filters()` once it is valid."""

    start = forms.DateField(
        label="From",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter a date as YYYY-MM-DD."},
    )
    end = forms.DateField(
        label="To",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter a date as YYYY-MM-DD."},
    )
    hero = forms.TypedChoiceField(
        widget=PlainSelect,
        choices=lambda: _with_any(heroes_by_name(), "Any hero"),
        coerce=int,
        required=False,
        empty_value=None,
        error_messages={"invalid_choice": "No hero has the id %(value)s."},
    )
    game_mode = forms.TypedChoiceField(
        widget=PlainSelect,
        label="Game mode",
        choices=lambda: _with_any(game_modes(), "Any mode"),
        coerce=int,
        required=False,
        empty_value=None,
        error_messages={"invalid_choice": "No game mode has the id %(value)s."},
    )
    lobby_type = forms.TypedChoiceField(
        widget=PlainSelect,
        label="Lobby",
        choices=lambda: _with_any(lobby_types(), "Any lobby"),
        coerce=int,
        required=False,
        empty_value=None,
        error_messages={"invalid_choice": "No lobby type has the id %(value)s."},
    )
    side = forms.ChoiceField(
        widget=PlainSelect,
        choices=[("", "Either side"), ("radiant", "Radiant"), ("dire", "Dire")],
        required=False,
        error_messages={"invalid_choice": "The side is radiant or dire, not %(value)s."},
    )
    teammate = forms.IntegerField(
        label="With teammate",
        required=False,
        min_value=1,
        max_value=ANONYMOUS_ACCOUNT_ID - 1,
        help_text="Their Steam account id.",
        error_messages={"invalid": "Enter a Steam account id (a whole number)."},
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start is not None and end is not None and start > end:
            raise ValidationError(
                "The start date (%(start)s) is after the end date (%(end)s).",
                code="start_after_end",
                params={"start": start.isoformat(), "end": end.isoformat()},
            )
        return cleaned

    def filters(self, zone: tzinfo, include_turbo: bool = True) -> MatchFilters:
        """The filters of a valid form, with its dates as days of `zone`, and the user's Turbo
        choice."""
        cleaned = self.cleaned_data
        return MatchFilters(
            start=cleaned.get("start"),
            end=cleaned.get("end"),
            hero_id=cleaned.get("hero"),
            game_mode=cleaned.get("game_mode"),
            lobby_type=cleaned.get("lobby_type"),
            side=cleaned.get("side") or None,
            teammate=cleaned.get("teammate"),
            zone=zone,
            include_turbo=include_turbo,
        )

    def error_messages(self) -> dict[str, list[str]]:
        """Every error of an invalid form by field ("non_field_errors" for the dates' order)."""
        return {
            ("non_field_errors" if field == "__all__" else field): list(messages)
            for field, messages in self.errors.items()
        }


def _directions(column: str) -> tuple[tuple[str, str], ...]:
    if column in ASCENDING_FIRST:
        return (("", "A to Z"), ("-", "Z to A"))
    return (("-", "highest first"), ("", "lowest first"))


class HeroesForm(MatchFiltersForm):
    """The heroes view's query: the filters, and the column its table is sorted by."""

    sort = DefaultedChoiceField(
        widget=PlainSelect,
        label="Sort by",
        initial=DEFAULT_HERO_ORDERING,
        choices=[
            (f"{sign}{column}", f"{HERO_COLUMN_NAMES[column]}, {direction}")
            for column in HERO_COLUMNS
            for sign, direction in _directions(column)
        ],
        required=False,
        error_messages={"invalid_choice": "The heroes cannot be sorted by %(value)s."},
    )

    def ordering(self) -> str:
        return self.cleaned_data["sort"]


class OverTimeForm(MatchFiltersForm):
    """The over-time view's query: the filters, and the length of a period."""

    by = DefaultedChoiceField(
        widget=PlainSelect,
        label="Per",
        initial=DEFAULT_UNIT,
        choices=[(unit, unit.capitalize()) for unit in UNITS],
        required=False,
        error_messages={"invalid_choice": "A period is a day, week or month, not %(value)s."},
    )

    def unit(self) -> str:
        return self.cleaned_data["by"]


class TrendsForm(MatchFiltersForm):
    """The trends view's query: the filters, and the number its histogram counts."""

    histogram = forms.ChoiceField(
        widget=PlainSelect,
        label="Histogram of",
        choices=[(key, label) for key, (label, _width) in HISTOGRAM_NUMBERS.items()],
        required=False,
        error_messages={"invalid_choice": "No histogram counts %(value)s."},
    )

    def histogram_number(self) -> str:
        return self.cleaned_data.get("histogram") or DEFAULT_HISTOGRAM_NUMBER
