"""Logging set-up (where log lines go, by LOG_LEVEL and LOG_DIR) and secret redaction.

LOG_LEVEL=INFO sends INFO and above to stdout; DEBUG sends everything there.
ERROR and above also go to a rotating LOG_DIR/errors.log at every level.

API keys travel as a `key=` query parameter, so any URL that reaches a log
line (ours, or urllib3's DEBUG "GET /...?key=..." lines) would leak one.
Redaction happens when a record is created, so every handler - including
pytest's caplog and third-party handlers - only ever sees the redacted text.
"""

import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REDACTED = "REDACTED"
_KEY_PARAM = re.compile(r"(?i)\b((?:api_)?key=)[^&\s'\"<>]+")
# A Discord webhook's URL ends in its token (notifications never log URLs; this is the net).
_WEBHOOK_TOKEN = re.compile(r"(/api/webhooks/\d+/)[\w-]+")
_secrets: tuple[str, ...] = ()


def set_secrets(values: Iterable[str]) -> None:
    """Remember the literal secrets (API keys) to blank out wherever they appear."""
    global _secrets
    _secrets = tuple(sorted({v for v in values if v and len(v) >= 4}, key=len, reverse=True))


def redact(text: str) -> str:
    text = _KEY_PARAM.sub(rf"\1{REDACTED}", text)
    text = _WEBHOOK_TOKEN.sub(rf"\1{REDACTED}", text)
    for secret in _secrets:
        text = text.replace(secret, REDACTED)
    return text


_base_factory = logging.getLogRecordFactory()


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # a malformed format string: leave it to logging to report
        return record
    record.msg = redact(message)
    record.args = None
    return record


def install_redaction(secrets: Iterable[str]) -> None:
    set_secrets(secrets)
    if logging.getLogRecordFactory() is not _redacting_factory:
        logging.setLogRecordFactory(_redacting_factory)


class RedactingFormatter(logging.Formatter):
    """Also redacts tracebacks, which are formatted after the record exists."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def not_an_unhealthy_answer(record: logging.LogRecord) -> bool:
    """False for Django's line about a 503 from /healthz: that answer is news for the monitor
    that asked, not a server error, and a monitor asks every minute."""
    match = getattr(getattr(record, "request", None), "resolver_match", None)
    return not (
        getattr(record, "status_code", None) == 503 and match and match.url_name == "healthz"
    )


def build_logging_config(level: str, log_dir: Path) -> dict[str, Any]:
    log_dir.mkdir(parents=True, exist_ok=True)
    fmt = "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"()": RedactingFormatter, "format": fmt}},
        "filters": {
            "unhealthy_answers": {
                "()": "django.utils.log.CallbackFilter",
                "callback": not_an_unhealthy_answer,
            }
        },
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "plain",
                "level": level,
            },
            "errors_file": {
                "class": "logging.handlers.RotatingFileHandler",
                "filename": str(log_dir / "errors.log"),
                "maxBytes": 5 * 1024 * 1024,
                "backupCount": 5,
                "formatter": "plain",
                "level": "ERROR",
                "delay": True,
            },
        },
        "root": {"handlers": ["stdout", "errors_file"], "level": level},
        "loggers": {
            "django": {"level": "INFO" if level == "DEBUG" else level, "propagate": True},
            "django.db.backends": {"level": "INFO", "propagate": True},
            "django.request": {"filters": ["unhealthy_answers"], "propagate": True},
        },
    }
