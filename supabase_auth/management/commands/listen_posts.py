"""`manage.py listen_posts`: stream changes to posts from Supabase Realtime, one JSON per line."""

import asyncio
import contextlib
import json
import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from realtime import AsyncRealtimeClient

logger = logging.getLogger(__name__)

EVENTS = ("*", "INSERT", "UPDATE", "DELETE")
MAX_BACKOFF = 30.0


class Command(BaseCommand):
    help = (
        "Subscribe to INSERT/UPDATE/DELETE on public.posts through Supabase Realtime and print "
        "each change as one JSON line; reconnect with backoff when the connection drops. "
        "With --token, the user's RLS decides what arrives (their drafts too); without, the "
        "anon key sees published posts only. For clients without realtime, poll "
        "GET /api/posts/changes?since=<cursor> instead: it also tells of deleted and "
        "unpublished posts (docs/changes.md)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--event", choices=EVENTS, default="*")
        parser.add_argument("--filter", help="Realtime filter, e.g. author_id=eq.<uuid>.")
        parser.add_argument("--token", help="A user's access token to subscribe as that user.")
        parser.add_argument("--max-events", type=int, default=0, help="Stop after N (0: never).")

    def handle(
        self, *args, event: str, filter: str | None, token: str | None, max_events: int, **options
    ) -> None:
        if not settings.SUPABASE_URL or not settings.SUPABASE_ANON_KEY:
            raise CommandError("Set SUPABASE_URL and SUPABASE_ANON_KEY.")
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(self._listen(event, filter, token, max_events))

    def _report_state(self, state, error: Exception | None) -> None:
        """Say on stderr what Realtime answered to the subscription (joined, refused, ...)."""
        detail = f": {error}" if error else ""
        self.stderr.write(f"subscription to public.posts: {_state_name(state)}{detail}")

    async def _listen(
        self, event: str, row_filter: str | None, token: str | None, max_events: int
    ) -> None:
        printed, backoff = 0, 1.0
        while True:
            changes: asyncio.Queue = asyncio.Queue()
            client = AsyncRealtimeClient(
                f"{settings.SUPABASE_URL}/realtime/v1",
                token=settings.SUPABASE_ANON_KEY,
                max_retries=3,
            )
            try:
                if token:
                    await client.set_auth(token)
                channel = client.channel("django-posts-changes")
                channel.on_postgres_changes(
                    event,
                    callback=changes.put_nowait,
                    schema="public",
                    table="posts",
                    filter=row_filter,
                )
                await client.connect()
                await channel.subscribe(self._report_state)
                backoff = 1.0
                while client.is_connected:
                    try:
                        payload = await asyncio.wait_for(changes.get(), timeout=1.0)
                    except TimeoutError:
                        continue
                    self.stdout.write(json.dumps(_change(payload), default=str))
                    self.stdout.flush()
                    printed += 1
                    if max_events and printed >= max_events:
                        return
                self.stderr.write("connection lost")
            except Exception as exc:  # any failure: log, back off, reconnect
                self.stderr.write(f"realtime error: {type(exc).__name__}: {exc}")
            finally:
                await _close(client)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)


def _state_name(state) -> str:
    return getattr(state, "value", str(state))


def _change(payload: dict) -> dict:
    """Return the printable part of a Postgres Changes payload (SUPABASE.md §8)."""
    data = payload.get("data", payload)
    return {
        "type": data.get("type"),
        "table": data.get("table"),
        "commit_timestamp": data.get("commit_timestamp"),
        "record": data.get("record"),
        "old_record": data.get("old_record"),
    }


async def _close(client: AsyncRealtimeClient) -> None:
    try:
        await client.close()
    except Exception as exc:  # a broken socket may fail to close
        logger.debug("closing realtime client: %s", exc)
