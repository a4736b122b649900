"""The database's clock, the one clock every process and machine of a deployment shares.

Leases, heartbeats, backoffs and rate-limit slots are compared across processes
that may run on several machines whose clocks disagree; reading the time from the
database server makes them agree. SQLite lives on the one machine that uses it,
so there the local clock is the database's clock.
"""

from datetime import UTC, datetime

from django.db import connection
from django.utils import timezone


def now() -> datetime:
    """The current time on the database server (an aware UTC datetime)."""
    if connection.vendor != "postgresql":
        return timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        value = cursor.fetchone()[0]
    return value.astimezone(UTC)


def epoch() -> float:
    """now() as Unix seconds."""
    return now().timestamp()
