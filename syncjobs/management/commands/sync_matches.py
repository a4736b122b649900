from django.core.management.base import CommandParser

from syncjobs.cli import SyncCommand, resolve_account, run_or_enqueue
from syncjobs.models import JobType


class Command(SyncCommand):
    help = (
        "Sync an account's match history: phase 1 collects every match ID, phase 2 fetches "
        "details. Runs in the foreground (Ctrl-C cancels) unless --enqueue. Exit codes: "
        "0 completed, 1 failed, 130 cancelled, 2 bad arguments."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_account_argument(parser)
        parser.add_argument(
            "--full",
            action="store_true",
            help="full sync: every match the sources know, re-fetching all details "
            "(default: new matches only)",
        )
        parser.add_argument(
            "--enqueue", action="store_true", help="hand the job to the task cluster and return"
        )
        self.add_json_argument(parser)

    def handle(self, *args, **options) -> None:
        account = resolve_account(options["account"])
        job_type = JobType.FULL if options["full"] else JobType.INCREMENTAL
        run_or_enqueue(self, account, job_type, enqueue=options["enqueue"], as_json=options["json"])
