"""Project settings: deployments differ only in environment variables (docs/settings.md)."""

import dataclasses
import ipaddress
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.conf import global_settings
from django.core.exceptions import ImproperlyConfigured

from config import cache, database

BASE_DIR = Path(__file__).resolve().parent.parent
LOCAL_DIR = BASE_DIR / ".local"

env = environ.Env()
ENV_FILE = Path(env.str("DJANGO_ENV_FILE", default=str(BASE_DIR / ".env")))
if ENV_FILE.is_file():
    # Real environment variables win over the file (django-environ only fills what is unset).
    environ.Env.read_env(ENV_FILE)

DEBUG = env.bool("DJANGO_DEBUG", default=False)

# Used only with DJANGO_DEBUG on; published here on purpose so nobody mistakes them for secrets.
DEV_SECRET_KEY = "dev-only-secret-key-never-used-when-DJANGO_DEBUG-is-off-0123456789"  # noqa: S105
DEV_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"  # noqa: S105 - the Supabase CLI default


def required(name: str, dev_default, cast=str):
    """Return the variable; without DJANGO_DEBUG a missing one stops start-up, naming it."""
    getter = {str: env.str, list: env.list}[cast]
    if DEBUG:
        return getter(name, default=dev_default)
    value = getter(name, default=None)
    if not value:
        raise ImproperlyConfigured(
            f"{name} must be set when DJANGO_DEBUG is off (see docs/settings.md)."
        )
    return value


def is_loopback_url(url: str) -> bool:
    """Return whether url names this machine (localhost, 127.0.0.0/8, ::1)."""
    try:
        host = urlsplit(url).hostname or ""
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:  # a malformed URL, or a host name that is not localhost
        return False


def unsafe(name: str, reason: str) -> ImproperlyConfigured:
    """Return the start-up error for a setting that is present but unsafe in production."""
    return ImproperlyConfigured(f"{name} is unsafe when DJANGO_DEBUG is off: {reason}.")


SECRET_KEY = required("DJANGO_SECRET_KEY", DEV_SECRET_KEY)
if not DEBUG and (
    len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-")
):
    raise unsafe("DJANGO_SECRET_KEY", "use at least 50 random characters")

ALLOWED_HOSTS = required("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"], cast=list)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
    "supabase_auth",
    "profiles",
    "posts",
    "health",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # ETags for every GET (the API sets its own) and 304 for a matching If-None-Match.
    "api.middleware.ConditionalGetMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "api.middleware.RequestSizeLimitMiddleware",
    # Inside ConditionalGetMiddleware, so a 304 carries the same Cache-Control and Vary.
    "api.middleware.CachePolicyMiddleware",
    # DATABASE_RLS=enforce: API requests query as Supabase's anon/authenticated (docs/rls.md).
    "supabase_auth.middleware.RowLevelSecurityMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires: the lockout page
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# DATABASE_URL unset: the embedded Postgres under .local/ (development only, so a production
# start without DATABASE_URL fails instead of silently writing to a local file).
# DATABASE_URL=embedded asks for it explicitly, in any mode (the benchmark runs that way).
EMBEDDED_DATABASE_DIR = LOCAL_DIR / "postgres"
DATABASE_URL = env.str("DATABASE_URL", default="")
if not DATABASE_URL and not DEBUG:
    raise ImproperlyConfigured(
        "DATABASE_URL must be set when DJANGO_DEBUG is off (or DATABASE_URL=embedded to use "
        "the embedded development database)."
    )
