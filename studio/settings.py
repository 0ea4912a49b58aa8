"""Studio's one settings module: embedded defaults, configured by environment variables."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from studio.datadir import make_private_dir, protect_sqlite, read_or_create_secret
from studio.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_path,
    env_proxy_ssl_header,
    env_str,
    is_loopback_host,
)
from studio.workspace.egress import parse_allowed_hosts

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = env_path("STUDIO_DATA_DIR", BASE_DIR / "var")
make_private_dir(DATA_DIR)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the data dir."""
    configured = env_str("SECRET_KEY", "")
    if configured:
        if configured.startswith("django-insecure") or len(configured) < 50:
            raise ValueError("SECRET_KEY must be at least 50 characters and not django-insecure-*")
        return configured
    return read_or_create_secret(DATA_DIR / "secret_key")


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
if DEBUG and (public := [h for h in ALLOWED_HOSTS if not is_loopback_host(h)]):
    raise ImproperlyConfigured(
        f"DEBUG=1 with a public ALLOWED_HOSTS ({', '.join(public)}): Django's debug pages show "
        "settings and source to whoever can reach the server. Use DEBUG=1 only with loopback "
        "hosts (127.0.0.1, localhost, [::1]), or unset DEBUG."
    )

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "studio.staticfiles.StaticFilesConfig",  # django.contrib.staticfiles
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from static (no CDN)
    "django_htmx",
    "template_partials",
    "studio",
    "studio.workspace",
    "runs",
    "pipelines",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "studio.workspace.outages.UnavailableMiddleware",
    "csp.middleware.CSPMiddleware",
    "studio.workspace.api.limits.RequestLimits",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "studio.urls"
WSGI_APPLICATION = "studio.wsgi.application"

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
                "studio.context.navigation",
            ],
        },
    }
]


def _database() -> dict:
    url = env_str("DATABASE_URL", "")
    if url:
        return dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "studio.sqlite3",
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
        "TEST": {"NAME": DATA_DIR / "test.sqlite3"},
    }


DATABASES = {"default": _database()}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" and str(
    DATABASES["default"]["NAME"]
) not in ("", ":memory:"):
    protect_sqlite(Path(DATABASES["default"]["NAME"]))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# plotly.js (its basic bundle) is vendored in static/vendor/plotly: no CDN, no Node build.
STATICFILES_DIRS = [BASE_DIR / "static"]
# collectstatic (make run, runstudio, the tests' servers) writes hashed, compressed copies that
# WhiteNoise serves with a cache lifetime of ten years; studio.staticfiles says what happens to
# a file it has not collected.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "studio.staticfiles.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_KEEP_ONLY_HASHED_FILES = True
WHITENOISE_AUTOREFRESH = DEBUG

# Caches. "datasets": what a dataset version's page shows (its files and preview), read once
# from the datastores; a file cache under the data dir, so every web process of a host shares
# it. A day at most, so that data changed under a dataset's path shows within a day.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "datasets": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": DATA_DIR / "cache" / "datasets",
        "TIMEOUT": 24 * 3600,
        "OPTIONS": {"MAX_ENTRIES": 2000},
    },
}

# Production behind a TLS proxy (README, Security): HTTPS-only cookies, HSTS, the proxy's header
# that says a request came over HTTPS, and redirects of plain HTTP. Off by default, so that
# make run on http://127.0.0.1 works.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_PROXY_SSL_HEADER = env_proxy_ssl_header("SECURE_PROXY_SSL_HEADER")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# The pages load nothing but Studio's own files (htmx and plotly.js are served from static/),
# run no inline script and no eval. django-csp writes the header on every response (rather than
# a middleware of our own: it is maintained, and Django 6's built-in CSP takes the same shape of
# settings). Plotly.js
# needs two exceptions, both for styles: the style attributes it sets on the SVG it draws, and
# one <style> element named by its hash: the empty one whose rules it adds through the CSSOM
# (the basic bundle of plotly.js 4.1.1 adds no other; tests/security/test_csp.py finds any
# other, e.g. after an upgrade of plotly).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "style-src-elem": [
            SELF,
            "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
        ],
        "style-src-attr": [UNSAFE_INLINE],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Request bodies (studio.workspace.api.limits): a body over its route's limit is answered 413
