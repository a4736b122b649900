"""`manage.py bootstrap_demo`: the demo user and the simulator's account, for `make run`."""

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.management.base import BaseCommand
from django.db import transaction

from matches.models import SteamAccount

DEMO_USERNAME = "demo"
DEMO_ACCOUNT_ID = 86745912
DEMO_PERSONA_NAME = "Demo Player"


@dataclass(frozen=True)
class DemoBootstrap:
    user: AbstractBaseUser
    # Only set when the user was created by this run: it is never stored in clear text.
    new_password: str | None
    account: SteamAccount
    account_created: bool


@transaction.atomic
def bootstrap_demo() -> DemoBootstrap:
    """Create what is missing of the demo user and its account; never change what exists."""
    user_model = get_user_model()
    new_password = None
    user = user_model.objects.filter(username=DEMO_USERNAME).first()
    if user is None:
        new_password = secrets.token_urlsafe(12)
        user = user_model.objects.create_user(username=DEMO_USERNAME, password=new_password)
    account, account_created = SteamAccount.objects.get_or_create(
        account_id=DEMO_ACCOUNT_ID,
        defaults={"owner": user, "persona_name": DEMO_PERSONA_NAME},
    )
    return DemoBootstrap(
        user=user, new_password=new_password, account=account, account_created=account_created
    )


class Command(BaseCommand):
    help = "Create the demo user and link the simulator's Steam account (demo mode only)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true", help="also run when DEMO_MODE is off")

    def handle(self, *args, force: bool = False, **options) -> None:
        if not (settings.DEMO_MODE or force):
            self.stdout.write("DEMO_MODE is off: no demo user created (use --force to create one).")
            return
        result = bootstrap_demo()
        if result.new_password:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Created user {DEMO_USERNAME!r} with password {result.new_password!r} "
                    "(shown only this once)."
                )
            )
        else:
            self.stdout.write(f"User {DEMO_USERNAME!r} already exists; its password is unchanged.")
        if result.account_created:
            self.stdout.write(
                f"Linked Steam account {DEMO_ACCOUNT_ID} ({DEMO_PERSONA_NAME}) "
                f"to {DEMO_USERNAME!r}."
            )
        else:
            self.stdout.write(f"Steam account {DEMO_ACCOUNT_ID} already exists.")
