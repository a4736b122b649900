from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from matches import export
from matches.account_lookup import named_account
from matches.upstream.steam_ids import InvalidAccountReference

# As the sync commands' (syncjobs.cli): 2 is a bad command line, here an unknown account.
EXIT_BAD_ARGUMENTS = 2


class Command(BaseCommand):
    help = (
        "Export an account's matches (one row per match, seen from the account's side, stubs "
        "included) or, with --players, every player row of its matches, as CSV or JSON Lines. "
        "Written to stdout unless --output. Exit code 2 for an unknown account."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "account",
            help="a 32-bit Steam account id, a SteamID64, or the username of a user with one "
            "linked account; the account must be in the database",
        )
        parser.add_argument(
            "--format",
            choices=sorted(export.FORMATS),
            required=True,
            help="csv: a header row, then one row per line; jsonl: one JSON object per line",
        )
        parser.add_argument(
            "--players",
            action="store_true",
            help="export the player rows (ten per match with details) instead of the matches",
        )
        parser.add_argument("--output", type=Path, help="write to this file instead of stdout")

    def handle(self, *args, **options) -> None:
        try:
            account = named_account(options["account"], add_unknown=False)
        except InvalidAccountReference as exc:
            raise CommandError(str(exc), returncode=EXIT_BAD_ARGUMENTS) from None
        kind = "players" if options["players"] else "matches"
        pieces = export.export(account, kind, options["format"])
        output = options["output"]
        if output is None:
            for piece in pieces:
                self.stdout.write(piece, ending="")
            return
        # newline="": the CSV encoder writes RFC 4180's CRLF itself.
        with output.open("w", encoding="utf-8", newline="") as file:
            file.writelines(pieces)
        self.stderr.write(f"Exported the {kind} of account {account.account_id} to {output}.")
