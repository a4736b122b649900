"""Server-rendered SVG charts: the geometry is computed here, the markup lives in templates."""

from dataclasses import dataclass
from math import ceil

from django import template

from matches import dota_constants
from matches.stats import HeroRecord, MonthRecord

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


def winrate_geometry(
    months: list[MonthRecord], width: int = CHART_WIDTH, max_labels: int = MAX_MONTH_LABELS
) -> dict:
    """Bars of games per month (right axis) under a line of the monthly win rate (left axis)."""
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
                label=month.month.strftime("%b %y"),
                title=(
                    f"{month.month:%B %Y}: {month.games} games, {month.wins} won "
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
        "label_y": plot_bottom + 20,
        "most_games": most_games,
        "columns": columns,
        "line_points": " ".join(f"{c.point_x},{c.point_y}" for c in columns),
    }


def hero_bars_geometry(
    heroes: list[HeroRecord],
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
        name = dota_constants.hero_name(hero.hero_id)
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
def winrate_chart(months: list[MonthRecord]) -> dict:
    return {
        "charts": [
            ("wide", winrate_geometry(months)),
            ("narrow", winrate_geometry(months, NARROW_CHART_WIDTH, NARROW_MONTH_LABELS)),
        ]
    }


@register.inclusion_tag("matches/charts/hero_bars.html")
def hero_bars_chart(heroes: list[HeroRecord]) -> dict:
    narrow = hero_bars_geometry(
        heroes,
        NARROW_CHART_WIDTH,
        NARROW_HERO_LABEL_WIDTH,
        NARROW_HERO_VALUE_WIDTH,
        NARROW_HERO_NAME_CHARS,
    )
    return {"charts": [("wide", hero_bars_geometry(heroes)), ("narrow", narrow)]}
