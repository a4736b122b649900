"""Template filters that turn Dota's numbers into what a player reads."""

from django import template
from django.utils.html import format_html

from matches import filters
from matches.players import PlayerLabel
from matches.upstream import dota_constants

register = template.Library()

MISSING = "—"


@register.filter
def hero_name(hero_id: int | None) -> str:
    return dota_constants.hero_name(hero_id)


@register.filter
def hero_facet(player) -> str:
    """The name of the facet (`hero_variant`) a player chose, "" when unknown."""
    return dota_constants.hero_facet_name(
        getattr(player, "hero_id", None), getattr(player, "hero_variant", None)
    )


# Valve's DOTALeaverStatus_t, as a player reads it.
LEAVER_STATUSES = {
    1: "Disconnected",
    2: "Abandoned (disconnected too long)",
    3: "Abandoned",
    4: "Abandoned (AFK)",
    5: "Abandoned (never connected)",
    6: "Abandoned (never connected)",
}


@register.filter
def leaver_status(status: int | None) -> str:
    """ "" for a player who stayed; what happened otherwise."""
    if not status:
        return ""
    return LEAVER_STATUSES.get(int(status), f"Left (status {status})")


@register.simple_tag
def avatar(label: PlayerLabel, show_images: bool, size: int = 32) -> str:
    """A player's Steam avatar when the user lets pages load outside images and Steam gave one;
    otherwise a badge with the name's initial, drawn by the page itself. Decorative: the name
    is always written next to it."""
    if show_images and label.avatar_url:
        return format_html(
            '<img class="avatar" src="{}" alt="" width="{}" height="{}" loading="lazy" '
            'referrerpolicy="no-referrer">',
            label.avatar_url,
            size,
            size,
        )
    # The letter is drawn from data-initial by CSS, so it is no part of the row's text.
    return format_html(
        '<span class="avatar avatar-initial avatar-hue-{}" data-initial="{}" aria-hidden="true">'
        "</span>",
        label.hue,
        label.initial,
    )


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


@register.filter
def next_ordering(column: str, current: str) -> str:
    return filters.next_ordering(column, current)
