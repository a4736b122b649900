"""DotaSync settings. Everything a deployment changes comes from the environment.

See the README's configuration table; every variable read here is listed there.
"""

import warnings
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from dotasync.env import (
    database_from_env,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_str,
    env_time_zone,
)
from dotasync.logconfig import build_logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off. Make one, keep it the same across "
            "restarts: python3 -c 'import secrets; print(secrets.token_urlsafe(64))'"
        )
    SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# --- Content-Security-Policy, Permissions-Policy (matches.middleware) -------------------------
# Every script and stylesheet is our own file: no inline <script>, no eval (htmx's is off, see
# the htmx-config meta in base.html), no <style> element. Style attributes are allowed, and
# only them: they carry data (the win-rate bars' widths on Teammates, the legend swatches on
# Stats), and an attribute, unlike a <style> element, cannot select and leak other markup.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        # Players' avatars come from Steam's image servers, for users who allow them.
        "img-src 'self' data: https://*.steamstatic.com",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)

# --- HTTPS ---------------------------------------------------------------------------------
# Cookies and HSTS are secure by default in production (DEBUG off). The redirect to HTTPS is
# opt-in: behind a TLS proxy the proxy usually redirects, and `make run` and the tests speak
# plain HTTP, which a redirect would make unusable.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# Behind a proxy that terminates TLS: trust its X-Forwarded-Proto, or the redirect would loop.
if env_bool("USE_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
# Sent only on HTTPS answers; 0 turns HSTS off.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # runserver leaves static files to WhiteNoise too, so `make run` serves them like production.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_q",
    "social_django",
    "matches",
    "syncjobs",
    "matches.notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy and Permissions-Policy on every answer, static files too.
    "matches.middleware.SecurityHeadersMiddleware",
    # Static files straight after the redirect to HTTPS: no session or user for a stylesheet.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs a signed-in user unless its view is marked login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # Pages show times in the signed-in user's zone; the API always in UTC.
    "matches.middleware.TimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "social_django.middleware.SocialAuthExceptionMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "dotasync.urls"
WSGI_APPLICATION = "dotasync.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "matches.context_processors.demo_mode",
                "matches.context_processors.navigation_account",
            ],
        },
    },
]

