"""`manage.py completeness <account>`: what each ID source says of an account."""

import json

from django.core.management.base import CommandParser

from syncjobs import completeness
from syncjobs.cli import SyncCommand, resolve_account


class Command(SyncCommand):
    help = (
        "Show what each ID source says of an account and what is stored: its count, the "
        "matches its pages listed, those only it knows by month, stubs waiting, failed "
        "matches by error, and advice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_account_argument(parser)
        self.add_json_argument(parser)

    def handle(self, *args, **options) -> None:
        account = resolve_account(options["account"])
        report = completeness.report(account)
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict()))
            return
        self.stdout.write(
            f"Account {account.account_id}: {report.stored:,} matches stored, "
            f"{report.unrecorded:,} with no listing source recorded"
        )
        for view in report.sources:
            said = "nothing yet" if view.reported_total is None else f"{view.reported_total:,}"
            self.stdout.write(
                f"  {view.player_name}: says {said}; listed {view.listed:,} stored matches; "
                f"only it: {view.only_here:,}; complete through {view.complete_through}"
                f"{' (a listing is unfinished)' if view.partial else ''}"
            )
            for month in view.only_here_by_month:
                when = f"{month.month:%Y-%m}" if month.month else "no start time"
                self.stdout.write(f"    {when}: {month.count:,} only in {view.player_name}")
        self.stdout.write(f"  Stubs waiting for details: {report.stubs:,}")
        for why in report.stubs_waiting_why:
            self.stdout.write(f"    {why}")
        for group in report.failed:
            self.stdout.write(f"  Failed: {group.count:,} ({group.error})")
        for line in report.advice:
            self.stdout.write(f"- {line}")