# before anything reads it. JSON and form bodies are parsed in memory, so their limit is
# modest; the upload routes (snapshots, datastore files, step artifacts) stream to disk up to
# their own.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("STUDIO_MAX_BODY_BYTES", 10 * 1024**2, minimum=1024)
STUDIO_MAX_UPLOAD_BYTES = env_int("STUDIO_MAX_UPLOAD_BYTES", 5 * 1024**3, minimum=1024)
# Under the API every error is JSON, a failed CSRF check too (studio.urls has the others).
CSRF_FAILURE_VIEW = "studio.workspace.api.errors.csrf_failure"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "studio.workspace.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["studio.workspace.api.permissions.TokenScope"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "studio.workspace.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Studio API",
    "DESCRIPTION": "Experiments, pipeline runs, step runs, logs, compute targets and datastores.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Named, so that check --deploy (which builds the schema) has no name to guess.
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "runs.models.STATUS_CHOICES",
        "ModuleStatusEnum": "studio.workspace.modules.STATUSES",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "studio.workspace.api.schema.document_errors",
    ],
    # The API documentation page (/api/docs/): Swagger UI from drf-spectacular-sidecar's static
    # files, its start-up script loaded as a file (the CSP allows no inline script).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "persistAuthorization": False},
}

# Celery: a filesystem broker under the data dir unless CELERY_BROKER_URL names a server.
BROKER_DIR = DATA_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_POLLING_INTERVAL = env_float("STUDIO_BROKER_POLLING_INTERVAL", 0.01, minimum=0.001)
# On Redis: how long a message a worker took but never started (the worker died) stays hidden
# before Redis hands it to another worker.
STUDIO_BROKER_REDELIVERY_SECONDS = env_int("STUDIO_BROKER_REDELIVERY_SECONDS", 10, minimum=1)
# A step still Queued this long after its message was sent is rung again (its message was lost),
# then after a wait as long as it has been waiting, up to 5 minutes.
STUDIO_RERING_SECONDS = env_float("STUDIO_RERING_SECONDS", 15.0, minimum=1.0)

# Execution.
STUDIO_DEFAULT_COMPUTE = env_str("STUDIO_DEFAULT_COMPUTE", "local")
STUDIO_WORKER_TARGETS = env_list("STUDIO_WORKER_TARGETS", ["*"])
STUDIO_LOG_CAP_BYTES = env_int("STUDIO_LOG_CAP_BYTES", 100 * 1024 * 1024, minimum=4096)
STUDIO_HEARTBEAT_SECONDS = env_float("STUDIO_HEARTBEAT_SECONDS", 5.0, minimum=0.1)
STUDIO_WORKER_LOST_SECONDS = env_float("STUDIO_WORKER_LOST_SECONDS", 30.0, minimum=1.0)
STUDIO_REAPER_SECONDS = env_float("STUDIO_REAPER_SECONDS", 5.0, minimum=0.1)
# How long a worker keeps trying to record how a step ended while the database refuses writes.
STUDIO_RECORD_RETRY_SECONDS = env_float("STUDIO_RECORD_RETRY_SECONDS", 3600.0, minimum=0.0)
STUDIO_CANCEL_GRACE_SECONDS = env_float("STUDIO_CANCEL_GRACE_SECONDS", 3.0, minimum=0.0)
# The longest a step's script may run (its max_run_duration_seconds, when shorter, wins); 0: no
# ceiling. Azure's ScriptRunConfig default, 30 days.
STUDIO_MAX_STEP_SECONDS = env_int("STUDIO_MAX_STEP_SECONDS", 30 * 24 * 3600, minimum=0)
# How long a stopping worker lets its running steps finish before it queues them again.
STUDIO_SHUTDOWN_GRACE_SECONDS = env_float("STUDIO_SHUTDOWN_GRACE_SECONDS", 30.0, minimum=0.0)
STUDIO_ENCRYPTION_KEY = env_str("STUDIO_ENCRYPTION_KEY", "")
# Environments: built once per worker host with uv, cached here, evicted oldest-use first past
# STUDIO_ENV_CACHE_BYTES. STUDIO_ENV_PYTHONS lists the interpreters builds may use (default:
# python3.10 ... python3.13 on PATH and under pyenv); STUDIO_ENV_STRICT_PYTHON=1 fails a build
# whose Python version this host lacks instead of using the nearest.
# Steps (and environment builds) run sandboxed by bubblewrap: "auto" when bwrap is installed,
# "on" (a step fails without it) or "off" (submitted code is trusted with this host).
STUDIO_SANDBOX = env_str("STUDIO_SANDBOX", "auto")
if STUDIO_SANDBOX not in ("auto", "on", "off"):
    raise ImproperlyConfigured(f"STUDIO_SANDBOX must be auto, on or off, not {STUDIO_SANDBOX!r}.")