USES_EMBEDDED_DATABASE = DATABASE_URL in ("", database.EMBEDDED)
DATABASE_POOL_MODE = env.str("DATABASE_POOL_MODE", default="session")
_DATABASE_TUNING = database.Tuning(
    pool_mode=DATABASE_POOL_MODE,
    conn_max_age=env.int("DATABASE_CONN_MAX_AGE", default=600),
    connect_timeout=env.int("DATABASE_CONNECT_TIMEOUT", default=5),
    statement_timeout=env.int("DATABASE_STATEMENT_TIMEOUT", default=20),
    prepared_statements=env.bool("DATABASE_PREPARED_STATEMENTS", default=True),
)
DATABASES = {
    "default": database.database_config(
        DATABASE_URL or database.EMBEDDED, _DATABASE_TUNING, embedded_dir=EMBEDDED_DATABASE_DIR
    )
}
# Read replicas (api/replicas.py): public reads go to them, a client that wrote reads its own
# writes from the primary for DATABASE_REPLICA_STICKY_SECONDS, a failed replica is skipped
# for DATABASE_REPLICA_RETRY_SECONDS.
DATABASE_REPLICA_URLS = env.list("DATABASE_REPLICA_URLS", default=[])
DATABASE_REPLICA_STICKY_SECONDS = env.float("DATABASE_REPLICA_STICKY_SECONDS", default=10)
DATABASE_REPLICA_RETRY_SECONDS = env.float("DATABASE_REPLICA_RETRY_SECONDS", default=10)
if DATABASE_REPLICA_STICKY_SECONDS <= 0 or DATABASE_REPLICA_RETRY_SECONDS <= 0:
    raise ImproperlyConfigured(
        "DATABASE_REPLICA_STICKY_SECONDS and DATABASE_REPLICA_RETRY_SECONDS must be positive."
    )
for _number, _url in enumerate(DATABASE_REPLICA_URLS, start=1):
    if _url == database.EMBEDDED:
        raise ImproperlyConfigured("DATABASE_REPLICA_URLS must list Postgres URLs.")
    # Tests read the test database through every alias (Django's TEST MIRROR).
    DATABASES[f"replica{_number}"] = database.database_config(_url, _DATABASE_TUNING) | {
        "TEST": {"MIRROR": "default"}
    }
if DATABASE_REPLICA_URLS:
    DATABASE_ROUTERS = ["api.replicas.ReplicaRouter"]
    # Before django-axes' middleware, which must stay last.
    MIDDLEWARE.insert(-1, "api.replicas.ReadYourWritesMiddleware")
