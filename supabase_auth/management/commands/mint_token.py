"""`manage.py mint_token`: a development access token the running API accepts."""

import uuid

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from supabase_auth import dev_tokens
from supabase_auth.local import schema as local_schema


class Command(BaseCommand):
    help = (
        "Create (or reuse) a user in the local auth.users table and print an access token for "
        "it, signed with SUPABASE_JWT_SECRET. Development only: refused when DJANGO_DEBUG is off "
        "unless --force, and never on a real Supabase database."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument(
            "--sub", type=uuid.UUID, help="User id (default: the email's user, or new)."
        )
        parser.add_argument("--ttl", type=int, default=3600, help="Lifetime in seconds.")
        parser.add_argument(
            "--alg",
            choices=["HS256"],
            default="HS256",
            help="Only HS256: asymmetric keys stay with Supabase Auth.",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        parser.add_argument("--force", action="store_true", help="Allow with DJANGO_DEBUG off.")

    def handle(self, *args, email: str, sub, ttl: int, database: str, force: bool, **options):
        if not settings.DEBUG and not force:
            raise CommandError("mint_token is a development tool; DJANGO_DEBUG is off (--force).")
        if not settings.SUPABASE_JWT_SECRET:
            raise CommandError("Set SUPABASE_JWT_SECRET: tokens are signed with it.")
        if ttl <= 0:
            raise CommandError("--ttl must be positive.")
        connection = connections[database]
        evidence = local_schema.supabase_evidence(connection)
        if evidence:
            raise CommandError(f"Refusing to add users to a real Supabase database ({evidence}).")
        if not local_schema.has_auth_schema(connection):
            raise CommandError("No auth schema: run `python manage.py migrate` first.")
        with transaction.atomic(using=database), connection.cursor() as cursor:
            user_id = sub or _existing_user(cursor, email) or uuid.uuid4()
            cursor.execute(
                "insert into auth.users (id, aud, role, email, email_confirmed_at, "
                "raw_app_meta_data, raw_user_meta_data, created_at, updated_at) "
                "values (%s, 'authenticated', 'authenticated', %s, now(), "
                '\'{"provider": "email", "providers": ["email"]}\', \'{}\', now(), now()) '
                "on conflict (id) do update set email = excluded.email, updated_at = now()",
                [user_id, email],
            )
            session_id = uuid.uuid4()
            cursor.execute(
                "insert into auth.sessions (id, user_id, created_at, updated_at, aal) "
                "values (%s, %s, now(), now(), 'aal1')",
                [session_id, user_id],
            )
        claims = dev_tokens.user_claims(user_id, email, session_id=session_id, ttl=ttl)
        self.stdout.write(dev_tokens.sign_hs256(claims))


def _existing_user(cursor, email: str) -> uuid.UUID | None:
    cursor.execute(
        "select id from auth.users where lower(email) = lower(%s) order by created_at limit 1",
        [email],
    )
    row = cursor.fetchone()
    return row[0] if row else None
