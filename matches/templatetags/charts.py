"""Server-rendered SVG charts: the geometry is computed here, the markup lives in templates."""

from dataclasses import dataclass
from math import ceil
from typing import Protocol

from django import template
from django.utils.html import format_html, format_html_join

from matches.analysis import WEEKDAYS, Activity, Period
from matches.trends import TREND_NUMBERS, TrendPoint

register = template.Library()

# Each chart is drawn twice, wide and narrow; the stylesheet shows the one that fits its box
# (a container query), so the labels, scaled with the drawing, stay at least 11 px tall.
CHART_WIDTH = 640
NARROW_CHART_WIDTH = 320
WINRATE_HEIGHT = 260
PLOT_LEFT = 44
PLOT_RIGHT = 44
PLOT_TOP = 16
PLOT_BOTTOM = 34
MAX_MONTH_LABELS = 12
NARROW_MONTH_LABELS = 5
HERO_ROW_HEIGHT = 30
HERO_LABEL_WIDTH = 150
HERO_VALUE_WIDTH = 110
NARROW_HERO_LABEL_WIDTH = 124
NARROW_HERO_VALUE_WIDTH = 66
# Longer hero names are cut in the narrow drawing (the full name is in the bar's title).
NARROW_HERO_NAME_CHARS = 13
HEAT_TOP = 24
HEAT_ROW_HEIGHT = 30
HEAT_LABEL_WIDTH = 56
NARROW_HEAT_LABEL_WIDTH = 44
HEAT_HOUR_LABEL_EVERY = 3
NARROW_HEAT_HOUR_LABEL_EVERY = 6
TREND_HEIGHT = 150
TREND_LEFT = 52
TREND_RIGHT = 16
TREND_TOP = 12
TREND_BOTTOM = 28


@dataclass(frozen=True)
class MonthColumn:
    label: str
    title: str
    bar_x: float
    bar_y: float
    bar_width: float
    bar_height: float
    point_x: float
    point_y: float
    show_label: bool


@dataclass(frozen=True)
class HeroBar:
    name: str
    title: str
    y: float
    text_y: float
    games_width: float
    wins_width: float
    value_text: str


class Bar(Protocol):
    """What a bar chart draws: anything with a name, games and wins."""

    name: str
    games: int
    wins: int

    @property
    def win_rate(self) -> float: ...


def winrate_geometry(
    months: list[Period], width: int = CHART_WIDTH, max_labels: int = MAX_MONTH_LABELS
) -> dict:
    """Bars of games per period (right axis) under a line of the win rate (left axis)."""
    plot_width = width - PLOT_LEFT - PLOT_RIGHT
    plot_height = WINRATE_HEIGHT - PLOT_TOP - PLOT_BOTTOM
    plot_bottom = PLOT_TOP + plot_height
    most_games = max((month.games for month in months), default=0) or 1
    band = plot_width / max(len(months), 1)
    label_every = ceil(len(months) / max_labels) or 1
    columns = []
    for index, month in enumerate(months):
        bar_height = plot_height * month.games / most_games
        centre = PLOT_LEFT + band * (index + 0.5)
        columns.append(
            MonthColumn(
                label=month.label,
                title=(
                    f"{month.name}: {month.games} games, {month.wins} won "
                    f"({round(100 * month.win_rate)}%)"
                ),
                bar_x=round(centre - band * 0.35, 1),
                bar_y=round(plot_bottom - bar_height, 1),
                bar_width=round(band * 0.7, 1),
                bar_height=round(bar_height, 1),
                point_x=round(centre, 1),
                point_y=round(plot_bottom - plot_height * month.win_rate, 1),
                show_label=index % label_every == 0,
            )
        )
    return {
        "width": width,
        "height": WINRATE_HEIGHT,
        "left": PLOT_LEFT,
        "right": width - PLOT_RIGHT,
        "top": PLOT_TOP,
        "bottom": plot_bottom,
        "middle": PLOT_TOP + plot_height / 2,
        "most_games": most_games,
        "columns": columns,
        "line_points": " ".join(f"{c.point_x},{c.point_y}" for c in columns),
        # Written here rather than by template loops, which were most of a page's time.
        "bars_svg": format_html_join(
            "\n",
            '<rect class="bar" opacity="0.35" x="{}" y="{}" width="{}" height="{}" rx="2">'
            "<title>{}</title></rect>{}",
            (
                (c.bar_x, c.bar_y, c.bar_width, c.bar_height, c.title, _axis_label(c, plot_bottom))
                for c in columns
            ),
        ),
        "points_svg": format_html_join(
            "\n",
            '<circle class="point" cx="{}" cy="{}" r="3.5"><title>{}</title></circle>',
            ((c.point_x, c.point_y, c.title) for c in columns),
        ),
    }


