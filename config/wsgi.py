"""WSGI entry point for gunicorn and runserver (see config/gunicorn.py and the Procfile)."""

import os

from django.core import checks
from django.core.management.base import SystemCheckError
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# gunicorn runs no system checks: refuse to serve with a configuration they reject.
_errors = [message for message in checks.run_checks() if message.is_serious()]
if _errors:
    raise SystemCheckError("\n".join(str(message) for message in _errors))

from supabase_auth import keys  # noqa: E402  (needs the apps loaded)

keys.warm_up()
