"""`{% parse_status match as parse %}`: why a match is not parsed (matches.parse_status), for
the signed-in user's accounts, so the match page shows it with one include line."""

from django import template

from matches.models import Match
from matches.parse_status import ParseStatus, parse_status

register = template.Library()


@register.simple_tag(takes_context=True, name="parse_status")
def parse_status_tag(context: template.Context, match: Match) -> ParseStatus | None:
    request = context.get("request")
    return parse_status(match, getattr(request, "user", None))
