"""Security: CSRF, authentication on every URL, isolation between users, keys never leak,
`check --deploy` under the documented production settings, throttled sign-in.

The URL tests walk Django's resolver, so a view added later is checked without editing this file.
"""

import json
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from matches.identity import api_tokens
from matches.models import Match, SteamAccount
from matches.tests.match_builders import ACCOUNT_ID as MINE
from matches.tests.match_builders import OTHERS_ACCOUNT_ID as THEIRS
from matches.tests.match_builders import PASSWORD, complete_match
from syncjobs import engine
from syncjobs.models import JobStatus, JobType, SyncJob
from tests.processes import ROOT, free_port

MY_MATCH = 7_000_000_001
THEIR_MATCH = 7_000_000_002
STEAM_KEY = "5EC12E7AB0B0CAFE00112233445566FF"
OPENDOTA_KEY = "0d0d0d0d-opendota-key-91c4e2"
WRONG_STEAM_KEY = "BADBADBADBAD0123456789ABCDEF0000"
# Sign-in entry points and the health check: the only URLs an anonymous visitor may open.
OPEN_URL_NAMES = {
    "login",
    "signup",
    "admin:login",
    "social:begin",
    "social:complete",
    # Not a sign-in entry point: the health check for monitors, which shows no user's data
    # (syncjobs/tests/test_health.py).
    "healthz",
}
# The OpenID provider posts the Steam sign-in back here; its signature, not a token, proves it.
CSRF_EXEMPT_URL_NAMES = {"social:complete"}


def url_patterns() -> Iterator[tuple[str, str, object]]:
    """(concrete path, name, view) of every URL pattern, converters filled with sample values."""

    def walk(patterns, prefix: str, namespace: str) -> Iterator[tuple[str, str, object]]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                name = f"{namespace}{pattern.name}" if pattern.name else ""
                yield _concrete(prefix + str(pattern.pattern)), name, pattern.callback

    yield from walk(get_resolver().url_patterns, "/", "")


def _concrete(route: str) -> str:
    route = re.sub(r"<int:[^>]+>", "1", route)
    route = re.sub(r"<(?:str|slug|path):[^>]+>", "steam", route)
    # Regex routes (the admin's, the API's catch-all): named groups become a sample word.
    route = re.sub(r"\(\?P<[^>]+>[^)]*\)", "auth", route)
    return route.replace("^", "").replace("$", "").replace("\\Z", "")


def is_open(view) -> bool:
    return getattr(view, "login_required", True) is False and not hasattr(view, "cls")


@pytest.fixture
def data(account, others_account) -> dict[str, object]:
    """Each user with an account, a match and a running job."""
    mine, theirs = account, others_account
    complete_match(MY_MATCH, mine, won=True)
    complete_match(THEIR_MATCH, theirs, won=False)
    my_job = SyncJob.objects.create(account=mine, job_type=JobType.FULL)
    their_job = SyncJob.objects.create(
        account=theirs, job_type=JobType.FULL, status=JobStatus.RUNNING
    )
    return {"mine": mine, "theirs": theirs, "my_job": my_job, "their_job": their_job}


# --- authentication --------------------------------------------------------------------------


def test_only_the_sign_in_urls_are_open(db):
    open_names = {name for _, name, view in url_patterns() if is_open(view)}

    # A view marked login_not_required that is no sign-in entry point fails here.
    assert open_names <= OPEN_URL_NAMES


def test_every_page_and_api_endpoint_needs_a_signed_in_user(data):
    anonymous = Client()
    checked = 0
    for path, name, view in url_patterns():
        if name in OPEN_URL_NAMES or (is_open(view) and name.startswith("admin:")):
            continue
        response = anonymous.get(path)
        if path.startswith("/api/"):
            assert response.status_code == 401, (path, response.status_code)
        elif path.startswith("/admin/"):
            # Django's sign-in or the admin's own, whichever stops the visitor first.
            assert response.status_code in (302, 404), (path, response.status_code)
            if response.status_code == 302:
                assert response["Location"].startswith(("/login/", "/admin/login/")), path
        else:
            assert response.status_code == 302, (path, response.status_code)
            assert response["Location"].startswith("/login/?next="), path
        checked += 1
    assert checked >= 20


