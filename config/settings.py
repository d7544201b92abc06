"""Project settings: every difference between deployments comes from the environment (README)."""

import re
from pathlib import Path

import environ
from django.conf import global_settings
from django.core.exceptions import ImproperlyConfigured

from config import database

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
            f"{name} must be set when DJANGO_DEBUG is off (see README, Settings)."
        )
    return value


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
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # ETags for every GET (the API sets its own) and 304 for a matching If-None-Match.
    "django.middleware.http.ConditionalGetMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "api.middleware.RequestSizeLimitMiddleware",
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
DATABASES = {
    "default": database.database_config(
        DATABASE_URL or database.EMBEDDED,
        database.Tuning(
            pool_mode=DATABASE_POOL_MODE,
            conn_max_age=env.int("DATABASE_CONN_MAX_AGE", default=600),
            connect_timeout=env.int("DATABASE_CONNECT_TIMEOUT", default=5),
            statement_timeout=env.int("DATABASE_STATEMENT_TIMEOUT", default=20),
            prepared_statements=env.bool("DATABASE_PREPARED_STATEMENTS", default=True),
        ),
        embedded_dir=EMBEDDED_DATABASE_DIR,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Run supabase_local_init automatically before migrations on databases we own (embedded).
SUPABASE_LOCAL_AUTO_INIT = USES_EMBEDDED_DATABASE

# --- Supabase -------------------------------------------------------------------------------
# In debug, the Supabase CLI's local stack (`supabase start`) is the default project.
SUPABASE_URL = env.str("SUPABASE_URL", default="http://127.0.0.1:54321" if DEBUG else "").rstrip(
    "/"
)
SUPABASE_ANON_KEY = env.str("SUPABASE_ANON_KEY", default="")
SUPABASE_SERVICE_ROLE_KEY = env.str("SUPABASE_SERVICE_ROLE_KEY", default="")
SUPABASE_JWT_SECRET = env.str("SUPABASE_JWT_SECRET", default=DEV_JWT_SECRET if DEBUG else "")
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
# Refuse tokens whose session was signed out (one indexed lookup in auth.sessions, same query).
SUPABASE_AUTH_CHECK_SESSION = env.bool("SUPABASE_AUTH_CHECK_SESSION", default=False)

# --- REST framework -------------------------------------------------------------------------
# Avatar uploads and removals per user, as DRF's "<n>/<period>" (each upload decodes an image).
API_THROTTLE_AVATAR = env.str("API_THROTTLE_AVATAR", default="20/hour")
if API_THROTTLE_AVATAR and not re.fullmatch(r"[0-9]+/[smhd][a-z]*", API_THROTTLE_AVATAR):
    raise ImproperlyConfigured("API_THROTTLE_AVATAR must be a rate such as 20/hour.")
if not API_THROTTLE_AVATAR and not DEBUG:
    raise unsafe("API_THROTTLE_AVATAR", "each upload decodes an image; set a rate such as 20/hour")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["supabase_auth.authentication.SupabaseAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Per client IP (anonymous) or user id, counted per process in the local-memory cache.
    # Anonymous and user rates are off unless set (a gateway usually limits reads); the auth
    # endpoints (sign-in, sign-up, refresh) are limited by default against password guessing.
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="") or None,
        "user": env.str("API_THROTTLE_USER", default="") or None,
        "auth": env.str("API_THROTTLE_AUTH", default="10/minute") or None,
        "avatar": API_THROTTLE_AVATAR or None,
    },
    "NUM_PROXIES": env.int("API_NUM_PROXIES", default=None),
}
# Largest request body under /api/ (JSON); views such as the avatar upload set their own.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=256 * 1024)
# Largest body the server buffers before Django sees it (the avatar upload is the largest any
# view takes); beyond it gunicorn's worker answers 413 without reading it (config/worker.py).
SERVER_MAX_BODY_BYTES = env.int(
    "SERVER_MAX_BODY_BYTES",
    default=256 * 1024
    + max(
        API_MAX_BODY_BYTES,
        SUPABASE_AVATAR_MAX_BYTES,
        global_settings.DATA_UPLOAD_MAX_MEMORY_SIZE,  # admin forms
    ),
)

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

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
        "token: `Authorization: Bearer <access_token>`. Errors are JSON "
        '`{"detail": ..., "code": ...}`; invalid input is a 400 with field errors.'
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
}

# --- Auth, passwords (staff use Django users in the admin; API users come from Supabase) ------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

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

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    # httpx logs every request at INFO (JWKS refreshes, Supabase calls); keep only problems.
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}
