"""`manage.py parse_matches <account>`: a parse job of the account, through start_sync."""

from django.core.management.base import CommandParser

from syncjobs.cli import SyncCommand, resolve_account, run_or_enqueue
from syncjobs.models import JobType


class Command(SyncCommand):
    help = (
        "Ask OpenDota to parse what can still be parsed of an account's matches (played "
        "within PARSE_REPLAY_WINDOW_DAYS, neither parsed nor asked for; each asked once), and "
        "check the requests already sent, within PARSE_DAILY_BUDGET and after every account's "
        "matches without details. With the account's 'parse new matches' switch off, only "
        "the matches a player asked for on their page are sent. Runs in the foreground "
        "(Ctrl-C cancels) unless --enqueue. Exit codes: "
        "0 completed, 1 failed, 130 cancelled, 2 bad arguments."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_account_argument(parser)
        parser.add_argument(
            "--enqueue", action="store_true", help="hand the job to the task cluster and return"
        )
        self.add_json_argument(parser)

    def handle(self, *args, **options) -> None:
        account = resolve_account(options["account"])
        run_or_enqueue(
            self, account, JobType.PARSE, enqueue=options["enqueue"], as_json=options["json"]
        )