def test_the_sign_in_page_is_open(db):
    assert Client().get("/login/").status_code == 200


# --- CSRF ------------------------------------------------------------------------------------


def test_only_the_steam_callback_is_exempt_from_csrf(db):
    exempt = {
        name
        for _, name, view in url_patterns()
        if getattr(view, "csrf_exempt", False) and not hasattr(view, "cls")
    }

    assert exempt == CSRF_EXEMPT_URL_NAMES


def test_every_post_without_a_csrf_token_is_refused(data, user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    for path, name, _ in url_patterns():
        if name in CSRF_EXEMPT_URL_NAMES:
            continue
        response = client.post(path, {"account": MINE, "job_type": JobType.FULL})
        assert response.status_code == 403, (path, response.status_code)
        if not path.startswith("/api/docs/"):  # Swagger UI's HTML renderer shows no detail
            assert b"CSRF" in response.content, path
    # Nothing happened: no sync started, the job not cancelled, still signed in.
    assert SyncJob.objects.filter(account=data["mine"]).count() == 1
    assert SyncJob.objects.get(pk=data["my_job"].pk).status == JobStatus.PENDING
    assert client.get("/").status_code == 200


def test_a_post_with_the_csrf_token_goes_through(data, user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/")
    token = client.cookies["csrftoken"].value

    response = client.post(f"/jobs/{data['my_job'].pk}/cancel/", {"csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert SyncJob.objects.get(pk=data["my_job"].pk).status == JobStatus.CANCELLED


# --- isolation between users -----------------------------------------------------------------


def test_a_user_cannot_see_or_touch_another_users_data(data, user):
    web = Client()
    web.force_login(user)
    api = Client(HTTP_AUTHORIZATION=f"Token {api_tokens.create_token(user)}")
    their_job = data["their_job"].pk

    for path in (
        f"/jobs/{their_job}/",
        f"/matches/{THEIR_MATCH}/",
        f"/matches/?account={THEIRS}",
        f"/teammates/?account={THEIRS}",
        f"/stats/?account={THEIRS}",
        f"/?account={THEIRS}",
    ):
        assert web.get(path).status_code == 404, path
    assert web.post(f"/jobs/{their_job}/cancel/").status_code == 404
    assert web.post("/sync/", {"account": THEIRS, "job_type": JobType.FULL}).status_code == 404
    assert web.post("/sync/", {"account": THEIRS, "job_type": JobType.BACKFILL}).status_code == 404
    for path in (
        f"/api/sync/jobs/{their_job}/",
        f"/api/matches/{THEIR_MATCH}/",
        f"/api/matches/?account={THEIRS}",
        f"/api/teammates/?account={THEIRS}",
        f"/api/sync/jobs/?account={THEIRS}",
    ):
        assert api.get(path).status_code == 404, path
    json = "application/json"
    assert api.post(f"/api/sync/cancel/{their_job}").status_code == 404
    for path in ("/api/sync/trigger", "/api/sync/backfill"):
        body = {"account_id": THEIRS, "job_type": JobType.FULL}
        assert api.post(path, body, content_type=json).status_code == 404, path
    # Typing someone else's account is refused, not a takeover: a 404, as for any account
    # one cannot see.
    assert (
        api.post("/api/accounts/", {"account": str(THEIRS)}, content_type=json).status_code == 404
    )

    # Lists show only one's own.
    assert [a["account_id"] for a in api.get("/api/accounts/").json()] == [MINE]
    assert {j["id"] for j in api.get("/api/sync/jobs/").json()["results"]} == {data["my_job"].pk}
    assert str(THEIR_MATCH) not in web.get("/matches/").content.decode()
    # And nothing of theirs changed.
    assert SyncJob.objects.get(pk=their_job).status == JobStatus.RUNNING
    assert SyncJob.objects.get(pk=their_job).cancel_requested_at is None
    assert SyncJob.objects.filter(account=data["theirs"]).count() == 1
    assert SteamAccount.objects.get(account_id=THEIRS).owner == data["their_job"].account.owner


# --- API keys never leak ---------------------------------------------------------------------


def every_text_in_the_database() -> Iterator[tuple[str, str, str]]:
    """(table, column, value) of every text-like value in every table of the database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type IN "
            "('text', 'character varying', 'json', 'jsonb', 'bytea')"
        )
        columns = cursor.fetchall()
        for table, column, data_type in columns:
            value = (
                f"encode({_quoted(column)}, 'escape')"
                if data_type == "bytea"
                else (f"{_quoted(column)}::text")
            )
            cursor.execute(
                f"SELECT {value} FROM {_quoted(table)} WHERE {_quoted(column)} IS NOT NULL"
            )
            for (text,) in cursor.fetchall():
                yield table, column, text


def _quoted(identifier: str) -> str:
    return connection.ops.quote_name(identifier)


@pytest.mark.django_db(transaction=True)  # the sync's threads need committed data
def test_api_keys_never_reach_logs_errors_the_database_or_pages(
    simulator, settings, every_log_line, user, account
):
    keys = (STEAM_KEY, OPENDOTA_KEY, WRONG_STEAM_KEY)
    simulator.state.configure(api_key=STEAM_KEY, accounts={str(MINE): {"matches": 40}})
    settings.STEAM_API_KEY = STEAM_KEY
    settings.OPENDOTA_API_KEY = OPENDOTA_KEY
    settings.UPSTREAM_READ_TIMEOUT = 0.3
    settings.SYNC_BREAKER_THRESHOLD = 1
    apps.get_app_config("matches").ready()  # what start-up does with the configured keys
    ids = sorted(
        e["match_id"]
        for e in simulator.state.world.opendota_player_matches(
            MINE, significant=False, limit=None, offset=0
        )
    )
    faults = ("500", "503", "malformed", "wrong_types", "not_found", "hang")
    simulator.state.configure(
        hang_seconds=1,
        match_faults={str(m): {"*": fault} for m, fault in zip(ids, faults, strict=False)},
        rate_limit={"details": {"burst": 1, "retry_after": 0.1}},
    )

    jobs = [engine.run_job(engine.create_job(account, JobType.FULL).pk)]
    # Steam unreachable (connection refused): the errors carry URLs with the key.
    settings.STEAM_API_BASE_URL = f"http://127.0.0.1:{free_port()}"
    jobs.append(engine.run_job(engine.create_job(account, JobType.FULL).pk))
    # A wrong Steam key: Valve's 403 page asks to "verify your key=" parameter.
    settings.STEAM_API_BASE_URL = simulator.base_url
    settings.STEAM_API_KEY = WRONG_STEAM_KEY
    apps.get_app_config("matches").ready()
    jobs.append(engine.run_job(engine.create_job(account, JobType.FULL).pk))

    assert Match.objects.exclude(fetch_error="").exists()
    assert jobs[-1].status == JobStatus.COMPLETED  # OpenDota did the work; Steam was left alone
    assert "Steam refused the API key (HTTP 403): check STEAM_API_KEY" in jobs[-1].message
    assert any("could not connect" in line for line in every_log_line + [j.message for j in jobs])
    assert len(every_log_line) > 100
    assert any("key=REDACTED" in line for line in every_log_line)  # the URLs were logged
    texts = {
        "logs": "\n".join(every_log_line),
        "errors": "\n".join(f"{j.error_message} {j.message}" for j in jobs),
    }
    for table, column, text in every_text_in_the_database():
        texts[f"{table}.{column}"] = texts.get(f"{table}.{column}", "") + "\n" + text
    assert "matches_match.fetch_error" in texts
    web = Client()
    web.force_login(user)
    api = Client(HTTP_AUTHORIZATION=f"Token {api_tokens.create_token(user)}")
    failed = Match.objects.exclude(fetch_error="").values_list("pk", flat=True)
    for path in [
        "/",
        *(f"/jobs/{j.pk}/" for j in jobs),
        "/matches/?status=failed",
        "/matches/?status=pending",
        *(f"/matches/{m}/" for m in failed),
        "/accounts/",
    ]:
        texts[path] = web.get(path).content.decode()
    for path in [
        "/api/sync/jobs/",
        "/api/matches/?details_status=failed",
        "/api/matches/?details_status=pending",
        *(f"/api/matches/{m}/" for m in failed),
        "/api/accounts/",
    ]:
        texts[path] = api.get(path).content.decode()

    for where, text in texts.items():
        for key in keys:
            assert key not in text, f"an API key leaked into {where}"


# --- production settings -------------------------------------------------------------------

# The production environment the README's Reliability section documents.
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "dota.example.com",
    "SECURE_SSL_REDIRECT": "1",
}


def test_check_deploy_is_clean_under_the_documented_production_settings():
    readme = (ROOT / "README.md").read_text()
    for name, value in PRODUCTION_ENV.items():
        if name != "SECRET_KEY":
            assert f"{name}={value}" in readme, name
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": "sqlite:///" + str(ROOT / "dotasync.sqlite3"),
        "LOG_DIR": str(ROOT / "logs"),
        **PRODUCTION_ENV,
    }

    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


def test_cookies_and_hsts_are_secure_by_default_without_debug():
    # The settings this suite runs on: DEBUG off, nothing else set.
    assert not django_settings.DEBUG
    assert django_settings.SESSION_COOKIE_SECURE
    assert django_settings.CSRF_COOKIE_SECURE
    assert django_settings.SECURE_HSTS_SECONDS >= 365 * 24 * 3600


# --- sign-in throttling ----------------------------------------------------------------------


def test_guessing_passwords_locks_the_sign_in_even_for_the_right_one(user, settings):
    settings.SIGNIN_MAX_FAILURES = 5
    client = Client()
    for attempt in range(5):
        response = client.post("/login/", {"username": "alice", "password": f"guess-{attempt}"})
        assert response.status_code == 200  # the form again, with an error
    right = client.post("/login/", {"username": "alice", "password": PASSWORD})

    assert right.status_code == 200
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302  # still signed out
    # Nor from another address: the guesses are capped per username, wherever they come from
    # (matches/tests/test_signin.py).
    other = Client(REMOTE_ADDR="10.0.0.2")
    assert other.post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 200


# --- malformed input is a 400, never a 500 ----------------------------------------------------

DEEPLY_NESTED = "[" * 100_000 + "]" * 100_000
# Nested as deep as the decoder still takes, in every field a body of ours has.
NESTED_FIELDS = json.dumps(
    {
        field: json.loads("[" * 500 + "1" + "]" * 500)
        for field in ("account", "account_id", "job_type", "reference", "time_zone")
    }
)


def api_paths() -> list[str]:
    return sorted(
        {path for path, _, _ in url_patterns() if path.startswith("/api/")}
        - {"/api/schema/"}
        - {path for path, _, _ in url_patterns() if path.startswith("/api/docs/")}
    )


def test_no_api_endpoint_answers_500_to_a_non_ascii_page_size_or_a_deeply_nested_body(data, user):
    client = Client(
        HTTP_AUTHORIZATION=f"Token {api_tokens.create_token(user)}",
        raise_request_exception=False,
    )
    paginated = 0
    parsed = 0
    for path in api_paths():
        listed = client.get(path, {"page_size": "5"})
        # "²" is a digit to str.isdigit(), not to int().
        for page_size in ("²", "١٢", "5\n"):
            response = client.get(path, {"page_size": page_size})
            assert response.status_code < 500, (path, page_size)
            if listed.status_code == 200 and "results" in listed.json():
                assert response.status_code == 400, (path, page_size)
                assert list(response.json()["errors"]) == ["page_size"]
                paginated += page_size == "²"
        for method in (client.post, client.put, client.patch):
            response = method(path, DEEPLY_NESTED, content_type="application/json")
            # A view that reads no body may answer anything else; none may fail.
            assert response.status_code < 500, (path, method, response.status_code)
            if response.status_code == 400:
                assert "nested too deeply" in response.json()["detail"], path
                parsed += 1
            response = method(path, NESTED_FIELDS, content_type="application/json")
            assert response.status_code < 500, (path, method, response.status_code)
    assert paginated >= 3
    assert parsed >= 3


# --- Content-Security-Policy and Permissions-Policy -----------------------------------------


def policy_of(response) -> dict[str, list[str]]:
    return {
        name: values
        for name, *values in (
            part.split() for part in response["Content-Security-Policy"].split(";")
        )
    }


@pytest.mark.parametrize("path", ["/login/", "/api/matches/", "/healthz", "/admin/login/"])
def test_every_answer_carries_the_strict_policy(db, path):
    response = Client().get(path)

    policy = policy_of(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["style-src-attr"] == ["'unsafe-inline'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]


def test_no_page_has_an_inline_script_a_style_element_or_an_event_handler(data, user):
    web = Client()
    web.force_login(user)
    pages = [
        "/",
        "/matches/",
        f"/matches/{MY_MATCH}/",
        "/teammates/",
        "/stats/",
        "/stats/heroes/",
        "/stats/breakdowns/",
        "/stats/records/",
        "/stats/activity/",
        "/stats/with-against/",
        f"/jobs/{data['my_job'].pk}/",
        "/accounts/",
        "/settings/",
        "/api/docs/",
    ]
    checked = 0
    for path in pages:
        text = web.get(path).content.decode()
        for script in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in script, (path, script)
        assert "<style" not in text, path
        assert not re.search(r"\son[a-z]+\s*=", text), path
        assert "javascript:" not in text, path
        checked += 1
    admin = Client()
    admin.force_login(get_user_model().objects.create_superuser("root", password=PASSWORD))
    admin_pages = [
        "/admin/",
        "/admin/matches/match/",
        f"/admin/matches/match/{MY_MATCH}/change/",
        "/admin/matches/steamaccount/add/",
    ]
    for client, path in [(Client(), "/login/"), (Client(), "/admin/login/")] + [
        (admin, path) for path in admin_pages
    ]:
        text = client.get(path).content.decode()
        # The admin's data blocks (type="application/json") are data, never run.
        assert not re.search(
            r"<script\b(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", text
        ), path
        assert not re.search(r"\son[a-z]+\s*=", text), path
    assert checked == len(pages)


def test_swagger_ui_loads_its_start_up_script_from_a_file(user):
    web = Client()
    web.force_login(user)
    page = web.get("/api/docs/").content.decode()

    script = re.search(r'<script src="(/api/docs/\?[^"]*script=[^"]*)"', page)[1]
    answer = web.get(script.replace("&amp;", "&"))

    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in answer.content.decode()


def test_check_deploy_warns_without_the_policy_or_with_inline_scripts(settings):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    with_policy = settings.MIDDLEWARE
    settings.MIDDLEWARE = [
        m for m in with_policy if m != "matches.middleware.SecurityHeadersMiddleware"
    ]
    with pytest.raises(SystemCheckError, match=r"dotasync\.W001"):
        call_command("check", deploy=True, fail_level="WARNING", tags=["security"])

    settings.MIDDLEWARE = with_policy
    settings.CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self' 'unsafe-inline'"
    with pytest.raises(SystemCheckError, match=r"dotasync\.W002"):
        call_command("check", deploy=True, fail_level="WARNING", tags=["security"])