# Failed sign-ins and bearer tokens: past these counts within the window, the account or the
# address is locked for the lockout (studio.workspace.throttle).
STUDIO_AUTH_FAILURES = env_int("STUDIO_AUTH_FAILURES", 10, minimum=1)
STUDIO_AUTH_ADDRESS_FAILURES = env_int("STUDIO_AUTH_ADDRESS_FAILURES", 50, minimum=1)
STUDIO_AUTH_WINDOW_SECONDS = env_int("STUDIO_AUTH_WINDOW_SECONDS", 900, minimum=1)
STUDIO_AUTH_LOCKOUT_SECONDS = env_int("STUDIO_AUTH_LOCKOUT_SECONDS", 900, minimum=1)
# Without a sandbox, a worker (manage.py worker) starts only when submitters are trusted;
# make run (one user's own machine) sets it and says so.
STUDIO_TRUST_SUBMITTERS = env_bool("STUDIO_TRUST_SUBMITTERS", False)
# A step gets few of the worker's environment variables (runs.sandbox.STEP_VARIABLES): these
# name more (a proxy, the GPUs a worker is given). Studio's own settings are never passed on.
STUDIO_STEP_VARIABLES = env_list("STUDIO_STEP_VARIABLES", [])
STUDIO_ENV_DIR = env_path("STUDIO_ENV_DIR", DATA_DIR / "envs")
STUDIO_ENV_CACHE_BYTES = env_int("STUDIO_ENV_CACHE_BYTES", 20 * 1024**3, minimum=0)
STUDIO_ENV_STRICT_PYTHON = env_bool("STUDIO_ENV_STRICT_PYTHON", False)
STUDIO_ENV_PYTHONS = env_list("STUDIO_ENV_PYTHONS", [])
# Requirement lines that name their own source (local paths, version control URLs, indexes,
# folders of packages) are refused unless an administrator allows them.
STUDIO_ENV_ALLOW_CUSTOM_SOURCES = env_bool("STUDIO_ENV_ALLOW_CUSTOM_SOURCES", False)
# How long registering an S3 or Azure Blob datastore waits for the store to answer.
STUDIO_DATASTORE_CHECK_SECONDS = env_float("STUDIO_DATASTORE_CHECK_SECONDS", 20.0, minimum=0.1)
STUDIO_LOCAL_DATASTORE_ROOTS = [
    Path(p).resolve() for p in env_list("STUDIO_LOCAL_DATASTORE_ROOTS", [])
]
# Hosts, addresses and networks ("minio.internal:9000", "10.0.0.0/8") that S3 and Azure Blob
# datastores and web datasets may reach although they are not public (studio.workspace.egress).
STUDIO_DATASTORE_ALLOWED_HOSTS = env_list("STUDIO_DATASTORE_ALLOWED_HOSTS", [])
try:
    parse_allowed_hosts(STUDIO_DATASTORE_ALLOWED_HOSTS)
except ValueError as exc:
    raise ImproperlyConfigured(str(exc)) from None

# How steps (Run.get_context()) and links reach the web server.
STUDIO_PUBLIC_URL = env_str(
    "STUDIO_PUBLIC_URL", f"http://127.0.0.1:{env_int('PORT', 8000, minimum=1)}"
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
    "loggers": {"studio": {"level": env_str("LOG_LEVEL", "INFO"), "propagate": True}},
}