def _axis_label(column: MonthColumn, plot_bottom: float) -> str:
    if not column.show_label:
        return ""
    return format_html(
        '<text class="axis-label" x="{}" y="{}" text-anchor="middle">{}</text>',
        column.point_x,
        plot_bottom + 20,
        column.label,
    )


def hero_bars_geometry(
    heroes: list[Bar],
    width: int = CHART_WIDTH,
    label_width: int = HERO_LABEL_WIDTH,
    value_width: int = HERO_VALUE_WIDTH,
    name_chars: int | None = None,
) -> dict:
    """One horizontal bar per hero: games, with the won part drawn over it."""
    bar_space = width - label_width - value_width
    most_games = max((hero.games for hero in heroes), default=0) or 1
    bars = []
    for index, hero in enumerate(heroes):
        name = hero.name
        win_percent = round(100 * hero.win_rate)
        shown_name = name
        if name_chars is not None and len(name) > name_chars:
            shown_name = name[: name_chars - 1].rstrip() + "…"
        bars.append(
            HeroBar(
                name=shown_name,
                title=f"{name}: {hero.games} games, {hero.wins} won ({win_percent}%)",
                y=index * HERO_ROW_HEIGHT + 6,
                text_y=index * HERO_ROW_HEIGHT + 20,
                games_width=round(bar_space * hero.games / most_games, 1),
                wins_width=round(bar_space * hero.wins / most_games, 1),
                value_text=f"{hero.games} · {win_percent}%",
            )
        )
    return {
        "width": width,
        "height": max(len(heroes), 1) * HERO_ROW_HEIGHT + 6,
        "bar_x": label_width,
        "label_x": label_width - 10,
        "value_x": width - value_width + 10,
        "bar_height": HERO_ROW_HEIGHT - 12,
        "bars": bars,
    }


@register.inclusion_tag("matches/charts/winrate.html")
def winrate_chart(months: list[Period], title: str) -> dict:
    return {
        "title": title,
        "charts": [
            ("wide", winrate_geometry(months)),
            ("narrow", winrate_geometry(months, NARROW_CHART_WIDTH, NARROW_MONTH_LABELS)),
        ],
    }


@register.inclusion_tag("matches/charts/hero_bars.html")
def hero_bars_chart(heroes: list[Bar], title: str, chart_id: str) -> dict:
    narrow = hero_bars_geometry(
        heroes,
        NARROW_CHART_WIDTH,
        NARROW_HERO_LABEL_WIDTH,
        NARROW_HERO_VALUE_WIDTH,
        NARROW_HERO_NAME_CHARS,
    )
    return {
        "title": title,
        "chart_id": chart_id,
        "charts": [("wide", hero_bars_geometry(heroes)), ("narrow", narrow)],
    }


@dataclass(frozen=True)
class HeatCell:
    x: float
    y: float
    opacity: float  # 0 for an hour without games
    title: str

    @property
    def css_class(self) -> str:
        return "heat" if self.opacity else "heat-empty"


def heat_cells_svg(cells: list[HeatCell], width: float, height: float) -> str:
    """The 168 cells' rects, written here rather than by a template loop (see winrate)."""
    return format_html_join(
        "\n",
        '<rect class="{}" opacity="{}" x="{}" y="{}" width="{}" height="{}" rx="2">'
        "<title>{}</title></rect>",
        (
            (cell.css_class, cell.opacity or 1, cell.x, cell.y, width, height, cell.title)
            for cell in cells
        ),
    )


