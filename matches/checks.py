"""System checks of `manage.py check --deploy` for what Django's own do not cover: the CSP."""

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register

CSP_MIDDLEWARE = "matches.middleware.SecurityHeadersMiddleware"


@register(Tags.security, deploy=True)
def content_security_policy(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """A Content-Security-Policy is sent, and it allows no inline or eval'd script."""
    if CSP_MIDDLEWARE not in settings.MIDDLEWARE:
        return [
            Warning(
                f"{CSP_MIDDLEWARE} is not in MIDDLEWARE: no Content-Security-Policy is sent.",
                id="dotasync.W001",
            )
        ]
    directives = {
        name: values
        for name, *values in (part.split() for part in settings.CONTENT_SECURITY_POLICY.split(";"))
    }
    scripts = directives.get("script-src", directives.get("default-src"))
    if scripts is None or {"'unsafe-inline'", "'unsafe-eval'", "*"} & set(scripts):
        return [
            Warning(
                "CONTENT_SECURITY_POLICY lets scripts run from anywhere, inline or by eval: "
                f"script-src {' '.join(scripts or ['(none)'])}.",
                id="dotasync.W002",
            )
        ]
    return []
