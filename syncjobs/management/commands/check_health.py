import json
import sys

from django.core.management.base import BaseCommand, CommandParser

from syncjobs.health import check_health, summary_lines


class Command(BaseCommand):
    help = (
        "Check the database, the task cluster, the pending jobs and the sources, as GET /healthz "
        "does; exit 0 when healthy, 1 when not."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--json", action="store_true", help="print the JSON object GET /healthz answers"
        )

    def handle(self, *args, **options) -> None:
        report = check_health()
        if options["json"]:
            self.stdout.write(json.dumps(report))
        else:
            for line in summary_lines(report):
                self.stdout.write(line)
        if not report["healthy"]:
            sys.exit(1)
