"""Django's PostgreSQL backend, with a health check that costs no round trip and C-speed times.

With CONN_HEALTH_CHECKS, Django runs `SELECT 1` before the first query of every request, so
that a connection the server dropped (restart, failover, pooler recycling) is replaced instead
of failing the request. That doubles the round trips of a one-query request. A connection the
server closed, or wrote an error to, has something to read on its socket, while a healthy idle
one has nothing: so the socket is polled first (microseconds) and `SELECT 1` is sent only when
there is something to read.

Django loads every timestamptz with a Python subclass of psycopg's pure-Python loader (to pin
the result's tzinfo), about 4 µs a value: 40 values in a page of 20 posts. On a UTC session
psycopg's C loader returns the same aware datetimes in a fraction of that, so it is used
whenever Django's time zone is UTC. Timestamps Python cannot hold (`infinity`, years past 9999
or before 1) load as datetime.max/min instead of failing the whole read: a stored row is the
server's to repair, never a reason to refuse every reader (issue 11).
"""

import datetime
import functools
import logging
import select
from collections.abc import Callable
from pathlib import Path

from django.db.backends.postgresql import base
from psycopg import DataError, adapt, adapters
from psycopg.postgres import types
from psycopg.pq import Format

from supabase_auth.local import embedded

logger = logging.getLogger(__name__)

TIMESTAMPTZ = types["timestamptz"].oid
TIMESTAMP = types["timestamp"].oid

PSYCOPG_TIMESTAMPTZ_LOADER = adapters.get_loader(TIMESTAMPTZ, Format.TEXT)
PSYCOPG_TIMESTAMP_LOADER = adapters.get_loader(TIMESTAMP, Format.TEXT)


def clamping(
    load: Callable, earliest: datetime.datetime, latest: datetime.datetime
) -> Callable[..., datetime.datetime]:
    """Wrap a timestamp loader so a value beyond Python's datetime loads as earliest or latest.

    Only psycopg's refusal of such a value is caught (its DataError, raised for 'infinity',
    '-infinity', years past 9999 and BC dates); a normal value costs one C call in a `try`.
    """

    def load_or_clamp(data) -> datetime.datetime:
        try:
            return load(data)
        except DataError:
            text = bytes(data)
            if text == b"infinity" or text[:5].isdigit():  # five digits: a year past 9999
                far_end = latest
            elif text == b"-infinity" or text.endswith(b" BC"):
                far_end = earliest
            else:
                raise
            logger.warning("Loaded the timestamp %r as %s.", text.decode(), far_end.isoformat())
            return far_end

    return load_or_clamp


class ClampingLoader(adapt.Loader):
    """psycopg's own loader of a timestamp type (C, when installed), wrapped by clamping().

    The C class cannot be subclassed; its bound `load`, wrapped, is installed on the instance
    instead.
    """

    psycopg_loader: type[adapt.Loader]
    earliest: datetime.datetime
    latest: datetime.datetime

    def __init__(self, oid: int, context=None) -> None:
        super().__init__(oid, context)
        self.load = clamping(self.psycopg_loader(oid, context).load, self.earliest, self.latest)

    def load(self, data) -> datetime.datetime:  # shadowed on each instance (see __init__)
        raise NotImplementedError


class UTCTimestamptzLoader(ClampingLoader):
    """timestamptz as aware UTC datetimes, under the `timezone` Django's cursors check."""

    timezone = datetime.UTC
    psycopg_loader = PSYCOPG_TIMESTAMPTZ_LOADER
    earliest = datetime.datetime.min.replace(tzinfo=datetime.UTC)
    latest = datetime.datetime.max.replace(tzinfo=datetime.UTC)


class TimestampLoader(ClampingLoader):
    """timestamp (without time zone): Django's dates() and the admin's date_hierarchy load it."""

    psycopg_loader = PSYCOPG_TIMESTAMP_LOADER
    earliest = datetime.datetime.min
    latest = datetime.datetime.max


@functools.cache
def with_fast_timestamps(template: adapt.AdaptersMap) -> adapt.AdaptersMap:
    """Return Django's adapters map with psycopg's timestamp loaders, clamped, instead."""
    context = adapt.AdaptersMap(template)
    context.register_loader(TIMESTAMPTZ, UTCTimestamptzLoader)
    context.register_loader(TIMESTAMP, TimestampLoader)
    return context


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict:
        embedded_server = self.settings_dict.get("EMBEDDED_POSTGRES")
        if embedded_server:
            # The embedded development database starts on the first connection a process
            # makes (and is shared with every later one), never when settings are imported.
            self.settings_dict["HOST"] = str(
                embedded.start(
                    Path(embedded_server["DATA_DIR"]), disposable=embedded_server["DISPOSABLE"]
                )
            )
        params = super().get_connection_params()
        if self.timezone == datetime.UTC and "context" in params:
            params["context"] = with_fast_timestamps(params["context"])
        return params

    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        try:
            readable, _, _ = select.select([connection.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable or super().is_usable()