def heatmap_geometry(activity: Activity, width: int = CHART_WIDTH) -> dict:
    """A weekday (rows) by hour (columns) grid, each cell as dark as its share of the busiest
    cell's games; hours are labelled every HEAT_HOUR_LABEL_EVERY."""
    label_width = HEAT_LABEL_WIDTH if width == CHART_WIDTH else NARROW_HEAT_LABEL_WIDTH
    cell = (width - label_width) / 24
    busiest = activity.most_games or 1
    cells = [
        HeatCell(
            x=round(label_width + cell * item.hour, 1),
            y=HEAT_TOP + HEAT_ROW_HEIGHT * (item.weekday - 1),
            opacity=round(0.08 + 0.92 * item.games / busiest, 2) if item.games else 0.0,
            title=(
                f"{WEEKDAYS[item.weekday - 1]} {item.hour:02d}:00: {item.games} games, "
                f"{item.wins} won"
            ),
        )
        for row in activity.rows
        for item in row
    ]
    every = HEAT_HOUR_LABEL_EVERY if width == CHART_WIDTH else NARROW_HEAT_HOUR_LABEL_EVERY
    return {
        "width": width,
        "height": HEAT_TOP + 7 * HEAT_ROW_HEIGHT,
        "cells": cells,
        "cells_svg": heat_cells_svg(cells, round(cell - 2, 1), HEAT_ROW_HEIGHT - 2),
        "days": [
            (day[:3], HEAT_TOP + HEAT_ROW_HEIGHT * index + HEAT_ROW_HEIGHT / 2 + 4)
            for index, day in enumerate(WEEKDAYS)
        ],
        "label_x": label_width - 8,
        "hours": [
            (f"{hour:02d}", round(label_width + cell * (hour + 0.5), 1))
            for hour in range(0, 24, every)
        ],
        "hour_y": HEAT_TOP - 8,
    }


@register.inclusion_tag("matches/charts/heatmap.html")
def heatmap_chart(activity: Activity) -> dict:
    return {
        "zone": activity.zone_name,
        "charts": [
            ("wide", heatmap_geometry(activity)),
            ("narrow", heatmap_geometry(activity, NARROW_CHART_WIDTH)),
        ],
    }


def _trend_value_text(field: str, value: float) -> str:
    if field == "win_rate":
        return f"{round(100 * value)}%"
    # Thousands (gold at 20 minutes) in thousands: "10389.5" does not fit left of the axis.
    return f"{value / 1000:.1f}k" if abs(value) >= 1000 else f"{value:.1f}"


def trend_geometry(points: list[TrendPoint], field: str, width: int = CHART_WIDTH) -> dict:
    """One moving average as a line over the days of play, between its lowest and highest
    value (0 to 100% for the win rate); the first and last day are labelled."""
    plot_width = width - TREND_LEFT - TREND_RIGHT
    plot_bottom = TREND_HEIGHT - TREND_BOTTOM
    plot_height = plot_bottom - TREND_TOP
    known = [getattr(point, field) for point in points if getattr(point, field) is not None]
    low, high = (
        (0.0, 1.0) if field == "win_rate" else (min(known, default=0), max(known, default=0))
    )
    span = (high - low) or 1
    step = plot_width / (len(points) - 1) if len(points) > 1 else 0
    dots = []
    for index, point in enumerate(points):
        value = getattr(point, field)
        if value is None:
            continue
        x = TREND_LEFT + (step * index if len(points) > 1 else plot_width / 2)
        y = plot_bottom - plot_height * (value - low) / span
        title = (
            f"{point.day.isoformat()}: {_trend_value_text(field, value)} over {point.games} games"
        )
        dots.append((round(x, 1), round(y, 1), title))
    days = [] if not points else [(points[0].day, TREND_LEFT, "start")]
    if len(points) > 1:
        days.append((points[-1].day, width - TREND_RIGHT, "end"))
    return {
        "width": width,
        "height": TREND_HEIGHT,
        "left": TREND_LEFT,
        "right": width - TREND_RIGHT,
        "top": TREND_TOP,
        "bottom": plot_bottom,
        "high": _trend_value_text(field, high),
        "low": _trend_value_text(field, low),
        "line_points": " ".join(f"{x},{y}" for x, y, _title in dots),
        "points_svg": format_html_join(
            "\n",
            '<circle class="point" cx="{}" cy="{}" r="2.5"><title>{}</title></circle>',
            dots,
        ),
        "days_svg": format_html_join(
            "\n",
            '<text class="axis-label" x="{}" y="{}" text-anchor="{}">{}</text>',
            ((x, plot_bottom + 18, anchor, day.isoformat()) for day, x, anchor in days),
        ),
        "many_points": len(dots) > 1,
        "has_values": bool(known),
    }


@register.inclusion_tag("matches/charts/trend.html")
def trend_charts(
    points: list[TrendPoint],
    window: int,
    numbers: tuple[tuple[str, str], ...] = TREND_NUMBERS,
    games: str = "games",
) -> dict:
    """A small line chart per moving average of `numbers` ((field of the points, label) over
    the last `window` `games`; the parsed matches' stats pass theirs)."""
    return {
        "trends": [
            (
                field,
                f"{label}, average of the last {window} {games}, per day of play",
                [
                    ("wide", trend_geometry(points, field)),
                    ("narrow", trend_geometry(points, field, NARROW_CHART_WIDTH)),
                ],
            )
            for field, label in numbers
        ]
    }


