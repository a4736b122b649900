"""`manage.py create_api_token <username>`: a user's API key, printed this once."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from matches.identity import api_tokens


class Command(BaseCommand):
    help = (
        "Create a user's API token and print its key, the only time it is shown (DotaSync "
        "stores only its hash). --replace revokes the user's current token first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--replace", action="store_true", help="revoke the user's token if they have one"
        )

    def handle(self, *args: object, username: str, replace: bool, **options: object) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        if replace:
            api_tokens.revoke_token(user)
        try:
            key = api_tokens.create_token(user)
        except api_tokens.TokenExists:
            raise CommandError(
                f"{username} already has an API token; --replace revokes it and makes a new one."
            ) from None
        self.stdout.write(key)
