"""Test settings: production settings on a disposable database (embedded, or TEST_DATABASE_URL)."""

import os
from pathlib import Path

_LOCAL_DIR = Path(__file__).resolve().parent.parent / ".local"

# The suite runs with production settings; these stand in for the deployment's variables and
# win over any .env a developer keeps (django-environ fills only unset variables).
os.environ.update(
    {
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "test-secret-key-" + "x7Qm2Lp9Vr4Kd8Wz" * 4,
        "DJANGO_ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
        # The Supabase CLI's local project; tests that need a JWKS serve one and point at it.
        "SUPABASE_URL": "http://127.0.0.1:54321",
        "SUPABASE_JWKS_URL": "",
        "SUPABASE_JWT_SECRET": "test-jwt-secret-that-is-long-enough-for-hs256-0123",
        "SUPABASE_ANON_KEY": "",
        "SUPABASE_SERVICE_ROLE_KEY": "",
        "DATABASE_URL": os.environ.get("TEST_DATABASE_URL") or "embedded",
        # The suite runs in both modes (docs/rls.md): `DATABASE_RLS=enforce make test`.
        "DATABASE_RLS": os.environ.get("DATABASE_RLS") or "off",
    }
)

from config.settings import *  # noqa: E402,F403

if "EMBEDDED_POSTGRES" in DATABASES["default"]:  # noqa: F405
    # The suite's own embedded server, durability off (started on the first connection).
    DATABASES["default"]["EMBEDDED_POSTGRES"] = {  # noqa: F405
        "DATA_DIR": str(_LOCAL_DIR / "test-postgres"),
        "DISPOSABLE": True,
    }
SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP
# One test database per run, so two runs at once (CI jobs, a developer's editor) never drop
# each other's database.
DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}  # noqa: F405
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# Serve static files from the apps, as in development (no collectstatic before tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast users in tests
# Test databases are ours to shape: give them Supabase's auth schema before migrating.
SUPABASE_LOCAL_AUTO_INIT = True
