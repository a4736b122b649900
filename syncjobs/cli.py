"""What the sync management commands share: the account argument, foreground runs, output, exit
codes."""

import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from matches.account_lookup import named_account
from matches.models import SteamAccount
from matches.upstream.steam_ids import InvalidAccountReference
from syncjobs import engine
from syncjobs.models import JobStatus, SyncJob

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_ARGUMENTS = 2
EXIT_CANCELLED = 130

EXIT_CODES = {
    JobStatus.COMPLETED: EXIT_OK,
    JobStatus.PENDING: EXIT_OK,
    JobStatus.RUNNING: EXIT_OK,
    JobStatus.FAILED: EXIT_FAILED,
    JobStatus.CANCELLED: EXIT_CANCELLED,
}

ACCOUNT_HELP = (
    "a 32-bit Steam account id, a SteamID64, or the username of a user with one linked "
    "account; an id not known yet is added"
)


class SyncCommand(BaseCommand):
    """Base for commands whose exit code says how the job ended."""

    def add_account_argument(self, parser: CommandParser) -> None:
        parser.add_argument("account", help=ACCOUNT_HELP)

    def add_json_argument(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--json",
            action="store_true",
            help="print one JSON object as the last line of stdout (for scripts)",
        )

    exit_code = EXIT_OK

    def run_from_argv(self, argv: list[str]) -> None:
        # Django exits with CommandError.returncode on errors; success paths end here.
        super().run_from_argv(argv)
        sys.exit(self.exit_code)


def resolve_account(text: str, add_unknown: bool = True) -> SteamAccount:
    """The account named on the command line (matches.account_lookup.named_account); raises
    CommandError(returncode=2) otherwise."""
    try:
        return named_account(text, add_unknown=add_unknown)
    except InvalidAccountReference as exc:
        raise CommandError(str(exc), returncode=EXIT_BAD_ARGUMENTS) from None


@contextmanager
def cancel_on_signals() -> Iterator[threading.Event]:
    """SIGINT/SIGTERM set an event the running job checks; the job then ends cancelled."""
    event = threading.Event()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, frame: object) -> None:
        event.set()

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield event
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class ProgressPrinter:
    """A live bar per phase on a terminal; otherwise one line per progress step."""

    def __init__(self, out: OutputWrapper, quiet: bool) -> None:
        self.out = out
        self.quiet = quiet
        self.tty = out.isatty()
        self.last_line = ""

    def __call__(self, job: SyncJob) -> None:
        if self.quiet:
            return
        line = self.describe(job)
        if line == self.last_line:
            return
        if self.tty:
            self.out.write("\r\033[K" + line, ending="\n" if not job.is_active else "")
        else:
            self.out.write(line)
        self.out.flush()
        self.last_line = line

    def describe(self, job: SyncJob) -> str:
        if job.is_active and job.percent is not None:
            filled = round(job.percent / 100 * 30)
            bar = "[" + "#" * filled + "-" * (30 - filled) + f"] {job.percent:3d}%  "
            counts = (
                f" (ok {job.details_ok}, failed {job.details_failed}, "
                f"deferred {job.details_deferred})"
            )
            eta = f"; {job.eta_text}" if job.eta_text else ""
            return bar + job.progress_text + counts + eta
        if job.is_active:
            return job.progress_text
        text = f"Job #{job.pk} {job.get_status_display().lower()}: {job.ids_found} match IDs "
        text += f"({job.ids_new} new), "
        text += f"{job.details_ok} with details, {job.details_failed} failed, "
        text += f"{job.details_deferred} deferred."
        for extra in (job.message, job.error_message):
            if extra:
                text += " " + extra
        return text


def run_or_enqueue(
    command: SyncCommand,
    account: SteamAccount,
    job_type: str,
    *,
    enqueue: bool,
    as_json: bool,
    force: bool = False,
    reset_failed: bool = False,
) -> None:
    """Start a job in the foreground (default) or hand it to the cluster; report it."""
    options = {"force": force, "reset_failed": reset_failed}
    try:
        if enqueue:
            job = engine.start_sync(account, job_type, **options)
        else:
            job = engine.create_job(account, job_type, **options)
    except (engine.AlreadyRunning, engine.TooManyJobs, engine.EnqueueFailed) as exc:
        raise CommandError(str(exc), returncode=EXIT_FAILED) from None
    if enqueue:
        job.refresh_from_db()
        if not as_json:
            command.stdout.write(f"Enqueued job #{job.pk} for account {account.account_id}.")
    else:
        printer = ProgressPrinter(command.stdout, quiet=as_json)
        with cancel_on_signals() as cancel_event:
            job = engine.run_job(job.pk, cancel_event=cancel_event, on_progress=printer)
    if as_json:
        command.stdout.write(json.dumps(job.as_dict()))
    command.exit_code = EXIT_CODES[job.status]
