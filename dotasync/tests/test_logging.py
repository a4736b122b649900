"""Where log lines go (stdout, and LOG_DIR/errors.log), and that no API key ever reaches a
log line or an error."""

import contextlib
import http.server
import logging
import logging.config
import threading
import time
import traceback
from collections.abc import Iterator
from functools import partial
from urllib.parse import urlsplit

import pytest
from django.apps import apps

from dotasync import logconfig
from dotasync.logconfig import RedactingFormatter, build_logging_config, redact
from matches.upstream.client import UpstreamClient
from matches.upstream.errors import UpstreamError
from tests.processes import free_port

STEAM_KEY = "C0FFEE00DEADBEEF1234567890ABCDEF"
OPENDOTA_KEY = "5b3d1c2e-opendota-secret-7f9a"


def log_one_of_each(name: str) -> None:
    logger = logging.getLogger(name)
    logger.debug("debug line")
    logger.info("info line")
    logger.warning("warning line")
    logger.error("error line")


def test_info_goes_to_stdout_and_errors_also_to_the_error_log(restore_logging, capsys, tmp_path):
    logging.config.dictConfig(build_logging_config("INFO", tmp_path))

    log_one_of_each("matches.sync")

    stdout = capsys.readouterr().out
    assert "debug line" not in stdout
    assert "INFO matches.sync" in stdout
    assert "info line" in stdout
    assert "warning line" in stdout
    assert "error line" in stdout
    errors_log = (tmp_path / "errors.log").read_text()
    assert "ERROR matches.sync" in errors_log
    assert "error line" in errors_log
    assert "info line" not in errors_log
    assert "warning line" not in errors_log


def test_debug_sends_debug_lines_to_stdout(restore_logging, capsys, tmp_path):
    logging.config.dictConfig(build_logging_config("DEBUG", tmp_path))

    log_one_of_each("matches.sync")
    logging.getLogger("django.db.backends").debug("SELECT 1")

    stdout = capsys.readouterr().out
    assert "DEBUG matches.sync" in stdout
    assert "debug line" in stdout
    assert "SELECT 1" not in stdout
    assert "error line" in (tmp_path / "errors.log").read_text()


def test_warning_level_hides_info(restore_logging, capsys, tmp_path):
    logging.config.dictConfig(build_logging_config("WARNING", tmp_path))

    log_one_of_each("syncjobs")

    stdout = capsys.readouterr().out
    assert "info line" not in stdout
    assert "warning line" in stdout


def test_no_error_log_file_until_an_error(restore_logging, tmp_path):
    logging.config.dictConfig(build_logging_config("INFO", tmp_path / "logs"))

    logging.getLogger("matches").info("nothing wrong")

    assert (tmp_path / "logs").is_dir()
    assert not (tmp_path / "logs" / "errors.log").exists()


# --- redaction --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"https://api.steampowered.com/IDOTA2Match_570/GetMatchDetails/v1/?key={STEAM_KEY}"
            "&match_id=1",
            "https://api.steampowered.com/IDOTA2Match_570/GetMatchDetails/v1/?key=REDACTED"
            "&match_id=1",
        ),
        (
            f"GET /api/matches/1?api_key={OPENDOTA_KEY} HTTP/1.1",
            "GET /api/matches/1?api_key=REDACTED HTTP/1.1",
        ),
        (f"'url': '/x?KEY={STEAM_KEY}'", "'url': '/x?KEY=REDACTED'"),
        ("/x?monkey=banana&keys=1", "/x?monkey=banana&keys=1"),
    ],
)
def test_redact_blanks_key_parameters(text, expected):
    assert redact(text) == expected


def test_redact_blanks_known_secrets_anywhere(restore_logging):
    logconfig.set_secrets([STEAM_KEY, "abc"])

    assert redact(f"Bearer {STEAM_KEY}; abc") == "Bearer REDACTED; abc"


def test_redacting_formatter_redacts_tracebacks(restore_logging):
    logconfig.set_secrets([OPENDOTA_KEY])
    try:
        raise ValueError(f"bad answer for /players/1?api_key={OPENDOTA_KEY} ({OPENDOTA_KEY})")
    except ValueError as exc:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, exc_info=None)
        record.exc_info = (type(exc), exc, exc.__traceback__)

    formatted = RedactingFormatter("%(message)s").format(record)

    assert "ValueError: bad answer" in formatted
    assert OPENDOTA_KEY not in formatted


class UpstreamMisbehaving(http.server.BaseHTTPRequestHandler):
    """Answers by the first path segment: the way each upstream can fail."""

    def do_GET(self) -> None:
        failure = urlsplit(self.path).path.split("/")[1]
        if failure == "slow":
            time.sleep(0.5)
            self.answer(200, b'{"result": {}}')
        elif failure == "forbidden":
            self.answer(403, b"<html><body><h1>Forbidden</h1></body></html>", "text/html")
        elif failure == "limited":
            self.answer(429, b'{"error": "daily api limit exceeded"}', retry_after="60")
        elif failure == "malformed":
            self.answer(200, b'{"result": {"players": [')
        else:
            self.answer(500, b"{}")

    def answer(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        retry_after: str | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if retry_after:
            self.send_header("Retry-After", retry_after)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # The client may have given up already (the read-timeout case).
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        """The server is the outside world: its access log is not ours to test."""


@pytest.fixture
def upstream_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), UpstreamMisbehaving)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_api_keys_reach_no_log_line_and_no_error(settings, every_log_line, upstream_server):
    settings.STEAM_API_KEY = STEAM_KEY
    settings.OPENDOTA_API_KEY = OPENDOTA_KEY
    settings.STEAM_API_MIN_INTERVAL = 0
    settings.STEAM_SEQUENCE_MIN_INTERVAL = 0
    settings.OPENDOTA_MIN_INTERVAL = 0
    settings.UPSTREAM_READ_TIMEOUT = 0.2
    apps.get_app_config("matches").ready()  # what start-up does with the configured keys
    refused = f"http://127.0.0.1:{free_port()}"
    failures = ["server-error", "forbidden", "limited", "slow", "malformed"]
    bases = [f"{upstream_server}/{failure}" for failure in failures] + [refused]

    errors: list[UpstreamError] = []
    for base in bases:
        settings.STEAM_API_BASE_URL = base
        settings.OPENDOTA_API_BASE_URL = f"{base}/api"
        client = UpstreamClient.from_settings(sleep=lambda seconds: None)
        calls = [
            partial(client.steam_match_details, 1781962623),
            partial(client.steam_match_history, 86745912, start_at_match_id=5),
            partial(client.steam_match_by_seq_num, 7215564751, 8591933650),
            partial(client.player_summaries, [86745912]),
            partial(client.opendota_match, 1781962623),
            partial(client.opendota_player_matches, 86745912, limit=100),
        ]
        for call in calls:
            with pytest.raises(UpstreamError) as caught:
                call()
            errors.append(caught.value)
        client.close()

    assert {type(error).__name__ for error in errors} == {
        "ServerError",
        "InvalidApiKey",
        "RateLimited",
        "BadResponse",
    }
    log_text = "\n".join(every_log_line)
    assert "urllib3.connectionpool" in log_text
    assert "key=REDACTED" in log_text
    assert "api_key=REDACTED" in log_text
    for error in errors:
        error_texts = [str(error), repr(error), error.message, *traceback.format_exception(error)]
        for text in error_texts:
            assert STEAM_KEY not in text
            assert OPENDOTA_KEY not in text
    assert STEAM_KEY not in log_text
    assert OPENDOTA_KEY not in log_text
