"""Server-rendered SVG charts: the geometry is computed here, the markup lives in templates."""

from dataclasses import dataclass
from math import ceil

from django import template

from matches import dota_constants
from matches.stats import HeroRecord, MonthRecord

register = template.Library()

CHART_WIDTH = 640
WINRATE_HEIGHT = 260
PLOT_LEFT = 44
PLOT_RIGHT = 44
PLOT_TOP = 16
PLOT_BOTTOM = 34
MAX_MONTH_LABELS = 12
HERO_ROW_HEIGHT = 30
HERO_LABEL_WIDTH = 150
HERO_VALUE_WIDTH = 110


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


def winrate_geometry(months: list[MonthRecord]) -> dict:
    """Bars of games per month (right axis) under a line of the monthly win rate (left axis)."""
    plot_width = CHART_WIDTH - PLOT_LEFT - PLOT_RIGHT
    plot_height = WINRATE_HEIGHT - PLOT_TOP - PLOT_BOTTOM
    plot_bottom = PLOT_TOP + plot_height
    most_games = max((month.games for month in months), default=0) or 1
    band = plot_width / max(len(months), 1)
    label_every = ceil(len(months) / MAX_MONTH_LABELS) or 1
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
        "width": CHART_WIDTH,
        "height": WINRATE_HEIGHT,
        "left": PLOT_LEFT,
        "right": CHART_WIDTH - PLOT_RIGHT,
        "top": PLOT_TOP,
        "bottom": plot_bottom,
        "middle": PLOT_TOP + plot_height / 2,
        "label_y": plot_bottom + 20,
        "most_games": most_games,
        "columns": columns,
        "line_points": " ".join(f"{c.point_x},{c.point_y}" for c in columns),
    }


def hero_bars_geometry(heroes: list[HeroRecord]) -> dict:
    """One horizontal bar per hero: games, with the won part drawn over it."""
    bar_space = CHART_WIDTH - HERO_LABEL_WIDTH - HERO_VALUE_WIDTH
    most_games = max((hero.games for hero in heroes), default=0) or 1
    bars = []
    for index, hero in enumerate(heroes):
        name = dota_constants.hero_name(hero.hero_id)
        win_percent = round(100 * hero.win_rate)
        bars.append(
            HeroBar(
                name=name,
                title=f"{name}: {hero.games} games, {hero.wins} won ({win_percent}%)",
                y=index * HERO_ROW_HEIGHT + 6,
                text_y=index * HERO_ROW_HEIGHT + 20,
                games_width=round(bar_space * hero.games / most_games, 1),
                wins_width=round(bar_space * hero.wins / most_games, 1),
                value_text=f"{hero.games} · {win_percent}%",
            )
        )
    return {
        "width": CHART_WIDTH,
        "height": max(len(heroes), 1) * HERO_ROW_HEIGHT + 6,
        "bar_x": HERO_LABEL_WIDTH,
        "label_x": HERO_LABEL_WIDTH - 10,
        "value_x": CHART_WIDTH - HERO_VALUE_WIDTH + 10,
        "bar_height": HERO_ROW_HEIGHT - 12,
        "bars": bars,
    }


@register.inclusion_tag("matches/charts/winrate.html")
def winrate_chart(months: list[MonthRecord]) -> dict:
    return {"chart": winrate_geometry(months)}


@register.inclusion_tag("matches/charts/hero_bars.html")
def hero_bars_chart(heroes: list[HeroRecord]) -> dict:
    return {"chart": hero_bars_geometry(heroes)}
