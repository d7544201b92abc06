"""`manage.py dev_banner`: tell a developer where things are before `runserver` starts."""

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Print the local URLs and the next steps (used by `make run`)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000")

    def handle(self, *args, url: str, **options) -> None:
        database = (
            f"embedded Postgres in {settings.EMBEDDED_DATABASE_DIR}"
            if settings.USES_EMBEDDED_DATABASE
            else "DATABASE_URL"
        )
        lines = [
            "",
            f"  API        {url}/health",
            f"  Admin      {url}/admin/  (create a staff user: make superuser)",
            f"  Database   {database}",
            "  Token      TOKEN=$(make -s token EMAIL=you@example.com)",
            f'             curl -H "Authorization: Bearer $TOKEN" {url}/api/profiles/me',
            f"  Browse     {url}/api/docs/  (Authorize: paste the token) or {url}/api/posts/",
            "",
        ]
        self.stdout.write("\n".join(lines))