DATABASES = {"default": database_from_env("DATABASE_URL", BASE_DIR / "dotasync.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
# Users are added by an admin; open sign-up (and first sign-in through Steam) only when enabled.
ALLOW_SIGNUP = env_bool("ALLOW_SIGNUP", False)
# Failed sign-ins per window, counted per username (whatever the address) and per client
# address (across usernames, only when TRUSTED_PROXY_COUNT says where it is):
# matches.identity.signin.
SIGNIN_MAX_FAILURES = env_int("SIGNIN_MAX_FAILURES", 10, minimum=1)
SIGNIN_ADDRESS_MAX_FAILURES = env_int("SIGNIN_ADDRESS_MAX_FAILURES", 50, minimum=1)
SIGNIN_FAILURE_WINDOW = env_int("SIGNIN_FAILURE_WINDOW", 15 * 60, minimum=1)
# Reverse proxies in front of the app: 0 = none (REMOTE_ADDR is the client), n = the client is
# the n-th address from the right of TRUSTED_PROXY_HEADER. Unset: unknown, no address is trusted.
TRUSTED_PROXY_COUNT = (
    env_int("TRUSTED_PROXY_COUNT", 0) if env_str("TRUSTED_PROXY_COUNT").strip() else None
)
TRUSTED_PROXY_HEADER = env_str("TRUSTED_PROXY_HEADER", "X-Forwarded-For")
AUTHENTICATION_BACKENDS = [
    "social_core.backends.steam.SteamOpenId",
    "django.contrib.auth.backends.ModelBackend",
]

LANGUAGE_CODE = "en-us"
# The zone pages show times in unless a user chose their own (UserSettings.time_zone).
TIME_ZONE = env_time_zone("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# WhiteNoise serves what `collectstatic` wrote to STATIC_ROOT: names carry a hash of the
# content (cached for a year), with gzip copies. Without DEBUG a page needs that manifest, so
# every way of serving with DEBUG off runs collectstatic first (make serve, the systemd unit).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if DEBUG:
    # With DEBUG, WhiteNoise serves the source files; an uncollected STATIC_ROOT is expected.
    warnings.filterwarnings("ignore", "No directory at", UserWarning)

# --- Upstream APIs -------------------------------------------------------------------------
STEAM_API_KEY = env_str("STEAM_API_KEY")
STEAM_API_BASE_URL = env_str("STEAM_API_BASE_URL", "https://api.steampowered.com").rstrip("/")
OPENDOTA_API_BASE_URL = env_str("OPENDOTA_API_BASE_URL", "https://api.opendota.com/api").rstrip("/")
OPENDOTA_API_KEY = env_str("OPENDOTA_API_KEY")
# STRATZ (GraphQL) is a third source only with a token (a free one from stratz.com/api):
# without it no STRATZ call is made and no source lists it.
STRATZ_API_TOKEN = env_str("STRATZ_API_TOKEN")
STRATZ_API_BASE_URL = env_str("STRATZ_API_BASE_URL", "https://api.stratz.com/graphql").rstrip("/")
# Seconds between calls to one source, shared by every worker process (0 disables).
STEAM_API_MIN_INTERVAL = env_float("STEAM_API_MIN_INTERVAL", 1.0)
STEAM_SEQUENCE_MIN_INTERVAL = env_float("STEAM_SEQUENCE_MIN_INTERVAL", 5.0)
OPENDOTA_MIN_INTERVAL = env_float("OPENDOTA_MIN_INTERVAL", 1.0)
# STRATZ's default token allows 20 a second, 250 a minute, 2,000 an hour and 10,000 a day
# (shared/NOTES.md; its answers say what is left of each window and are heeded): 1.8 s keeps
# under the hourly window, which binds first for a long sync.
STRATZ_MIN_INTERVAL = env_float("STRATZ_MIN_INTERVAL", 1.8)
STRATZ_DAILY_LIMIT = env_int("STRATZ_DAILY_LIMIT", 10000, minimum=0)
UPSTREAM_CONNECT_TIMEOUT = env_float("UPSTREAM_CONNECT_TIMEOUT", 5.0, minimum=0.1)
UPSTREAM_READ_TIMEOUT = env_float("UPSTREAM_READ_TIMEOUT", 15.0, minimum=0.1)
# An answer is cut past either (a parsed OpenDota match is about 0.5 MB).
UPSTREAM_MAX_ANSWER_BYTES = env_int("UPSTREAM_MAX_ANSWER_BYTES", 16 * 2**20, minimum=2**16)
UPSTREAM_MAX_ANSWER_SECONDS = env_float("UPSTREAM_MAX_ANSWER_SECONDS", 30.0, minimum=1.0)
# Demo mode: no Steam key, so `make run` points both APIs at the built-in simulator.
DEMO_MODE = env_bool("DEMO_MODE", False)

# --- Sign in through Steam (OpenID 2.0, social-auth-app-django) ----------------------------
SOCIAL_AUTH_STEAM_API_KEY = STEAM_API_KEY
# The simulator's key is no Steam key, and steamcommunity.com cannot vouch for made-up players.
STEAM_SIGN_IN_ENABLED = bool(STEAM_API_KEY) and not DEMO_MODE
SOCIAL_AUTH_URL_NAMESPACE = "social"
SOCIAL_AUTH_LOGIN_ERROR_URL = "login"
# social-core's own requests (the player's name from the Steam Web API); python-openid's
# fetches have theirs in matches.identity.steam_openid.
SOCIAL_AUTH_REQUESTS_TIMEOUT = 5.0
SOCIAL_AUTH_PIPELINE = (
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.auth_allowed",
    "social_core.pipeline.social_auth.social_user",
    "matches.identity.social.refuse_new_user_unless_signup_allowed",
    "social_core.pipeline.user.get_username",
    "social_core.pipeline.user.create_user",
    "social_core.pipeline.social_auth.associate_user",
    "social_core.pipeline.social_auth.load_extra_data",
    "social_core.pipeline.user.user_details",
    "matches.identity.social.link_steam_account",
)

# --- Sync engine ---------------------------------------------------------------------------
# STRATZ joins both lists at the end when it has a token; without one it is in neither.
_STRATZ = ["stratz"] if STRATZ_API_TOKEN else []
SYNC_ID_SOURCES = env_list(
    "SYNC_ID_SOURCES",
    ["steam_history", "opendota", *_STRATZ],
    allowed={"steam_history", "opendota", "stratz"},
)
SYNC_DETAIL_SOURCES = env_list(
    "SYNC_DETAIL_SOURCES",
    ["steam_details", "steam_sequence", "opendota", *_STRATZ],
    allowed={"steam_details", "steam_sequence", "opendota", "stratz"},
)
SYNC_MAX_ATTEMPTS = env_int("SYNC_MAX_ATTEMPTS", 3, minimum=1)
# A match that failed n times waits base * 2**n s: with 1800 s, 1 h and then 2 h, so an outage
# of minutes never uses up a match's attempts.
SYNC_RETRY_BACKOFF_BASE = env_float("SYNC_RETRY_BACKOFF_BASE", 1800.0)
SYNC_BREAKER_THRESHOLD = env_int("SYNC_BREAKER_THRESHOLD", 5, minimum=1)
SYNC_MAX_CONSECUTIVE_DEFERRED = env_int("SYNC_MAX_CONSECUTIVE_DEFERRED", 10, minimum=1)
# An in-memory SQLite database only (PostgreSQL and a SQLite file know a dead worker from a
# lock that goes with it, syncjobs.locks): seconds without a heartbeat (written every second)
# after which a running job counts as dead.
SYNC_STALE_AFTER = env_float("SYNC_STALE_AFTER", 60.0, minimum=5.0)
# Seconds a phase-2 claim lasts unless its live worker renews it (every second).
SYNC_CLAIM_LEASE = env_float("SYNC_CLAIM_LEASE", 300.0, minimum=1.0)
# Seconds a pending job may wait for a worker before the supervisor checks its task was lost.
SYNC_PENDING_GRACE = env_float("SYNC_PENDING_GRACE", 60.0, minimum=1.0)
SYNC_SCHEDULE_INTERVAL_MINUTES = env_int("SYNC_SCHEDULE_INTERVAL_MINUTES", 60)
# What one user may ask of the instance's shared workers and upstream quotas (0: no limit): the
# Steam accounts they link, and their syncs waiting or running at once. The schedule hands each
# user at most their free share, round-robin between users (syncjobs.schedule).
MAX_ACCOUNTS_PER_USER = env_int("MAX_ACCOUNTS_PER_USER", 10, minimum=0)
MAX_ACTIVE_JOBS_PER_USER = env_int("MAX_ACTIVE_JOBS_PER_USER", 3, minimum=0)
# Phase-2 fetches in flight per job (threads inside the worker); 1 keeps it sequential.
SYNC_CONCURRENCY = env_int("SYNC_CONCURRENCY", 1, minimum=1)
# django-q tasks sharing one job's phase 2 (they claim stubs with SKIP LOCKED); 1 = just the job.
SYNC_DETAIL_TASKS = env_int("SYNC_DETAIL_TASKS", 1, minimum=1)
SYNC_TASK_TIMEOUT = env_int("SYNC_TASK_TIMEOUT", 6 * 3600, minimum=60)
# A task hands its job's phase 2 over to a fresh task this many seconds before
# SYNC_TASK_TIMEOUT (time for the calls in flight to end and their answers to be stored).
SYNC_HANDOVER_MARGIN = env_float("SYNC_HANDOVER_MARGIN", 600.0, minimum=0.0)
# OpenDota's free daily allowance, assumed left until an answer of the day says what is.
OPENDOTA_FREE_DAILY_CALLS = env_int("OPENDOTA_FREE_DAILY_CALLS", 3000, minimum=0)
# OpenDota calls a day kept back for other syncs' matches without details: a full sync spends
# only what is left of the day's allowance beyond its own stubs and this on re-fetches.
SYNC_OPENDOTA_RESERVE = env_int("SYNC_OPENDOTA_RESERVE", 300, minimum=0)
# Parse requests (syncjobs.parsing). OpenDota keeps a replay about ten days: an older match is
# never asked for.
PARSE_REPLAY_WINDOW_DAYS = env_float("PARSE_REPLAY_WINDOW_DAYS", 10.0, minimum=0.0)
# OpenDota calls a UTC day parse work may spend (a request costs 10, a check 1). 600 is a fifth
# of the free 3,000: 50 requests and their checks (a very busy player's day is 20-40 matches)
# while 2,400 stay for matches without details and re-fetches; parse work only ever spends
# what those leave spare beyond SYNC_OPENDOTA_RESERVE.
PARSE_DAILY_BUDGET = env_int("PARSE_DAILY_BUDGET", 600, minimum=0)
# A parse request is first checked this long after it was sent (a parse takes minutes), then
# after doubling waits.
PARSE_CHECK_AFTER_SECONDS = env_float("PARSE_CHECK_AFTER_SECONDS", 600.0, minimum=1.0)
# Players' names and avatars (Steam's GetPlayerSummaries) are asked for again after this long.
PLAYER_NAME_MAX_AGE_DAYS = env_float("PLAYER_NAME_MAX_AGE_DAYS", 7.0)
# Naming that gave way to a sync on Steam's rate limit tries again this long after (then the
# scheduler's tick, up to 30 s, before the run starts).
PLAYER_NAMES_RETRY_SECONDS = env_float("PLAYER_NAMES_RETRY_SECONDS", 60.0, minimum=1.0)

# --- Health (GET /healthz, manage.py check_health) ------------------------------------------
# The supervisor runs every minute, give or take the scheduler's 30 s tick; three minutes of
# silence means no cluster is taking work.
HEALTH_CLUSTER_TIMEOUT = env_float("HEALTH_CLUSTER_TIMEOUT", 180.0, minimum=1.0)
# A job waits while every worker is busy with another account's sync; an hour of waiting means
# the cluster does not keep up (or none runs).
HEALTH_PENDING_MAX_AGE = env_float("HEALTH_PENDING_MAX_AGE", 3600.0, minimum=1.0)
# Monitors on the machine itself ask over plain HTTP: no redirect to HTTPS for them.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Task cluster (django-q2) --------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
# Clusters sharing a broker and database must share the name to share the queue. Each
# pytest-xdist worker has a test database of its own, so by default its clusters get a queue
# of their own (the clusters a test starts inherit PYTEST_XDIST_WORKER).
_TEST_WORKER = env_str("PYTEST_XDIST_WORKER", "")
Q_CLUSTER = {
    "name": env_str(
        "Q_CLUSTER_NAME", f"dotasync-tests-{_TEST_WORKER}" if _TEST_WORKER else "dotasync"
    ),
    "workers": env_int("Q_WORKERS", 2, minimum=1),
    # A full sync of a large account runs for hours; django-q2 requires retry > timeout.
    "timeout": SYNC_TASK_TIMEOUT,
    "retry": SYNC_TASK_TIMEOUT + 600,
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 1000,
    "label": "Task cluster",
    "sync": env_bool("Q_SYNC", False),
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = 0.5

# --- Notifications (matches/notifications/) and the mail they are sent with ----------------
# Where the site is, for the links in notifications ("https://dota.example.org"); none if unset.
SITE_URL = env_str("SITE_URL").rstrip("/")
# A session has ended when no match started this long after the last one ended.
NOTIFY_SESSION_GAP_MINUTES = env_int("NOTIFY_SESSION_GAP_MINUTES", 30, minimum=1)
# Webhooks may point at private and loopback addresses (and use plain http there): off, so a
# user's webhook cannot make the server reach into its own network.
NOTIFY_ALLOW_PRIVATE_ADDRESSES = env_bool("NOTIFY_ALLOW_PRIVATE_ADDRESSES", False)
# A failed delivery is tried again after this many seconds, doubled at each attempt.
NOTIFY_RETRY_BACKOFF = env_float("NOTIFY_RETRY_BACKOFF", 60.0)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "dotasync@localhost")

# --- Cache ---------------------------------------------------------------------------------
# One cache for every process on the machine: the API's throttle must count the requests all
# web workers see, and a stats view computed by one worker serves the others (matches.analysis).
# Django's default memory cache is per process. Sign-in lockouts are not kept here but in the
# database, where no stats entry can evict them.
CACHE_DIR = Path(env_str("CACHE_DIR", str(BASE_DIR / "cache")))
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": CACHE_DIR,
        "OPTIONS": {"MAX_ENTRIES": 5000},
    }
}

# --- Logging -------------------------------------------------------------------------------
LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})
LOG_DIR = Path(env_str("LOG_DIR", str(BASE_DIR / "logs")))
LOGGING = build_logging_config(LOG_LEVEL, LOG_DIR)

