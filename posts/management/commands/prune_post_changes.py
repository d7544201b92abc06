"""`manage.py prune_post_changes`: drop change-feed records older than the retention."""

from django.conf import settings
from django.core.management.base import BaseCommand

from posts import changes


class Command(BaseCommand):
    help = (
        "Delete the change feed's records (GET /api/posts/changes) older than "
        "POSTS_CHANGES_RETENTION_HOURS and take a checkpoint. The API prunes as the feed is "
        "read (once a minute per process); schedule this (hourly, say) when the feed is rarely "
        "read, so the table stays small."
    )

    def handle(self, *args, **options) -> None:
        boundary = changes.prune()
        hours = settings.POSTS_CHANGES_RETENTION_HOURS
        if boundary is None:
            self.stdout.write(f"Nothing older than {hours:g} hours to prune yet.")
        else:
            self.stdout.write(f"Pruned changes of transactions before {boundary} ({hours:g} h).")
