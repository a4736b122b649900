"""The rate limiter's table: one row of pacing state per upstream source, shared by every process.

The model belongs to the `matches` app (its table and migrations stay matches_ratelimitslot);
it lives here beside its one user, matches.upstream.ratelimit, because it holds no match data.
matches.models imports it so that Django registers it with the app.
"""

from django.db import models


class RateLimitSlot(models.Model):
    """Shared pacing state of one upstream source, used by every worker process.

    `next_at` is the earliest time (Unix seconds, the database's clock) at which the
    next call may start; `disabled_until` switches a source off (e.g. OpenDota's daily
    limit). `remaining_today` is what the source last said is left of its daily
    allowance (OpenDota's X-Rate-Limit-Remaining-Day), as of `remaining_at`.
    """

    bucket = models.CharField(max_length=32, primary_key=True)
    next_at = models.FloatField(default=0.0)
    disabled_until = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    remaining_today = models.PositiveIntegerField(null=True, blank=True)
    remaining_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.bucket
