"""Which time zone a user sees times in: their own choice, else the site's TIME_ZONE."""

import functools
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser

from matches.models import UserSettings


@functools.cache
def available_time_zones() -> tuple[str, ...]:
    """Every IANA zone name this machine knows, sorted (read from disk once)."""
    return tuple(sorted(zoneinfo.available_timezones()))


def zone_name_for(user: AbstractBaseUser) -> str:
    """The user's zone name; the site's when they chose none or a zone that is gone."""
    chosen = UserSettings.objects.filter(user=user).values_list("time_zone", flat=True).first()
    if chosen and chosen in available_time_zones():
        return chosen
    return settings.TIME_ZONE


def zone_for(user: AbstractBaseUser) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(zone_name_for(user))
