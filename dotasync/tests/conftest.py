"""Fixtures of the project-wide tests (logging, security); those every app shares are in the
root conftest.py."""

import logging
from collections.abc import Iterator

import pytest

from dotasync import logconfig


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put back every logger's handlers and levels, and the redaction secrets."""
    manager = logging.root.manager
    saved = {
        name: (logger.handlers[:], logger.level, logger.propagate, logger.disabled)
        for name, logger in [("", logging.root), *manager.loggerDict.items()]
        if isinstance(logger, logging.Logger)
    }
    saved_secrets = logconfig._secrets
    yield
    for name, logger in [("", logging.root), *manager.loggerDict.items()]:
        if not isinstance(logger, logging.Logger):
            continue
        for handler in logger.handlers:
            if name not in saved or handler not in saved[name][0]:
                handler.close()
        if name in saved:
            logger.handlers[:], logger.level, logger.propagate, logger.disabled = saved[name]
        else:
            logger.handlers.clear()
            logger.setLevel(logging.NOTSET)
    logconfig.set_secrets(saved_secrets)


@pytest.fixture
def every_log_line(restore_logging) -> list[str]:
    """Every record of every logger at DEBUG, as a plain handler (no redaction of its own) sees."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    logging.root.addHandler(handler)
    logging.root.setLevel(logging.DEBUG)
    # By name too where the logging config may have disabled or quietened a child logger.
    for name in (
        "urllib3",
        "urllib3.connectionpool",
        "requests",
        "matches",
        "matches.upstream",
        "syncjobs",
    ):
        logging.getLogger(name).setLevel(logging.DEBUG)
        logging.getLogger(name).disabled = False
    return lines
