"""DATABASE_RLS=enforce: the API's requests reach Postgres as `anon` or `authenticated`."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from supabase_auth import request_role

API_PREFIX = "/api/"


class RowLevelSecurityMiddleware:
    """Run each API request's statements as Supabase's API role, so RLS applies to them too.

    Every request starts as `anon`; SupabaseAuthentication makes it `authenticated` with the
    verified claims (supabase_auth/request_role.py). The admin, health checks, migrations and
    management commands keep the connection's own role.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.DATABASE_RLS != "enforce" or not request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        with request_role.enforced(request.method, request.path_info):
            return self.get_response(request)