MINUTE_HEIGHT = 240
MINUTE_LEFT = 56
MINUTE_RIGHT = 16
MINUTE_TOP = 14
MINUTE_BOTTOM = 30
MINUTE_LABEL_EVERY = 10
NARROW_MINUTE_LABEL_EVERY = 20


@dataclass(frozen=True)
class ChartLine:
    """One series over the game's minutes (values[i] at minute i; None where unknown)."""

    name: str
    values: list[int | None]
    css_class: str


def compact_number(value: float) -> str:
    """An axis label that fits: 12345 -> "12.3k", -800 -> "-800"."""
    if abs(value) >= 1000:
        return f"{value / 1000:.1f}k"
    return f"{value:.0f}"


def minute_chart_geometry(
    lines: list[ChartLine],
    width: int = CHART_WIDTH,
    zero_line: bool = False,
    label_every: int = MINUTE_LABEL_EVERY,
) -> dict:
    """Lines over the minutes of a game, between the lowest and highest value (with 0 in the
    range and drawn when `zero_line`, for an advantage: above it one side leads, below the
    other); minutes are labelled every `label_every`."""
    plot_width = width - MINUTE_LEFT - MINUTE_RIGHT
    plot_bottom = MINUTE_HEIGHT - MINUTE_BOTTOM
    plot_height = plot_bottom - MINUTE_TOP
    known = [v for line in lines for v in line.values if v is not None]
    low, high = min(known, default=0), max(known, default=0)
    if zero_line:
        low, high = min(low, 0), max(high, 0)
    span = (high - low) or 1
    minutes = max((len(line.values) for line in lines), default=0)
    step = plot_width / (minutes - 1) if minutes > 1 else 0

    def x_of(minute: int) -> float:
        return round(MINUTE_LEFT + step * minute, 1)

    def y_of(value: float) -> float:
        return round(plot_bottom - plot_height * (value - low) / span, 1)

    drawn = [
        (
            line,
            " ".join(
                f"{x_of(minute)},{y_of(value)}"
                for minute, value in enumerate(line.values)
                if value is not None
            ),
        )
        for line in lines
    ]
    y_labels = [(compact_number(high), y_of(high)), (compact_number(low), y_of(low))]
    if zero_line and low < 0 < high:
        y_labels.append(("0", y_of(0)))
    return {
        "width": width,
        "height": MINUTE_HEIGHT,
        "left": MINUTE_LEFT,
        "right": width - MINUTE_RIGHT,
        "top": MINUTE_TOP,
        "bottom": plot_bottom,
        "zero_y": y_of(0) if zero_line else None,
        # Written here rather than by template loops (see winrate_geometry).
        "lines_svg": format_html_join(
            "\n",
            '<polyline class="line {}" points="{}"><title>{}</title></polyline>',
            ((line.css_class, points, line.name) for line, points in drawn if points),
        ),
        "y_labels_svg": format_html_join(
            "\n",
            '<text class="axis-label" x="{}" y="{}" text-anchor="end" '
            'dominant-baseline="middle">{}</text>',
            ((MINUTE_LEFT - 6, y, text) for text, y in y_labels),
        ),
        "x_labels_svg": format_html_join(
            "\n",
            '<text class="axis-label" x="{}" y="{}" text-anchor="middle">{}:00</text>',
            ((x_of(minute), plot_bottom + 20, minute) for minute in range(0, minutes, label_every)),
        ),
    }


@register.inclusion_tag("matches/charts/minutes.html")
def minute_chart(
    lines: list[ChartLine], title: str, description: str, chart_id: str, zero_line: bool = False
) -> dict:
    """A line chart over a game's minutes, wide and narrow (see CHART_WIDTH), named by
    `title` and described by `description` for assistive technology."""
    return {
        "title": title,
        "description": description,
        "chart_id": chart_id,
        "zero_line": zero_line,
        "charts": [
            ("wide", minute_chart_geometry(lines, zero_line=zero_line)),
            (
                "narrow",
                minute_chart_geometry(
                    lines, NARROW_CHART_WIDTH, zero_line, NARROW_MINUTE_LABEL_EVERY
                ),
            ),
        ],
    }