# Migrations over a transaction pooler are refused (supabase_auth/management/commands/
# migrate.py) unless this names a direct or session connection to the same database.
DATABASE_MIGRATION_URL = env.str("DATABASE_MIGRATION_URL", default="")
if DATABASE_MIGRATION_URL:
    DATABASES["migration"] = database.database_config(
        DATABASE_MIGRATION_URL,
        dataclasses.replace(_DATABASE_TUNING, pool_mode="session", statement_timeout=0),
    ) | {"TEST": {"MIRROR": "default"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# `enforce`: each API request's statements run as Supabase's anon or authenticated role with
# the request's verified claims, so the RLS policies bind the API as they bind the Data API: a
# query that forgets a filter leaks nothing. No round trip is added; the price is CPU (about
# 2-24 % fewer requests per second at 32 connections, a third at 256, docs/rls.md).
# `off` (the default): the connection's own role and the API's rules, which
# tests/api/test_rls_parity.py holds equal to the policies.
DATABASE_RLS = env.str("DATABASE_RLS", default="off")
if DATABASE_RLS not in ("off", "enforce"):
    raise ImproperlyConfigured("DATABASE_RLS must be 'off' or 'enforce'.")

# GET /api/posts/changes keeps deletions and other changes this long (docs/changes.md); an
# older cursor is a 410 telling the client to reload.
POSTS_CHANGES_RETENTION_HOURS = env.float("POSTS_CHANGES_RETENTION_HOURS", default=72)
if not 0 < POSTS_CHANGES_RETENTION_HOURS <= 24 * 366:
    raise ImproperlyConfigured("POSTS_CHANGES_RETENTION_HOURS must be between 0 and 8784 hours.")

# Run supabase_local_init automatically before migrations on databases we own (embedded).
SUPABASE_LOCAL_AUTO_INIT = USES_EMBEDDED_DATABASE

# --- Supabase -------------------------------------------------------------------------------
# In debug, the Supabase CLI's local stack (`supabase start`) is the default project.
SUPABASE_URL = env.str("SUPABASE_URL", default="http://127.0.0.1:54321" if DEBUG else "").rstrip(
    "/"
)
SUPABASE_ANON_KEY = env.str("SUPABASE_ANON_KEY", default="")
SUPABASE_SERVICE_ROLE_KEY = env.str("SUPABASE_SERVICE_ROLE_KEY", default="")
# The CLI's secret is public: with it anyone can sign a token for any user id, and user ids are
# public (profiles). It may verify tokens of a local stack only, never a reachable project.
supabase_is_local = is_loopback_url(SUPABASE_URL)
if "SUPABASE_JWT_SECRET" in env:
    SUPABASE_JWT_SECRET = env.str("SUPABASE_JWT_SECRET")  # empty: HS256 tokens are refused
elif DEBUG and not supabase_is_local:
    raise ImproperlyConfigured(
        "SUPABASE_JWT_SECRET must be set when SUPABASE_URL is not a loopback address: the "
        "Supabase CLI's public development secret is used only for a local stack. Set the "
        "project's JWT secret, or SUPABASE_JWT_SECRET= (empty) to accept only JWKS-signed tokens."
    )
else:
    SUPABASE_JWT_SECRET = DEV_JWT_SECRET if DEBUG else ""
if SUPABASE_JWT_SECRET == DEV_JWT_SECRET and not supabase_is_local:
    raise ImproperlyConfigured(
        "SUPABASE_JWT_SECRET is the Supabase CLI's public development secret, accepted only "
        "with a loopback SUPABASE_URL; set the project's own JWT secret."
    )
SUPABASE_JWKS_URL = env.str(
    "SUPABASE_JWKS_URL",
    default=f"{SUPABASE_URL}/auth/v1/.well-known/jwks.json" if SUPABASE_URL else "",
)
SUPABASE_JWT_ISSUER = env.str(
    "SUPABASE_JWT_ISSUER", default=f"{SUPABASE_URL}/auth/v1" if SUPABASE_URL else ""
)
SUPABASE_JWT_AUDIENCE = env.list("SUPABASE_JWT_AUDIENCE", default=["authenticated"])
# Calls to Supabase Auth and Storage: bounded, so an outage is a quick 503, not a hung worker.
SUPABASE_HTTP_TIMEOUT = env.float("SUPABASE_HTTP_TIMEOUT", default=5)
SUPABASE_AVATARS_BUCKET = env.str("SUPABASE_AVATARS_BUCKET", default="avatars")
SUPABASE_AVATAR_MAX_BYTES = env.int("SUPABASE_AVATAR_MAX_BYTES", default=2 * 1024 * 1024)
# Clock skew tolerated on exp, iat and nbf (seconds).
SUPABASE_JWT_LEEWAY = env.int("SUPABASE_JWT_LEEWAY", default=30)
# Keys are refreshed in the background after this long (Supabase's own JWKS max-age is 600 s).
SUPABASE_JWKS_MAX_AGE = env.float("SUPABASE_JWKS_MAX_AGE", default=600)
# At most one fetch per this many seconds for tokens naming an unknown kid.
SUPABASE_JWKS_REFETCH_COOLDOWN = env.float("SUPABASE_JWKS_REFETCH_COOLDOWN", default=10)
SUPABASE_JWKS_TIMEOUT = env.float("SUPABASE_JWKS_TIMEOUT", default=2)
# How long a token naming an unknown kid (a rotated key) waits for the refetch it starts before
# the answer is a 503 with Retry-After (the fetch goes on in the background). Long enough for
# a normal fetch from Supabase across the network (a TLS handshake and a round trip), short
# against SUPABASE_JWKS_TIMEOUT; it holds one server thread, never the others (keys.py).
SUPABASE_JWKS_WAIT = env.float("SUPABASE_JWKS_WAIT", default=0.5)
if not DEBUG and not 0 <= SUPABASE_JWKS_WAIT < SUPABASE_JWKS_TIMEOUT:
    raise unsafe(
        "SUPABASE_JWKS_WAIT", "use 0 or more seconds, below SUPABASE_JWKS_TIMEOUT (default 0.5)"
    )
# Refuse tokens whose session was signed out (one indexed lookup in auth.sessions, same query).
SUPABASE_AUTH_CHECK_SESSION = env.bool("SUPABASE_AUTH_CHECK_SESSION", default=True)
# Whether users of Supabase's anonymous sign-in (`is_anonymous` claim) may create, change or
# delete posts, change their profile or upload an avatar; they may always read.
API_ANONYMOUS_SIGN_IN_WRITES = env.bool("API_ANONYMOUS_SIGN_IN_WRITES", default=False)

# --- REST framework -------------------------------------------------------------------------
# Avatar uploads and removals per user, as DRF's "<n>/<period>" (each upload decodes an image).
API_THROTTLE_AVATAR = env.str("API_THROTTLE_AVATAR", default="20/hour")
if not API_THROTTLE_AVATAR and not DEBUG:
    raise unsafe("API_THROTTLE_AVATAR", "each upload decodes an image; set a rate such as 20/hour")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["supabase_auth.authentication.SupabaseAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only in production; with DJANGO_DEBUG on, DRF's browsable API too, for a developer
    # clicking through with a dev token (docs/development.md, "Browsing the API").
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        *(["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    ],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Per client address (anonymous) or user id, counted atomically in the shared cache
    # (api/throttling.py). Anonymous and user rates are off unless set (a gateway usually limits
    # reads); the auth endpoints are limited by default against password guessing: per address
    # (sign-in, sign-up, refresh share one budget) and, for sign-in, per account as well.
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.AnonThrottle", "api.throttling.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="") or None,
        "user": env.str("API_THROTTLE_USER", default="") or None,
        "auth": env.str("API_THROTTLE_AUTH", default="10/minute") or None,
        "auth_account": env.str("API_THROTTLE_AUTH_ACCOUNT", default="10/hour") or None,
        "avatar": API_THROTTLE_AVATAR or None,
    },
    # Proxies in front whose X-Forwarded-For is trusted for the client address. 0: the peer
    # address; DRF's own default (None) would trust a header any client can send.
    "NUM_PROXIES": env.int("API_NUM_PROXIES", default=0),
}
if REST_FRAMEWORK["NUM_PROXIES"] < 0:
    raise ImproperlyConfigured("API_NUM_PROXIES must be 0 or more (0: no proxy in front).")
for _scope, _rate in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].items():
    if _rate is not None and not re.fullmatch(r"[0-9]+/[smhd][a-z]*", _rate):
        raise ImproperlyConfigured(
            f"API_THROTTLE_{_scope.upper()} must look like 10/minute (s, m, h or d): {_rate!r}."
        )
# Largest request body under /api/ (JSON); views such as the avatar upload set their own.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=256 * 1024)
# Largest body the server buffers before Django sees it (the avatar upload is the largest any
# view takes); beyond it the worker answers 413 without reading it (config/worker.py).
SERVER_MAX_BODY_BYTES = env.int(
    "SERVER_MAX_BODY_BYTES",
    default=256 * 1024
    + max(
        API_MAX_BODY_BYTES,
        SUPABASE_AVATAR_MAX_BYTES,
        global_settings.DATA_UPLOAD_MAX_MEMORY_SIZE,  # admin forms
    ),
)

# A client has this long to send a whole request, headers and body (config/worker.py), so a
# slow or stalled upload holds a server thread for a bounded time.
SERVER_READ_TIMEOUT = env.float("SERVER_READ_TIMEOUT", default=30)
if not DEBUG and not 0 < SERVER_READ_TIMEOUT <= 300:
    raise unsafe("SERVER_READ_TIMEOUT", "use a number of seconds between 0 and 300")

# --- Shared cache (config/cache.py): throttle counters and read-your-writes markers -----------
# REDIS_URL (or CACHE_URL) makes every process and node count in one Redis; unset, each process
# counts alone (one node, one worker: as exact; more: N per process). A Redis outage fails open.
_CACHE_VARIABLE = "REDIS_URL" if env.str("REDIS_URL", default="") else "CACHE_URL"
CACHES = {
    "default": cache.cache_config(
        env.str(_CACHE_VARIABLE, default=""),
        variable=_CACHE_VARIABLE,
        timeout=env.float("REDIS_TIMEOUT", default=0.5),
    )
}
# After a cache failure, requests skip the cache this long (one pays the timeout, not all).
CACHE_RETRY_SECONDS = env.float("CACHE_RETRY_SECONDS", default=5)
if CACHE_RETRY_SECONDS < 0:
    raise ImproperlyConfigured("CACHE_RETRY_SECONDS must be 0 or more.")

# --- CORS (django-cors-headers): browsers on these origins may call the API -----------------
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/(api|health)(/.*)?$"
CORS_ALLOW_CREDENTIALS = False  # bearer tokens, not cookies
CORS_EXPOSE_HEADERS = ["ETag", "Retry-After", "WWW-Authenticate"]

# --- OpenAPI (drf-spectacular; Swagger UI and Redoc served from the sidecar, no CDN) ---------
SPECTACULAR_SETTINGS = {
    "TITLE": "Posts and profiles API",
    "DESCRIPTION": (
        "Posts and profiles for a Supabase app. Authenticate with a Supabase Auth access "
        "token: `Authorization: Bearer <access_token>`; a refused token is a 401 everywhere, "
        'public reads included. Errors are JSON `{"detail": ..., "code": ...}`; invalid '
        "input is a 400 mapping each field to its messages. Reads carry an `ETag`: send it as "
        "`If-None-Match` (304 when unchanged) or as `If-Match` on a write (412 when someone "
        "changed it since)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.openapi.require_success_fields",
    ],
}

# --- Auth, passwords (staff use Django users in the admin; API users come from Supabase) ------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The admin's log-in attempt limit (django-axes): after this many failures for one username from
# one client address, that pair is locked out for a while; attempts live in the database, so
# every process and node counts them together. Staff unlock at once with
# `manage.py axes_reset_username <username>` (or axes_reset_ip_username, axes_reset).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out pair before checking
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("DJANGO_ADMIN_LOGIN_FAILURES", default=5)
if not DEBUG and not 1 <= AXES_FAILURE_LIMIT <= 20:
    raise unsafe("DJANGO_ADMIN_LOGIN_FAILURES", "allow between 1 and 20 failed log-ins")
_ADMIN_LOCKOUT_MINUTES = env.int("DJANGO_ADMIN_LOGIN_LOCKOUT_MINUTES", default=15)
if not DEBUG and _ADMIN_LOCKOUT_MINUTES < 1:
    raise unsafe("DJANGO_ADMIN_LOGIN_LOCKOUT_MINUTES", "lock out for at least 1 minute")
AXES_COOLOFF_TIME = timedelta(minutes=_ADMIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The admin form's field, as a plain string: axes' default is a lazy object, which breaks code
# that treats settings strings as str (the debug page's password masking, re.sub).
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True  # a staff member who mistyped, then got in, starts afresh
# The client address by API_NUM_PROXIES, as the API's throttles read it (not a forged header).
AXES_CLIENT_IP_CALLABLE = "api.client_address.client_address"
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (served by whitenoise, also under gunicorn) --------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- HTTPS and cookies (production defaults; see `manage.py check --deploy`) -----------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
# Platform health checks call plain HTTP inside the private network.
SECURE_REDIRECT_EXEMPT = [r"^health(/|$)"]
# HSTS starts short (cookiecutter-django's advice): raise it once HTTPS is known to work.
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 60)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG
)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = env.list("DJANGO_SILENCED_SYSTEM_CHECKS", default=[])

# --- Error reports (the debug page, error e-mails) ---------------------------------------------
# Django masks settings by name only; this also masks passwords inside URLs (DATABASE_URL, ...).
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.error_reports.PasswordFilter"

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    # httpx logs every request at INFO (JWKS refreshes, Supabase calls); keep only problems.
    # django-axes announces itself at INFO in every process; its lockouts are WARNINGs.
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "axes.apps": {"level": "WARNING"},
    },
}
