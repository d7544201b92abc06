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
whenever Django's time zone is UTC.
"""

import datetime
import functools
import select
from pathlib import Path

from django.db.backends.postgresql import base
from psycopg import adapt, adapters
from psycopg.postgres import types
from psycopg.pq import Format

from supabase_auth.local import embedded

TIMESTAMPTZ = types["timestamptz"].oid


PSYCOPG_TIMESTAMPTZ_LOADER = adapters.get_loader(TIMESTAMPTZ, Format.TEXT)


class UTCTimestamptzLoader(adapt.Loader):
    """psycopg's own loader (C, when installed), under the `timezone` Django's cursors check.

    The C class cannot be subclassed; its bound `load` is installed on the instance instead,
    so each value costs one C call.
    """

    timezone = datetime.UTC

    def __init__(self, oid: int, context=None) -> None:
        super().__init__(oid, context)
        self.load = PSYCOPG_TIMESTAMPTZ_LOADER(oid, context).load

    def load(self, data) -> datetime.datetime:  # shadowed on each instance (see __init__)
        raise NotImplementedError


@functools.cache
def with_fast_timestamps(template: adapt.AdaptersMap) -> adapt.AdaptersMap:
    """Return Django's adapters map with psycopg's timestamptz loader instead of Django's."""
    context = adapt.AdaptersMap(template)
    context.register_loader(TIMESTAMPTZ, UTCTimestamptzLoader)
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
