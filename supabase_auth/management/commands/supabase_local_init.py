"""`manage.py supabase_local_init`: make a plain Postgres look like a Supabase database."""

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from supabase_auth.local import schema as local_schema


class Command(BaseCommand):
    help = (
        "Create Supabase's auth schema (users, sessions, uid()/role()/jwt()), the anon, "
        "authenticated, service_role and authenticator roles, the default grants on public and "
        "the supabase_realtime publication on a plain Postgres. Idempotent; refuses to touch a "
        "real Supabase database."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="Database alias.")

    def handle(self, *args, database: str, **options) -> None:
        connection = connections[database]
        try:
            with transaction.atomic(using=database):
                local_schema.install(connection)
        except local_schema.RealSupabaseDatabase as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Supabase-like schema ready on '{database}'."))