# --- REST API ------------------------------------------------------------------------------
# Starting a sync is throttled per user (DRF rate syntax: "30/minute", "100/hour").
API_SYNC_THROTTLE_RATE = env_str("API_SYNC_THROTTLE_RATE", "30/minute")
REST_FRAMEWORK = {
    # Token first, so an unauthenticated request is told 401 with `WWW-Authenticate: Token`.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "matches.identity.api_tokens.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # A JSON API: the HTMX pages post their forms to their own views, not here.
    "DEFAULT_PARSER_CLASSES": ["dotasync.api_parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "dotasync.api.ApiPagination",
    "DEFAULT_THROTTLE_RATES": {"sync": API_SYNC_THROTTLE_RATE},
    "EXCEPTION_HANDLER": "dotasync.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "DotaSync API",
    "DESCRIPTION": (
        "Your synced Dota 2 match history, and the sync jobs that fetch it. Authenticate with "
        "a session (signed in, CSRF header on writes) or `Authorization: Token <key>`; each "
        "user creates (and revokes) their key on the Accounts page, an admin can with "
        "`manage.py create_api_token <username>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI's assets come from drf-spectacular-sidecar: no CDN is reachable at runtime.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "JobTypeEnum": "syncjobs.models.JobType",
        "TriggerJobTypeEnum": "syncjobs.serializers.TRIGGER_JOB_TYPES",
        "LaneOutcomeEnum": "matches.parsed_facts.LaneOutcome",
    },
}
