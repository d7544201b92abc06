"""What changed for a caller since a cursor: the polling fallback for clients without Realtime.

A cursor holds a database snapshot (`pg_current_snapshot()`): exactly the transactions whose
writes the client has been sent. A read returns the posts written by transactions that
committed after that snapshot and before the reader's own, then hands out the reader's
snapshot as the next cursor. Transaction ids are taken when a transaction first writes, not
when it commits, so "ids above the last one seen" would skip a transaction that committed
late; "not visible in the cursor's snapshot" cannot (docs/changes.md).

Each post comes once per read, in its current state, however many times it changed: replay
from any cursor converges on what the lists show. A post the caller can no longer see
(deleted, unpublished, someone else's draft now) comes as `{"id", "deleted": true}`, but only
if it was visible to the caller at some moment since the cursor (published, or theirs): a
draft's life stays its author's. Writes are recorded by a trigger (posts/migrations/0004) and
pruned after POSTS_CHANGES_RETENTION_HOURS; an older cursor is refused (CursorExpired).
"""

import base64
import binascii
import json
import re
import threading
import time
import uuid
from collections import namedtuple
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connections, router

from api import errors
from posts.models import PostChange
from supabase_auth import request_role

MAX_CURSOR_CHARS = 8192  # a snapshot lists the transactions running when it was taken
SNAPSHOT = re.compile(r"(\d{1,20}):(\d{1,20}):((?:\d{1,20},)*\d{1,20})?")
# At most one prune per process in this many seconds: a checkpoint a minute is fine grained
# enough for retention counted in hours.
PRUNE_EVERY = 60.0

POST_FIELDS = ("id", "author_id", "title", "content", "published", "created_at", "updated_at")
PostRow = namedtuple("PostRow", POST_FIELDS)

# One statement: the reader's snapshot, the pruning boundary and one page of the changes the
# caller may see (the rule of the post_changes_select_seen policy, so both modes agree).
READ_SQL = f"""
with seen as (
  select c.post_id, max(c.seq) as last_seq
  from post_changes c
  where c.xid >= pg_snapshot_xmin(%(since)s::pg_snapshot)
    and not pg_visible_in_snapshot(c.xid, %(since)s::pg_snapshot)
    and (%(until)s::pg_snapshot is null
         or pg_visible_in_snapshot(c.xid, %(until)s::pg_snapshot))
    and (c.was_published or c.is_published
         or c.old_author_id = %(user_id)s or c.new_author_id = %(user_id)s)
  group by c.post_id
  having max(c.seq) > %(after)s
  order by last_seq
  limit %(limit)s
)
select pg_current_snapshot()::text,
       (select coalesce(max(horizon), '0') from post_change_checkpoints
        where taken_at <= now() - %(retention)s)::text,
       seen.last_seq, seen.post_id, {", ".join(f"p.{name}" for name in POST_FIELDS)}
from (select) as feed
left join seen on true
left join posts p on p.id = seen.post_id and (p.published or p.author_id = %(user_id)s)
order by seen.last_seq
"""  # noqa: S608 - only the constant column list is interpolated
NOW_SQL = "select pg_current_snapshot()::text"
PRUNE_SQL = "select public.prune_post_changes(%s)"


class InvalidCursor(ValueError):
    """Not a cursor this API gave out."""


class CursorExpired(errors.Gone):
    code = "cursor_expired"
    message = (
        "This cursor is older than the changes kept: reload the posts, then follow the "
        "cursor of a request without `since`."
    )


@dataclass(frozen=True)
class Snapshot:
    """A `pg_snapshot`: transactions below xmin had finished, those from xmax had not started."""

    xmin: int
    xmax: int
    running: tuple[int, ...]

    @classmethod
    def parse(cls, text: str) -> "Snapshot":
        match = SNAPSHOT.fullmatch(text)
        if match is None:
            raise InvalidCursor
        xmin, xmax = int(match[1]), int(match[2])
        running = tuple(int(xid) for xid in match[3].split(",")) if match[3] else ()
        if not (0 < xmin <= xmax < 2**63) or list(running) != sorted(set(running)):
            raise InvalidCursor
        if running and not (xmin <= running[0] and running[-1] < xmax):
            raise InvalidCursor
        return cls(xmin, xmax, running)

    def __str__(self) -> str:
        return f"{self.xmin}:{self.xmax}:{','.join(map(str, self.running))}"


