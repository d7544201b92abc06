"""Run Django in a fresh process with an exact environment, as a deployment would start it."""

import os
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "prod-like-secret-" + "Zk3vQ9mW2xL7pR4t" * 3,
    "DJANGO_ALLOWED_HOSTS": "api.example.com,testserver",
    "DATABASE_URL": "postgres://app:pw@db.example.com:5432/app",
    "SUPABASE_URL": "https://abcdefghijklmnop.supabase.co",
    "SUPABASE_JWT_SECRET": "a-legacy-jwt-secret-with-more-than-32-characters",
}


def run_django(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """Run `python <args>` in the project with only env (plus PATH), ignoring any .env file."""
    base = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_ENV_FILE": os.devnull,
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT_DIR,
        env=base | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run_python(env: dict[str, str], code: str) -> subprocess.CompletedProcess:
    """Run code after django.setup() in a fresh process."""
    return run_django(env, "-c", "import django; django.setup()\n" + code)
