import json

from django.core.management.base import CommandError, CommandParser

from syncjobs import engine
from syncjobs.cli import EXIT_BAD_ARGUMENTS, EXIT_FAILED, SyncCommand
from syncjobs.models import SyncJob


class Command(SyncCommand):
    help = (
        "Cancel a pending or running sync job. A pending job is cancelled at once; a running "
        "one stops within about a second, keeping what it stored. Exit codes: 0 cancelled or "
        "cancelling, 1 not cancellable (already ended), 2 no such job."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job_id", type=int, help="the SyncJob id")
        self.add_json_argument(parser)

    def handle(self, *args, **options) -> None:
        job = SyncJob.objects.select_related("account").filter(pk=options["job_id"]).first()
        if job is None:
            raise CommandError(f"no sync job #{options['job_id']}", returncode=EXIT_BAD_ARGUMENTS)
        try:
            job = engine.request_cancel(job)
        except engine.NotCancellable as exc:
            raise CommandError(str(exc), returncode=EXIT_FAILED) from None
        if options["json"]:
            self.stdout.write(json.dumps(job.as_dict()))
        elif job.is_active:
            self.stdout.write(f"Job #{job.pk} is stopping; it ends within about a second.")
        else:
            self.stdout.write(f"Job #{job.pk} cancelled.")