@dataclass(frozen=True)
class Cursor:
    """Where a client is: everything visible in `since` was sent to it.

    Inside a window too large for one answer, `until` is the window's end and `after` the
    last change sent: the next answer continues the same window.
    """

    since: Snapshot
    until: Snapshot | None = None
    after: int = 0

    def encode(self) -> str:
        until = None if self.until is None else str(self.until)
        raw = json.dumps([str(self.since), until, self.after])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> "Cursor":
        if len(value) > MAX_CURSOR_CHARS:
            raise InvalidCursor
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            since, until, after = json.loads(raw)
        except (ValueError, TypeError, RecursionError, binascii.Error) as exc:
            raise InvalidCursor from exc
        if not isinstance(since, str) or not isinstance(until, str | None):
            raise InvalidCursor
        if type(after) is not int or not 0 <= after < 2**63:
            raise InvalidCursor
        return cls(Snapshot.parse(since), None if until is None else Snapshot.parse(until), after)


@dataclass(frozen=True)
class Deleted:
    """A post the caller could see and can no longer: deleted, unpublished, or not theirs."""

    id: uuid.UUID


@dataclass(frozen=True)
class Page:
    """Changed posts (PostRow) and Deleted ids, oldest change first, and where to resume."""

    changes: list
    cursor: Cursor
    more: bool


def read(since: Cursor | None, user_id: uuid.UUID | None, limit: int) -> Page:
    """Return what changed for the caller after `since` (None: nothing, and the cursor of now)."""
    alias = router.db_for_read(PostChange)
    if since is None:
        with connections[alias].cursor() as cursor:
            cursor.execute(NOW_SQL)
            return Page([], Cursor(Snapshot.parse(cursor.fetchone()[0])), more=False)
    params = {
        "since": str(since.since),
        "until": None if since.until is None else str(since.until),
        "after": since.after,
        "user_id": user_id,
        "limit": limit + 1,
        "retention": retention(),
    }
    with connections[alias].cursor() as cursor:
        cursor.execute(READ_SQL, params)
        rows = cursor.fetchall()
    now, boundary = Snapshot.parse(rows[0][0]), int(rows[0][1])
    if since.since.xmin < boundary:
        raise CursorExpired  # taken longer than the retention ago: its changes may be pruned
    if since.since.xmax > now.xmax or (since.until and since.until.xmax > now.xmax):
        # From a future this database never reached (a restore to an earlier point in time).
        raise CursorExpired
    found = [row for row in rows if row[3] is not None]
    more = len(found) > limit
    found = found[:limit]
    changes = [Deleted(row[3]) if row[4] is None else PostRow(*row[4:]) for row in found]
    # A window too large for one answer keeps its end until it is all sent.
    end = since.until or now
    return Page(changes, Cursor(since.since, end, found[-1][2]) if more else Cursor(end), more)


_prune_lock = threading.Lock()
_next_prune = 0.0


def prune_if_due() -> None:
    """Prune changes older than retention, at most once a minute per process (as the owner)."""
    global _next_prune
    with _prune_lock:
        if time.monotonic() < _next_prune:
            return
        _next_prune = time.monotonic() + PRUNE_EVERY
    prune()


def prune() -> str | None:
    """Delete changes older than POSTS_CHANGES_RETENTION_HOURS; return the pruning boundary.

    The boundary is the oldest transaction running at the last checkpoint taken at least the
    retention ago: every change below it is deleted, and every cursor taken before it is
    refused. None when no checkpoint is that old yet, or another process is pruning now.
    The server's own bookkeeping: it runs as the connection's role whatever DATABASE_RLS says.
    """
    with request_role.as_owner(), connections[router.db_for_write(PostChange)].cursor() as cursor:
        cursor.execute(PRUNE_SQL, [retention()])
        return cursor.fetchone()[0]


def retention() -> timedelta:
    """Return how long changes are kept (POSTS_CHANGES_RETENTION_HOURS)."""
    return timedelta(hours=settings.POSTS_CHANGES_RETENTION_HOURS)
