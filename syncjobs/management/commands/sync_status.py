import json

from django.core.management.base import CommandParser

from matches.models import Match
from syncjobs import liveness
from syncjobs.cli import SyncCommand, resolve_account
from syncjobs.models import JobStatus, SyncJob

RECENT_JOBS = 20


class Command(SyncCommand):
    help = "Show an account's matches by details status and its recent sync jobs."

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_account_argument(parser)
        self.add_json_argument(parser)

    def handle(self, *args, **options) -> None:
        account = resolve_account(options["account"])
        summary = Match.objects.for_account(account).details_summary()
        jobs = list(SyncJob.objects.filter(account=account).select_related("account")[:RECENT_JOBS])
        liveness.refresh(job for job in jobs if job.status == JobStatus.RUNNING)
        if options["json"]:
            report = {
                "account_id": account.account_id,
                **summary,
                "latest_job": jobs[0].as_dict() if jobs else None,
                "jobs": [job.as_dict() for job in jobs],
            }
            self.stdout.write(json.dumps(report))
            return
        self.stdout.write(
            f"Account {account.account_id} {account.persona_name}: {summary['matches']} matches "
            f"({summary['complete']} complete, {summary['pending']} pending, "
            f"{summary['failed']} failed)"
        )
        for job in jobs:
            line = f"  #{job.pk} {job.created_at:%Y-%m-%d %H:%M} {job.job_type:<16} {job.status:<9}"
            line += f" {job.progress_text}; ok {job.details_ok}, failed {job.details_failed}, "
            line += f"deferred {job.details_deferred}"
            if job.eta_text:
                line += f"; {job.eta_text}"
            if job.error_message or job.message:
                line += f" - {job.error_message or job.message}"
            self.stdout.write(line)
