"""What a server process does once before serving (WSGI and ASGI alike)."""

from django.core import checks
from django.core.management.base import SystemCheckError


def prepare_to_serve() -> None:
    """Refuse a configuration the system checks reject, then load the token signing keys.

    Servers (gunicorn, uvicorn) run no system checks of their own, and a production start with a
    missing key must fail loudly rather than answer 401 to everyone.
    """
    errors = [message for message in checks.run_checks() if message.is_serious()]
    if errors:
        raise SystemCheckError("\n".join(str(message) for message in errors))

    from supabase_auth import keys

    keys.warm_up()
