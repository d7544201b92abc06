"""`manage.py supabase_doctor`: check the Supabase wiring and print a table; exit 1 on failure."""

from django.core.management.base import BaseCommand, CommandError

from supabase_auth import doctor


class Command(BaseCommand):
    help = (
        "Check the database (reachable, direct or pooler), Supabase's auth schema, RLS on "
        "profiles and posts, that Django's tables are private, Realtime, the JWKS, a token "
        "(--token), Supabase Auth's health and the avatars bucket. Exits 1 if a check fails."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--token", help="An access token to verify (issuer, keys, claims).")

    def handle(self, *args, token: str | None, **options) -> None:
        findings = list(doctor.run(token))
        width = max(len(f.check) for f in findings)
        for finding in findings:
            style = {
                doctor.OK: self.style.SUCCESS,
                doctor.FAIL: self.style.ERROR,
                doctor.WARN: self.style.WARNING,
            }.get(finding.status, str)
            self.stdout.write(
                f"{finding.check:<{width}}  {style(finding.status):<4}  {finding.detail}"
            )
        failed = [f.check for f in findings if f.status == doctor.FAIL]
        if failed:
            raise CommandError(f"{len(failed)} check(s) failed: {', '.join(failed)}")
