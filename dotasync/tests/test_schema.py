from collections.abc import Iterator
from io import StringIO

import pytest
import responses
import schemathesis
import yaml
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from rest_framework.test import APIClient
from schemathesis import Case
from schemathesis.generation.modes import GenerationMode
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import positive_data_acceptance

from dotasync.wsgi import application
from matches.identity import api_tokens
from matches.tests.match_builders import complete_match, stub_match
from syncjobs.models import JobStatus, JobType, SyncJob

pytestmark = pytest.mark.django_db

EXPECTED_STATUS_CODES = {
    ("/api/sync/trigger", "post"): {"201", "400", "401", "403", "404", "409", "415", "429", "503"},
    ("/api/sync/backfill", "post"): {"201", "400", "401", "403", "404", "409", "415", "429", "503"},
    ("/api/sync/parse", "post"): {"201", "400", "401", "403", "404", "409", "415", "429", "503"},
    ("/api/sync/cancel/{job_id}", "post"): {"200", "400", "401", "403", "404"},
    ("/api/sync/jobs/", "get"): {"200", "400", "401", "403", "404"},
    ("/api/sync/jobs/{id}/", "get"): {"200", "401", "403", "404"},
    ("/api/completeness/", "get"): {"200", "400", "401", "403", "404"},
    ("/api/completeness/refresh", "post"): {"202", "400", "401", "403", "404", "409"},
    ("/api/accounts/", "get"): {"200", "401", "403"},
    ("/api/accounts/", "post"): {"201", "400", "401", "403", "404", "415"},
    ("/api/accounts/{account_id}/", "patch"): {"200", "400", "401", "403", "404", "415"},
    ("/api/matches/", "get"): {"200", "400", "401", "403", "404"},
    ("/api/matches/{match_id}/", "get"): {"200", "401", "403", "404"},
    ("/api/teammates/", "get"): {"200", "400", "401", "403", "404"},
    ("/api/export/matches/", "get"): {"200", "400", "401", "403", "404"},
    ("/api/export/players/", "get"): {"200", "400", "401", "403", "404"},
    **{
        (f"/api/stats/{view}/", "get"): {"200", "400", "401", "403", "404"}
        for view in (
            "summary",
            "over-time",
            "heroes",
            "breakdowns",
            "records",
            "activity",
            "with-against",
            "streaks",
            "trends",
            "parsed",
        )
    },
    ("/api/stats/players/{player_id}/", "get"): {"200", "400", "401", "403", "404"},
}


@pytest.fixture
def auth_header(user) -> dict[str, str]:
    return {"Authorization": f"Token {api_tokens.create_token(user)}"}


def served_schema(auth_header: dict[str, str]) -> dict:
    client = APIClient()
    response = client.get("/api/schema/", headers=auth_header)
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_schema_generation_is_valid_and_warning_free():
    out = StringIO()

    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)

    assert out.getvalue().startswith("openapi: 3")


def test_every_endpoint_documents_each_status_code_it_answers(auth_header):
    paths = served_schema(auth_header)["paths"]

    documented = {
        (path, method): set(operation["responses"])
        for path, operations in paths.items()
        for method, operation in operations.items()
        if path.startswith("/api/") and not path.startswith("/api/schema")
    }

    assert documented == EXPECTED_STATUS_CODES


def test_schema_and_docs_need_authentication(user):
    assert APIClient().get("/api/schema/").status_code == 401
    client = APIClient()
    client.force_login(user)
    assert client.get("/api/schema/").status_code == 200


def test_swagger_ui_loads_its_assets_from_our_own_static_files(user):
    client = APIClient()
    client.force_login(user)

    response = client.get("/api/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()


@pytest.mark.parametrize(
    "path", ["/api/nothing-here/", "/api/matches/not-a-number/", "/api/sync/cancel/1%0A2"]
)
def test_unknown_api_urls_answer_json_404(auth_header, path):
    response = APIClient().post(path, headers=auth_header)

    assert response.status_code == 404
    assert response.json() == {"detail": "No API endpoint at this URL."}


# --- schemathesis: generated requests against the live schema ------------------------------------


@pytest.fixture
def wsgi_in_test_transaction() -> Iterator[None]:
    """Keep the test's connection open across requests made straight to the WSGI app.

    Django closes "old" connections at the end of every request; Django's own test client
    turns that off so the test transaction survives, and this does the same.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(user, auth_header, wsgi_in_test_transaction, settings) -> BaseSchema:
    # Linking by custom URL would ask Steam; no key means it is refused without calling out.
    settings.STEAM_API_KEY = ""
    return schemathesis.openapi.from_wsgi("/api/schema/", application, headers=auth_header)


@pytest.fixture
def known_ids(account) -> dict[str, int]:
    """Path and query values that name the user's own data, so requests get past the 404s."""
    match = complete_match(7000000001, account, won=True, teammates=[2002])
    stub_match(7000000002, account)
    job = SyncJob.objects.create(account=account, job_type=JobType.FULL, status=JobStatus.PENDING)
    return {
        "account": account.account_id,
        "account_id": account.account_id,
        "match_id": match.match_id,
        "id": job.pk,
        "job_id": job.pk,
        "player_id": 2002,
    }


# schemathesis.pytest.from_fixture does not run under pytest 9 (it sets Item._nodeid), so each
# operation's strategy is driven by hypothesis here instead.
@pytest.mark.parametrize(
    ("mode", "use_known_ids"),
    [
        (GenerationMode.POSITIVE, True),
        (GenerationMode.POSITIVE, False),
        (GenerationMode.NEGATIVE, False),
    ],
    ids=["positive-own-data", "positive", "negative"],
)
def test_generated_requests_get_no_server_error_and_match_the_schema(
    api_schema, auth_header, known_ids, mode, use_known_ids
):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == len(EXPECTED_STATUS_CODES)

    for operation in operations:
        if mode == GenerationMode.NEGATIVE and not (
            any(operation.path_parameters) or any(operation.query) or operation.body
        ):
            continue  # nothing in the request to get wrong (GET /api/accounts/)
        fixed_path, fixed_query = {}, {}
        if use_known_ids:
            fixed_path = {p.name: known_ids[p.name] for p in operation.path_parameters}
            fixed_query = {
                p.name: known_ids[p.name] for p in operation.query if p.name == "account"
            }

        @given(
            case=operation.as_strategy(
                generation_mode=mode, path_parameters=fixed_path, query=fixed_query
            )
        )
        @settings(
            max_examples=20,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def call_and_check(case: Case) -> None:
            # Nothing may leave the machine: an outbound call would fail the request, and the test.
            with responses.RequestsMock(assert_all_requests_are_fired=False):
                # Linking and starting syncs refuse schema-valid input for business reasons (not
                # an account, none linked, one already running): those answers are documented.
                case.call_and_validate(
                    headers=auth_header, excluded_checks=[positive_data_acceptance]
                )

        call_and_check()
