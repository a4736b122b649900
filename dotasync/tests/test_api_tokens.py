"""API tokens are stored as hashes: keys made before keep working, the admin and the database
show only a prefix, and `manage.py create_api_token` prints a key once."""

from collections.abc import Iterator
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from matches.identity import api_tokens
from matches.models import ApiToken
from matches.tests.match_builders import PASSWORD

BEFORE = ("matches", "0011_signin_failures")
AFTER = ("matches", "0012_api_tokens_hashed")
# A key as DRF's authtoken made them: 40 hex characters, stored as they are.
OLD_KEY = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"


def api_status(key: str) -> int:
    return Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/accounts/").status_code


def migrate_to(*targets: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(list(targets))


@pytest.fixture
def _latest_migrations_after() -> Iterator[None]:
    """The test database goes back to every app's newest migration after the test, so the
    tests that run after it in this process meet the schema they expect (later migrations of
    `matches` than AFTER included)."""
    yield
    migrate_to(*MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_latest_migrations_after")
def test_a_key_made_before_hashing_keeps_working_and_its_plaintext_is_gone(user):
    migrate_to(BEFORE)
    created = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    with connection.cursor() as cursor:
        # DRF's authtoken table as its migrations made it, with one user's key.
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "user_id integer NOT NULL UNIQUE, created timestamp with time zone NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token (key, user_id, created) VALUES (%s, %s, %s)",
            [OLD_KEY, user.pk, created],
        )
    try:
        migrate_to(AFTER)

        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM authtoken_token")
            assert cursor.fetchone()[0] == 0
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE authtoken_token")
    # The API reads today's tables (later migrations add columns its queries name).
    migrate_to(*MigrationExecutor(connection).loader.graph.leaf_nodes())

    token = ApiToken.objects.get(user=user)
    assert (token.digest, token.prefix, token.created) == (
        api_tokens.digest_of(OLD_KEY),
        OLD_KEY[:6],
        created,
    )
    assert api_status(OLD_KEY) == 200
    assert api_status(OLD_KEY[:-1] + "0") == 401


def test_the_admin_shows_a_tokens_prefix_never_its_key(db, user):
    key = api_tokens.create_token(user)
    admin = Client()
    admin.force_login(get_user_model().objects.create_superuser("root", password=PASSWORD))

    listing = admin.get("/admin/matches/apitoken/").content.decode()
    token = ApiToken.objects.get(user=user)
    detail = admin.get(f"/admin/matches/apitoken/{token.pk}/change/").content.decode()

    assert key[:6] in listing
    assert key not in listing + detail
    assert token.digest not in listing
    assert admin.get("/admin/matches/apitoken/add/").status_code == 403
    assert admin.get("/admin/authtoken/").status_code == 404  # DRF's plaintext tokens are gone


def test_a_deactivated_users_token_is_refused(db, user):
    key = api_tokens.create_token(user)
    user.is_active = False
    user.save()

    assert api_status(key) == 401


def test_the_command_prints_a_working_key_once(db, user):
    out = StringIO()
    call_command("create_api_token", "alice", stdout=out)
    key = out.getvalue().strip()

    assert api_status(key) == 200
    with pytest.raises(CommandError, match="already has an API token"):
        call_command("create_api_token", "alice", stdout=StringIO())

    replaced = StringIO()
    call_command("create_api_token", "alice", "--replace", stdout=replaced)
    assert api_status(key) == 401
    assert api_status(replaced.getvalue().strip()) == 200
    with pytest.raises(CommandError, match="No user 'mallory'"):
        call_command("create_api_token", "mallory")
