from django.core.management.base import CommandParser

from syncjobs.cli import SyncCommand, resolve_account, run_or_enqueue
from syncjobs.models import JobType


class Command(SyncCommand):
    help = (
        "Retry matches without details: stubs, and failed matches with attempts left whose "
        "retry backoff has passed. Runs in the foreground (Ctrl-C cancels) unless --enqueue. "
        "Exit codes: 0 completed, 1 failed, 130 cancelled, 2 bad arguments."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_account_argument(parser)
        parser.add_argument(
            "--force",
            action="store_true",
            help="ignore the retry backoff (never the attempt limit)",
        )
        parser.add_argument(
            "--reset-failed",
            action="store_true",
            help="first give matches that used up their attempts (SYNC_MAX_ATTEMPTS) their "
            "attempts back: for failures caused by a wrong key or URL, once fixed",
        )
        parser.add_argument(
            "--enqueue", action="store_true", help="hand the job to the task cluster and return"
        )
        self.add_json_argument(parser)

    def handle(self, *args, **options) -> None:
        account = resolve_account(options["account"])
        run_or_enqueue(
            self,
            account,
            JobType.BACKFILL,
            enqueue=options["enqueue"],
            as_json=options["json"],
            force=options["force"],
            reset_failed=options["reset_failed"],
        )
