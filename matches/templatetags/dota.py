"""Template filters that turn Dota's numbers into what a player reads."""

from django import template

from matches import dota_constants

register = template.Library()

MISSING = "—"


@register.filter
def hero_name(hero_id: int | None) -> str:
    return dota_constants.hero_name(hero_id)


@register.filter
def item_name(item_id: int | None) -> str:
    return dota_constants.item_name(item_id)


@register.filter
def game_mode(game_mode_id: int | None) -> str:
    return dota_constants.game_mode_name(game_mode_id)


@register.filter
def lobby_type(lobby_type_id: int | None) -> str:
    return dota_constants.lobby_type_name(lobby_type_id)


@register.filter
def duration(seconds: int | None) -> str:
    """Match length as Dota shows it: minutes:seconds, minutes unbounded (72:05)."""
    if seconds is None or seconds == "":
        return MISSING
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}"


@register.filter
def kda(player) -> str:
    """'kills/deaths/assists' of anything with those attributes; a dash until they are known."""
    values = (
        getattr(player, "kills", None),
        getattr(player, "deaths", None),
        getattr(player, "assists", None),
    )
    if any(value is None for value in values):
        return MISSING
    return "/".join(str(value) for value in values)


@register.filter
def percent(ratio: float | None) -> str:
    """A 0..1 ratio as a whole percentage ('53%')."""
    if ratio is None:
        return MISSING
    return f"{round(100 * ratio)}%"
