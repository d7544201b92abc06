"""System checks for the Supabase layer (run by `manage.py check` and before `migrate`)."""

from django.core.checks import Tags, Warning, register
from django.db import connections
from django.db.utils import DatabaseError


@register(Tags.database)
def check_django_tables_private(app_configs, databases=None, **kwargs) -> list:
    """Warn when Supabase's API roles can reach Django's tables (auth_user, django_session, ...)."""
    from supabase_auth import exposure

    problems = []
    for alias in databases or []:
        try:
            tables = exposure.exposed_tables(connections[alias])
        except DatabaseError:
            continue  # an unreachable database is reported by Django's own checks
        if tables:
            problems.append(
                Warning(
                    f"anon/authenticated can reach Django's tables: {', '.join(tables)}.",
                    hint="Run `python manage.py migrate`: it revokes these grants after migrating.",
                    obj=alias,
                    id="supabase_auth.W001",
                )
            )
    return problems
