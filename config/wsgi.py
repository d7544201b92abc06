"""WSGI entry point for gunicorn and runserver (see config/gunicorn.py and the Procfile)."""

import os

from django.core.wsgi import get_wsgi_application

from config.startup import prepare_to_serve
from health.wsgi import LivenessShortcut

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = LivenessShortcut(get_wsgi_application())
prepare_to_serve()
